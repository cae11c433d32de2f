/** SASL mechanisms for SMTP AUTH. */
export type { NtlmOptions, SaslCredentials, SaslExchange, SaslMechanism, StartOptions } from "./mechanism.js";
export { oauthErrorOf, type OAuthError, type OAuthExchange, type TokenMechanism } from "./oauth-error.js";
export { CRAM_MD5 } from "./cram-md5.js";
export { DIGEST_MD5 } from "./digest-md5.js";
export { LOGIN } from "./login.js";
export { NTLM } from "./ntlm.js";
export { OAUTHBEARER } from "./oauthbearer.js";
export { PLAIN } from "./plain.js";
export { SCRAM_SHA_1, SCRAM_SHA_256 } from "./scram.js";
export { XOAUTH2 } from "./xoauth2.js";
export { MECHANISMS, chooseMechanism, cleartextPasswordMechanisms, mechanismByName, mechanismForValue, valueUsesToken, type ChooseOptions } from "./registry.js";
export { AUTH_MECHANISM_VALUES, authMechanismValue, authOptionName, type AuthMechanismValue } from "./mechanism-values.js";

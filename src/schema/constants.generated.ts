// Generated from the schema tables (src/schema/properties.ts, settings.ts, constants.ts) by
// scripts/gen-accessor-types.mjs (`npm run docs` runs it): do not edit by hand.
// spec/unit/typed-api.spec.ts fails when this file is out of date with the tables.
import { ENUM_CONSTANTS, type EnumConstants } from "./constants.js";

/** AuthMechanism values: UserPassword (amUserPassword) = 0, CramMd5 (amCRAMMD5) = 1, Ntlm (amNTLM) = 2, Apop (amAPOP) = 3, SaslPlain (amSASLPlain) = 4, SaslDigestMd5 (amSASLDigestMD5) = 5, Kerberos (amKerberos) = 6, XOAuth2 (amXOAUTH2) = 7, OAuthBearer (amOAuthBearer) = 8, ScramSha1 (amSCRAMSHA1) = 9, ScramSha256 (amSCRAMSHA256) = 10, Automatic (amAutomatic) = 11. SASL mechanism used when User is set: 0 PLAIN or LOGIN (whichever the server offers, PLAIN first), 1 CRAM-MD5, 2 NTLM (v2), 4 PLAIN, 5 DIGEST-MD5, 7 XOAUTH2, 8 OAUTHBEARER, 9 SCRAM-SHA-1, 10 SCRAM-SHA-256, 11 the strongest both sides support. 3 APOP and 6 Kerberos do not apply to SMTP and fail with code 623. */
export const AuthMechanism: EnumConstants["AuthMechanism"] = ENUM_CONSTANTS.AuthMechanism;
/** A value of AuthMechanism: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11. */
export type AuthMechanism = (typeof AuthMechanism)[keyof typeof AuthMechanism];

/** CertStoreType values: User (cstUser) = 0, Machine (cstMachine) = 1, PfxFile (cstPFXFile) = 2, PfxBlob (cstPFXBlob) = 3, JksFile (cstJKSFile) = 4, JksBlob (cstJKSBlob) = 5, PemKeyFile (cstPEMKeyFile) = 6, PemKeyBlob (cstPEMKeyBlob) = 7, PublicKeyFile (cstPublicKeyFile) = 8, PublicKeyBlob (cstPublicKeyBlob) = 9, SshPublicKeyBlob (cstSSHPublicKeyBlob) = 10, P7bFile (cstP7BFile) = 11, P7bBlob (cstP7BBlob) = 12, SshPublicKeyFile (cstSSHPublicKeyFile) = 13, PpkFile (cstPPKFile) = 14, PpkBlob (cstPPKBlob) = 15, XmlFile (cstXMLFile) = 16, XmlBlob (cstXMLBlob) = 17, JwkFile (cstJWKFile) = 18, JwkBlob (cstJWKBlob) = 19, SecurityKey (cstSecurityKey) = 20, Auto (cstAuto) = 99. What CertStore holds: 2 PKCS#12 file, 3 PKCS#12 blob (base64), 6 PEM file, 7 PEM text, 99 detect. */
export const CertStoreType: EnumConstants["CertStoreType"] = ENUM_CONSTANTS.CertStoreType;
/** A value of CertStoreType: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15 | 16 | 17 | 18 | 19 | 20 | 99. */
export type CertStoreType = (typeof CertStoreType)[keyof typeof CertStoreType];

/** FirewallType values: None (fwNone) = 0, Tunnel (fwTunnel) = 1, Socks4 (fwSOCKS4) = 2, Socks5 (fwSOCKS5) = 3, Socks4A (fwSOCKS4A) = 10. 0 direct, 1 HTTP CONNECT tunnel (with Basic auth when FirewallUser is set), 2 SOCKS4, 3 SOCKS5 (user / password auth), 10 SOCKS4A. TLS (implicit and STARTTLS) runs end to end through the proxy. */
export const FirewallType: EnumConstants["FirewallType"] = ENUM_CONSTANTS.FirewallType;
/** A value of FirewallType: 0 | 1 | 2 | 3 | 10. */
export type FirewallType = (typeof FirewallType)[keyof typeof FirewallType];

/** Importance values: Unspecified (miUnspecified) = 0, High (miHigh) = 1, Normal (miNormal) = 2, Low (miLow) = 3. Writes an Importance header (high, normal, low); 0 leaves it out. */
export const Importance: EnumConstants["Importance"] = ENUM_CONSTANTS.Importance;
/** A value of Importance: 0 | 1 | 2 | 3. */
export type Importance = (typeof Importance)[keyof typeof Importance];

/** Priority values: Unspecified (epUnspecified) = 0, Normal (epNormal) = 1, Urgent (epUrgent) = 2, NonUrgent (epNonUrgent) = 3. Writes a Priority header (normal, urgent, non-urgent); 0 leaves it out. */
export const Priority: EnumConstants["Priority"] = ENUM_CONSTANTS.Priority;
/** A value of Priority: 0 | 1 | 2 | 3. */
export type Priority = (typeof Priority)[keyof typeof Priority];

/** Sensitivity values: Unspecified (esUnspecified) = 0, Personal (esPersonal) = 1, Private (esPrivate) = 2, CompanyConfidential (esCompanyConfidential) = 3. Writes a Sensitivity header (Personal, Private, Company-Confidential); 0 leaves it out. */
export const Sensitivity: EnumConstants["Sensitivity"] = ENUM_CONSTANTS.Sensitivity;
/** A value of Sensitivity: 0 | 1 | 2 | 3. */
export type Sensitivity = (typeof Sensitivity)[keyof typeof Sensitivity];

/** SSLCertStoreType values: User (cstUser) = 0, Machine (cstMachine) = 1, PfxFile (cstPFXFile) = 2, PfxBlob (cstPFXBlob) = 3, JksFile (cstJKSFile) = 4, JksBlob (cstJKSBlob) = 5, PemKeyFile (cstPEMKeyFile) = 6, PemKeyBlob (cstPEMKeyBlob) = 7, PublicKeyFile (cstPublicKeyFile) = 8, PublicKeyBlob (cstPublicKeyBlob) = 9, SshPublicKeyBlob (cstSSHPublicKeyBlob) = 10, P7bFile (cstP7BFile) = 11, P7bBlob (cstP7BBlob) = 12, SshPublicKeyFile (cstSSHPublicKeyFile) = 13, PpkFile (cstPPKFile) = 14, PpkBlob (cstPPKBlob) = 15, XmlFile (cstXMLFile) = 16, XmlBlob (cstXMLBlob) = 17, JwkFile (cstJWKFile) = 18, JwkBlob (cstJWKBlob) = 19, SecurityKey (cstSecurityKey) = 20, Auto (cstAuto) = 99. What SSLCertStore holds: 2 PKCS#12 file, 3 PKCS#12 blob (base64), 6 PEM file (certificate and key), 7 PEM text, 99 detect (a path or content; PEM or PKCS#12). Windows stores (0, 1), Java key stores (4, 5), Public key files and blobs (8, 9, 10, 13), PKCS#7 certificate bundles (no private key) (11, 12), Key-only formats (PuTTY, XML, JWK) (14, 15, 16, 17, 18, 19) and Hardware security keys (20) are accepted as values but not available on Node: the connection fails with code 278. */
export const SSLCertStoreType: EnumConstants["SSLCertStoreType"] = ENUM_CONSTANTS.SSLCertStoreType;
/** A value of SSLCertStoreType: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15 | 16 | 17 | 18 | 19 | 20 | 99. */
export type SSLCertStoreType = (typeof SSLCertStoreType)[keyof typeof SSLCertStoreType];

/** SSLStartMode values: Automatic (sslAutomatic) = 0, Implicit (sslImplicit) = 1, Explicit (sslExplicit) = 2, None (sslNone) = 3. 0 automatic: implicit TLS on port 465, elsewhere STARTTLS when offered (required when SSLEnabled); 1 implicit TLS from the first byte; 2 explicit: STARTTLS required, the session fails before MAIL FROM or AUTH if it is missing or refused; 3 no TLS. */
export const SSLStartMode: EnumConstants["SSLStartMode"] = ENUM_CONSTANTS.SSLStartMode;
/** A value of SSLStartMode: 0 | 1 | 2 | 3. */
export type SSLStartMode = (typeof SSLStartMode)[keyof typeof SSLStartMode];

/** MessageRecipientType values: To (rtTo) = 0, Cc (rtCc) = 1, BCc (rtBCc) = 2. 0 To, 1 Cc, 2 BCc (envelope only). */
export const MessageRecipientType: EnumConstants["MessageRecipientType"] = ENUM_CONSTANTS.MessageRecipientType;
/** A value of MessageRecipientType: 0 | 1 | 2. */
export type MessageRecipientType = (typeof MessageRecipientType)[keyof typeof MessageRecipientType];

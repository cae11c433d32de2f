/**
 * THE table of AuthMechanism values: what each IP*Works number stands for in
 * SASL. The schema (enum names, property doc), the registry (which mechanism
 * a value picks), the CLI (--auth names) and docs/tls-and-auth.md read it.
 */

export interface AuthMechanismValue {
  /** The AuthMechanism number; equal to the row's index. */
  readonly value: number;
  /** IP*Works constant name. */
  readonly constant: string;
  /** Name in code: AuthMechanism.XOAuth2. */
  readonly key: string;
  /** SASL mechanisms it selects, in order of preference; empty for the automatic choice and for values that do not apply. */
  readonly sasl: readonly string[];
  /** The --auth name when it is not the one SASL name in lower case. */
  readonly option?: string;
  /** What the AuthMechanism property doc calls it. */
  readonly summary: string;
  /** The strongest mechanism both sides support (amAutomatic). */
  readonly automatic?: boolean;
  /** Set when the value does not apply to SMTP: the error message (code 623). */
  readonly refusal?: string;
  /** docs/tls-and-auth.md: the mechanism column and the notes column. */
  readonly docMechanism: string;
  readonly docNotes: string;
}

/** The table with its literal types: the schema's AuthMechanism row types its values (0 | 1 | ... | 11) from it. */
export const AUTH_MECHANISM_ROWS = [
  {
    value: 0, constant: "amUserPassword", key: "UserPassword", sasl: ["PLAIN", "LOGIN"], option: "default", summary: "PLAIN or LOGIN (whichever the server offers, PLAIN first)",
    docMechanism: "PLAIN, or LOGIN when PLAIN is not offered", docNotes: "the password itself travels (inside TLS)",
  },
  { value: 1, constant: "amCRAMMD5", key: "CramMd5", sasl: ["CRAM-MD5"], summary: "CRAM-MD5", docMechanism: "CRAM-MD5 (RFC 2195)", docNotes: "challenge-response" },
  {
    value: 2, constant: "amNTLM", key: "Ntlm", sasl: ["NTLM"], summary: "NTLM (v2)",
    docMechanism: "NTLM v2", docNotes: "`User` as `DOMAIN\\user` or `user@domain`; v1 / LM responses are never sent",
  },
  {
    value: 3, constant: "amAPOP", key: "Apop", sasl: [], summary: "APOP", refusal: "AuthMechanism 3 (APOP) is a POP3 command and does not exist in SMTP",
    docMechanism: "-", docNotes: "a POP3 command: fails with 623",
  },
  { value: 4, constant: "amSASLPlain", key: "SaslPlain", sasl: ["PLAIN"], summary: "PLAIN", docMechanism: "PLAIN (RFC 4616)", docNotes: "config `AuthorizationIdentity` sets the authzid" },
  { value: 5, constant: "amSASLDigestMD5", key: "SaslDigestMd5", sasl: ["DIGEST-MD5"], summary: "DIGEST-MD5", docMechanism: "DIGEST-MD5 (RFC 2831)", docNotes: "the server's `rspauth` is verified" },
  {
    value: 6, constant: "amKerberos", key: "Kerberos", sasl: [], summary: "Kerberos", refusal: "AuthMechanism 6 (Kerberos / GSSAPI) is not supported",
    docMechanism: "-", docNotes: "GSSAPI is not supported: fails with 623",
  },
  {
    value: 7, constant: "amXOAUTH2", key: "XOAuth2", sasl: ["XOAUTH2"], summary: "XOAUTH2",
    docMechanism: "XOAUTH2 (Google, Microsoft)", docNotes: "the access token in config `AuthorizationIdentity` (or in `Password`); `Bearer ` prefix optional",
  },
  { value: 8, constant: "amOAuthBearer", key: "OAuthBearer", sasl: ["OAUTHBEARER"], summary: "OAUTHBEARER", docMechanism: "OAUTHBEARER (RFC 7628)", docNotes: "token as for XOAUTH2" },
  { value: 9, constant: "amSCRAMSHA1", key: "ScramSha1", sasl: ["SCRAM-SHA-1"], summary: "SCRAM-SHA-1", docMechanism: "SCRAM-SHA-1 (RFC 5802)", docNotes: "the server's proof is verified" },
  { value: 10, constant: "amSCRAMSHA256", key: "ScramSha256", sasl: ["SCRAM-SHA-256"], summary: "SCRAM-SHA-256", docMechanism: "SCRAM-SHA-256 (RFC 7677)", docNotes: "the server's proof is verified" },
  {
    value: 11, constant: "amAutomatic", key: "Automatic", sasl: [], automatic: true, option: "auto", summary: "the strongest both sides support",
    docMechanism: "the strongest both sides support", docNotes: "SCRAM-SHA-256 > SCRAM-SHA-1 > DIGEST-MD5 > CRAM-MD5 > NTLM > PLAIN > LOGIN; OAUTHBEARER / XOAUTH2 when a token is given",
  },
] as const satisfies readonly AuthMechanismValue[];

export const AUTH_MECHANISM_VALUES: readonly AuthMechanismValue[] = AUTH_MECHANISM_ROWS;

/** The row for an AuthMechanism number, or undefined outside the table. */
export function authMechanismValue(value: number): AuthMechanismValue | undefined {
  return AUTH_MECHANISM_VALUES[value];
}

/** The --auth name of a value, when it has one: "default", "cram-md5", ..., "auto". */
export function authOptionName(m: AuthMechanismValue): string | undefined {
  if (m.option) return m.option;
  return m.sasl.length === 1 ? m.sasl[0]?.toLowerCase() : undefined;
}

/**
 * The one small interface every SASL mechanism implements (RFC 4422 as used by
 * SMTP AUTH, RFC 4954). The engine owns the wire: it base64-encodes what
 * `initialResponse` / `respond()` return and decodes 334 challenges before
 * handing them over, so mechanisms only ever see raw bytes.
 */

import { randomBytes } from "node:crypto";
import { ErrorCode, SmtpError } from "../errors.js";

export interface SaslCredentials {
  user: string;
  password: string;
  /** SASL authorization identity (authzid); "" = act as `user`. PLAIN, DIGEST-MD5 and SCRAM send it. */
  authorizationIdentity: string;
  /** OAuth 2 access token for XOAUTH2 / OAUTHBEARER ("" when not given). */
  token: string;
  /** Server host name and port (OAUTHBEARER's host/port fields, DIGEST-MD5's digest-uri "smtp/<host>"). */
  host: string;
  port: number;
}

export interface SaslExchange {
  /** Initial response sent on the AUTH line; undefined = none (wait for the first 334). Buffer of length 0 = empty initial response (sent as "="). */
  readonly initialResponse: Buffer | undefined;
  /** Answer to a 334 challenge (already base64-decoded). Rejects with SmtpError(ErrorCode.Auth) when the challenge is invalid or fails verification. */
  respond(challenge: Buffer): Promise<Buffer>;
  /** Called after the server's 235. Throws SmtpError(ErrorCode.Auth) if the mechanism requires a server proof that never came. */
  finish(): void;
}

/** Test hooks for NTLM: fixed values instead of random bytes and the clock. */
export interface NtlmOptions {
  /** 8-byte client challenge (default: random). */
  clientChallenge?: Buffer;
  /** FILETIME (100 ns ticks since 1601-01-01 UTC) for the NTLMv2 blob (default: now; the server's MsvAvTimestamp wins when it sends one). */
  timestamp?: bigint;
  /** Workstation name sent in the AUTHENTICATE message (default: "" so the host name is not disclosed). */
  workstation?: string;
}

export interface StartOptions {
  /** Client nonce for SCRAM (r=) and DIGEST-MD5 (cnonce); default: 18 random bytes, base64. Must be printable ASCII without "," or '"'. */
  nonce?: () => string;
  ntlm?: NtlmOptions;
}

export interface SaslMechanism {
  /** SASL name as in EHLO AUTH: "PLAIN", "SCRAM-SHA-256", ... */
  readonly name: string;
  /** Relative strength for automatic choice; higher is better. */
  readonly strength: number;
  /** Sends the password (or an equivalent bearer secret) readable to anyone watching the wire. Used to refuse it without TLS. */
  readonly cleartext: boolean;
  /** Token-based (XOAUTH2, OAUTHBEARER): needs `token`, not `password`. */
  readonly usesToken: boolean;
  /** Begins one exchange. Throws SmtpError(ErrorCode.Auth) when the credentials cannot be expressed in this mechanism. */
  start(c: SaslCredentials, options?: StartOptions): SaslExchange;
}

/** The error every mechanism fails with. */
export function authError(mechanism: string, message: string): SmtpError {
  return new SmtpError(ErrorCode.Auth, `${mechanism}: ${message}`);
}

/**
 * The client nonce: injected (tests) or 144 random bits as base64, which never
 * contains "," or '"'. An injected one is checked because both SCRAM and
 * DIGEST-MD5 would produce an unparsable message otherwise.
 */
export function clientNonce(mechanism: string, options: StartOptions | undefined): string {
  const nonce = options?.nonce ? options.nonce() : randomBytes(18).toString("base64");
  if (!/^[\x21-\x7e]+$/.test(nonce) || nonce.includes(",") || nonce.includes('"')) {
    throw authError(mechanism, "the client nonce must be printable ASCII without ',' or '\"'");
  }
  return nonce;
}

/**
 * Shared by XOAUTH2 and OAUTHBEARER: the server reports a token failure as a
 * 334 challenge carrying JSON (RFC 7628 §3.2.2; Google's XOAUTH2 does the
 * same), the client answers with a dummy response, and the server then sends
 * the final 5xx. Keeping the parsed JSON lets the caller tell an expired token
 * (status "401") from other failures and refresh it.
 */

import { authError, type SaslCredentials, type SaslExchange, type SaslMechanism, type StartOptions } from "./mechanism.js";

export interface OAuthError {
  /** HTTP-style status from the server's JSON, e.g. "401" (token expired / invalid), "400", "invalid_token"; "" if the challenge was not JSON. */
  status: string;
  schemes?: string;
  scope?: string;
  /** RFC 7628: URL of the OpenID discovery document. */
  openidConfiguration?: string;
  /** The challenge as received (UTF-8). */
  raw: string;
}

export interface OAuthExchange extends SaslExchange {
  /** Set once the server answered with an error challenge; undefined otherwise. */
  readonly lastError: OAuthError | undefined;
}

export interface TokenMechanism extends SaslMechanism {
  start(c: SaslCredentials, options?: StartOptions): OAuthExchange;
}

/** The server's token error for any exchange (undefined for non-token mechanisms or when none came). */
export function oauthErrorOf(exchange: SaslExchange): OAuthError | undefined {
  return "lastError" in exchange ? (exchange as OAuthExchange).lastError : undefined;
}

export function parseOAuthError(challenge: Buffer): OAuthError {
  const raw = challenge.toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { status: "", raw };
  }
  if (typeof parsed !== "object" || parsed === null) return { status: "", raw };
  const record = parsed as Record<string, unknown>;
  const str = (key: string): string | undefined => {
    const v = record[key];
    return typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
  };
  const error: OAuthError = { status: str("status") ?? "", raw };
  const schemes = str("schemes");
  const scope = str("scope");
  const openid = str("openid-configuration");
  if (schemes !== undefined) error.schemes = schemes;
  if (scope !== undefined) error.scope = scope;
  if (openid !== undefined) error.openidConfiguration = openid;
  return error;
}

/** Both formats use ^A as separator, so no field may contain one. */
export function checkTokenCredentials(mechanism: string, c: SaslCredentials): void {
  if (c.token === "") throw authError(mechanism, "no OAuth access token was given");
  if ([c.user, c.token, c.host].some((f) => /[\x00-\x1f\x7f]/.test(f))) {
    throw authError(mechanism, "user name, token and host must not contain control characters");
  }
}

/**
 * Exchange for a token mechanism: the initial response carries everything; the
 * only challenge a server may send is the error JSON, answered with `dummy`.
 */
export function tokenExchange(mechanism: string, initialResponse: Buffer, dummy: Buffer): OAuthExchange {
  let lastError: OAuthError | undefined;
  return {
    initialResponse,
    get lastError(): OAuthError | undefined {
      return lastError;
    },
    async respond(challenge: Buffer): Promise<Buffer> {
      if (lastError !== undefined) throw authError(mechanism, "unexpected challenge after the error report");
      lastError = parseOAuthError(challenge);
      return dummy;
    },
    finish(): void {},
  };
}

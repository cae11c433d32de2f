import type { SaslCredentials } from "../../src/auth/mechanism.js";
import { ErrorCode, type SmtpError } from "../../src/errors.js";
import { rejectsWith } from "./client.js";

/** SASL credentials with everything empty but what the test sets. */
export function creds(c: Partial<SaslCredentials>): SaslCredentials {
  return { user: "", password: "", authorizationIdentity: "", token: "", host: "", port: 0, ...c };
}

/** Checks that a SASL step fails (rejects or throws) with SmtpError(Auth); returns the error. */
export function expectAuthFailure(p: Promise<unknown> | (() => unknown)): Promise<SmtpError> {
  return rejectsWith(typeof p === "function" ? Promise.resolve().then(p) : p, ErrorCode.Auth);
}

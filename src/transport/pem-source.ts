/**
 * Settings that take "a path, or the key / certificate itself" (SSLCACerts,
 * DKIMPrivateKey, RecipientCertEncoded, SSLCertStore, CertStore) are read
 * here. Errors name such a value only when it can be nothing but a path:
 * anything that may be key material is described by its length, since error
 * messages and causes end up in logs.
 */
import { readFileSync } from "node:fs";
import { ErrorCode, SmtpError } from "../errors.js";

/** Base64 (standard or URL-safe), long enough to be a key or a blob rather than a file name (a name has a dot somewhere). */
const BASE64ISH = /^[A-Za-z0-9+/=_\-\s]{32,}$/;
/** C0, DEL, C1: line breaks of PEM text, bytes of a binary blob. */
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
const MAX_PATH = 4096;

/** True when quoting the value in an error cannot disclose key material. */
export function isPlainPath(value: string): boolean {
  return value.length <= MAX_PATH && !CONTROL.test(value) && !value.includes("-----") && !BASE64ISH.test(value);
}

/**
 * readFileSync, failing with SmtpError `code`. `expected` says what the value
 * may be ("a readable file path", "a readable file path nor PEM text").
 */
export function readSourceFile(path: string, code: number, what: string, expected: string, hint?: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code ?? "unreadable";
    if (isPlainPath(path)) {
      throw new SmtpError(code, `${what}: cannot read ${JSON.stringify(path)}: ${e instanceof Error ? e.message : String(e)}`, { hint, cause: e });
    }
    // No cause: the fs error repeats the value in its message and its `path`.
    throw new SmtpError(code, `${what}: the value is not ${expected} (${path.length} characters, ${errno})`, { hint });
  }
}

export function readPemOrPath(value: string, what: string): string {
  const v = value.trim();
  if (v.includes("-----BEGIN")) return v;
  const hint = BASE64ISH.test(v) ? "PEM text needs its -----BEGIN ...----- and -----END ...----- lines" : undefined;
  return readSourceFile(v, ErrorCode.CannotOpenFile, what, "a readable file path nor PEM text", hint).toString("utf8");
}

/**
 * Settings that take "PEM text or a path to a PEM file" (SSLCACerts,
 * DKIMPrivateKey, RecipientCertEncoded) read it the same way here.
 */
import { readFileSync } from "node:fs";
import { ErrorCode, SmtpError } from "../errors.js";

export function readPemOrPath(value: string, what: string): string {
  const v = value.trim();
  if (v.includes("-----BEGIN")) return v;
  try {
    return readFileSync(v, "utf8");
  } catch (e) {
    throw new SmtpError(ErrorCode.CannotOpenFile, `${what}: cannot read ${v}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

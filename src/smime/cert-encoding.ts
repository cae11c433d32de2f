/**
 * One certificate given the ways IP*Works programs pass it (RecipientCerts,
 * new Certificate(encoded)): DER bytes, base64 DER, PEM text (string or
 * bytes), or a path to a file holding any of those. Decided by content: a
 * string that decodes as base64 to a DER certificate is a certificate, one
 * with a -----BEGIN line is PEM, anything else is a path. Only node:crypto,
 * so the facade can use it without loading the rest of S/MIME.
 */
import { X509Certificate } from "node:crypto";
import { ErrorCode, SmtpError } from "../errors.js";
import { readSourceFile } from "../transport/pem-source.js";

/** A certificate input: bytes (DER or PEM) or a string (PEM, base64 DER or a path). */
export type EncodedCertificate = string | Uint8Array;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** DER SEQUENCE with a long-form length: every X.509 certificate starts 30 81 or 30 82 (or 30 83). */
function looksLikeDer(bytes: Uint8Array): boolean {
  return bytes.length > 64 && bytes[0] === 0x30 && (bytes[1] === 0x81 || bytes[1] === 0x82 || bytes[1] === 0x83);
}

function parseDer(bytes: Uint8Array): X509Certificate | undefined {
  if (!looksLikeDer(bytes)) return undefined;
  try {
    return new X509Certificate(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch {
    return undefined;
  }
}

/** The DER certificate a base64 string decodes to, or undefined when it is not one. */
export function base64Certificate(value: string): X509Certificate | undefined {
  const compact = value.replace(/\s+/g, "");
  if (compact.length < 88 || compact.length % 4 !== 0 || !BASE64.test(compact)) return undefined;
  return parseDer(Buffer.from(compact, "base64"));
}

function hasPem(text: string): boolean {
  return text.includes("-----BEGIN ");
}

function fromBytes(bytes: Uint8Array, what: string): string {
  const der = parseDer(bytes);
  if (der) return der.toString();
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
  if (hasPem(text)) return text;
  // A file holding base64 DER without PEM armour.
  const b64 = base64Certificate(text);
  if (b64) return b64.toString();
  throw new SmtpError(ErrorCode.InvalidValue, `${what}: not a certificate (neither DER, base64 DER nor PEM; ${bytes.byteLength} bytes)`);
}

/**
 * The certificate as PEM text, decided by content. `readPaths` false keeps a
 * path as it is (to be read when used, as IP*Works reads RecipientCerts at
 * Encrypt time); true reads it now. PEM text is returned as given (it may hold
 * several certificates).
 */
export function certificatePem(value: EncodedCertificate, what: string, readPaths = true): string {
  if (value instanceof Uint8Array) return fromBytes(value, what);
  if (typeof value !== "string") throw new SmtpError(ErrorCode.InvalidValue, `${what}: expected DER bytes, base64 DER, PEM text or a file path`);
  const v = value.trim();
  if (v === "") throw new SmtpError(ErrorCode.InvalidValue, `${what}: the certificate is empty`);
  if (hasPem(v)) return v;
  const der = base64Certificate(v);
  if (der) return der.toString();
  if (!readPaths) return v;
  return fromBytes(readSourceFile(v, ErrorCode.CannotOpenFile, what, "a readable file path, PEM text or base64 DER"), what);
}

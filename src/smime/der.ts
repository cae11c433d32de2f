/**
 * Small shared pieces for the S/MIME code: object identifiers, byte
 * conversions between Node Buffers and the ArrayBuffers PKI.js / asn1js want,
 * PEM and base64 line formatting, and the one error constructor used here.
 */
import { SmtpError, ErrorCode } from "../errors.js";

export const OID = {
  data: "1.2.840.113549.1.7.1",
  signedData: "1.2.840.113549.1.7.2",
  envelopedData: "1.2.840.113549.1.7.3",
  encryptedData: "1.2.840.113549.1.7.6",
  authEnvelopedData: "1.2.840.113549.1.9.16.1.23",

  contentType: "1.2.840.113549.1.9.3",
  messageDigest: "1.2.840.113549.1.9.4",
  signingTime: "1.2.840.113549.1.9.5",
  smimeCapabilities: "1.2.840.113549.1.9.15",

  sha1: "1.3.14.3.2.26",
  sha256: "2.16.840.1.101.3.4.2.1",
  sha384: "2.16.840.1.101.3.4.2.2",
  sha512: "2.16.840.1.101.3.4.2.3",

  rsaEncryption: "1.2.840.113549.1.1.1",
  rsaesOaep: "1.2.840.113549.1.1.7",
  mgf1: "1.2.840.113549.1.1.8",

  aes128Cbc: "2.16.840.1.101.3.4.1.2",
  aes192Cbc: "2.16.840.1.101.3.4.1.22",
  aes256Cbc: "2.16.840.1.101.3.4.1.42",
  aes128Gcm: "2.16.840.1.101.3.4.1.6",
  aes256Gcm: "2.16.840.1.101.3.4.1.46",
  desEde3Cbc: "1.2.840.113549.3.7",

  // PKCS#5 / PKCS#12 password-based encryption.
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  hmacWithSha1: "1.2.840.113549.2.7",
  hmacWithSha224: "1.2.840.113549.2.8",
  hmacWithSha256: "1.2.840.113549.2.9",
  hmacWithSha384: "1.2.840.113549.2.10",
  hmacWithSha512: "1.2.840.113549.2.11",
  pbeSha1Rc4_128: "1.2.840.113549.1.12.1.1",
  pbeSha1Rc4_40: "1.2.840.113549.1.12.1.2",
  pbeSha1Des3: "1.2.840.113549.1.12.1.3",
  pbeSha1Des2: "1.2.840.113549.1.12.1.4",
  pbeSha1Rc2_128: "1.2.840.113549.1.12.1.5",
  pbeSha1Rc2_40: "1.2.840.113549.1.12.1.6",
  pbmac1: "1.2.840.113549.1.5.14",
  x509CertBag: "1.2.840.113549.1.9.22.1",
} as const;

/** InvalidValue (601): every bad input, certificate, key or password ends here. */
export function invalid(message: string, cause?: unknown): SmtpError {
  return new SmtpError(ErrorCode.InvalidValue, message, cause === undefined ? {} : { cause });
}

/**
 * A standalone ArrayBuffer holding exactly these bytes. A Buffer's .buffer is
 * often a shared pool slab, so handing that to asn1js would parse neighbours.
 */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}

export function toBuffer(bytes: ArrayBuffer | Uint8Array): Buffer {
  return bytes instanceof ArrayBuffer ? Buffer.from(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export interface PemBlock {
  label: string;
  /** The whole block, BEGIN to END line: Node needs the Proc-Type / DEK-Info headers of legacy encrypted keys. */
  text: string;
  der: Buffer;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    const label = m[1] ?? "";
    const inner = m[2] ?? "";
    // Encapsulated headers ("Proc-Type: ...") end at the first empty line.
    const base64 = /^[A-Za-z-]+:/.test(inner) ? inner.slice(inner.search(/\r?\n\r?\n/) + 1) : inner;
    blocks.push({ label, text: m[0], der: Buffer.from(base64.replace(/\s+/g, ""), "base64") });
  }
  return blocks;
}

/** Base64 in lines of `width` characters, each ending CRLF (RFC 2045 allows at most 76). */
export function base64Lines(data: Uint8Array, width = 76): string {
  const b64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
  let out = "";
  for (let i = 0; i < b64.length; i += width) out += b64.slice(i, i + width) + "\r\n";
  return out;
}

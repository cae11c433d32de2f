/**
 * IP*Works' S/MIME algorithm names to the ones smtpkit signs and encrypts
 * with. SSMTP programs set SigningAlgorithm = "SHA256" (or "sha-256", ...)
 * and EncryptingAlgorithm = "AES256" / "3DES"; the config names of this
 * library ("sha256", "aes256-cbc") stay valid. Case and the separators
 * "-", "_" and " " do not matter. The schema's SigningAlgorithm /
 * EncryptingAlgorithm rows call these to normalize a value when it is set;
 * sign() / encrypt() call them again on what they read. Only node:crypto-free
 * code here, so the schema can import it without loading S/MIME.
 */
import { ErrorCode, SmtpError } from "../errors.js";

export const SIGNING_ALGORITHMS = ["sha256", "sha384", "sha512"] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export const ENCRYPTING_ALGORITHMS = ["aes256-cbc", "aes192-cbc", "aes128-cbc", "aes256-gcm", "aes128-gcm", "des-ede3-cbc"] as const;
export type EncryptingAlgorithm = (typeof ENCRYPTING_ALGORITHMS)[number];

function compact(value: string): string {
  return value.trim().toLowerCase().replace(/[-_\s]/g, "");
}

const SIGNING: Readonly<Record<string, SigningAlgorithm>> = {
  sha256: "sha256", sha2256: "sha256",
  sha384: "sha384", sha2384: "sha384",
  sha512: "sha512", sha2512: "sha512",
};

/** IP*Works names this library cannot use, with the reason the error gives. */
const SIGNING_REFUSED: Readonly<Record<string, string>> = {
  sha1: "SHA-1 signatures are no longer accepted by mail clients (RFC 8551)",
  md5: "MD5 signatures are broken and refused by mail clients",
  sha224: "WebCrypto, which signs here, has no SHA-224",
};

const ENCRYPTING: Readonly<Record<string, EncryptingAlgorithm>> = {
  aes256: "aes256-cbc", aes256cbc: "aes256-cbc", aescbc256: "aes256-cbc",
  aes192: "aes192-cbc", aes192cbc: "aes192-cbc", aescbc192: "aes192-cbc",
  aes128: "aes128-cbc", aes128cbc: "aes128-cbc", aescbc128: "aes128-cbc",
  aes256gcm: "aes256-gcm", aesgcm256: "aes256-gcm", aesgcm: "aes256-gcm",
  aes128gcm: "aes128-gcm", aesgcm128: "aes128-gcm",
  "3des": "des-ede3-cbc", des3: "des-ede3-cbc", tripledes: "des-ede3-cbc", desede3: "des-ede3-cbc", desede3cbc: "des-ede3-cbc", "3descbc": "des-ede3-cbc",
};

const ENCRYPTING_REFUSED: Readonly<Record<string, string>> = {
  des: "single DES is broken and not in OpenSSL 3's default provider",
  rc2: "RC2 is broken and not in OpenSSL 3's default provider",
  rc2cbc40: "RC2 is broken and not in OpenSSL 3's default provider",
  rc2cbc64: "RC2 is broken and not in OpenSSL 3's default provider",
  rc2cbc128: "RC2 is broken and not in OpenSSL 3's default provider",
  rc4: "RC4 is broken and not defined for S/MIME content",
  aes192gcm: "AES-192-GCM is not offered (use AES256GCM or AES128GCM)",
};

function refuse(property: string, value: string, reason: string | undefined, accepted: string): SmtpError {
  const why = reason ? `: ${reason}` : "";
  return new SmtpError(ErrorCode.InvalidValue, `${property} ${JSON.stringify(value)} is not supported${why} (accepted: ${accepted}; case and - _ do not matter)`);
}

/** "SHA256", "sha-256", "SHA-256", "sha256" -> "sha256". Anything else: 601. */
export function normalizeSigningAlgorithm(value: string): SigningAlgorithm {
  const key = compact(String(value));
  const found = SIGNING[key];
  if (found) return found;
  throw refuse("SigningAlgorithm", String(value), SIGNING_REFUSED[key], "SHA256, SHA384, SHA512");
}

/** "AES256" / "aes-256" -> "aes256-cbc", "AES128GCM" -> "aes128-gcm", "3DES" -> "des-ede3-cbc", the config names as they are. Anything else: 601. */
export function normalizeEncryptingAlgorithm(value: string): EncryptingAlgorithm {
  const key = compact(String(value));
  const found = ENCRYPTING[key];
  if (found) return found;
  throw refuse("EncryptingAlgorithm", String(value), ENCRYPTING_REFUSED[key], "AES256, AES192, AES128, AES256GCM, AES128GCM, 3DES");
}

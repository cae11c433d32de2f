/**
 * DKIM signing options and their validation. Every check happens up front so a
 * bad configuration fails when it is set, not halfway through a send; messages
 * never quote the private key, since errors end up in logs.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { SmtpError, ErrorCode } from "../errors.js";

export type DkimAlgorithm = "rsa-sha256" | "ed25519-sha256";
export type DkimCanonicalization = "relaxed/relaxed" | "relaxed/simple" | "simple/relaxed" | "simple/simple";

export interface DkimOptions {
  /** d= : the signing domain (ASCII / A-label form). */
  domain: string;
  /** s= : the selector; the public key is published at <selector>._domainkey.<domain>. */
  selector: string;
  /** PEM private key: RSA (PKCS#8 or PKCS#1) or Ed25519 (PKCS#8); not encrypted. */
  privateKey: string;
  /** Default: from the key type. */
  algorithm?: DkimAlgorithm;
  /** header/body; default "relaxed/relaxed". */
  canonicalization?: DkimCanonicalization;
  /**
   * Header names to sign (case-insensitive). Every instance present is signed;
   * a name that is absent is still listed once, so adding it later breaks the
   * signature. "from" is always signed. Default: DEFAULT_SIGNED_HEADERS, those present.
   */
  headers?: readonly string[];
  /** i= : "[local-part]@domain", the domain being d= or a subdomain of it. */
  identity?: string;
  /** x= is t= plus this many seconds. */
  expireSeconds?: number;
}

export const DEFAULT_SIGNED_HEADERS: readonly string[] = [
  "from",
  "sender",
  "to",
  "cc",
  "subject",
  "date",
  "message-id",
  "reply-to",
  "mime-version",
  "content-type",
  "content-transfer-encoding",
  "in-reply-to",
  "references",
];

const CANON_PARTS: Readonly<Record<DkimCanonicalization, readonly ["simple" | "relaxed", "simple" | "relaxed"]>> = {
  "relaxed/relaxed": ["relaxed", "relaxed"],
  "relaxed/simple": ["relaxed", "simple"],
  "simple/relaxed": ["simple", "relaxed"],
  "simple/simple": ["simple", "simple"],
};
const CANONICALIZATIONS: readonly string[] = Object.keys(CANON_PARTS);
/** RFC 5322 field-name. */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
/** RFC 5321 sub-domain (Let-dig [Ldh-str]), at most 63 octets (RFC 1035). */
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** RFC 1035: a whole DNS name is at most 253 characters in text form. */
const MAX_NAME = 253;
const MIN_RSA_BITS = 1024;

function invalid(message: string): SmtpError {
  return new SmtpError(ErrorCode.InvalidValue, message);
}

function isDnsName(s: string, minLabels: number): boolean {
  const labels = s.split(".");
  return s.length <= MAX_NAME && labels.length >= minLabels && labels.every((l) => LABEL.test(l));
}

/** Parsed keys, by PEM text: parsing an RSA key per message costs more than hashing a small message. */
const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_SIZE = 16;

export interface LoadedKey {
  key: KeyObject;
  algorithm: DkimAlgorithm;
}

export function loadPrivateKey(pem: unknown): LoadedKey {
  if (typeof pem !== "string" || pem.trim() === "") {
    throw invalid("DKIM privateKey must be a PEM private key string");
  }
  if (!pem.includes("-----BEGIN")) {
    // Most likely a key without its armour: say so, by its length only.
    throw invalid(`DKIM privateKey is not PEM text (${pem.length} characters, not shown): a bare base64 key needs its -----BEGIN ...----- and -----END ...----- lines`);
  }
  let key = keyCache.get(pem);
  if (key === undefined) {
    try {
      key = createPrivateKey({ key: pem, format: "pem" });
    } catch (err) {
      // The cause names only the parse failure (OpenSSL does not echo key bytes).
      throw new SmtpError(
        ErrorCode.InvalidValue,
        "DKIM privateKey could not be read: expected an unencrypted PEM RSA (PKCS#1 or PKCS#8) or Ed25519 (PKCS#8) private key",
        { cause: err },
      );
    }
    if (keyCache.size >= KEY_CACHE_SIZE) {
      const oldest = keyCache.keys().next();
      if (!oldest.done) keyCache.delete(oldest.value);
    }
    keyCache.set(pem, key);
  }
  const type = key.asymmetricKeyType;
  if (type === "rsa") {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      // RFC 8301 §3.2: verifiers must not accept RSA keys under 1024 bits.
      throw invalid(`DKIM RSA privateKey is ${bits} bits; at least ${MIN_RSA_BITS} are required (2048 recommended)`);
    }
    return { key, algorithm: "rsa-sha256" };
  }
  if (type === "ed25519") return { key, algorithm: "ed25519-sha256" };
  throw invalid(`DKIM privateKey is a ${type ?? "unknown"} key; only RSA and Ed25519 keys can sign DKIM`);
}

/** dkim-quoted-printable (RFC 6376 §2.11) for the local part of i=: ";" and "=" would end or break the tag. */
export function quoteIdentity(identity: string): string {
  const at = identity.lastIndexOf("@");
  const local = identity.slice(0, at);
  let quoted = "";
  for (const byte of Buffer.from(local, "utf8")) {
    quoted +=
      byte >= 0x21 && byte <= 0x7e && byte !== 0x3b && byte !== 0x3d
        ? String.fromCharCode(byte)
        : `=${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return `${quoted}${identity.slice(at)}`;
}

export interface ResolvedDkim {
  domain: string;
  selector: string;
  key: KeyObject;
  algorithm: DkimAlgorithm;
  headerCanon: "simple" | "relaxed";
  bodyCanon: "simple" | "relaxed";
  /** Lower-cased, de-duplicated, "from" first; undefined = the default list. */
  headers: readonly string[] | undefined;
  identity: string | undefined;
  expireSeconds: number | undefined;
}

/** Checks every option and returns them in the form the signer uses. */
export function resolveDkimOptions(o: DkimOptions): ResolvedDkim {
  if (typeof o !== "object" || o === null) throw invalid("DKIM options must be an object");

  const { domain, selector } = o;
  if (typeof domain !== "string" || !isDnsName(domain, 2)) {
    throw invalid(
      `DKIM domain ${JSON.stringify(domain)} is not a domain name (letters, digits and hyphens in dot-separated labels; use the A-label "xn--" form for international names)`,
    );
  }
  if (typeof selector !== "string" || !isDnsName(selector, 1)) {
    throw invalid(`DKIM selector ${JSON.stringify(selector)} is invalid (letters, digits and hyphens in dot-separated labels)`);
  }
  if (`${selector}._domainkey.${domain}`.length > MAX_NAME) {
    throw invalid(`DKIM selector and domain are too long together: ${selector}._domainkey.${domain} exceeds ${MAX_NAME} characters`);
  }

  const loaded = loadPrivateKey(o.privateKey);
  if (o.algorithm !== undefined) {
    if (o.algorithm !== "rsa-sha256" && o.algorithm !== "ed25519-sha256") {
      throw invalid(`DKIM algorithm must be "rsa-sha256" or "ed25519-sha256", got ${JSON.stringify(o.algorithm)}`);
    }
    if (o.algorithm !== loaded.algorithm) {
      throw invalid(`DKIM algorithm ${o.algorithm} does not match the private key, which is ${loaded.algorithm === "rsa-sha256" ? "an RSA" : "an Ed25519"} key`);
    }
  }

  const canon = o.canonicalization ?? "relaxed/relaxed";
  if (!Object.hasOwn(CANON_PARTS, canon)) {
    throw invalid(`DKIM canonicalization must be one of ${CANONICALIZATIONS.join(", ")}, got ${JSON.stringify(canon)}`);
  }
  const [headerCanon, bodyCanon] = CANON_PARTS[canon];

  let headers: string[] | undefined;
  if (o.headers !== undefined) {
    if (!Array.isArray(o.headers)) throw invalid("DKIM headers must be an array of header names");
    headers = ["from"];
    for (const name of o.headers as readonly unknown[]) {
      if (typeof name !== "string" || !FIELD_NAME.test(name)) {
        throw invalid(`DKIM headers: ${JSON.stringify(name)} is not a header field name`);
      }
      const lower = name.toLowerCase();
      if (!headers.includes(lower)) headers.push(lower);
    }
  }

  let identity: string | undefined;
  if (o.identity !== undefined) {
    const id = o.identity;
    const at = typeof id === "string" ? id.lastIndexOf("@") : -1;
    if (typeof id !== "string" || at < 0 || /[\x00-\x1f\x7f]/.test(id)) {
      throw invalid(`DKIM identity ${JSON.stringify(id)} must be "[local-part]@domain"`);
    }
    const idDomain = id.slice(at + 1).toLowerCase();
    const d = domain.toLowerCase();
    if (!isDnsName(idDomain, 2) || (idDomain !== d && !idDomain.endsWith(`.${d}`))) {
      // RFC 6376 §3.5 (i=): the identity's domain must be d= or a subdomain of it.
      throw invalid(`DKIM identity ${JSON.stringify(id)} must be in the signing domain ${domain} or a subdomain of it`);
    }
    identity = quoteIdentity(id);
  }

  const exp = o.expireSeconds;
  if (exp !== undefined && (typeof exp !== "number" || !Number.isSafeInteger(exp) || exp <= 0)) {
    throw invalid(`DKIM expireSeconds must be a positive whole number of seconds, got ${String(exp)}`);
  }

  return { domain, selector, key: loaded.key, algorithm: loaded.algorithm, headerCanon, bodyCanon, headers, identity, expireSeconds: exp };
}

/** Throws SmtpError 601 (InvalidValue) naming the first problem with the options. */
export function validateDkimOptions(o: DkimOptions): void {
  resolveDkimOptions(o);
}

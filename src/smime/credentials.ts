/**
 * Signer credentials: a certificate, its private key and optional chain,
 * loaded the way IP*Works' certificate stores are addressed (SSLCertStoreType
 * numbers) and resolved into the objects signing needs.
 */
import { createPrivateKey, createPublicKey, KeyObject, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { ErrorCode, SmtpError } from "../errors.js";
import { invalid, pemBlocks } from "./der.js";
import { readPkcs12 } from "./pkcs12.js";
import { CertStoreType, storeTypeName, unsupportedStoreHint } from "../transport/cert-store-types.js";
import { readSourceFile } from "../transport/pem-source.js";

export interface SmimeCredentials {
  /** The signer's certificate (PEM). */
  certPem: string;
  /** Its private key (PEM: PKCS#8, PKCS#1 or SEC1, encrypted or not). */
  keyPem: string;
  /** Passphrase of an encrypted keyPem. */
  passphrase?: string;
  /** Intermediate (and optionally root) certificates, PEM, one or more per string. */
  chainPem?: string[];
}

/** IP*Works certificate store type values (this loader reads PfxFile, PfxBlob, PemKeyFile, PemKeyBlob and Auto). */
export { CertStoreType };

export interface LoadSignerOptions {
  /** IP*Works SSLCertStoreType: 2 PFX file, 3 PFX blob (base64 or binary string), 6 PEM file, 7 PEM text, 99 auto. */
  storeType: number;
  /** File path, PEM text or PFX blob, depending on storeType. */
  store: string;
  /** PFX password or passphrase of an encrypted PEM key ("" for none). */
  password: string;
}

/** What signing needs, checked once. */
export interface ResolvedSigner {
  key: KeyObject;
  cert: X509Certificate;
  chain: X509Certificate[];
}

const FILE_TYPES_HINT = "CertStoreType 2 and 6 take a file path; 3 takes a PFX blob, 7 PEM text, 99 either";

function readStoreFile(path: string): Buffer {
  return readSourceFile(path, ErrorCode.CannotOpenFile, "Certificate store", "a readable file path", FILE_TYPES_HINT);
}

function readIfFile(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

function parseCert(der: Buffer, what: string): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (err) {
    throw invalid(`${what} is not a valid X.509 certificate`, err);
  }
}

function spki(key: KeyObject | X509Certificate): Buffer {
  const pub = key instanceof X509Certificate ? key.publicKey : createPublicKey(key);
  return pub.export({ type: "spki", format: "der" });
}

/** Splits keys and certificates and pairs the key with the certificate holding its public key. */
function assemble(keys: KeyObject[], certs: X509Certificate[], source: string): SmimeCredentials {
  if (keys.length === 0) throw invalid(`${source} holds no private key`);
  if (certs.length === 0) throw invalid(`${source} holds no certificate`);
  for (const key of keys) {
    const pub = spki(key);
    const leaf = certs.find((c) => spki(c).equals(pub));
    if (!leaf) continue;
    return {
      certPem: leaf.toString(),
      keyPem: key.export({ type: "pkcs8", format: "pem" }).toString(),
      chainPem: certs.filter((c) => c !== leaf).map((c) => c.toString()),
    };
  }
  throw invalid(`${source}: no certificate matches the private key`);
}

/** What a certificate store holds, parsed: every private key and every certificate, in store order. */
export interface StoreContents {
  keys: KeyObject[];
  certs: X509Certificate[];
  /** How errors name the store ("PFX file x.pfx", "PEM text"): never its content. */
  source: string;
}

function fromPem(text: string, password: string, source: string): StoreContents {
  const blocks = pemBlocks(text);
  const certs = blocks.filter((b) => b.label === "CERTIFICATE" || b.label === "X509 CERTIFICATE").map((b) => parseCert(b.der, `${source}: a certificate`));
  const keys = blocks.filter((b) => / ?PRIVATE KEY$/.test(b.label)).map((b) => privateKey(b.text, password, source));
  return { keys, certs, source };
}

function fromPfx(der: Buffer, password: string, source: string): StoreContents {
  const { keys, certs } = readPkcs12(der, password);
  const keyObjects = keys.map((k) => {
    try {
      return createPrivateKey({ key: k, format: "der", type: "pkcs8" });
    } catch (err) {
      throw invalid(`${source}: the private key cannot be read`, err);
    }
  });
  return { keys: keyObjects, certs: certs.map((c) => parseCert(c, `${source}: a certificate`)), source };
}

/** True when `key` is the private key of `cert`. */
export function keyMatches(key: KeyObject, cert: X509Certificate): boolean {
  return spki(key).equals(spki(cert));
}

function looksLikePem(data: Buffer | string): boolean {
  return (typeof data === "string" ? data : data.subarray(0, 64 * 1024).toString("latin1")).includes("-----BEGIN ");
}

/** A PFX blob given as a string: base64 (IP*Works' usual form) or the raw bytes as a binary string. */
function blobBytes(blob: string): Buffer {
  return isBase64(blob) ? Buffer.from(blob.replace(/\s+/g, ""), "base64") : Buffer.from(blob, "latin1");
}

function isBase64(s: string): boolean {
  const compact = s.replace(/\s+/g, "");
  return compact.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact);
}

/**
 * Loads a signing certificate and key from a certificate store, the IP*Works
 * way (SSLCertStoreType / SSLCertStore / SSLCertStorePassword). The first key
 * that has a matching certificate is used; every other certificate in the
 * store becomes the chain. Bad data or password: SmtpError 601; unreadable
 * file: 302.
 */
export function loadSigner(opts: LoadSignerOptions): SmimeCredentials {
  const { keys, certs, source } = readCertStore(opts);
  return assemble(keys, certs, source);
}

/**
 * Reads a certificate store the IP*Works way (CertStoreType / CertStore /
 * CertStorePassword): every key and certificate in it. loadSigner() and the
 * Certificate class build on it. Bad data or password: 601; unreadable file: 302.
 */
export function readCertStore(opts: LoadSignerOptions): StoreContents {
  const { storeType, store } = opts;
  if (typeof store !== "string" || store === "") throw invalid("loadSigner: store must be a non-empty string (a path, PEM text or PFX blob)");
  // IP*Works treats an unset password as empty.
  const password = typeof opts.password === "string" ? opts.password : "";
  switch (storeType) {
    case CertStoreType.PfxFile:
      return fromPfx(readStoreFile(store), password, `PFX file ${store}`);
    case CertStoreType.PfxBlob:
      return fromPfx(blobBytes(store), password, "PFX blob");
    case CertStoreType.PemKeyFile:
      return fromPem(readStoreFile(store).toString("utf8"), password, `PEM file ${store}`);
    case CertStoreType.PemKeyBlob:
      return fromPem(store, password, "PEM text");
    case CertStoreType.Auto: {
      if (looksLikePem(store)) return fromPem(store, password, "PEM text");
      // A short single-line string naming an existing file is a path; anything else is a blob.
      if (store.length < 4096 && !/[\r\n]/.test(store)) {
        // Not base64 either (a path has dots or slashes base64 rarely ends up with): report the file.
        const file = isBase64(store) ? readIfFile(store) : readStoreFile(store);
        if (file) {
          return looksLikePem(file) ? fromPem(file.toString("utf8"), password, `PEM file ${store}`) : fromPfx(file, password, `PFX file ${store}`);
        }
      }
      return fromPfx(blobBytes(store), password, "PFX blob");
    }
    default:
      throw new SmtpError(ErrorCode.InvalidValue, `CertStoreType ${storeTypeName(storeType)} is not available for S/MIME on Node.js (2 PFX file, 3 PFX blob, 6 PEM file, 7 PEM text and 99 auto are)`, {
        hint: unsupportedStoreHint(storeType, "CertStoreType"),
      });
  }
}

function privateKey(pem: string, passphrase: string | undefined, source: string): KeyObject {
  try {
    // Node reads PKCS#8 (plain or encrypted), PKCS#1 and SEC1, including the old Proc-Type encryption.
    return createPrivateKey(passphrase === undefined || passphrase === "" ? { key: pem } : { key: pem, passphrase });
  } catch (err) {
    const encrypted = /ENCRYPTED/.test(pem);
    throw invalid(
      encrypted
        ? `${source}: cannot decrypt the private key (${passphrase ? "wrong passphrase" : "it is encrypted and no passphrase was given"})`
        : `${source}: the private key cannot be read`,
      err,
    );
  }
}

function certsIn(pem: string, what: string): X509Certificate[] {
  const blocks = pemBlocks(pem).filter((b) => b.label === "CERTIFICATE" || b.label === "X509 CERTIFICATE");
  if (blocks.length === 0) throw invalid(`${what} holds no PEM certificate`);
  return blocks.map((b) => parseCert(b.der, what));
}

/** Parses and cross-checks credentials: a key that does not belong to the certificate would make signatures nobody can verify. */
export function resolveSigner(creds: SmimeCredentials): ResolvedSigner {
  if (typeof creds?.certPem !== "string" || typeof creds.keyPem !== "string") {
    throw invalid("S/MIME signer credentials need certPem and keyPem strings");
  }
  const [cert, ...extra] = certsIn(creds.certPem, "certPem");
  if (!cert) throw invalid("certPem holds no PEM certificate");
  const key = privateKey(creds.keyPem, creds.passphrase, "keyPem");
  if (!spki(key).equals(spki(cert))) throw invalid("The private key does not belong to the signing certificate");
  const chain = [...extra, ...(creds.chainPem ?? []).flatMap((pem, i) => certsIn(pem, `chainPem[${i}]`))];
  return { key, cert, chain };
}

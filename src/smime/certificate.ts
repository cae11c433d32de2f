/**
 * The Certificate class of the IP*Works JavaScript editions: a certificate
 * selected from a store (`new Certificate(storeType, store, storePassword,
 * subject)`) or given encoded (`new Certificate(encoded)`), with the fields a
 * port reads. Smtp.setCertificate(cert) makes it the S/MIME signer.
 *
 * The private key is never exposed: PrivateKeyAvailable says whether the
 * store had it, and only the signer loader uses it.
 */
import { createHash, X509Certificate } from "node:crypto";
import { distinguishedName } from "../transport/distinguished-name.js";
import { inspect } from "node:util";
import { ErrorCode, SmtpError } from "../errors.js";
import { CertStoreType } from "../transport/cert-store-types.js";
import { certificatePem, type EncodedCertificate } from "./cert-encoding.js";
import { keyMatches, readCertStore, type SmimeCredentials } from "./credentials.js";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** IP*Works' date form, in UTC: "23-Jan-2000 15:00:00". */
function ipworksDate(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** Node's "C=US\nO=Example\nCN=x" as IP*Works writes a distinguished name: "C=US, O=Example, CN=x". */
function thumbprint(der: Buffer, algorithm: string): string {
  return createHash(algorithm).update(der).digest("hex").toUpperCase();
}

function normalizeDn(dn: string): string {
  return dn.split(/\s*[,\n]\s*/).map((p) => p.replace(/\s*=\s*/, "=").toLowerCase()).filter((p) => p !== "").sort().join(",");
}

/** IP*Works subject selection: "*" or "" the first (with a key first), else an exact DN, else a DN containing the text. */
function select<T extends { cert: X509Certificate; hasKey: boolean }>(entries: T[], subject: string, source: string): T {
  const ordered = [...entries.filter((e) => e.hasKey), ...entries.filter((e) => !e.hasKey)];
  const wanted = subject.trim();
  if (wanted === "" || wanted === "*") {
    const first = ordered[0];
    if (first) return first;
  } else {
    const exact = ordered.find((e) => normalizeDn(distinguishedName(e.cert.subject)) === normalizeDn(wanted));
    if (exact) return exact;
    const text = wanted.toLowerCase();
    const partial = ordered.find((e) => distinguishedName(e.cert.subject).toLowerCase().includes(text));
    if (partial) return partial;
  }
  throw new SmtpError(ErrorCode.InvalidValue, `${source}: no certificate with subject ${JSON.stringify(subject)} (${entries.length} certificate(s) in the store)`);
}

/**
 * An X.509 certificate, as IP*Works' Certificate type: read from a store (PKCS#12, PEM) with its
 * private key for S/MIME signing, or given encoded (DER, base64, PEM) as an encryption recipient.
 */
export class Certificate {
  readonly #x509: X509Certificate;
  readonly #storeType: number;
  readonly #store: string;
  readonly #storePassword: string;
  readonly #subjectSelector: string;
  readonly #privateKeyAvailable: boolean;

  /** A certificate from a store, selected by subject ("*" the first). Store types as CertStoreType: 2, 3, 6, 7, 99. */
  constructor(storeType: number, store: string | Uint8Array, storePassword: string, subject: string);
  /** A certificate given encoded: DER bytes, base64 DER or PEM text (no private key). */
  constructor(encoded: EncodedCertificate);
  constructor(first: number | EncodedCertificate, store?: string | Uint8Array, storePassword?: string, subject?: string) {
    if (typeof first === "number") {
      const password = typeof storePassword === "string" ? storePassword : "";
      // IP*Works JS takes a blob as bytes too: PFX bytes as base64, PEM bytes as text.
      const storeText = store instanceof Uint8Array ? blobText(store) : typeof store === "string" ? store : "";
      const contents = readCertStore({ storeType: first, store: storeText, password });
      const entries = contents.certs.map((cert) => ({ cert, hasKey: contents.keys.some((k) => keyMatches(k, cert)) }));
      if (entries.length === 0) throw new SmtpError(ErrorCode.InvalidValue, `${contents.source} holds no certificate`);
      const chosen = select(entries, typeof subject === "string" ? subject : "*", contents.source);
      this.#x509 = chosen.cert;
      this.#privateKeyAvailable = chosen.hasKey;
      this.#storeType = first;
      this.#store = storeText;
      this.#storePassword = password;
      this.#subjectSelector = typeof subject === "string" ? subject : "*";
    } else {
      const pem = certificatePem(first, "Certificate");
      const block = /-----BEGIN (?:X509 )?CERTIFICATE-----[\s\S]*?-----END (?:X509 )?CERTIFICATE-----/.exec(pem);
      if (!block) throw new SmtpError(ErrorCode.InvalidValue, "Certificate: the PEM text holds no certificate");
      try {
        this.#x509 = new X509Certificate(block[0]);
      } catch (err) {
        throw new SmtpError(ErrorCode.InvalidValue, "Certificate: not a valid X.509 certificate", { cause: err });
      }
      this.#privateKeyAvailable = false;
      this.#storeType = CertStoreType.PemKeyBlob;
      this.#store = this.#x509.toString();
      this.#storePassword = "";
      this.#subjectSelector = "*";
    }
  }

  /** The node:crypto certificate. */
  get x509(): X509Certificate { return this.#x509; }

  /** Distinguished name of the subject: "C=US, O=Example, CN=Signer". */
  get subject(): string { return distinguishedName(this.#x509.subject); }
  get issuer(): string { return distinguishedName(this.#x509.issuer); }
  /** Serial number, upper-case hex. */
  get serialNumber(): string { return this.#x509.serialNumber.toUpperCase(); }
  /** SHA-1 thumbprint, upper-case hex without separators (IP*Works' Thumbprint / ThumbprintSHA1). */
  get thumbprintSHA1(): string { return thumbprint(this.#x509.raw, "sha1"); }
  get thumbprintMD5(): string { return thumbprint(this.#x509.raw, "md5"); }
  get thumbprintSHA256(): string { return thumbprint(this.#x509.raw, "sha256"); }
  /** Start of validity, IP*Works form in UTC: "01-Jan-2026 00:00:00". */
  get effectiveDate(): string { return ipworksDate(new Date(this.#x509.validFrom)); }
  /** End of validity, IP*Works form in UTC. */
  get expirationDate(): string { return ipworksDate(new Date(this.#x509.validTo)); }
  /** The certificate, base64 DER (IP*Works' Encoded). */
  get encoded(): string { return this.#x509.raw.toString("base64"); }
  /** The certificate, DER bytes (IP*Works' EncodedB). */
  get encodedB(): Buffer { return Buffer.from(this.#x509.raw); }
  /** The certificate as PEM text. */
  get pem(): string { return this.#x509.toString(); }
  /** Whether the store holds this certificate's private key (the key itself is never exposed). */
  get privateKeyAvailable(): boolean { return this.#privateKeyAvailable; }
  /** "RSA", "EC", ... */
  get publicKeyAlgorithm(): string { return (this.#x509.publicKey.asymmetricKeyType ?? "").toUpperCase(); }
  /** Key size in bits (RSA modulus, EC curve size). */
  get publicKeyLength(): number {
    const d = this.#x509.publicKey.asymmetricKeyDetails;
    if (d?.modulusLength !== undefined) return d.modulusLength;
    const curve = d?.namedCurve;
    return curve === "prime256v1" ? 256 : curve === "secp384r1" ? 384 : curve === "secp521r1" ? 521 : 0;
  }
  /** The public key, PEM (SubjectPublicKeyInfo). */
  get publicKey(): string { return this.#x509.publicKey.export({ type: "spki", format: "pem" }).toString(); }
  /** Subject alternative names, comma separated ("" when none). */
  get subjectAltNames(): string { return this.#x509.subjectAltName ?? ""; }
  get storeType(): number { return this.#storeType; }
  get store(): string { return this.#store; }
  /** The store password as given (never printed: see toJSON and inspect). */
  get storePassword(): string { return this.#storePassword; }
  /** The subject selector given to the constructor ("*" for the first). */
  get storeSubject(): string { return this.#subjectSelector; }

  // IP*Works JavaScript spelling: cert.getSubject(), cert.getThumbprintSHA1(), ...
  getSubject(): string { return this.subject; }
  getIssuer(): string { return this.issuer; }
  getSerialNumber(): string { return this.serialNumber; }
  getThumbprintMD5(): string { return this.thumbprintMD5; }
  getThumbprintSHA1(): string { return this.thumbprintSHA1; }
  getThumbprintSHA256(): string { return this.thumbprintSHA256; }
  getEffectiveDate(): string { return this.effectiveDate; }
  getExpirationDate(): string { return this.expirationDate; }
  getEncoded(): string { return this.encoded; }
  getEncodedB(): Buffer { return this.encodedB; }
  getPrivateKeyAvailable(): boolean { return this.privateKeyAvailable; }
  getPublicKeyAlgorithm(): string { return this.publicKeyAlgorithm; }
  getPublicKeyLength(): number { return this.publicKeyLength; }
  getPublicKey(): string { return this.publicKey; }
  getSubjectAltNames(): string { return this.subjectAltNames; }
  getStoreType(): number { return this.storeType; }
  getStore(): string { return this.store; }
  getStorePassword(): string { return this.storePassword; }

  /** The public fields only: no store content (it may hold the key) and no password. */
  toJSON(): Record<string, string | number | boolean> {
    return {
      subject: this.subject, issuer: this.issuer, serialNumber: this.serialNumber,
      thumbprintSHA1: this.thumbprintSHA1, thumbprintSHA256: this.thumbprintSHA256,
      effectiveDate: this.effectiveDate, expirationDate: this.expirationDate,
      privateKeyAvailable: this.privateKeyAvailable, storeType: this.storeType,
    };
  }

  [inspect.custom](): string {
    return `Certificate ${inspect(this.toJSON())}`;
  }
}

/** A store blob given as bytes: PEM stays text, PKCS#12 becomes base64 (CertStoreType 3's form). */
function blobText(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const latin1 = buf.toString("latin1");
  return latin1.includes("-----BEGIN ") ? latin1 : buf.toString("base64");
}


/**
 * The signer credentials of a Certificate from a store: its own private key
 * (the store is read again, so the key lives no longer than the signing) and
 * the store's other certificates as the chain.
 */
export function certificateSigner(cert: Certificate): SmimeCredentials {
  if (!cert.privateKeyAvailable) {
    throw new SmtpError(ErrorCode.InvalidValue, `The certificate ${JSON.stringify(cert.subject)} has no private key: sign() needs a store with the certificate and its key (CertStoreType 2, 3, 6, 7 or 99)`);
  }
  const { keys, certs } = readCertStore({ storeType: cert.storeType, store: cert.store, password: cert.storePassword });
  const leaf = cert.x509;
  const key = keys.find((k) => keyMatches(k, leaf));
  if (!key) throw new SmtpError(ErrorCode.InvalidValue, `The store no longer holds the private key of ${JSON.stringify(cert.subject)}`);
  return {
    certPem: leaf.toString(),
    keyPem: key.export({ type: "pkcs8", format: "pem" }).toString(),
    chainPem: certs.filter((c) => !c.raw.equals(leaf.raw)).map((c) => c.toString()),
  };
}

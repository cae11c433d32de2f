/**
 * S/MIME signing (RFC 8551): a CMS SignedData built and signed with PKI.js,
 * framed as multipart/signed (detached, readable without S/MIME support) or
 * application/pkcs7-mime; smime-type=signed-data (opaque).
 */
import { createHash, KeyObject, X509Certificate, type webcrypto } from "node:crypto";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import type { Header } from "../message/header-block.js";
import { OID, base64Lines, invalid, toArrayBuffer } from "./der.js";
import { resolveSigner, type SmimeCredentials } from "./credentials.js";
import { checkEntity, makeBoundary } from "./mime.js";

export interface SignOptions {
  /** Digest algorithm (default sha256). */
  algorithm?: "sha256" | "sha384" | "sha512";
  /** true (default): multipart/signed, readable without S/MIME. false: opaque application/pkcs7-mime. */
  detached?: boolean;
  /** Put the signer's certificate into the signature (default true); without it the receiver must already have it. */
  includeCertificate?: boolean;
  /** Also put the chain certificates (chainPem / the other PFX certificates) into the signature (default false). */
  includeChain?: boolean;
}

const DIGESTS = {
  sha256: { oid: OID.sha256, webCrypto: "SHA-256", micalg: "sha-256" },
  sha384: { oid: OID.sha384, webCrypto: "SHA-384", micalg: "sha-384" },
  sha512: { oid: OID.sha512, webCrypto: "SHA-512", micalg: "sha-512" },
} as const;

/**
 * PKI.js runs on this engine, passed to each call instead of pkijs.setEngine()
 * so that loading smtpkit never changes the global engine other code in the
 * process may have chosen.
 */
let engine: pkijs.CryptoEngine | undefined;
function cryptoEngine(): pkijs.CryptoEngine {
  engine ??= new pkijs.CryptoEngine({ name: "smtpkit-smime", crypto: globalThis.crypto });
  return engine;
}

/** Imports the key into WebCrypto for PKI.js, as RSA PKCS#1 v1.5 or ECDSA. */
async function signingKey(key: KeyObject, hash: string): Promise<webcrypto.CryptoKey> {
  const pkcs8 = key.export({ type: "pkcs8", format: "der" });
  const subtle = globalThis.crypto.subtle;
  switch (key.asymmetricKeyType) {
    case "rsa":
      return subtle.importKey("pkcs8", pkcs8, { name: "RSASSA-PKCS1-v1_5", hash }, false, ["sign"]);
    case "ec": {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const namedCurve = curve === "prime256v1" ? "P-256" : curve === "secp384r1" ? "P-384" : curve === "secp521r1" ? "P-521" : undefined;
      if (!namedCurve) throw invalid(`EC signing keys must use P-256, P-384 or P-521 (this one uses ${curve ?? "an unknown curve"})`);
      return subtle.importKey("pkcs8", pkcs8, { name: "ECDSA", namedCurve }, false, ["sign"]);
    }
    default:
      throw invalid(`S/MIME signing supports RSA and EC keys, not ${key.asymmetricKeyType ?? "this key type"}`);
  }
}

function pkiCert(cert: X509Certificate): pkijs.Certificate {
  return pkijs.Certificate.fromBER(toArrayBuffer(cert.raw));
}

function attribute(type: string, value: asn1js.AsnType): pkijs.Attribute {
  return new pkijs.Attribute({ type, values: [value] });
}

/** Compares DER encodings the way X.690 orders SET OF elements. */
function derOrder(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * Signed attributes in DER SET OF order. The signature covers their DER
 * encoding, and verifiers that re-encode before checking (as DER demands)
 * would otherwise compute different bytes.
 */
function signedAttributes(digest: Buffer, now: Date): pkijs.Attribute[] {
  // RFC 5652 11.3: UTCTime for 1950-2049, GeneralizedTime otherwise.
  const time = now.getUTCFullYear() < 2050 ? new asn1js.UTCTime({ valueDate: now }) : new asn1js.GeneralizedTime({ valueDate: now });
  // What the signer can decrypt, strongest first (RFC 8551 2.5.2). AES-CBC is
  // what every S/MIME client handles.
  const capabilities = new asn1js.Sequence({
    value: [OID.aes256Cbc, OID.aes192Cbc, OID.aes128Cbc].map(
      (oid) => new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid })] }),
    ),
  });
  const attrs = [
    attribute(OID.contentType, new asn1js.ObjectIdentifier({ value: OID.data })),
    attribute(OID.signingTime, time),
    attribute(OID.messageDigest, new asn1js.OctetString({ valueHex: toArrayBuffer(digest) })),
    attribute(OID.smimeCapabilities, capabilities),
  ];
  const encoded = attrs.map((a) => ({ a, der: new Uint8Array(a.toSchema().toBER(false)) }));
  encoded.sort((x, y) => derOrder(x.der, y.der));
  return encoded.map((e) => e.a);
}

/** Builds and signs the CMS SignedData; returns its ContentInfo DER. */
async function signedData(entity: Buffer, signer: SmimeCredentials, opts: Required<SignOptions>): Promise<Buffer> {
  const { key, cert, chain } = resolveSigner(signer);
  const digestAlg = DIGESTS[opts.algorithm];
  const cryptoKey = await signingKey(key, digestAlg.webCrypto);
  const leaf = pkiCert(cert);

  const digest = createHash(opts.algorithm).update(entity).digest();
  const signerInfo = new pkijs.SignerInfo({
    version: 1,
    // IssuerAndSerialNumber (version 1) is what every S/MIME client can match.
    sid: new pkijs.IssuerAndSerialNumber({ issuer: leaf.issuer, serialNumber: leaf.serialNumber }),
    signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: signedAttributes(digest, new Date()) }),
  });
  const certificates = [...(opts.includeCertificate ? [leaf] : []), ...(opts.includeChain ? chain.map(pkiCert) : [])];
  const encap = opts.detached
    ? new pkijs.EncapsulatedContentInfo({ eContentType: OID.data })
    : new pkijs.EncapsulatedContentInfo({ eContentType: OID.data, eContent: new asn1js.OctetString({ valueHex: toArrayBuffer(entity) }) });
  const sd = new pkijs.SignedData({
    version: 1,
    encapContentInfo: encap,
    signerInfos: [signerInfo],
    ...(certificates.length > 0 ? { certificates } : {}),
  });
  try {
    await sd.sign(cryptoKey, 0, digestAlg.webCrypto, undefined, cryptoEngine());
  } catch (err) {
    throw invalid(`S/MIME signing failed: ${(err as Error).message}`, err);
  }
  const info = new pkijs.ContentInfo({ contentType: OID.signedData, content: sd.toSchema(true) });
  return Buffer.from(info.toSchema().toBER(false));
}

/**
 * Signs a MIME entity. `entity` is the complete entity (its Content-*
 * headers, CRLF CRLF, body) in canonical CRLF form; it is what gets signed,
 * byte for byte. Returns the new entity's headers and body.
 *
 * Detached (default): multipart/signed whose first part is `entity` exactly
 * and whose second part is the application/pkcs7-signature. Nothing in the
 * first part may be changed in transit, so it should be 7bit (QP or base64
 * encode 8-bit text) with lines under 998 octets. Opaque: one
 * application/pkcs7-mime; smime-type=signed-data entity in base64.
 */
export async function smimeSign(entity: Buffer, signer: SmimeCredentials, opts: SignOptions = {}): Promise<{ headers: Header[]; body: Buffer }> {
  const algorithm = opts.algorithm ?? "sha256";
  if (!Object.hasOwn(DIGESTS, algorithm)) throw invalid(`Unsupported S/MIME signing algorithm ${JSON.stringify(algorithm)} (sha256, sha384, sha512)`);
  checkEntity(entity, "smimeSign");
  const full: Required<SignOptions> = {
    algorithm,
    detached: opts.detached ?? true,
    includeCertificate: opts.includeCertificate ?? true,
    includeChain: opts.includeChain ?? false,
  };
  const der = await signedData(entity, signer, full);

  if (!full.detached) {
    return {
      headers: [
        { field: "Content-Type", value: "application/pkcs7-mime; smime-type=signed-data; name=smime.p7m" },
        { field: "Content-Transfer-Encoding", value: "base64" },
        { field: "Content-Disposition", value: "attachment; filename=smime.p7m" },
      ],
      body: Buffer.from(base64Lines(der), "latin1"),
    };
  }

  const boundary = makeBoundary(entity);
  // The CRLF before each "--boundary" belongs to the delimiter (RFC 2046
  // 5.1.1), so the first part's content is `entity` exactly, whether or not
  // it ends with CRLF.
  const body = Buffer.concat([
    Buffer.from(`This is an S/MIME signed message\r\n\r\n--${boundary}\r\n`, "latin1"),
    entity,
    Buffer.from(
      `\r\n--${boundary}\r\n` +
        "Content-Type: application/pkcs7-signature; name=smime.p7s\r\n" +
        "Content-Transfer-Encoding: base64\r\n" +
        "Content-Disposition: attachment; filename=smime.p7s\r\n" +
        "\r\n" +
        // The last base64 line's CRLF doubles as the closing delimiter's.
        base64Lines(der) +
        `--${boundary}--\r\n`,
      "latin1",
    ),
  ]);
  return {
    headers: [
      {
        field: "Content-Type",
        value: `multipart/signed; protocol="application/pkcs7-signature"; micalg=${DIGESTS[algorithm].micalg}; boundary="${boundary}"`,
      },
    ],
    body,
  };
}

/**
 * S/MIME encryption (RFC 8551): CMS EnvelopedData for AES-CBC and
 * AuthEnvelopedData (RFC 5083 / 5084) for AES-GCM, one KeyTransRecipientInfo
 * per RSA recipient, framed as application/pkcs7-mime in base64.
 *
 * The CMS structures are PKI.js objects; the cryptography is node:crypto,
 * because WebCrypto (PKI.js's engine) has no RSAES-PKCS1-v1_5 encryption and
 * PKI.js has no AuthEnvelopedData, which AES-GCM in CMS requires.
 */
import { constants, createCipheriv, publicEncrypt, randomBytes, X509Certificate } from "node:crypto";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import type { Header } from "../message/header-block.js";
import { OID, base64Lines, invalid, pemBlocks, toArrayBuffer } from "./der.js";
import { checkEntity } from "./mime.js";
import type { EncryptingAlgorithm } from "./algorithms.js";

export interface EncryptOptions {
  /**
   * Content encryption (default aes256-cbc). The GCM modes produce AuthEnvelopedData
   * (smime-type=authEnveloped-data); des-ede3-cbc (IP*Works' 3DES) is for old
   * receivers only. IP*Works spellings: normalizeEncryptingAlgorithm().
   */
  algorithm?: EncryptingAlgorithm;
  /**
   * How the content key is encrypted to each RSA recipient. Default
   * "rsaes-pkcs1-v1_5": every S/MIME client decrypts it, and it is what
   * `openssl smime|cms -encrypt` writes. "rsaes-oaep" is RSAES-OAEP with
   * SHA-256 and MGF1-SHA-256 (RFC 8017 / RFC 4055): `openssl cms -decrypt`
   * reads it, `openssl smime -decrypt` and some older mail clients do not.
   */
  keyEncryption?: "rsaes-pkcs1-v1_5" | "rsaes-oaep";
}

const CIPHERS = {
  "aes128-cbc": { oid: OID.aes128Cbc, node: "aes-128-cbc", keyLength: 16, ivLength: 16, gcm: false },
  "aes192-cbc": { oid: OID.aes192Cbc, node: "aes-192-cbc", keyLength: 24, ivLength: 16, gcm: false },
  "aes256-cbc": { oid: OID.aes256Cbc, node: "aes-256-cbc", keyLength: 32, ivLength: 16, gcm: false },
  // RFC 3370 4.3.1 / RFC 8551 2.7: 3DES-CBC, an 8-byte IV; the key parity bits are not checked by receivers.
  "des-ede3-cbc": { oid: OID.desEde3Cbc, node: "des-ede3-cbc", keyLength: 24, ivLength: 8, gcm: false },
  "aes128-gcm": { oid: OID.aes128Gcm, node: "aes-128-gcm", keyLength: 16, ivLength: 12, gcm: true },
  "aes256-gcm": { oid: OID.aes256Gcm, node: "aes-256-gcm", keyLength: 32, ivLength: 12, gcm: true },
} as const satisfies Record<EncryptingAlgorithm, unknown>;

/** RFC 5084: a 12-byte nonce and the full 16-byte tag. */
const GCM_NONCE = 12;
const GCM_TAG = 16;

function recipientCerts(pems: readonly string[]): X509Certificate[] {
  if (!Array.isArray(pems) || pems.length === 0) throw invalid("smimeEncrypt: at least one recipient certificate is needed");
  const certs: X509Certificate[] = [];
  pems.forEach((pem, i) => {
    if (typeof pem !== "string") throw invalid(`smimeEncrypt: recipient ${i} is not a PEM string`);
    const blocks = pemBlocks(pem).filter((b) => b.label === "CERTIFICATE" || b.label === "X509 CERTIFICATE");
    if (blocks.length === 0) throw invalid(`smimeEncrypt: recipient ${i} holds no PEM certificate`);
    for (const block of blocks) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(block.der);
      } catch (err) {
        throw invalid(`smimeEncrypt: recipient ${i} is not a valid X.509 certificate`, err);
      }
      const type = cert.publicKey.asymmetricKeyType;
      if (type !== "rsa") {
        throw invalid(`smimeEncrypt: recipient ${i} (${cert.subject.replace(/\n/g, ", ")}) has a ${type ?? "unknown"} key; only RSA recipients are supported`);
      }
      // The same certificate twice would only add a duplicate RecipientInfo.
      if (!certs.some((c) => c.raw.equals(cert.raw))) certs.push(cert);
    }
  });
  return certs;
}

function keyTransportAlgorithm(oaep: boolean): pkijs.AlgorithmIdentifier {
  if (!oaep) return new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaEncryption, algorithmParams: new asn1js.Null() });
  // RFC 4055: SHA-2 AlgorithmIdentifiers inside OAEP parameters omit their (NULL) parameters.
  const sha256 = new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 });
  const params = new pkijs.RSAESOAEPParams({
    hashAlgorithm: sha256,
    maskGenAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.mgf1, algorithmParams: sha256.toSchema() }),
  });
  return new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaesOaep, algorithmParams: params.toSchema() });
}

function recipientInfo(cert: X509Certificate, cek: Buffer, oaep: boolean): pkijs.RecipientInfo {
  const pki = pkijs.Certificate.fromBER(toArrayBuffer(cert.raw));
  const encryptedKey = publicEncrypt(
    oaep
      ? { key: cert.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }
      : { key: cert.publicKey, padding: constants.RSA_PKCS1_PADDING },
    cek,
  );
  return new pkijs.RecipientInfo({
    variant: 1,
    value: new pkijs.KeyTransRecipientInfo({
      // Version 0 goes with IssuerAndSerialNumber, which every client can match.
      version: 0,
      rid: new pkijs.IssuerAndSerialNumber({ issuer: pki.issuer, serialNumber: pki.serialNumber }),
      keyEncryptionAlgorithm: keyTransportAlgorithm(oaep),
      encryptedKey: new asn1js.OctetString({ valueHex: toArrayBuffer(encryptedKey) }),
    }),
  });
}

function encryptedContentInfo(algorithm: pkijs.AlgorithmIdentifier, ciphertext: Buffer): pkijs.EncryptedContentInfo {
  return new pkijs.EncryptedContentInfo({
    contentType: OID.data,
    contentEncryptionAlgorithm: algorithm,
    encryptedContent: new asn1js.OctetString({ valueHex: toArrayBuffer(ciphertext) }),
    // One primitive OCTET STRING keeps the structure DER; PKI.js would otherwise split it into 1 KiB pieces.
    disableSplit: true,
  });
}

/**
 * Encrypts a MIME entity for the given recipients. `entity` is the complete
 * entity (Content-* headers, CRLF CRLF, body) in canonical CRLF form; for
 * sign-then-encrypt pass serializeEntity(signed.headers, signed.body). The
 * sender is not added automatically: include their certificate too if they
 * must be able to read the message from their Sent folder.
 */
export async function smimeEncrypt(
  entity: Buffer,
  recipientCertsPem: readonly string[],
  opts: EncryptOptions = {},
): Promise<{ headers: Header[]; body: Buffer }> {
  const algorithm = opts.algorithm ?? "aes256-cbc";
  const cipher = Object.hasOwn(CIPHERS, algorithm) ? CIPHERS[algorithm] : undefined;
  if (!cipher) throw invalid(`Unsupported S/MIME encryption algorithm ${JSON.stringify(algorithm)} (${Object.keys(CIPHERS).join(", ")})`);
  const keyEncryption = opts.keyEncryption ?? "rsaes-pkcs1-v1_5";
  if (keyEncryption !== "rsaes-pkcs1-v1_5" && keyEncryption !== "rsaes-oaep") {
    throw invalid(`Unsupported S/MIME key encryption ${JSON.stringify(keyEncryption)} (rsaes-pkcs1-v1_5, rsaes-oaep)`);
  }
  checkEntity(entity, "smimeEncrypt");
  const certs = recipientCerts(recipientCertsPem);

  const cek = randomBytes(cipher.keyLength);
  const recipients = certs.map((c) => recipientInfo(c, cek, keyEncryption === "rsaes-oaep"));

  let contentInfo: pkijs.ContentInfo;
  if (!cipher.gcm) {
    const iv = randomBytes(cipher.ivLength);
    const enc = createCipheriv(cipher.node, cek, iv);
    const ciphertext = Buffer.concat([enc.update(entity), enc.final()]);
    const alg = new pkijs.AlgorithmIdentifier({ algorithmId: cipher.oid, algorithmParams: new asn1js.OctetString({ valueHex: toArrayBuffer(iv) }) });
    const enveloped = new pkijs.EnvelopedData({
      // Version 0: no originatorInfo, no unprotectedAttrs, only version-0 KeyTransRecipientInfos (RFC 5652 6.1).
      version: 0,
      recipientInfos: recipients,
      encryptedContentInfo: encryptedContentInfo(alg, ciphertext),
    });
    contentInfo = new pkijs.ContentInfo({ contentType: OID.envelopedData, content: enveloped.toSchema() });
  } else {
    const nonce = randomBytes(GCM_NONCE);
    const enc = createCipheriv(cipher.node, cek, nonce, { authTagLength: GCM_TAG });
    const ciphertext = Buffer.concat([enc.update(entity), enc.final()]);
    const tag = enc.getAuthTag();
    // GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING, aes-ICVlen INTEGER DEFAULT 12 }
    const gcmParams = new asn1js.Sequence({
      value: [new asn1js.OctetString({ valueHex: toArrayBuffer(nonce) }), new asn1js.Integer({ value: GCM_TAG })],
    });
    const alg = new pkijs.AlgorithmIdentifier({ algorithmId: cipher.oid, algorithmParams: gcmParams });
    // AuthEnvelopedData (RFC 5083) has no PKI.js class; without authAttrs the GCM AAD is empty.
    const authEnveloped = new asn1js.Sequence({
      value: [
        new asn1js.Integer({ value: 0 }),
        new asn1js.Set({ value: recipients.map((r) => r.toSchema()) }),
        encryptedContentInfo(alg, ciphertext).toSchema(),
        new asn1js.OctetString({ valueHex: toArrayBuffer(tag) }),
      ],
    });
    contentInfo = new pkijs.ContentInfo({ contentType: OID.authEnvelopedData, content: authEnveloped });
  }
  const der = Buffer.from(contentInfo.toSchema().toBER(false));
  const smimeType = cipher.gcm ? "authEnveloped-data" : "enveloped-data";
  return {
    headers: [
      { field: "Content-Type", value: `application/pkcs7-mime; smime-type=${smimeType}; name=smime.p7m` },
      { field: "Content-Transfer-Encoding", value: "base64" },
      { field: "Content-Disposition", value: "attachment; filename=smime.p7m" },
    ],
    body: Buffer.from(base64Lines(der), "latin1"),
  };
}

/**
 * PKCS#12 (PFX) reading: the certificates and private keys in a .pfx / .p12.
 *
 * PKI.js parses the ASN.1 (PFX, AuthenticatedSafe, SafeContents, bags, PBES2
 * parameters); the cryptography runs on node:crypto's synchronous primitives
 * instead of PKI.js's WebCrypto engine, because loadSigner() is synchronous
 * (like IP*Works' certificate properties) and WebCrypto is promise-only. That
 * also lets us read the pbeWithSHAAnd3-KeyTripleDES-CBC files Windows and
 * OpenSSL 1.x export, which PKI.js's engine cannot decrypt.
 *
 * Supported: password integrity (HMAC-SHA1/224/256/384/512 MAC with the
 * PKCS#12 KDF), PBES2 + PBKDF2 (any HMAC-SHA PRF) with AES-128/192/256-CBC or
 * DES-EDE3-CBC (OpenSSL 3's default is PBES2/PBKDF2/AES-256-CBC), and
 * pbeWithSHAAnd3-KeyTripleDES-CBC / 2-KeyTripleDES-CBC. Not supported (refused
 * with a message saying so): RC2 and RC4 (OpenSSL 3 keeps them in its legacy
 * provider, which Node does not load), PBMAC1, public-key integrity/privacy.
 */
import { createDecipheriv, createHash, createHmac, pbkdf2Sync, timingSafeEqual } from "node:crypto";
import type * as Asn1js from "asn1js";
import type * as Pkijs from "pkijs";
import { SmtpError } from "../errors.js";
import { OID, invalid, toArrayBuffer, toBuffer } from "./der.js";
import { syncRequire } from "../sync-require.js";

/** PKI.js and asn1js, loaded on the first PKCS#12 read (see sync-require.ts). */
let libraries: { asn1js: typeof Asn1js; pkijs: typeof Pkijs } | undefined;
function asn1(): { asn1js: typeof Asn1js; pkijs: typeof Pkijs } {
  return (libraries ??= { asn1js: syncRequire("asn1js") as typeof Asn1js, pkijs: syncRequire("pkijs") as typeof Pkijs });
}

export interface Pkcs12Contents {
  /** Unencrypted PKCS#8 PrivateKeyInfo DER of every key found. */
  keys: Buffer[];
  /** DER of every X.509 certificate found, in file order. */
  certs: Buffer[];
}

interface HashInfo {
  node: string;
  /** Output length u and block length v of the PKCS#12 KDF (RFC 7292 B.2). */
  u: number;
  v: number;
}

const HASHES: Record<string, HashInfo> = {
  [OID.sha1]: { node: "sha1", u: 20, v: 64 },
  "2.16.840.1.101.3.4.2.4": { node: "sha224", u: 28, v: 64 },
  [OID.sha256]: { node: "sha256", u: 32, v: 64 },
  [OID.sha384]: { node: "sha384", u: 48, v: 128 },
  [OID.sha512]: { node: "sha512", u: 64, v: 128 },
};

const PRFS: Record<string, string> = {
  [OID.hmacWithSha1]: "sha1",
  [OID.hmacWithSha224]: "sha224",
  [OID.hmacWithSha256]: "sha256",
  [OID.hmacWithSha384]: "sha384",
  [OID.hmacWithSha512]: "sha512",
};

const PBES2_CIPHERS: Record<string, { node: string; keyLength: number }> = {
  [OID.aes128Cbc]: { node: "aes-128-cbc", keyLength: 16 },
  [OID.aes192Cbc]: { node: "aes-192-cbc", keyLength: 24 },
  [OID.aes256Cbc]: { node: "aes-256-cbc", keyLength: 32 },
  [OID.desEde3Cbc]: { node: "des-ede3-cbc", keyLength: 24 },
};

const PKCS12_PBE_CIPHERS: Record<string, { node: string; keyLength: number; ivLength: number }> = {
  [OID.pbeSha1Des3]: { node: "des-ede3-cbc", keyLength: 24, ivLength: 8 },
  [OID.pbeSha1Des2]: { node: "des-ede-cbc", keyLength: 16, ivLength: 8 },
};

const UNSUPPORTED_PBE: Record<string, string> = {
  [OID.pbeSha1Rc4_128]: "pbeWithSHAAnd128BitRC4",
  [OID.pbeSha1Rc4_40]: "pbeWithSHAAnd40BitRC4",
  [OID.pbeSha1Rc2_128]: "pbeWithSHAAnd128BitRC2-CBC",
  [OID.pbeSha1Rc2_40]: "pbeWithSHAAnd40BitRC2-CBC",
};

/**
 * The PKCS#12 key derivation function (RFC 7292 appendix B.2). `id` is 1 for
 * cipher keys, 2 for IVs, 3 for MAC keys; `password` is already the
 * BMPString form (UTF-16BE with a two-byte terminator).
 */
function pkcs12Kdf(hash: HashInfo, id: number, password: Buffer, salt: Buffer, iterations: number, length: number): Buffer {
  const { u, v } = hash;
  const fill = (src: Buffer): Buffer => {
    const out = Buffer.alloc(src.length === 0 ? 0 : v * Math.ceil(src.length / v));
    for (let i = 0; i < out.length; i++) out[i] = src[i % src.length] ?? 0;
    return out;
  };
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([fill(salt), fill(password)]);
  const blocks: Buffer[] = [];
  for (let produced = 0; produced < length; produced += u) {
    let A = createHash(hash.node).update(D).update(I).digest();
    for (let k = 1; k < iterations; k++) A = createHash(hash.node).update(A).digest();
    blocks.push(A);
    // I_j = (I_j + B + 1) mod 2^(8v) for every v-byte block of I, B being A repeated to v bytes.
    const B = Buffer.alloc(v);
    for (let k = 0; k < v; k++) B[k] = A[k % u] ?? 0;
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = (I[j + k] ?? 0) + (B[k] ?? 0) + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** BMPString password with its terminator, as RFC 7292 B.1 wants it. */
function bmpPassword(password: string): Buffer {
  const out = Buffer.alloc(password.length * 2 + 2);
  for (let i = 0; i < password.length; i++) out.writeUInt16BE(password.charCodeAt(i), i * 2);
  return out;
}

/**
 * Password encodings worth trying for the PKCS#12 KDF. Writers disagree at
 * the edges: an empty password may be sent as no bytes at all instead of a
 * lone terminator, and old OpenSSL widened each UTF-8 byte instead of each
 * character. The MAC tells us which one the writer used.
 */
function kdfPasswordCandidates(password: string): Buffer[] {
  const candidates = [bmpPassword(password)];
  if (password === "") candidates.push(Buffer.alloc(0));
  const utf8 = Buffer.from(password, "utf8");
  if (utf8.length !== password.length) candidates.push(bmpPassword(utf8.toString("latin1")));
  return candidates;
}

/** The content octets of an OCTET STRING, joining the pieces of a constructed (BER) one. */
function octets(value: unknown, what: string): Buffer {
  const { asn1js } = asn1();
  if (!(value instanceof asn1js.OctetString)) throw invalid(`${what} is not an OCTET STRING`);
  return toBuffer(value.getValue());
}

function integer(value: unknown, what: string): number {
  const { asn1js } = asn1();
  if (!(value instanceof asn1js.Integer)) throw invalid(`PKCS#12: ${what} is not an INTEGER`);
  const n = value.valueBlock.valueDec;
  if (!Number.isSafeInteger(n) || n < 1 || n > 10_000_000) throw invalid(`PKCS#12: ${what} ${n} is out of range`);
  return n;
}

/** Checks the password MAC; returns the KDF password encoding that matched. */
function verifyMac(macData: Pkijs.MacData, authSafe: Buffer, password: string): Buffer {
  const algorithm = macData.mac.digestAlgorithm.algorithmId;
  if (algorithm === OID.pbmac1) {
    throw invalid("PKCS#12: the PBMAC1 integrity MAC (OpenSSL 3.4 -pbmac1_pbkdf2) is not supported; export with the default MAC");
  }
  const hash = HASHES[algorithm];
  if (!hash) throw invalid(`PKCS#12: unsupported MAC digest algorithm ${algorithm}`);
  const expected = toBuffer(macData.mac.digest.valueBlock.valueHexView);
  const salt = toBuffer(macData.macSalt.valueBlock.valueHexView);
  const iterations = macData.iterations ?? 1;
  for (const candidate of kdfPasswordCandidates(password)) {
    const key = pkcs12Kdf(hash, 3, candidate, salt, iterations, hash.u);
    const actual = createHmac(hash.node, key).update(authSafe).digest();
    if (actual.length === expected.length && timingSafeEqual(actual, expected)) return candidate;
  }
  throw invalid("PKCS#12: the integrity check failed: wrong password, or the file is damaged");
}

/** Decrypts data protected by a password-based encryption AlgorithmIdentifier. */
function pbeDecrypt(alg: Pkijs.AlgorithmIdentifier, data: Buffer, password: string, kdfPassword: Buffer | undefined): Buffer {
  const { asn1js, pkijs } = asn1();
  const id = alg.algorithmId;
  try {
    if (id === OID.pbes2) {
      const params = new pkijs.PBES2Params({ schema: alg.algorithmParams });
      if (params.keyDerivationFunc.algorithmId !== OID.pbkdf2) {
        throw invalid(`PKCS#12: unsupported PBES2 key derivation ${params.keyDerivationFunc.algorithmId} (only PBKDF2)`);
      }
      const kdf = new pkijs.PBKDF2Params({ schema: params.keyDerivationFunc.algorithmParams });
      const cipher = PBES2_CIPHERS[params.encryptionScheme.algorithmId];
      if (!cipher) throw invalid(`PKCS#12: unsupported PBES2 cipher ${params.encryptionScheme.algorithmId}`);
      const prf = kdf.prf ? PRFS[kdf.prf.algorithmId] : "sha1";
      if (!prf) throw invalid(`PKCS#12: unsupported PBKDF2 PRF ${kdf.prf?.algorithmId ?? ""}`);
      if (!(kdf.salt instanceof asn1js.OctetString)) throw invalid("PKCS#12: PBKDF2 salt is not an OCTET STRING");
      if (kdf.iterationCount < 1 || kdf.iterationCount > 10_000_000) throw invalid("PKCS#12: PBKDF2 iteration count out of range");
      const iv = octets(params.encryptionScheme.algorithmParams, "PBES2 IV");
      // PBES2 takes the password as raw bytes; OpenSSL passes the UTF-8 the user typed.
      const key = pbkdf2Sync(Buffer.from(password, "utf8"), toBuffer(kdf.salt.valueBlock.valueHexView), kdf.iterationCount, kdf.keyLength ?? cipher.keyLength, prf);
      const decipher = createDecipheriv(cipher.node, key, iv);
      return Buffer.concat([decipher.update(data), decipher.final()]);
    }
    const legacy = PKCS12_PBE_CIPHERS[id];
    if (legacy) {
      const params = alg.algorithmParams;
      if (!(params instanceof asn1js.Sequence)) throw invalid("PKCS#12: malformed PBE parameters");
      const [saltNode, iterNode] = params.valueBlock.value;
      const salt = octets(saltNode, "PBE salt");
      const iterations = integer(iterNode, "PBE iteration count");
      const sha1 = HASHES[OID.sha1];
      if (!sha1) throw invalid("PKCS#12: SHA-1 unavailable");
      for (const candidate of kdfPasswordCandidates(password)) {
        // Once the MAC picked the encoding, use only that one.
        if (kdfPassword && !candidate.equals(kdfPassword)) continue;
        const key = pkcs12Kdf(sha1, 1, candidate, salt, iterations, legacy.keyLength);
        const iv = pkcs12Kdf(sha1, 2, candidate, salt, iterations, legacy.ivLength);
        try {
          const decipher = createDecipheriv(legacy.node, key, iv);
          return Buffer.concat([decipher.update(data), decipher.final()]);
        } catch (err) {
          if (kdfPassword) throw err;
        }
      }
      throw invalid("PKCS#12: could not decrypt: wrong password");
    }
    const name = UNSUPPORTED_PBE[id];
    if (name) {
      throw invalid(
        `PKCS#12: ${name} encryption is not supported (RC2/RC4 need OpenSSL's legacy provider); ` +
          "re-export the file with AES (e.g. `openssl pkcs12 -legacy -in old.pfx -nodes | openssl pkcs12 -export`)",
      );
    }
    throw invalid(`PKCS#12: unsupported encryption algorithm ${id}`);
  } catch (err) {
    if (err instanceof SmtpError) throw err;
    // A wrong password shows up as a padding error from the decipher.
    throw invalid("PKCS#12: could not decrypt: wrong password or damaged file", err);
  }
}

function collectBags(safeContentsDer: Buffer, password: string, kdfPassword: Buffer | undefined, out: Pkcs12Contents): void {
  const { asn1js, pkijs } = asn1();
  const contents = pkijs.SafeContents.fromBER(toArrayBuffer(safeContentsDer));
  walk(contents);

  function walk(sc: Pkijs.SafeContents): void {
    for (const bag of sc.safeBags) {
      const value = bag.bagValue;
      if (value instanceof pkijs.PKCS8ShroudedKeyBag) {
        out.keys.push(pbeDecrypt(value.encryptionAlgorithm, toBuffer(value.encryptedData.getValue()), password, kdfPassword));
      } else if (value instanceof pkijs.PrivateKeyInfo) {
        out.keys.push(toBuffer(value.toSchema().toBER(false)));
      } else if (value instanceof pkijs.CertBag) {
        if (value.certId === OID.x509CertBag && value.certValue instanceof asn1js.OctetString) {
          // The original bytes, not a re-encoding: the signature covers them.
          out.certs.push(octets(value.certValue, "certificate bag"));
        }
      } else if (value instanceof pkijs.SafeContents) {
        walk(value);
      }
      // CRL and secret bags carry nothing a signer needs.
    }
  }
}

/** Reads every key and certificate of a password-protected PKCS#12 file. */
export function readPkcs12(der: Buffer, password: string): Pkcs12Contents {
  const { pkijs } = asn1();
  let pfx: Pkijs.PFX;
  try {
    pfx = pkijs.PFX.fromBER(toArrayBuffer(der));
  } catch (err) {
    throw invalid("PKCS#12: not a PFX / PKCS#12 file", err);
  }
  if (pfx.authSafe.contentType !== OID.data) {
    throw invalid("PKCS#12: public-key integrity mode (signed authSafe) is not supported");
  }
  const authSafeDer = octets(pfx.authSafe.content, "PFX authSafe");
  const kdfPassword = pfx.macData ? verifyMac(pfx.macData, authSafeDer, password) : undefined;

  const out: Pkcs12Contents = { keys: [], certs: [] };
  try {
    readAuthSafe(authSafeDer, password, kdfPassword, out);
  } catch (err) {
    if (err instanceof SmtpError) throw err;
    throw invalid("PKCS#12: malformed contents", err);
  }
  return out;
}

function readAuthSafe(authSafeDer: Buffer, password: string, kdfPassword: Buffer | undefined, out: Pkcs12Contents): void {
  const { pkijs } = asn1();
  const authSafe = pkijs.AuthenticatedSafe.fromBER(toArrayBuffer(authSafeDer));
  for (const info of authSafe.safeContents) {
    if (info.contentType === OID.data) {
      collectBags(octets(info.content, "SafeContents"), password, kdfPassword, out);
    } else if (info.contentType === OID.encryptedData) {
      const encrypted = new pkijs.EncryptedData({ schema: info.content });
      const eci = encrypted.encryptedContentInfo;
      const plain = pbeDecrypt(eci.contentEncryptionAlgorithm, toBuffer(eci.getEncryptedContent()), password, kdfPassword);
      collectBags(plain, password, kdfPassword, out);
    } else {
      throw invalid(`PKCS#12: unsupported safe contents type ${info.contentType} (public-key privacy mode)`);
    }
  }
}

/**
 * S/MIME (RFC 8551) for smtpkit, mirroring what IP*Works' S/MIME components
 * do to a message before SMTP sends it: sign (detached multipart/signed or
 * opaque), encrypt (EnvelopedData / AuthEnvelopedData), and load the
 * signer's certificate from a PEM or PKCS#12 store.
 *
 * Every function takes and returns whole MIME entities: Content-* headers
 * (as Header objects, unfolded) and a canonical CRLF body.
 */
export { loadSigner, CertStoreType, type SmimeCredentials, type LoadSignerOptions } from "./credentials.js";
export { smimeSign, type SignOptions } from "./sign.js";
export { smimeEncrypt, type EncryptOptions } from "./encrypt.js";
export { serializeEntity } from "./mime.js";
export { Certificate, certificateSigner } from "./certificate.js";
export { normalizeEncryptingAlgorithm, normalizeSigningAlgorithm } from "./algorithms.js";

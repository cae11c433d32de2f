/**
 * Loads the client certificate named by SSLCertStoreType / SSLCertStore /
 * SSLCertStorePassword / SSLCertSubject into TLS options.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { existsSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { ErrorCode, SmtpError } from "../errors.js";
import { CertStoreType, storeTypeName, unsupportedStoreHint } from "./cert-store-types.js";
import { readSourceFile } from "./pem-source.js";

/** The subset of tls.connect() options that carry a client certificate. */
export type ClientCertificate =
  | { pfx: Buffer; passphrase?: string }
  | { cert: string; key: string; passphrase?: string };

export interface ClientCertificateSpec {
  storeType: number;
  store: string;
  password: string;
  subject: string;
}

export function loadClientCertificate(spec: ClientCertificateSpec): ClientCertificate | undefined {
  if (spec.store.trim() === "") return undefined;
  const passphrase = spec.password || undefined;
  let result: ClientCertificate;
  switch (spec.storeType) {
    case CertStoreType.PfxFile:
      result = { pfx: readStoreFile(spec.store), passphrase };
      break;
    case CertStoreType.PfxBlob:
      result = { pfx: Buffer.from(spec.store, "base64"), passphrase };
      break;
    case CertStoreType.PemKeyFile:
      result = pem(readStoreFile(spec.store).toString("utf8"), passphrase);
      break;
    case CertStoreType.PemKeyBlob:
      result = pem(spec.store, passphrase);
      break;
    case CertStoreType.Auto: {
      const content = spec.store.includes("-----BEGIN") ? Buffer.from(spec.store) : existsSync(spec.store) ? readStoreFile(spec.store) : Buffer.from(spec.store, "base64");
      result = content.includes("-----BEGIN") ? pem(content.toString("utf8"), passphrase) : { pfx: content, passphrase };
      break;
    }
    default:
      throw new SmtpError(ErrorCode.TlsClientCert, `SSLCertStoreType ${storeTypeName(spec.storeType)} is not available on Node.js`, {
        hint: unsupportedStoreHint(spec.storeType),
      });
  }
  checkLoads(result, spec.subject);
  return result;
}

function readStoreFile(path: string): Buffer {
  return readSourceFile(path, ErrorCode.TlsClientCert, "SSLCertStore", "a readable file path", "SSLCertStoreType 2 and 6 take a file path; 3 takes base64 PKCS#12, 7 PEM text, 99 either");
}

function pem(text: string, passphrase: string | undefined): ClientCertificate {
  const certs = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  const key = text.match(/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----[\s\S]+?-----END (?:[A-Z]+ )?PRIVATE KEY-----/);
  if (!certs || !key) throw new SmtpError(ErrorCode.TlsClientCert, "SSLCertStore PEM must hold a certificate and its private key");
  return { cert: certs.join("\n"), key: key[0], passphrase };
}

/** Fails now, with a clear reason, rather than in the middle of a handshake. */
function checkLoads(c: ClientCertificate, subject: string): void {
  try {
    createSecureContext(c);
    if ("key" in c) createPrivateKey({ key: c.key, passphrase: c.passphrase });
  } catch (e) {
    throw new SmtpError(ErrorCode.TlsClientCert, `the client certificate could not be loaded: ${e instanceof Error ? e.message : String(e)}`, {
      hint: "check SSLCertStoreType and SSLCertStorePassword",
      cause: e,
    });
  }
  if (subject && subject !== "*" && "cert" in c) {
    const actual = new X509Certificate(c.cert).subject.replace(/\n/g, ", ");
    if (!actual.includes(subject)) throw new SmtpError(ErrorCode.TlsClientCert, `the client certificate's subject "${actual}" does not contain SSLCertSubject "${subject}"`);
  }
}

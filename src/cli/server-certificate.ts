/**
 * The server certificate of the last TLS handshake, with smtpkit's verdict
 * (from the SSLServerAuthentication event, which also fires for a
 * certificate that is then rejected), and the explanation a certificate
 * error gets on the command line: the fingerprint and how to pin it.
 */
import { X509Certificate } from "node:crypto";
import { ErrorCode, isSmtpError, type Smtp } from "../index.js";
import { pinOption } from "./certificate-info.js";
import { CliError } from "./cli-error.js";
import { messageWithoutHint } from "./error-text.js";
import { exitCodeForSmtpError } from "./exit-codes.js";

export interface SeenCertificate {
  certificate: X509Certificate;
  /** smtpkit's verdict: "OK", "self-signed certificate (...)", "...; not verified: opportunistic TLS ...". */
  status: string;
  /** Validated, or pinned by SSLAcceptServerCert. */
  trusted: boolean;
}

const CERTIFICATE_CODES: ReadonlySet<number> = new Set<number>([ErrorCode.TlsCertRejected, ErrorCode.TlsCertExpired, ErrorCode.TlsCertUntrusted, ErrorCode.TlsHostMismatch]);

/** Starts watching; the function returns the last certificate seen. */
export function watchServerCertificate(smtp: Smtp): () => SeenCertificate | undefined {
  let seen: SeenCertificate | undefined;
  smtp.on("SSLServerAuthentication", (e) => {
    if (e.certEncoded.length === 0) return;
    try {
      seen = { certificate: new X509Certificate(e.certEncoded), status: e.status, trusted: isTrusted(e.status) };
    } catch {
      // Not parseable: the error itself says what is known.
    }
  });
  return () => seen;
}

function isTrusted(status: string): boolean {
  return status === "OK" || status.startsWith("OK ") || status.endsWith("accepted by SSLAcceptServerCert");
}

/** A certificate error with the fingerprint and the pin option; anything else unchanged. */
export function explainCertificateError(e: unknown, seen: SeenCertificate | undefined): unknown {
  if (!isSmtpError(e) || !CERTIFICATE_CODES.has(e.code) || !seen) return e;
  const fingerprint = seen.certificate.fingerprint256;
  return new CliError(exitCodeForSmtpError(e), String(e.code), messageWithoutHint(e), {
    cause: e,
    notes: [
      `server certificate SHA-256 fingerprint: ${fingerprint}`,
      `to trust this certificate (and only it), once you have checked the fingerprint: ${pinOption(fingerprint)}`,
    ],
  });
}

/**
 * Starts TLS on an open socket (implicit TLS right after connect, or after
 * STARTTLS) and decides whether to trust the server. Node's own check runs
 * with rejectUnauthorized off so that the verdict can go through the
 * SSLServerAuthentication event and pinning first; nothing is written on the
 * TLS socket before that verdict.
 *
 * Opportunistic TLS (RFC 7435, the default SSLStartMode 0 with SSLEnabled
 * false): a certificate that does not verify still gets the message
 * encrypted, unless a listener refuses it. The result then says `verified:
 * false`, and the authenticator refuses to send credentials over it.
 */
import { X509Certificate } from "node:crypto";
import { distinguishedName } from "./distinguished-name.js";
import type { Duplex } from "node:stream";
import { isIP } from "node:net";
import { checkServerIdentity, connect as tlsConnect, rootCertificates, type PeerCertificate, type SecureVersion, type TLSSocket } from "node:tls";
import { abortReason, ErrorCode, SmtpError } from "../errors.js";
import type { ClientCertificate } from "./client-certificate.js";
import { matchesPin, type CertificatePin } from "./certificate-pin.js";

export interface ServerCertificateCheck {
  certEncoded: Buffer;
  certSubject: string;
  certIssuer: string;
  /** "OK", or why validation failed. */
  status: string;
  /** The verdict before any listener: validation passed or the pin matched (or, opportunistically, encrypt anyway). */
  accept: boolean;
  /** Validation passed or the pin matched: the server is authenticated. */
  verified: boolean;
}

export interface TlsOptions {
  /** Name checked against the certificate (MailServer or SSLServerName). */
  host: string;
  /** SNI; omitted for IP addresses. */
  servername: string;
  /** Extra trusted roots (PEM), added to the system roots. */
  extraCa: string[];
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  ciphers: string;
  clientCert: ClientCertificate | undefined;
  pin: CertificatePin | undefined;
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Opportunistic TLS (RFC 7435): a certificate that does not verify is
   * accepted unless a listener refuses it; the result is then unverified.
   * Never with a pin (SSLAcceptServerCert keeps its meaning).
   */
  opportunistic?: boolean;
  status(message: string): void;
  /** Fires SSLServerAuthentication; returns the final verdict. */
  authorize(check: ServerCertificateCheck): boolean;
}

export interface TlsResult {
  socket: TLSSocket;
  certificate: X509Certificate | undefined;
  protocol: string;
  cipher: string;
  /**
   * The server is authenticated: validation passed, the pin matched, or a
   * listener accepted it where TLS is required. False only for opportunistic
   * TLS over a certificate that did not verify (encrypted, not authenticated).
   */
  verified: boolean;
  /** The certificate check's status ("OK", or why it did not verify). */
  certStatus: string;
  certSubject: string;
  certIssuer: string;
}

export function startTls(socket: Duplex, opts: TlsOptions): Promise<TlsResult> {
  opts.status(`starting TLS handshake with ${opts.host}`);
  return new Promise<TlsResult>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const tls = tlsConnect({
      socket,
      servername: opts.servername && isIP(opts.servername) === 0 ? opts.servername : undefined,
      rejectUnauthorized: false,
      // Identity is checked below, with the verdict handed to the event.
      checkServerIdentity: () => undefined,
      ca: opts.extraCa.length ? [...rootCertificates, ...opts.extraCa] : undefined,
      minVersion: opts.minVersion,
      maxVersion: opts.maxVersion,
      ciphers: opts.ciphers || undefined,
      ...(opts.clientCert ?? {}),
    });
    const finish = (err?: SmtpError): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      tls.off("error", onError);
      tls.off("secureConnect", onSecure);
      if (err) {
        tls.destroy();
        socket.destroy();
        reject(err);
      }
    };
    const onAbort = (): void => finish(abortReason(opts.signal));
    const onError = (err: Error): void => finish(handshakeError(err, opts.host, opts.clientCert !== undefined));
    const onSecure = (): void => {
      // getPeerCertificate() first: on Node 20, calling getPeerX509Certificate()
      // before it leaves it empty (no subjectaltname for the identity check).
      const detail = tls.getPeerCertificate();
      const peer = detail.raw ? new X509Certificate(detail.raw) : undefined;
      const check = verify(tls, peer, detail, opts);
      opts.status(`server certificate: ${check.certSubject || "(none)"}; ${check.status}`);
      let accepted: boolean;
      try {
        accepted = opts.authorize(check);
      } catch (e) {
        finish(new SmtpError(ErrorCode.TlsCertRejected, `an SSLServerAuthentication listener threw: ${e instanceof Error ? e.message : String(e)}`, { cause: e }));
        return;
      }
      if (!accepted) {
        finish(certificateError(check));
        return;
      }
      const cipher = tls.getCipher();
      const protocol = tls.getProtocol() ?? "";
      opts.status(`TLS handshake complete: ${protocol} ${cipher.standardName || cipher.name}`);
      finish();
      // Where TLS is required, an accepted certificate is one the user vouched
      // for (listener); opportunistically, only validation or a pin count.
      const verified = opts.opportunistic === true ? check.verified : true;
      resolve({
        socket: tls,
        certificate: peer,
        protocol,
        cipher: cipher.standardName || cipher.name,
        verified,
        certStatus: check.status,
        certSubject: check.certSubject,
        certIssuer: check.certIssuer,
      });
    };
    tls.once("secureConnect", onSecure);
    tls.on("error", onError);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.timeoutMs > 0) {
      timer = setTimeout(() => finish(new SmtpError(ErrorCode.TimedOut, `the TLS handshake with ${opts.host} did not finish within ${opts.timeoutMs / 1000} s`, {
        hint: "a server that speaks plain text on this port never answers a TLS hello: check SSLStartMode and MailPort; see docs/troubleshooting.md#wrong-tls-mode",
      })), opts.timeoutMs);
    }
  });
}

function verify(tls: TLSSocket, peer: X509Certificate | undefined, detail: PeerCertificate, opts: TlsOptions): ServerCertificateCheck {
  const base = {
    certEncoded: peer ? Buffer.from(peer.raw) : Buffer.alloc(0),
    certSubject: peer ? distinguishedName(peer.subject) : "",
    certIssuer: peer ? distinguishedName(peer.issuer) : "",
  };
  if (!peer) return { ...base, status: "the server sent no certificate", accept: false, verified: false };
  let status = "OK";
  if (!tls.authorized) status = describeAuthorizationError(String(tls.authorizationError ?? "unknown error"));
  else {
    const identityError = checkServerIdentity(opts.host, detail);
    if (identityError) status = `host name mismatch: the certificate does not name ${opts.host} (${identityError.message})`;
  }
  if (opts.pin) {
    if (matchesPin(opts.pin, peer)) return { ...base, status: status === "OK" ? "OK (pinned)" : `${status}; accepted by SSLAcceptServerCert`, accept: true, verified: true };
    if (opts.pin.kind === "fingerprint") return { ...base, status: `certificate does not match the pinned fingerprint (${peer.fingerprint256})`, accept: false, verified: false };
  }
  if (status !== "OK" && opts.opportunistic === true && !opts.pin) {
    // RFC 7435: encrypt anyway; a listener can still refuse (accept = false).
    return { ...base, status: `${status}; ${NOT_VERIFIED}`, accept: true, verified: false };
  }
  return { ...base, status, accept: status === "OK", verified: status === "OK" };
}

/** How an opportunistically accepted certificate's status ends. */
const NOT_VERIFIED = "not verified: opportunistic TLS encrypts without authenticating the server (RFC 7435)";

function withoutNotVerified(status: string): string {
  return status.endsWith(`; ${NOT_VERIFIED}`) ? status.slice(0, -NOT_VERIFIED.length - 2) : status;
}

/**
 * Credentials are never sent over a connection whose server was not
 * authenticated: the error AUTH stops with (the certificate's code: 273 for
 * self-signed or an untrusted issuer, 272 expired, 274 another host's).
 */
export function unverifiedChannelError(tls: TlsResult, host: string): SmtpError {
  const why = withoutNotVerified(tls.certStatus);
  const code = certificateCode(why);
  return new SmtpError(code, `refusing to send credentials: the TLS certificate of ${host} was not verified (${why}; subject ${tls.certSubject || "(none)"}, issuer ${tls.certIssuer || "(none)"}); the connection is encrypted but the server is not authenticated, so nothing was sent after STARTTLS but EHLO`, {
    hint: `${code === ErrorCode.TlsHostMismatch ? "connect by a name the certificate lists or set config SSLServerName, " : ""}trust its issuer with config SSLCACerts, pin it with SSLAcceptServerCert, or set SSLStartMode=2 and accept it in the SSLServerAuthentication event; see docs/troubleshooting.md#certificate-errors`,
  });
}

const AUTHORIZATION_ERRORS: Readonly<Record<string, string>> = {
  CERT_HAS_EXPIRED: "certificate expired",
  CERT_NOT_YET_VALID: "certificate not yet valid",
  DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate",
  SELF_SIGNED_CERT_IN_CHAIN: "self-signed certificate in the chain",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "untrusted issuer: the certificate's issuer is not a trusted root",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "untrusted issuer: the certificate's issuer is not a trusted root",
  UNABLE_TO_GET_ISSUER_CERT: "untrusted issuer: the issuer certificate is missing",
  CERT_REVOKED: "certificate revoked",
  CERT_SIGNATURE_FAILURE: "certificate signature invalid",
};

function describeAuthorizationError(code: string): string {
  return AUTHORIZATION_ERRORS[code] ? `${AUTHORIZATION_ERRORS[code]} (${code})` : code;
}

function certificateError(check: ServerCertificateCheck): SmtpError {
  const s = withoutNotVerified(check.status);
  const code = certificateCode(s);
  // Accepted before any listener (valid, pinned, or opportunistic): a listener refused it.
  const why = check.accept ? `an SSLServerAuthentication listener set accept = false${s === "OK" || s.startsWith("OK ") ? "" : ` (${s})`}` : s;
  return new SmtpError(code, `the server certificate was rejected: ${why}; subject ${check.certSubject || "(none)"}, issuer ${check.certIssuer || "(none)"}`, {
    hint: code === ErrorCode.TlsHostMismatch
      ? "connect by a name the certificate lists, or set config SSLServerName; see docs/troubleshooting.md#certificate-errors"
      : "trust its issuer with config SSLCACerts, pin it with SSLAcceptServerCert, or decide in the SSLServerAuthentication event; see docs/troubleshooting.md#certificate-errors",
  });
}

function certificateCode(status: string): number {
  return /expired|not yet valid/.test(status)
    ? ErrorCode.TlsCertExpired
    : /self-signed|untrusted issuer/.test(status)
      ? ErrorCode.TlsCertUntrusted
      : /host name mismatch/.test(status)
        ? ErrorCode.TlsHostMismatch
        : ErrorCode.TlsCertRejected;
}

/** Wrong TLS mode shows up as OpenSSL record errors: say which mode the port wants. */
function handshakeError(err: Error, host: string, hasClientCert: boolean): SmtpError {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  const text = `${code} ${err.message}`;
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|HTTP_REQUEST|record layer failure/i.test(text)) {
    return new SmtpError(ErrorCode.TlsWrongMode, `the server at ${host} answered the TLS handshake in plain text: this port does not speak implicit TLS`, {
      hint: "use SSLStartMode=0 or 2 (STARTTLS) on this port, or port 465 with SSLStartMode=1; see docs/troubleshooting.md#wrong-tls-mode",
      cause: err,
    });
  }
  if (code === "ECONNRESET" || code === "EPIPE") {
    return new SmtpError(ErrorCode.Tls, `the server closed the connection during the TLS handshake (${err.message})`, {
      hint: "the server may not support the offered TLS versions or ciphers (SSLMinVersion, SSLEnabledCipherSuites), or may require a client certificate",
      cause: err,
    });
  }
  const certRequired = /CERTIFICATE_REQUIRED|alert handshake failure/i.test(text);
  return new SmtpError(ErrorCode.Tls, `TLS handshake failed: ${err.message}`, {
    hint: certRequired && !hasClientCert ? "the server may require a client certificate: set SSLCertStore / SSLCertStoreType" : undefined,
    cause: err,
  });
}

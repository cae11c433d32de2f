/** Maps Node socket / DNS errors to SmtpError with the Winsock numbers IP*Works code tests for. */
import { ErrorCode, SmtpError } from "../errors.js";

const BY_ERRNO: Readonly<Record<string, { code: number; text: string }>> = {
  ECONNREFUSED: { code: ErrorCode.ConnectionRefused, text: "connection refused" },
  ECONNRESET: { code: ErrorCode.ConnectionReset, text: "connection reset by peer" },
  EPIPE: { code: ErrorCode.ConnectionReset, text: "connection closed by peer (broken pipe)" },
  ETIMEDOUT: { code: ErrorCode.TimedOut, text: "connection timed out" },
  EHOSTUNREACH: { code: ErrorCode.NoRoute, text: "no route to host" },
  ENETUNREACH: { code: ErrorCode.NoRoute, text: "network unreachable" },
  ECONNABORTED: { code: ErrorCode.ConnectionAborted, text: "connection aborted by the local system" },
  EWOULDBLOCK: { code: ErrorCode.WouldBlock, text: "resource temporarily unavailable (operation would block)" },
  EAGAIN: { code: ErrorCode.WouldBlock, text: "resource temporarily unavailable (operation would block)" },
  EADDRINUSE: { code: ErrorCode.AddressInUse, text: "local address already in use (check LocalPort and LocalHost)" },
  EADDRNOTAVAIL: { code: ErrorCode.Communication, text: "local address not available (check LocalHost)" },
  ENOTFOUND: { code: ErrorCode.HostNotFound, text: "host not found" },
  EAI_AGAIN: { code: ErrorCode.HostNotFound, text: "host name lookup failed (temporary DNS failure)" },
  // The name exists but has no record of the type asked for (Winsock WSANO_DATA).
  ENODATA: { code: ErrorCode.NoData, text: "the name has no address in DNS (no data)" },
  EAI_NODATA: { code: ErrorCode.NoData, text: "the name has no address in DNS (no data)" },
};

export function socketError(err: unknown, where: string): SmtpError {
  if (err instanceof SmtpError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code ?? "";
  const known = BY_ERRNO[errno];
  const detail = err instanceof Error ? err.message : String(err);
  if (known) return new SmtpError(known.code, `${where}: ${known.text} (${detail})`, { cause: err });
  if (errno.startsWith("ERR_SSL_")) {
    // With TLS 1.3 a refused client certificate arrives as an alert after the handshake.
    const certRequired = /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/.test(errno);
    return new SmtpError(ErrorCode.Tls, `${where}: TLS alert from the server (${detail})`, {
      hint: certRequired ? "the server requires a client certificate: set SSLCertStore / SSLCertStoreType" : undefined,
      cause: err,
    });
  }
  return new SmtpError(ErrorCode.Communication, `${where}: ${detail}`, { cause: err });
}

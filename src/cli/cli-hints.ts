/**
 * The component's hints speak of properties and settings (SSLStartMode,
 * SSLCACerts, ...); this adds what to type on the command line for them.
 */
import { ErrorCode, type SmtpError } from "../index.js";

const HINTS: Readonly<Record<number, string>> = {
  [ErrorCode.TlsCertUntrusted]: "--ca FILE trusts a private CA (or --pin-cert SHA256-FINGERPRINT pins the certificate)",
  [ErrorCode.TlsHostMismatch]: "connect with the name on the certificate, or --config SSLServerName=NAME",
  [ErrorCode.TlsNotOffered]: "--tls implicit for port 465, or --tls auto to allow clear text",
  [ErrorCode.TlsStartRefused]: "--tls auto allows clear text when STARTTLS fails to start",
  [ErrorCode.TlsWrongMode]: "--tls implicit for port 465, --tls starttls (or auto) for 25 and 587",
  [ErrorCode.AuthNeedsTls]: "--tls starttls or --tls implicit; --config AllowCleartextAuth=true only on a trusted network",
  [ErrorCode.AuthMechanismNotOffered]: "--auth auto picks the strongest mechanism the server offers",
  [ErrorCode.AuthNotOffered]: "with --tls auto or starttls the server may offer AUTH after STARTTLS; without --user no login is tried",
  [ErrorCode.ConnectionRefused]: "check --server and --port (465 implicit TLS, 587 submission, 25 relay)",
  [ErrorCode.TimedOut]: "check --server, --port and --tls (a TLS port never answers a clear-text client); --timeout SECONDS waits longer",
  [ErrorCode.MessageTooLarge]: "smtpkit capabilities HOST shows the server's SIZE limit",
};

export function cliHint(e: SmtpError): string | undefined {
  return HINTS[e.code];
}

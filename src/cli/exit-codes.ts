/**
 * The exit codes of the smtpkit command (documented in docs/cli.md) and the
 * mapping from an SmtpError to one of them.
 */
import { ErrorCode, SmtpError } from "../index.js";

export const ExitCode = {
  /** Everything worked. */
  Ok: 0,
  /** The command line could not be understood: unknown command or option, missing or malformed argument. */
  Usage: 1,
  /** The server refused: a 4xx or 5xx reply (recipient, sender, message, VRFY / EXPN). */
  Refused: 2,
  /** Network: connection refused, host not found, timeout, connection closed or reset. */
  Network: 3,
  /** TLS: handshake failed, certificate not trusted / expired / wrong host, STARTTLS missing. */
  Tls: 4,
  /** Authentication: credentials refused, mechanism not offered, AUTH without TLS. */
  Auth: 5,
  /** Local input: a file cannot be read, an address or a value is not acceptable. */
  Input: 6,
  /** Partial delivery: some recipients took the message, others refused it. */
  Partial: 7,
  /** Interrupted with Ctrl-C (SIGINT) or SIGTERM. */
  Interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Component codes that mean "the input given to smtpkit is not acceptable". */
const INPUT_CODES: ReadonlySet<number> = new Set<number>([
  ErrorCode.NoMailServer,
  ErrorCode.NoFrom,
  ErrorCode.CannotOpenFile,
  ErrorCode.InvalidValue,
  ErrorCode.LineBreakInjection,
  ErrorCode.UnknownSetting,
  ErrorCode.InvalidAddress,
  ErrorCode.IndexOutOfRange,
  ErrorCode.ReadOnly,
  ErrorCode.MessageStream,
  ErrorCode.WhileConnected,
]);

/** Which exit code an SmtpError stands for. The order matters: AUTH and TLS win over "a reply". */
export function exitCodeForSmtpError(e: SmtpError): ExitCodeValue {
  if (e.code === ErrorCode.Interrupted) return ExitCode.Interrupted;
  if (e.isAuth()) return ExitCode.Auth;
  if (e.isTls()) return ExitCode.Tls;
  if (e.replyCode !== undefined && e.replyCode >= 400) return ExitCode.Refused;
  // Every recipient refused: the replies are in recipientResults.
  if (e.code === ErrorCode.NoRecipient && (e.recipientResults?.length ?? 0) > 0) return ExitCode.Refused;
  if (e.code === ErrorCode.MessageTooLarge || e.code === ErrorCode.ExtensionRequired) return ExitCode.Refused;
  if (e.code === ErrorCode.NoRecipient) return ExitCode.Input;
  if (INPUT_CODES.has(e.code)) return ExitCode.Input;
  if (e.isNetwork() || e.code === ErrorCode.Firewall || e.code === ErrorCode.TimedOut) return ExitCode.Network;
  if (e.code === ErrorCode.Protocol) return ExitCode.Refused;
  return ExitCode.Network;
}

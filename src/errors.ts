/**
 * SmtpError: the one error type every smtpkit failure rejects with.
 *
 * `code` keeps the IP*Works numbers where they exist (so ported `catch` blocks
 * that test `err.code` keep working), Winsock numbers for socket failures, and
 * codes above 600 for what IP*Works has no number for. docs/errors.md is
 * generated from ERROR_CODES below.
 */

export const ErrorCode = {
  /** Firewall / proxy failure. */
  Firewall: 118,
  /** The server answered a command with an error reply; the reply is attached. */
  Protocol: 161,
  /** The connection failed or broke while talking to the server. */
  Communication: 162,
  /** MailServer is empty. */
  NoMailServer: 163,
  /** From is empty. */
  NoFrom: 164,
  /** No recipient (or no SendTo while AllowEmptyTo is false), or every recipient was refused. */
  NoRecipient: 165,
  /** A method was called while another one is still running. */
  Busy: 166,
  /** Interrupt() or an AbortSignal stopped the operation. */
  Interrupted: 301,
  /** A file could not be opened. */
  CannotOpenFile: 302,
  /** TLS handshake failure; 270-299 are TLS errors. */
  Tls: 270,
  /** The server certificate was rejected (by validation, a pin, or an SSLServerAuthentication listener). */
  TlsCertRejected: 271,
  /** The server certificate has expired or is not yet valid. */
  TlsCertExpired: 272,
  /** The server certificate is self-signed or its issuer is not trusted. */
  TlsCertUntrusted: 273,
  /** The server certificate does not name the host connected to. */
  TlsHostMismatch: 274,
  /** TLS is required but the server does not offer STARTTLS. */
  TlsNotOffered: 275,
  /** The server refused STARTTLS. */
  TlsStartRefused: 276,
  /** Plain text where TLS was expected, or TLS where plain text was expected: wrong SSLStartMode for the port. */
  TlsWrongMode: 277,
  /** The client certificate (SSLCertStore) could not be loaded. */
  TlsClientCert: 278,
  /** A property or setting was given a value it does not accept. */
  InvalidValue: 601,
  /** CR, LF or NUL inside a header value, address or command argument (header / command injection). */
  LineBreakInjection: 602,
  /** config() was given a setting name that does not exist. */
  UnknownSetting: 603,
  /** An address or address list could not be parsed. */
  InvalidAddress: 604,
  /** The server sent bytes that are not a valid SMTP reply. */
  MalformedReply: 605,
  /** A reply line was longer than MaxLineLength. */
  ReplyTooLong: 606,
  /** The server closed the connection when a reply was still expected. */
  ConnectionClosed: 607,
  /** The operation needs a connection and there is none. */
  NotConnected: 608,
  /** An indexed property was read or written outside its range. */
  IndexOutOfRange: 609,
  /** The property is read-only. */
  ReadOnly: 610,
  /** The message body stream failed while it was being sent. */
  MessageStream: 611,
  /** The property cannot be changed while connected. */
  WhileConnected: 612,
  /** The message is larger than the server's SIZE limit; nothing was sent. */
  MessageTooLarge: 613,
  /** The message or an address needs an extension the server does not offer (SMTPUTF8, BINARYMIME, REQUIRETLS, DSN). */
  ExtensionRequired: 614,
  /** The server refused the credentials (535), or the SASL exchange failed. */
  Auth: 620,
  /** The chosen AUTH mechanism is not offered by the server. */
  AuthMechanismNotOffered: 621,
  /** AUTH refused locally: the connection is not encrypted and AllowCleartextAuth is false. */
  AuthNeedsTls: 622,
  /** The AuthMechanism value does not apply to SMTP (APOP, Kerberos). */
  AuthMechanismNotApplicable: 623,
  /** The server does not offer AUTH at all. */
  AuthNotOffered: 624,
  /** Connection reset by the peer. */
  ConnectionReset: 10054,
  /** Timed out (TCP connect, or no reply within Timeout). */
  TimedOut: 10060,
  /** Connection refused: nothing listens on that port. */
  ConnectionRefused: 10061,
  /** No route to host / network unreachable. */
  NoRoute: 10065,
  /** The host name could not be resolved. */
  HostNotFound: 11001,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One line of the documented code table (docs/errors.md is generated from it). */
export interface ErrorCodeDoc {
  code: number;
  name: string;
  meaning: string;
  retry: "transient" | "permanent" | "depends";
}

export const ERROR_CODES: readonly ErrorCodeDoc[] = [
  { code: 118, name: "Firewall", meaning: "The firewall or proxy refused or failed the connection.", retry: "depends" },
  { code: 161, name: "Protocol", meaning: "The server answered with an error reply (see replyCode, enhancedStatus, lastReply). 4xx replies are transient, 5xx permanent.", retry: "depends" },
  { code: 162, name: "Communication", meaning: "Writing to or reading from the connection failed.", retry: "transient" },
  { code: 163, name: "NoMailServer", meaning: "MailServer is empty: set it before connect() or send().", retry: "permanent" },
  { code: 164, name: "NoFrom", meaning: "From is empty: set the sender address.", retry: "permanent" },
  { code: 165, name: "NoRecipient", meaning: "No recipient was given (SendTo is required unless AllowEmptyTo=true), or the server refused every recipient.", retry: "depends" },
  { code: 166, name: "Busy", meaning: "Another method of this object is still running; await it first (or call interrupt()).", retry: "transient" },
  { code: 270, name: "Tls", meaning: "The TLS handshake failed (270-299 are TLS errors).", retry: "permanent" },
  { code: 271, name: "TlsCertRejected", meaning: "The server certificate was rejected: by validation, by SSLAcceptServerCert (pin mismatch) or by an SSLServerAuthentication listener that set accept = false.", retry: "permanent" },
  { code: 272, name: "TlsCertExpired", meaning: "The server certificate has expired or is not yet valid.", retry: "permanent" },
  { code: 273, name: "TlsCertUntrusted", meaning: "The server certificate is self-signed or signed by an issuer that is not trusted (add it with config SSLCACerts, pin it with SSLAcceptServerCert, or accept it in SSLServerAuthentication).", retry: "permanent" },
  { code: 274, name: "TlsHostMismatch", meaning: "The server certificate does not name MailServer (connect by the name on the certificate, or set config SSLServerName).", retry: "permanent" },
  { code: 275, name: "TlsNotOffered", meaning: "TLS is required (SSLStartMode=2, or SSLEnabled=true) but the server does not offer STARTTLS; nothing else was sent.", retry: "permanent" },
  { code: 276, name: "TlsStartRefused", meaning: "The server refused STARTTLS; nothing else was sent.", retry: "depends" },
  { code: 277, name: "TlsWrongMode", meaning: "The TLS mode does not match the port: plain text arrived where TLS was expected or the other way round (465 speaks implicit TLS: SSLStartMode=1; 25 and 587 speak STARTTLS: SSLStartMode=0 or 2).", retry: "permanent" },
  { code: 278, name: "TlsClientCert", meaning: "The client certificate in SSLCertStore could not be loaded (wrong SSLCertStoreType, password or file).", retry: "permanent" },
  { code: 301, name: "Interrupted", meaning: "interrupt() was called, or the AbortSignal passed to the method fired.", retry: "transient" },
  { code: 302, name: "CannotOpenFile", meaning: "A file could not be opened.", retry: "permanent" },
  { code: 601, name: "InvalidValue", meaning: "A property or setting was given a value it does not accept (out of range, wrong type).", retry: "permanent" },
  { code: 602, name: "LineBreakInjection", meaning: "A header value, address or command argument contains CR, LF or NUL; refused to prevent header / command injection.", retry: "permanent" },
  { code: 603, name: "UnknownSetting", meaning: "config() was given a setting name that does not exist.", retry: "permanent" },
  { code: 604, name: "InvalidAddress", meaning: "An address or address list could not be parsed.", retry: "permanent" },
  { code: 605, name: "MalformedReply", meaning: "The server sent bytes that are not a valid SMTP reply (bad code, mismatched multi-line codes); the connection is closed.", retry: "transient" },
  { code: 606, name: "ReplyTooLong", meaning: "A reply line exceeded MaxLineLength; the connection is closed.", retry: "transient" },
  { code: 607, name: "ConnectionClosed", meaning: "The server closed the connection while a reply was expected; the message says at which step and quotes the last reply.", retry: "transient" },
  { code: 608, name: "NotConnected", meaning: "The method needs an open connection (call connect() first).", retry: "permanent" },
  { code: 609, name: "IndexOutOfRange", meaning: "An indexed property was used with an index outside 0..Count-1.", retry: "permanent" },
  { code: 610, name: "ReadOnly", meaning: "The property is read-only.", retry: "permanent" },
  { code: 611, name: "MessageStream", meaning: "The stream given to setMessageStream() failed while the message was being sent; nothing was delivered.", retry: "depends" },
  { code: 612, name: "WhileConnected", meaning: "The property cannot change while connected (MailServer, MailPort, LocalHost); disconnect first.", retry: "permanent" },
  { code: 613, name: "MessageTooLarge", meaning: "The message is larger than the SIZE limit the server announced; nothing was sent.", retry: "permanent" },
  { code: 614, name: "ExtensionRequired", meaning: "The message needs an extension the server does not offer: SMTPUTF8 for a non-ASCII local part, BINARYMIME for binary content, REQUIRETLS; the message names it.", retry: "permanent" },
  { code: 620, name: "Auth", meaning: "The server refused the credentials (535 and similar; see replyCode and lastReply), or the SASL exchange failed (e.g. the server's SCRAM proof did not verify).", retry: "permanent" },
  { code: 621, name: "AuthMechanismNotOffered", meaning: "The AuthMechanism chosen is not offered by the server; the message lists what it offers.", retry: "permanent" },
  { code: 622, name: "AuthNeedsTls", meaning: "AUTH was refused locally because the connection is not encrypted: use TLS (SSLStartMode) or, if you accept the risk, config AllowCleartextAuth=true.", retry: "permanent" },
  { code: 623, name: "AuthMechanismNotApplicable", meaning: "The AuthMechanism value does not apply to SMTP (3 APOP is a POP3 command; 6 Kerberos / GSSAPI is not supported).", retry: "permanent" },
  { code: 624, name: "AuthNotOffered", meaning: "User is set but the server does not offer AUTH (on many servers AUTH appears only after STARTTLS).", retry: "permanent" },
  { code: 10054, name: "ConnectionReset", meaning: "The connection was reset by the peer.", retry: "transient" },
  { code: 10060, name: "TimedOut", meaning: "Timed out: the TCP connect exceeded ConnectionTimeout, or a reply did not arrive within Timeout.", retry: "transient" },
  { code: 10061, name: "ConnectionRefused", meaning: "Connection refused: nothing listens on MailServer:MailPort.", retry: "transient" },
  { code: 10065, name: "NoRoute", meaning: "No route to the host (network unreachable).", retry: "transient" },
  { code: 11001, name: "HostNotFound", meaning: "MailServer could not be resolved (DNS).", retry: "transient" },
];

export interface SmtpErrorDetails {
  /** The server's 3-digit reply code, when a reply caused the error. */
  replyCode?: number;
  /** RFC 3463 enhanced status code ("5.1.1") when the server sent one. */
  enhancedStatus?: string;
  /** The server's full last reply (all lines), when there is one. */
  lastReply?: string;
  /** The command (credentials masked) whose reply or failure this is. */
  command?: string;
  /** The recipient a RCPT failure is about. */
  recipient?: string;
  /** What to do about it, when there is something useful to say. */
  hint?: string;
  /** The whole message was sent but the server's verdict was lost: it may have been delivered. */
  deliveryUnknown?: boolean;
  /** Each recipient's answer, when the failure came after RCPT TO (e.g. every recipient refused). */
  recipientResults?: readonly { address: string; accepted: boolean; transient: boolean; replyCode: number; enhancedStatus: string | undefined; reply: string }[];
  cause?: unknown;
}

const NETWORK_CODES: ReadonlySet<number> = new Set([
  ErrorCode.Communication,
  ErrorCode.ConnectionClosed,
  ErrorCode.ConnectionReset,
  ErrorCode.TimedOut,
  ErrorCode.ConnectionRefused,
  ErrorCode.NoRoute,
  ErrorCode.HostNotFound,
  ErrorCode.MalformedReply,
  ErrorCode.ReplyTooLong,
]);

export class SmtpError extends Error {
  readonly code: number;
  readonly replyCode: number | undefined;
  readonly enhancedStatus: string | undefined;
  readonly lastReply: string | undefined;
  readonly command: string | undefined;
  readonly recipient: string | undefined;
  readonly hint: string | undefined;
  /** True when the message was sent in full and only the server's final reply was lost: do not blindly resend. */
  readonly deliveryUnknown: boolean;
  /** Each recipient's answer, when the failure came after RCPT TO. */
  readonly recipientResults: SmtpErrorDetails["recipientResults"];

  /** The message without the hint (`message` is this plus " (hint)" when there is one). */
  readonly reason: string;

  constructor(code: number, message: string, details: SmtpErrorDetails = {}) {
    super(details.hint ? `${message} (${details.hint})` : message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "SmtpError";
    this.reason = message;
    this.code = code;
    this.replyCode = details.replyCode;
    this.enhancedStatus = details.enhancedStatus;
    this.lastReply = details.lastReply;
    this.command = details.command;
    this.recipient = details.recipient;
    this.hint = details.hint;
    this.deliveryUnknown = details.deliveryUnknown === true;
    this.recipientResults = details.recipientResults;
  }

  /**
   * `e` as an SmtpError: itself when it is one, else a new one with `code`
   * (Communication by default) whose message is `prefix: <e's message>`.
   */
  static from(e: unknown, code: number = ErrorCode.Communication, prefix?: string): SmtpError {
    if (e instanceof SmtpError) return e;
    const text = e instanceof Error ? e.message : String(e);
    return new SmtpError(code, prefix ? `${prefix}: ${text}` : text, { cause: e });
  }

  /**
   * A new error that keeps every detail of this one (code, reply, command,
   * recipient, hint, results, cause) except those given; `message` replaces
   * the reason (the hint is added again unless `hint` is given).
   */
  derive(message: string, changes: SmtpErrorDetails & { code?: number } = {}): SmtpError {
    const { code = this.code, ...details } = changes;
    return new SmtpError(code, message, {
      replyCode: this.replyCode,
      enhancedStatus: this.enhancedStatus,
      lastReply: this.lastReply,
      command: this.command,
      recipient: this.recipient,
      hint: this.hint,
      deliveryUnknown: this.deliveryUnknown,
      recipientResults: this.recipientResults,
      cause: this.cause,
      ...details,
    });
  }

  /** Worth retrying later: a 4xx reply, a timeout or a network fault. */
  isTransient(): boolean {
    if (this.replyCode !== undefined) return this.replyCode >= 400 && this.replyCode < 500;
    return NETWORK_CODES.has(this.code) || this.code === ErrorCode.Interrupted || this.code === ErrorCode.Busy;
  }

  /** Retrying the same thing will fail again: a 5xx reply or bad input. */
  isPermanent(): boolean {
    if (this.replyCode !== undefined) return this.replyCode >= 500;
    return !this.isTransient();
  }

  isTimeout(): boolean {
    return this.code === ErrorCode.TimedOut;
  }

  isTls(): boolean {
    return this.code >= 270 && this.code <= 299;
  }

  isAuth(): boolean {
    return (this.code >= 620 && this.code <= 629) || this.replyCode === 530 || this.replyCode === 534 || this.replyCode === 535 || this.replyCode === 538;
  }

  /** True when the error came from the network rather than from a reply or from bad input. */
  isNetwork(): boolean {
    return NETWORK_CODES.has(this.code);
  }
}

export function isSmtpError(e: unknown): e is SmtpError {
  return e instanceof SmtpError;
}

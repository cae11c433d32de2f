/**
 * SmtpError: the one error type every smtpkit failure rejects with.
 *
 * `code` keeps the IP*Works numbers where they exist (so ported `catch` blocks
 * that test `err.code` keep working), Winsock numbers for socket failures, and
 * codes above 600 for what IP*Works has no number for. docs/errors.md is
 * generated from ERROR_CODES below.
 */

/** One line of the documented code table (docs/errors.md is generated from it). */
export interface ErrorCodeDoc {
  code: number;
  name: string;
  meaning: string;
  retry: "transient" | "permanent" | "depends";
}

/** THE table of codes, by name. ErrorCode and ERROR_CODES are both read from it. */
const CODES = {
  Firewall: { code: 118, meaning: "The firewall or proxy refused or failed the connection.", retry: "depends" },
  Protocol: { code: 161, meaning: "The server answered with an error reply (see replyCode, enhancedStatus, lastReply). 4xx replies are transient, 5xx permanent.", retry: "depends" },
  Communication: { code: 162, meaning: "Writing to or reading from the connection failed.", retry: "transient" },
  NoMailServer: { code: 163, meaning: "MailServer is empty: set it before connect() or send().", retry: "permanent" },
  NoFrom: { code: 164, meaning: "From is empty: set the sender address.", retry: "permanent" },
  NoRecipient: { code: 165, meaning: "No recipient was given (SendTo is required unless AllowEmptyTo=true), or the server refused every recipient.", retry: "depends" },
  Busy: { code: 166, meaning: "Another method of this object is still running; await it first (or call interrupt()).", retry: "transient" },
  Tls: { code: 270, meaning: "The TLS handshake failed (270-299 are TLS errors).", retry: "permanent" },
  TlsCertRejected: { code: 271, meaning: "The server certificate was rejected: by validation, by SSLAcceptServerCert (pin mismatch) or by an SSLServerAuthentication listener that set accept = false.", retry: "permanent" },
  TlsCertExpired: { code: 272, meaning: "The server certificate has expired or is not yet valid.", retry: "permanent" },
  TlsCertUntrusted: { code: 273, meaning: "The server certificate is self-signed or signed by an issuer that is not trusted (add it with config SSLCACerts, pin it with SSLAcceptServerCert, or accept it in SSLServerAuthentication). Where TLS is opportunistic (SSLStartMode 0, SSLEnabled false) the message is still sent encrypted, but with User set AUTH stops with this code: credentials are never sent to an unverified server.", retry: "permanent" },
  TlsHostMismatch: { code: 274, meaning: "The server certificate does not name MailServer (connect by the name on the certificate, or set config SSLServerName).", retry: "permanent" },
  TlsNotOffered: { code: 275, meaning: "TLS is required (SSLStartMode=2, or SSLEnabled=true) but the server does not offer STARTTLS; nothing else was sent.", retry: "permanent" },
  TlsStartRefused: { code: 276, meaning: "The server refused STARTTLS; nothing else was sent.", retry: "depends" },
  TlsWrongMode: { code: 277, meaning: "The TLS mode does not match the port: plain text arrived where TLS was expected or the other way round (465 speaks implicit TLS: SSLStartMode=1; 25 and 587 speak STARTTLS: SSLStartMode=0 or 2).", retry: "permanent" },
  TlsClientCert: { code: 278, meaning: "The client certificate in SSLCertStore could not be loaded (wrong SSLCertStoreType, password or file).", retry: "permanent" },
  Interrupted: { code: 301, meaning: "interrupt() was called, or the AbortSignal passed to the method fired.", retry: "transient" },
  CannotOpenFile: { code: 302, meaning: "A file could not be opened.", retry: "permanent" },
  InvalidValue: { code: 601, meaning: "A property or setting was given a value it does not accept (out of range, wrong type).", retry: "permanent" },
  LineBreakInjection: { code: 602, meaning: "A header value, address or command argument contains CR, LF or NUL; refused to prevent header / command injection.", retry: "permanent" },
  UnknownSetting: { code: 603, meaning: "config() was given a setting name that does not exist.", retry: "permanent" },
  InvalidAddress: { code: 604, meaning: "An address or address list could not be parsed.", retry: "permanent" },
  MalformedReply: { code: 605, meaning: "The server sent bytes that are not a valid SMTP reply (bad code, mismatched multi-line codes); the connection is closed.", retry: "transient" },
  ReplyTooLong: { code: 606, meaning: "A reply line exceeded MaxLineLength; the connection is closed.", retry: "transient" },
  ConnectionClosed: { code: 607, meaning: "The server closed the connection while a reply was expected; the message says at which step and quotes the last reply.", retry: "transient" },
  NotConnected: { code: 608, meaning: "The method needs an open connection (call connect() first).", retry: "permanent" },
  IndexOutOfRange: { code: 609, meaning: "An indexed property was used with an index outside 0..Count-1.", retry: "permanent" },
  ReadOnly: { code: 610, meaning: "The property is read-only.", retry: "permanent" },
  MessageStream: { code: 611, meaning: "The stream given to setMessageStream() failed while the message was being sent; nothing was delivered.", retry: "depends" },
  WhileConnected: { code: 612, meaning: "The property cannot change while connected (MailServer, MailPort, LocalHost); disconnect first.", retry: "permanent" },
  MessageTooLarge: { code: 613, meaning: "The message is larger than the SIZE limit the server announced; nothing was sent.", retry: "permanent" },
  ExtensionRequired: { code: 614, meaning: "The message needs an extension the server does not offer: SMTPUTF8 for a non-ASCII local part, BINARYMIME for binary content, REQUIRETLS; the message names it.", retry: "permanent" },
  Auth: { code: 620, meaning: "The server refused the credentials (535 and similar; see replyCode and lastReply), or the SASL exchange failed (e.g. the server's SCRAM proof did not verify).", retry: "permanent" },
  AuthMechanismNotOffered: { code: 621, meaning: "The AuthMechanism chosen is not offered by the server; the message lists what it offers.", retry: "permanent" },
  AuthNeedsTls: { code: 622, meaning: "AUTH was refused locally because the connection is not encrypted: use TLS (SSLStartMode) or, if you accept the risk, config AllowCleartextAuth=true.", retry: "permanent" },
  AuthMechanismNotApplicable: { code: 623, meaning: "The AuthMechanism value does not apply to SMTP (3 APOP is a POP3 command; 6 Kerberos / GSSAPI is not supported).", retry: "permanent" },
  AuthNotOffered: { code: 624, meaning: "User is set but the server does not offer AUTH (on many servers AUTH appears only after STARTTLS).", retry: "permanent" },
  OAuthToken: { code: 625, meaning: "The OAuth2 token provider got no access token: the token endpoint could not be reached, refused the refresh token or client (invalid_grant, invalid_client), or answered without one. The mail server was not sent a token.", retry: "depends" },
  QueueBackend: { code: 630, meaning: "The Redis outbox could not be used: bullmq or ioredis is not installed, Redis could not be reached, refused the credentials or the TLS handshake, or did not answer in time; the hint names which. Nothing was queued or sent.", retry: "depends" },
  QueueJobTooLarge: { code: 631, meaning: "The composed message is larger than QueueMaxJobSize, the most a Redis job may hold; nothing was queued.", retry: "permanent" },
  WouldBlock: { code: 10035, meaning: "The socket operation would block (EWOULDBLOCK / EAGAIN): the system had no resources for it at that moment.", retry: "transient" },
  AddressInUse: { code: 10048, meaning: "The local address is already in use: another socket holds LocalPort (with LocalHost); leave LocalPort 0 or choose a free port.", retry: "depends" },
  ConnectionAborted: { code: 10053, meaning: "The connection was aborted by the local system (ECONNABORTED), e.g. a network change or a firewall on this host.", retry: "transient" },
  ConnectionReset: { code: 10054, meaning: "The connection was reset by the peer.", retry: "transient" },
  TimedOut: { code: 10060, meaning: "Timed out: the TCP connect exceeded ConnectionTimeout, or a reply did not arrive within Timeout.", retry: "transient" },
  ConnectionRefused: { code: 10061, meaning: "Connection refused: nothing listens on MailServer:MailPort.", retry: "transient" },
  NoRoute: { code: 10065, meaning: "No route to the host (network unreachable).", retry: "transient" },
  HostNotFound: { code: 11001, meaning: "MailServer could not be resolved (DNS).", retry: "transient" },
  NoData: { code: 11004, meaning: "The name exists in DNS but has no record of the type asked for (no address, ENODATA): check the name or its DNS records.", retry: "permanent" },
} as const satisfies Record<string, Omit<ErrorCodeDoc, "name">>;

type CodeName = keyof typeof CODES;

/** The numbers by name, each a literal type: `ErrorCode.NoRecipient` is `165`. */
export const ErrorCode = Object.fromEntries(Object.entries(CODES).map(([name, row]) => [name, row.code])) as { readonly [K in CodeName]: (typeof CODES)[K]["code"] };

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The documented table, in code order. */
export const ERROR_CODES: readonly ErrorCodeDoc[] = Object.entries(CODES).map(([name, row]) => ({ code: row.code, name, meaning: row.meaning, retry: row.retry }));

/** The optional details of an SmtpError (its constructor's third argument). */
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
  ErrorCode.ConnectionAborted,
  ErrorCode.WouldBlock,
  ErrorCode.TimedOut,
  ErrorCode.ConnectionRefused,
  ErrorCode.NoRoute,
  ErrorCode.HostNotFound,
  ErrorCode.MalformedReply,
  ErrorCode.ReplyTooLong,
]);

/**
 * Every failure of smtpkit: `code` says what happened (an `ErrorCode`: IP*Works' numbers and the
 * Winsock ones, listed in docs/errors.md), `message` ends with a hint in parentheses when there
 * is something useful to say, and the server's reply, the command and the recipient are kept.
 */
export class SmtpError extends Error {
  /** What happened: an `ErrorCode` value (e.g. 620 login refused, 10060 timeout, 10061 connection refused). */
  readonly code: number;
  /** The server's 3-digit reply code, when a reply caused the error. */
  readonly replyCode: number | undefined;
  /** RFC 3463 enhanced status code ("5.1.1") when the server sent one. */
  readonly enhancedStatus: string | undefined;
  /** The server's full last reply (all lines), when there is one. */
  readonly lastReply: string | undefined;
  /** The command (credentials masked) whose reply or failure this is. */
  readonly command: string | undefined;
  /** The recipient a RCPT failure is about. */
  readonly recipient: string | undefined;
  /** What to do about it, when there is something useful to say (also at the end of `message`). */
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

  /** True for a timeout (code 10060). */
  isTimeout(): boolean {
    return this.code === ErrorCode.TimedOut;
  }

  /** True for a TLS failure (codes 270 to 299: handshake, certificate, STARTTLS). */
  isTls(): boolean {
    return this.code >= 270 && this.code <= 299;
  }

  /** True for a refused or impossible login (codes 620 to 629, or a 530 / 534 / 535 / 538 reply). */
  isAuth(): boolean {
    return (this.code >= 620 && this.code <= 629) || this.replyCode === 530 || this.replyCode === 534 || this.replyCode === 535 || this.replyCode === 538;
  }

  /** True when the error came from the network rather than from a reply or from bad input. */
  isNetwork(): boolean {
    return NETWORK_CODES.has(this.code);
  }
}

/** The error interrupt() and an aborted AbortSignal stand for (301). */
export function interrupted(why = "interrupted"): SmtpError {
  return new SmtpError(ErrorCode.Interrupted, `operation ${why}`);
}

/** Why `signal` was aborted, as an SmtpError: its reason when it is one, else "operation interrupted". */
export function abortReason(signal: AbortSignal | undefined): SmtpError {
  return signal?.reason instanceof SmtpError ? signal.reason : interrupted();
}

/** Whether `e` is an SmtpError (a type guard for `catch (e)`). */
export function isSmtpError(e: unknown): e is SmtpError {
  return e instanceof SmtpError;
}

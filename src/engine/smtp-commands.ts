/**
 * One small type per SMTP command. Each prints its line, names its reply
 * class (the replies that can answer it at all, see reply-expectations.ts:
 * any other reply means commands and replies are out of step) and knows
 * which reply means success and how to word any other.
 *
 * Commands without an argument are shared constants; the others are one
 * small object per use (a message makes one MAIL, one RCPT per recipient
 * and, with CHUNKING, one BDAT per chunk), sent as they are: the connection
 * reads the line, reply class and payload straight off them.
 */
import { ErrorCode, SmtpError, type SmtpErrorDetails } from "../errors.js";
import { assertNoLineBreak } from "../message/header-block.js";
import { describeReply, type SmtpReply } from "./reply.js";
import type { Expected } from "./reply-expectations.js";
import type { RecipientType } from "./transaction/types.js";

export interface SmtpCommand {
  /** The line as written, without CRLF. */
  readonly line: string;
  /** What PITrail and errors show instead of the line (credentials masked). */
  readonly display: string | undefined;
  /** Its reply class: the replies that can answer it at all. */
  readonly expect: Expected;
  /** Bytes written right after the line (a BDAT chunk). */
  readonly payload: Buffer | undefined;
  /** Nothing more is read in clear text after its reply (STARTTLS). */
  readonly lastInClear: boolean;
  /** The reply says the command was done. */
  accepts(reply: SmtpReply): boolean;
  /** The error for a reply it does not accept. */
  refused(reply: SmtpReply): SmtpError;
}

/** An SmtpError for a negative reply, carrying everything the caller needs to decide. */
export function replyError(reply: SmtpReply, what: string, command: string, recipient?: string): SmtpError {
  return replyFailure(ErrorCode.Protocol, `${what}: ${describeReply(reply)}`, reply, { command, recipient });
}

/** An error of `code` about `reply`: the one place a reply's code, status and text are attached. */
function replyFailure(code: number, message: string, reply: SmtpReply, details: SmtpErrorDetails): SmtpError {
  return new SmtpError(code, message, { replyCode: reply.code, enhancedStatus: reply.enhancedStatus, lastReply: reply.raw, ...details });
}

/** A command argument from the caller: non-empty, one line, trimmed. */
export function argument(what: string, value: string): string {
  if (typeof value !== "string" || value.trim() === "") throw new SmtpError(ErrorCode.InvalidValue, `${what} needs a non-empty argument`);
  assertNoLineBreak(`${what}: the argument`, value);
  return value.trim();
}

/** Every command has the same fields, so the connection's loop over a group sees one shape. */
abstract class Command implements SmtpCommand {
  display: string | undefined = undefined;
  payload: Buffer | undefined = undefined;
  lastInClear = false;

  constructor(
    readonly line: string,
    readonly expect: Expected,
  ) {}

  /** 250 by default. */
  accepts(reply: SmtpReply): boolean {
    return reply.code === 250;
  }

  abstract refused(reply: SmtpReply): SmtpError;

  /** The server answered 421: it is closing the session. */
  closing(reply: SmtpReply): SmtpError {
    return replyError(reply, "the server closed the session", this.line);
  }
}

/** MAIL FROM (or the RFC 821 SEND / SOML / SAML FROM): 250, else the sender was refused. */
export class Mail extends Command {
  /** `size`: SIZE= announced with the parameters (RFC 1870). */
  constructor(verb: "MAIL" | "SEND" | "SOML" | "SAML", sender: string, parameters: readonly string[], size?: number) {
    let line = `${verb} FROM:<${sender}>`;
    if (parameters.length) line += ` ${parameters.join(" ")}`;
    if (size !== undefined) line += ` SIZE=${size}`;
    super(line, "command");
  }

  refused(reply: SmtpReply): SmtpError {
    return replyError(reply, "the server refused the sender", this.line);
  }
}

const RECIPIENT_TYPE_NAMES = ["To", "Cc", "BCc"] as const;

/** RCPT TO: 250 or 251 (will forward), else this recipient was refused. */
export class Rcpt extends Command {
  /** `options`: raw RCPT parameters (DSN, MessageRecipientOptions). */
  constructor(readonly address: string, readonly type: RecipientType, options: string) {
    super(`RCPT TO:<${address}>${options ? " " + options.trim() : ""}`, "command");
  }

  override accepts(reply: SmtpReply): boolean {
    return reply.code === 250 || reply.code === 251;
  }

  refused(reply: SmtpReply): SmtpError {
    return replyError(reply, `the server refused ${RECIPIENT_TYPE_NAMES[this.type]} recipient ${this.address}`, this.line, this.address);
  }

  override closing(reply: SmtpReply): SmtpError {
    return replyError(reply, "the server closed the session", this.line, this.address);
  }
}

/** DATA: 354 to go ahead with the message. */
class Data extends Command {
  override accepts(reply: SmtpReply): boolean {
    return reply.code === 354;
  }

  refused(reply: SmtpReply): SmtpError {
    return replyError(reply, "the server refused DATA", "DATA");
  }
}

/** BDAT n [LAST] with its chunk (RFC 3030): 250 for every chunk; the reply to LAST is the message's verdict. */
export class Bdat extends Command {
  constructor(chunk: Buffer, last: boolean) {
    super(`BDAT ${chunk.length}${last ? " LAST" : ""}`, "verdict");
    this.payload = chunk;
  }

  refused(reply: SmtpReply): SmtpError {
    return replyError(reply, `the server refused a message chunk (${this.line})`, this.line);
  }
}

/** RSET and NOOP: 250; they have no refusal of their own (reply class "reset"). */
class Plain extends Command {
  refused(reply: SmtpReply): SmtpError {
    return replyError(reply, `the server refused ${this.line}`, this.line);
  }
}

/** QUIT: 221 (any other 2xx is taken too: the goodbye is a courtesy). */
class Quit extends Command {
  override accepts(reply: SmtpReply): boolean {
    return reply.code >= 200 && reply.code < 300;
  }

  refused(reply: SmtpReply): SmtpError {
    return replyError(reply, "the server refused QUIT", "QUIT");
  }
}

/** EHLO: 250 with the extensions; anything else but 421 falls back to HELO. */
export class Ehlo extends Command {
  constructor(name: string) {
    super(`EHLO ${name}`, "command");
  }

  refused(reply: SmtpReply): SmtpError {
    return replyError(reply, "the server refused EHLO", this.line);
  }
}

export class Helo extends Command {
  constructor(name: string) {
    super(`HELO ${name}`, "command");
  }

  refused(reply: SmtpReply): SmtpError {
    return replyError(reply, "the server refused HELO", this.line);
  }
}

/** STARTTLS: 220, then the handshake; nothing the server sends after that reply is read in clear text. */
class StartTls extends Command {
  constructor() {
    super("STARTTLS", "starttls");
    this.lastInClear = true;
  }

  override accepts(reply: SmtpReply): boolean {
    return reply.code === 220;
  }

  refused(reply: SmtpReply): SmtpError {
    return replyFailure(ErrorCode.TlsStartRefused, `the server refused STARTTLS: ${describeReply(reply)}; nothing else was sent`, reply, { command: "STARTTLS" });
  }
}

/** VRFY (RFC 5321 §3.5): 250 / 251 the user is known, 252 cannot verify but will accept. */
export class Vrfy extends Command {
  constructor(readonly address: string) {
    super(`VRFY ${argument("verify()", address)}`, "command");
  }

  override accepts(reply: SmtpReply): boolean {
    return reply.code >= 250 && reply.code <= 252;
  }

  refused(reply: SmtpReply): SmtpError {
    return replyError(reply, `the server could not verify ${this.address}`, this.line);
  }
}

/** EXPN: 250 with one member of the list per line. */
export class Expn extends Command {
  constructor(readonly name: string) {
    super(`EXPN ${argument("expand()", name)}`, "command");
  }

  refused(reply: SmtpReply): SmtpError {
    return replyError(reply, `the server could not expand ${this.name}`, this.line);
  }
}

/** Any command line from the caller: every reply can answer it and the caller judges it. */
export class Raw extends Command {
  constructor(line: string) {
    super(argument("the command", line), "any");
  }

  override accepts(reply: SmtpReply): boolean {
    return reply.code < 400;
  }

  refused(reply: SmtpReply): SmtpError {
    return replyError(reply, "the server refused the command", this.line);
  }
}

const MASK = "****";

/**
 * AUTH mechanism [initial-response] (RFC 4954): 235 authenticated, 334 a
 * challenge to answer. Credentials never reach PITrail or an error unless
 * logging them was asked for.
 */
export class Auth extends Command {
  constructor(readonly mechanism: string, initial: Buffer | undefined, log: boolean, private readonly usesToken: boolean) {
    // An empty initial response is sent as "=" (RFC 4954 §4).
    const initialText = initial === undefined ? "" : ` ${initial.length === 0 ? "=" : initial.toString("base64")}`;
    super(`AUTH ${mechanism}${initialText}`, "auth");
    this.display = `AUTH ${mechanism}${initial === undefined ? "" : log ? initialText : ` ${MASK}`}`;
  }

  override accepts(reply: SmtpReply): boolean {
    return reply.code === 235;
  }

  /** A challenge the client answers with a SaslResponse. */
  challenges(reply: SmtpReply): boolean {
    return reply.code === 334;
  }

  refused(reply: SmtpReply): SmtpError {
    const command = this.display;
    if (reply.code === 535) {
      return replyFailure(ErrorCode.Auth, `the server refused the credentials (AUTH ${this.mechanism}): ${describeReply(reply)}`, reply, {
        command,
        hint: `${this.usesToken ? "the token may have expired or lack the mail scope" : "check User and Password"}; see docs/troubleshooting.md#auth-refused`,
      });
    }
    if (reply.code === 534 || reply.code === 538) {
      return replyFailure(ErrorCode.Auth, `the server wants a different mechanism or encryption for AUTH ${this.mechanism}: ${describeReply(reply)}`, reply, { command });
    }
    return replyFailure(ErrorCode.Auth, `AUTH ${this.mechanism} failed: ${describeReply(reply)}`, reply, { command });
  }
}

/** One response line of a SASL exchange (base64), masked in PITrail. */
export class SaslResponse extends Command {
  constructor(response: Buffer, log: boolean) {
    const line = response.toString("base64");
    super(line, "auth");
    this.display = log ? line : MASK;
  }

  override accepts(reply: SmtpReply): boolean {
    return reply.code === 235;
  }

  refused(reply: SmtpReply): SmtpError {
    return replyError(reply, "the server refused the SASL response", this.display ?? MASK);
  }
}

/** "*" cancels an exchange the client cannot continue (RFC 4954 §4); the server answers 501. */
class SaslCancel extends Command {
  constructor(display: string) {
    super("*", "auth");
    this.display = display;
  }

  override accepts(reply: SmtpReply): boolean {
    return reply.code === 501;
  }

  refused(reply: SmtpReply): SmtpError {
    return replyError(reply, "the server did not cancel the SASL exchange", "*");
  }
}

export const DATA: SmtpCommand = new Data("DATA", "data");
export const RSET: SmtpCommand = new Plain("RSET", "reset");
/** Pipelined behind the end of a message, its reply shows the verdict was read in step. */
export const NOOP: SmtpCommand = new Plain("NOOP", "reset");
export const QUIT: SmtpCommand = new Quit("QUIT", "quit");
export const STARTTLS: SmtpCommand = new StartTls();
/** The cancel line as PITrail shows it: plain with LogCredentials, explained otherwise. */
export const SASL_CANCEL: SmtpCommand = new SaslCancel("* (cancel)");
export const SASL_CANCEL_LOGGED: SmtpCommand = new SaslCancel("*");

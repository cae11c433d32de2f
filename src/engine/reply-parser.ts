/**
 * ReplyParser: turns the server's byte stream into SmtpReply objects.
 *
 * Incremental and byte-level: a chunk may end anywhere (inside the code,
 * between CR and LF, inside a UTF-8 sequence), so bytes are only decoded once
 * a whole line is in hand. Memory is bounded by maxLineLength: an unfinished
 * line is never buffered past the limit.
 *
 * Line text keeps every byte it was sent, NUL and non-ASCII included; each line
 * is decoded as UTF-8, or as latin1 when it is not valid UTF-8.
 */

import { isUtf8 } from "node:buffer";
import { ErrorCode, SmtpError } from "../errors.js";
import { createReply, type SmtpReply } from "./reply.js";

export interface ReplyParserOptions {
  /** Maximum bytes per line, excluding the line end. Default 2048. */
  maxLineLength?: number;
  /** Maximum bytes of one whole reply, line ends included. Default 65536. */
  maxReplyLength?: number;
  /** Maximum lines of one reply. Default 1000. */
  maxReplyLines?: number;
}

const DEFAULT_MAX_LINE_LENGTH = 2048;
const DEFAULT_MAX_REPLY_LENGTH = 65536;
const DEFAULT_MAX_REPLY_LINES = 1000;
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HYPHEN = 0x2d;
const DIGIT_0 = 0x30;
const QUOTE_LIMIT = 100;

interface PendingLine {
  text: string;
  raw: string;
}

export class ReplyParser {
  private readonly maxLineLength: number;
  private readonly maxReplyLength: number;
  private readonly maxReplyLines: number;
  /** Bytes of the finished lines of the current multi-line reply. */
  private replyBytes = 0;
  /** Bytes of the current, unfinished line (copied: the caller may reuse its chunks). */
  private carry: Buffer[] = [];
  private carryLength = 0;
  /** Finished lines of a multi-line reply whose last line has not arrived. */
  private lines: PendingLine[] = [];
  private code = 0;
  /** Set once push() threw; the stream position is lost, so later pushes fail too. */
  private failure: SmtpError | undefined;

  constructor(opts: ReplyParserOptions = {}) {
    this.maxLineLength = bound("maxLineLength", opts.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH, 3);
    this.maxReplyLength = bound("maxReplyLength", opts.maxReplyLength ?? DEFAULT_MAX_REPLY_LENGTH, 3);
    this.maxReplyLines = bound("maxReplyLines", opts.maxReplyLines ?? DEFAULT_MAX_REPLY_LINES, 1);
  }

  /** True while bytes of an unfinished reply are buffered. */
  get partial(): boolean {
    return this.carryLength > 0 || this.lines.length > 0;
  }

  /** Drops all buffered state, including a previous failure (e.g. after STARTTLS). */
  reset(): void {
    this.carry = [];
    this.carryLength = 0;
    this.lines = [];
    this.replyBytes = 0;
    this.code = 0;
    this.failure = undefined;
  }

  /**
   * Feeds bytes and returns the replies they completed, in order. Throws
   * SmtpError (MalformedReply / ReplyTooLong) on the first bad line; replies
   * completed earlier in the same chunk are then dropped, since the caller is
   * expected to close the connection. Further pushes rethrow until reset().
   */
  push(chunk: Buffer): SmtpReply[] {
    if (this.failure !== undefined) throw this.failure;
    try {
      return this.consume(chunk);
    } catch (e) {
      if (e instanceof SmtpError) this.failure = e;
      throw e;
    }
  }

  private consume(chunk: Buffer): SmtpReply[] {
    const out: SmtpReply[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const lf = chunk.indexOf(LF, pos);
      if (lf === -1) {
        this.keep(chunk.subarray(pos));
        break;
      }
      const segment = chunk.subarray(pos, lf);
      const lastByte = segment.length > 0 ? segment[segment.length - 1] : this.lastCarryByte();
      // Checked before joining so an oversized line is never copied.
      this.checkLength(this.carryLength + segment.length, lastByte);
      let line = this.carryLength > 0 ? this.takeCarry(segment) : segment;
      // Accept CRLF and, for lenient servers, a bare LF.
      if (lastByte === CR) line = line.subarray(0, line.length - 1);
      const reply = this.line(line);
      if (reply !== undefined) out.push(reply);
      pos = lf + 1;
    }
    return out;
  }

  /** Buffers the tail of a chunk, refusing before the copy would exceed the limit. */
  private keep(tail: Buffer): void {
    const total = this.carryLength + tail.length;
    this.checkLength(total, tail[tail.length - 1]);
    this.carry.push(Buffer.from(tail));
    this.carryLength = total;
  }

  private takeCarry(segment: Buffer): Buffer {
    const line = Buffer.concat([...this.carry, segment], this.carryLength + segment.length);
    this.carry = [];
    this.carryLength = 0;
    return line;
  }

  private lastCarryByte(): number | undefined {
    const last = this.carry[this.carry.length - 1];
    return last === undefined ? undefined : last[last.length - 1];
  }

  /**
   * `length` bytes of a line are known; a final CR may still be the start of
   * the CRLF, so it does not count against the limit yet.
   */
  private checkLength(length: number, lastByte: number | undefined): void {
    const content = lastByte === CR ? length - 1 : length;
    if (content > this.maxLineLength) {
      throw new SmtpError(ErrorCode.ReplyTooLong, `Server reply line exceeds ${this.maxLineLength} bytes`, {
        hint: "the server is misbehaving, or raise MaxLineLength",
      });
    }
  }

  /** Handles one line (line end removed); returns the reply when this was its last line. */
  private line(bytes: Buffer): SmtpReply | undefined {
    if (bytes.indexOf(CR) !== -1) malformed("CR without LF inside reply line", bytes);
    if (bytes.length < 3) malformed("reply line too short for a reply code", bytes);
    const code = replyCode(bytes);
    if (code === undefined) malformed("invalid reply code", bytes);
    let last: boolean;
    if (bytes.length === 3 || bytes[3] === SP) last = true;
    else if (bytes[3] === HYPHEN) last = false;
    else malformed("expected ' ' or '-' after the reply code", bytes);
    if (this.lines.length > 0 && code !== this.code) {
      malformed(`reply code ${code} in a multi-line reply that started with ${this.code}`, bytes);
    }
    this.code = code;
    // An endless multi-line reply must not grow memory: the whole reply is bounded too.
    this.replyBytes += bytes.length + 2;
    if (this.replyBytes > this.maxReplyLength || this.lines.length + 1 > this.maxReplyLines) {
      throw new SmtpError(ErrorCode.ReplyTooLong, `Server reply exceeds ${this.replyBytes > this.maxReplyLength ? `${this.maxReplyLength} bytes` : `${this.maxReplyLines} lines`}`, {
        hint: "the server is misbehaving, or raise MaxReplyLength / MaxReplyLines",
      });
    }
    const text = decode(bytes.subarray(4));
    // The code and separator are ASCII, so raw is just that prefix plus the text.
    this.lines.push({ text, raw: bytes.toString("latin1", 0, Math.min(4, bytes.length)) + text });
    if (!last) return undefined;
    const lines = this.lines;
    this.lines = [];
    this.replyBytes = 0;
    return createReply(
      code,
      lines.map((l) => l.text),
      lines.map((l) => l.raw).join("\r\n"),
    );
  }
}

function bound(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new SmtpError(ErrorCode.InvalidValue, `${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** Reply codes are 2xx-5xx (RFC 5321 section 4.2); SMTP has no 1xx. */
function replyCode(bytes: Buffer): number | undefined {
  const a = (bytes[0] ?? 0) - DIGIT_0;
  const b = (bytes[1] ?? 0) - DIGIT_0;
  const c = (bytes[2] ?? 0) - DIGIT_0;
  if (a < 2 || a > 5 || b < 0 || b > 9 || c < 0 || c > 9) return undefined;
  return a * 100 + b * 10 + c;
}

function decode(bytes: Buffer): string {
  return isUtf8(bytes) ? bytes.toString("utf8") : bytes.toString("latin1");
}

function malformed(why: string, bytes: Buffer): never {
  throw new SmtpError(ErrorCode.MalformedReply, `Malformed server reply (${why}): ${quote(bytes)}`);
}

/** Printable, bounded rendering of a bad line for the error message. */
function quote(bytes: Buffer): string {
  const shown = bytes.subarray(0, QUOTE_LIMIT).toString("latin1");
  const escaped = shown.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return `"${escaped}${bytes.length > QUOTE_LIMIT ? "..." : ""}"`;
}

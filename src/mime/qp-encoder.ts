/**
 * Streaming quoted-printable (RFC 2045 §6.7) over bytes: lines of at most 76
 * characters with "=" soft breaks that never split an =XX escape, whitespace
 * before a line end encoded, CRLF line ends.
 */
import { Transform, type TransformCallback } from "node:stream";

const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
const EQUALS = 0x3d;
/** Room for content on a soft-broken line: 75 characters plus the "=". */
const SOFT_LIMIT = 75;
/** RFC 2045 §6.7 rule 5: 76 characters per line, CRLF excluded. */
const HARD_LIMIT = 76;
const HEX = "0123456789ABCDEF";

export interface QpOptions {
  /**
   * True (default): CRLF in the input is a line break and becomes a hard line
   * break; a lone CR or LF is escaped. False: every byte is data and CR and LF
   * are always escaped, for content that is not line-oriented text.
   */
  textLineBreaks?: boolean;
  /**
   * True (default): the output ends with a CRLF, which a MIME part hands to
   * the boundary after it. False: without it, for a whole message body, whose
   * end the SMTP layer completes (so the text gains no extra line).
   */
  finalLineBreak?: boolean;
}

function escape(byte: number): string {
  return "=" + (HEX[byte >> 4] ?? "0") + (HEX[byte & 15] ?? "0");
}

/** RFC 2045 §6.7 rule 2: printable ASCII except "=" may stand for itself. */
function isLiteral(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e && byte !== EQUALS) || byte === SPACE || byte === TAB;
}

/** A literal that is not a blank (blanks need care at line ends). */
function isPlain(byte: number): boolean {
  return byte >= 0x21 && byte <= 0x7e && byte !== EQUALS;
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("latin1");
}

/**
 * The encoder's state between chunks: the line being built, whether it ends
 * in a literal blank (which must be escaped if a line end follows), and a CR
 * whose meaning depends on the next byte.
 */
export class QpState {
  private line = "";
  private endsInBlank = false;
  private pendingCr = false;
  private readonly text: boolean;
  private readonly finalLineBreak: boolean;

  constructor(options: QpOptions = {}) {
    this.text = options.textLineBreaks !== false;
    this.finalLineBreak = options.finalLineBreak !== false;
  }

  /** Encodes `bytes` and returns the completed output lines (CRLF-terminated). */
  write(bytes: Uint8Array): string {
    let out = "";
    const n = bytes.length;
    for (let i = 0; i < n; i++) {
      const b = bytes[i] as number;
      if (this.pendingCr) {
        this.pendingCr = false;
        if (b === LF) {
          out += this.endLine();
          continue;
        }
        out += this.add(escape(CR), false);
      }
      if (b === CR && this.text) {
        this.pendingCr = true;
        continue;
      }
      if (isPlain(b)) {
        // Runs of plain characters (most text) are copied in slices: per-byte appends made a 30 MB line take seconds.
        let j = i + 1;
        while (j < n && isPlain(bytes[j] as number)) j++;
        out += this.addRun(latin1(bytes, i, j));
        i = j - 1;
        continue;
      }
      out += isLiteral(b) ? this.add(String.fromCharCode(b), b === SPACE || b === TAB) : this.add(escape(b), false);
    }
    return out;
  }

  /** Appends characters that stand for themselves and are not blanks, soft-breaking as add() would. */
  private addRun(run: string): string {
    let out = "";
    let at = 0;
    while (at < run.length) {
      if (this.line.length >= SOFT_LIMIT) {
        out += this.line + "=\r\n";
        this.line = "";
      }
      const take = Math.min(SOFT_LIMIT - this.line.length, run.length - at);
      this.line += run.slice(at, at + take);
      at += take;
    }
    this.endsInBlank = false;
    return out;
  }

  /**
   * Finishes the output. The last line always gets a CRLF (an empty input
   * gives one empty line): the composer counts that CRLF as the start of the
   * next boundary delimiter, so it does not add a line break to the content.
   * With finalLineBreak false that CRLF is left off.
   */
  end(): string {
    let out = "";
    if (this.pendingCr) {
      this.pendingCr = false;
      out += this.add(escape(CR), false);
    }
    out += this.endLine();
    return this.finalLineBreak ? out : out.slice(0, -2);
  }

  /** Appends one token (a literal character or a whole escape), soft-breaking first if it would not fit. */
  private add(token: string, blank: boolean): string {
    let out = "";
    if (this.line.length + token.length > SOFT_LIMIT) {
      out = this.line + "=\r\n";
      this.line = "";
    }
    this.line += token;
    this.endsInBlank = blank;
    return out;
  }

  /** A hard line break: a trailing blank would be stripped in transit (rule 3), so it is escaped. */
  private endLine(): string {
    let out = "";
    if (this.endsInBlank) {
      const blank = this.line.charCodeAt(this.line.length - 1);
      this.line = this.line.slice(0, -1);
      const esc = escape(blank);
      if (this.line.length + esc.length > HARD_LIMIT) {
        out += this.line + "=\r\n";
        this.line = "";
      }
      this.line += esc;
    }
    out += this.line + "\r\n";
    this.line = "";
    this.endsInBlank = false;
    return out;
  }
}

export class QuotedPrintableEncoder extends Transform {
  private readonly state: QpState;

  constructor(options: QpOptions = {}) {
    super();
    this.state = new QpState(options);
  }

  override _transform(chunk: Buffer | string, _enc: BufferEncoding, done: TransformCallback): void {
    const input = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    const out = this.state.write(input);
    if (out !== "") this.push(out, "latin1");
    done();
  }

  override _flush(done: TransformCallback): void {
    this.push(this.state.end(), "latin1");
    done();
  }
}

/** Whole-buffer quoted-printable, the same bytes the streaming encoder gives. */
export function encodeQuotedPrintable(bytes: Uint8Array, options: QpOptions = {}): Buffer {
  const state = new QpState(options);
  return Buffer.from(state.write(bytes) + state.end(), "latin1");
}

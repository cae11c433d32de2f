/**
 * The server side of the SMTP byte stream: turns whatever chunks the client's
 * bytes arrive in (several pipelined commands in one, a command split over
 * many) into events. Command lines end with CRLF. After DATA, once the
 * reader is told the server answered 354 (startData), message lines are
 * collected up to the "." line and un-dot-stuffed. `BDAT n [LAST]` is followed
 * by exactly n bytes of payload, taken as they are (binary).
 *
 * Every event carries `end`: the stream offset just after its last byte.
 */

export type ReaderEvent =
  | { kind: "command"; line: string; end: number }
  /** Part of the message has arrived, not all of it: after the first line of a DATA body, or half of a BDAT payload. */
  | { kind: "data-progress"; end: number }
  /** The "." after a DATA body; `body` is un-dot-stuffed, without the final ".". */
  | { kind: "data-end"; body: Buffer; end: number }
  /** A whole BDAT chunk: the command line and its payload. */
  | { kind: "bdat"; line: string; size: number; last: boolean; payload: Buffer; end: number };

type Mode =
  | { kind: "line" }
  | { kind: "data"; lines: Buffer[]; progressed: boolean }
  | { kind: "bdat"; line: string; size: number; last: boolean; got: Buffer[]; have: number; progressed: boolean };

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const BDAT = /^BDAT (\d+)( LAST)?$/i;

export class CommandReader {
  private pending: Buffer = Buffer.alloc(0);
  /** Stream offset of pending[0]. */
  private base = 0;
  private mode: Mode = { kind: "line" };

  constructor(private readonly onEvent: (event: ReaderEvent) => void) {}

  /** Bytes taken so far (the offset of the next byte). */
  get consumed(): number {
    return this.base;
  }

  /** Message data follows (the server answered DATA with 354). Call it while handling the DATA event. */
  startData(): void {
    this.mode = { kind: "data", lines: [], progressed: false };
  }

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.step()) {
      // each step consumes one line or one piece of payload
    }
  }

  /** Handles what is buffered as far as it goes; false when more bytes are needed. */
  private step(): boolean {
    const mode = this.mode;
    if (mode.kind === "bdat") return this.payload(mode);
    const lf = this.pending.indexOf(LF);
    if (lf < 0) return false;
    const lineEnd = lf > 0 && this.pending[lf - 1] === CR ? lf - 1 : lf;
    const line = this.pending.subarray(0, lineEnd);
    this.take(lf + 1);
    if (mode.kind === "data") {
      if (line.length === 1 && line[0] === DOT) {
        this.mode = { kind: "line" };
        this.onEvent({ kind: "data-end", body: Buffer.concat(mode.lines), end: this.base });
        return true;
      }
      // RFC 5321 4.5.2: a leading dot was doubled by the client.
      const text = line[0] === DOT ? line.subarray(1) : line;
      mode.lines.push(Buffer.from(text), Buffer.from("\r\n"));
      if (!mode.progressed) {
        mode.progressed = true;
        this.onEvent({ kind: "data-progress", end: this.base });
      }
      return true;
    }
    const text = line.toString("utf8");
    const bdat = BDAT.exec(text);
    if (bdat) {
      this.mode = { kind: "bdat", line: text, size: Number(bdat[1]), last: bdat[2] !== undefined, got: [], have: 0, progressed: false };
      return true;
    }
    this.onEvent({ kind: "command", line: text, end: this.base });
    return true;
  }

  private payload(mode: Extract<Mode, { kind: "bdat" }>): boolean {
    const half = Math.ceil(mode.size / 2);
    if (mode.have < mode.size && this.pending.length === 0) return false;
    // Stop at the half-way mark once, so "part of the message has arrived" is seen even when all of it came at once.
    const target = !mode.progressed && mode.size >= 2 && mode.have < half ? half : mode.size;
    const n = Math.min(target - mode.have, this.pending.length);
    mode.got.push(Buffer.from(this.pending.subarray(0, n)));
    mode.have += n;
    this.take(n);
    if (!mode.progressed && mode.size >= 2 && mode.have >= half) {
      mode.progressed = true;
      this.onEvent({ kind: "data-progress", end: this.base });
      if (this.mode !== mode) return true;
    }
    if (mode.have < mode.size) return this.pending.length > 0;
    this.mode = { kind: "line" };
    this.onEvent({ kind: "bdat", line: mode.line, size: mode.size, last: mode.last, payload: Buffer.concat(mode.got), end: this.base });
    return true;
  }

  private take(n: number): void {
    this.pending = this.pending.subarray(n);
    this.base += n;
  }
}

/**
 * Message bytes to SMTP DATA wire form (RFC 5321 §4.5.2): every line break
 * becomes CRLF, lines starting with "." get another ".", and ".\r\n" ends it.
 * Normalizing bare CR and bare LF is the defence against SMTP smuggling.
 */
import { Transform, type TransformCallback } from "node:stream";

export interface DotStuffOptions {
  /** Double a leading "." on each line (default true). */
  stuff?: boolean;
  /** End with CRLF (if missing) and ".\r\n" (default true). */
  terminate?: boolean;
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const EMPTY = Buffer.alloc(0);
const END_BUF = Buffer.from(".\r\n");
const CRLF_END_BUF = Buffer.from("\r\n.\r\n");
/** Bytes inserted into the output, by the negative op code that stands for them. */
const INSERTS: readonly Buffer[] = [EMPTY, Buffer.from("."), Buffer.from("\r\n"), Buffer.from("\n")];
const INS_DOT = -1;
const INS_CRLF = -2;
const INS_LF = -3;
const WINDOW = 64 * 1024;

/**
 * Output plan for one chunk, as flat pairs: [start, end] copies that range of the
 * input, [-code, 0] inserts INSERTS[code]. Plain numbers instead of one Buffer
 * slice per line keep the garbage low on LF-only input.
 */
function assemble(buf: Buffer, ops: number[]): Buffer {
  if (ops.length === 2 && ops[0] === 0 && ops[1] === buf.length) return buf;
  let total = 0;
  for (let k = 0; k < ops.length; k += 2) {
    const start = ops[k] ?? 0;
    total += start >= 0 ? (ops[k + 1] ?? 0) - start : (INSERTS[-start]?.length ?? 0);
  }
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let k = 0; k < ops.length; k += 2) {
    const start = ops[k] ?? 0;
    pos += start >= 0 ? buf.copy(out, pos, start, ops[k + 1]) : (INSERTS[-start] ?? EMPTY).copy(out, pos);
  }
  return out;
}

/** The state machine shared by the stream and the whole-buffer function. */
class Stuffing {
  private atLineStart = true;
  /** The previous chunk ended with CR (already emitted as CRLF): a leading LF is part of it. */
  private crPending = false;

  constructor(
    private readonly stuff: boolean,
    private readonly terminate: boolean,
  ) {}

  /** Transforms one chunk; state carries over to the next. */
  process(buf: Buffer): Buffer {
    if (buf.length <= WINDOW) return this.processWindow(buf);
    // Huge chunks go in windows: one giant op list and copy plan measured ~10x slower.
    const parts: Buffer[] = [];
    let unchanged = true;
    for (let k = 0; k < buf.length; k += WINDOW) {
      const window = buf.subarray(k, k + WINDOW);
      const out = this.processWindow(window);
      unchanged &&= out === window;
      parts.push(out);
    }
    return unchanged ? buf : Buffer.concat(parts);
  }

  /**
   * Clean stretches of input are copied in bulk (or the window is passed on
   * as is); only the changes split them.
   */
  private processWindow(buf: Buffer): Buffer {
    const n = buf.length;
    if (n === 0) return EMPTY;
    let i = 0;
    if (this.crPending) {
      this.crPending = false;
      if (buf[0] === LF) i = 1;
    }
    const ops: number[] = [];
    let runStart = i;
    // Next CR / LF positions, searched again only once passed (keeps the scan linear).
    let nextCR = buf.indexOf(CR, i);
    let nextLF = buf.indexOf(LF, i);

    while (i < n) {
      if (this.atLineStart) {
        this.atLineStart = false;
        if (this.stuff && buf[i] === DOT) {
          if (i > runStart) ops.push(runStart, i);
          ops.push(INS_DOT, 0);
          runStart = i;
        }
      }
      if (nextCR !== -1 && nextCR < i) nextCR = buf.indexOf(CR, i);
      if (nextLF !== -1 && nextLF < i) nextLF = buf.indexOf(LF, i);
      const j = nextCR === -1 ? nextLF : nextLF === -1 ? nextCR : Math.min(nextCR, nextLF);
      if (j === -1) break;

      this.atLineStart = true;
      if (buf[j] === LF) {
        // Bare LF (the LF of a CRLF is consumed together with its CR).
        if (j > runStart) ops.push(runStart, j);
        ops.push(INS_CRLF, 0);
        runStart = i = j + 1;
      } else if (j + 1 < n && buf[j + 1] === LF) {
        i = j + 2;
      } else {
        // Bare CR, or a CR ending the chunk: complete it now rather than hold it back.
        ops.push(runStart, j + 1, INS_LF, 0);
        runStart = i = j + 1;
        this.crPending = j + 1 === n;
      }
    }
    if (runStart < n) ops.push(runStart, n);
    return assemble(buf, ops);
  }

  /** The end-of-data marker, with the CRLF that completes an unfinished last line. */
  finish(): Buffer {
    if (!this.terminate) return EMPTY;
    return this.atLineStart ? END_BUF : CRLF_END_BUF;
  }
}

function toBuffer(chunk: unknown, encoding: BufferEncoding | "buffer"): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === "string") return Buffer.from(chunk, encoding === "buffer" ? "utf8" : encoding);
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError("DotStuffer accepts only Buffer, Uint8Array or string chunks");
}

/**
 * Transform stream producing the DATA wire form. The most recent output chunk
 * is held back so that the last body bytes and the terminator leave in one
 * Buffer (one socket write); everything before it is pushed at once.
 */
export class DotStuffer extends Transform {
  readonly #state: Stuffing;
  #held: Buffer | null = null;
  #bytesIn = 0;
  #bytesOut = 0;

  constructor(opts: DotStuffOptions = {}) {
    super();
    this.#state = new Stuffing(opts.stuff ?? true, opts.terminate ?? true);
  }

  get bytesIn(): number {
    return this.#bytesIn;
  }

  get bytesOut(): number {
    return this.#bytesOut;
  }

  override _transform(chunk: unknown, encoding: BufferEncoding, callback: TransformCallback): void {
    let buf: Buffer;
    try {
      buf = toBuffer(chunk, encoding);
    } catch (err) {
      callback(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.#bytesIn += buf.length;
    const out = this.#state.process(buf);
    if (out.length > 0) {
      if (this.#held) this.#emit(this.#held);
      this.#held = out;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const tail = this.#state.finish();
    const held = this.#held;
    this.#held = null;
    const last = held === null ? tail : tail.length === 0 ? held : Buffer.concat([held, tail]);
    if (last.length > 0) this.#emit(last);
    callback();
  }

  #emit(buf: Buffer): void {
    this.#bytesOut += buf.length;
    this.push(buf);
  }
}

/** The DotStuffer transformation applied to a whole buffer. */
export function dotStuff(data: Buffer, opts: DotStuffOptions = {}): Buffer {
  const state = new Stuffing(opts.stuff ?? true, opts.terminate ?? true);
  const body = state.process(data);
  const tail = state.finish();
  return tail.length === 0 ? body : Buffer.concat([body, tail]);
}

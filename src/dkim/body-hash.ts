/**
 * DKIM body hash (RFC 6376 §3.4.3, §3.4.4, §3.7): the body is canonicalized
 * and SHA-256 hashed while it streams, with constant memory.
 *
 * Line ends are counted as the wire will have them: smtpkit turns bare CR and
 * bare LF into CRLF on the way out (see dot-stuffer.ts), so the receiver
 * verifies against CRLF lines and so must we. A body that does not end with a
 * line break gets one on the wire too, which is also what both canonical forms
 * add, so the two views agree.
 */
import { createHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { SmtpError, ErrorCode } from "../errors.js";

export type BodyCanonicalization = "simple" | "relaxed";

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
/** Canonical bytes are gathered here and hashed in blocks: one hash.update per byte would dominate. */
const OUT_SIZE = 16 * 1024;
/** Room kept free in the block: the most one input byte can emit is SP + byte, or CR LF. */
const OUT_LIMIT = OUT_SIZE - 4;

export function assertBodyCanonicalization(c: unknown): asserts c is BodyCanonicalization {
  if (c !== "simple" && c !== "relaxed") {
    throw new SmtpError(ErrorCode.InvalidValue, `DKIM body canonicalization must be "simple" or "relaxed", got ${JSON.stringify(c)}`);
  }
}

/**
 * The canonicalization state machine shared by the stream and the whole-buffer
 * function. Nothing that depends on later input is ever buffered as bytes:
 * only a CR flag, a whitespace flag and a count of empty lines carry over.
 */
export class BodyCanonicalizer {
  readonly #relaxed: boolean;
  readonly #hash: Hash = createHash("sha256");
  readonly #out: Buffer = Buffer.allocUnsafe(OUT_SIZE);
  #outLen = 0;
  /** The last byte was CR: an LF right after it belongs to the same line end (possibly across chunks). */
  #afterCR = false;
  /** Nothing has been emitted for the current line yet. */
  #lineEmpty = true;
  /**
   * Empty lines seen since the last non-empty one. Their CRLFs are emitted only
   * when more content follows, since both algorithms drop trailing empty lines.
   */
  #emptyLines = 0;
  /** relaxed: a WSP run was seen; it becomes one SP only if non-WSP content follows on the line. */
  #wsp = false;
  /** Some line had content (decides the simple algorithm's lone CRLF for an empty body). */
  #hadContent = false;
  #result: string | undefined;

  constructor(canonicalization: BodyCanonicalization) {
    assertBodyCanonicalization(canonicalization);
    this.#relaxed = canonicalization === "relaxed";
  }

  update(chunk: Uint8Array): void {
    if (this.#result !== undefined) {
      throw new SmtpError(ErrorCode.InvalidValue, "DKIM body hash: data written after the hash was finished");
    }
    // State lives in locals for the loop: this is the per-byte hot path.
    const relaxed = this.#relaxed;
    const out = this.#out;
    const hash = this.#hash;
    let n = this.#outLen;
    let afterCR = this.#afterCR;
    let lineEmpty = this.#lineEmpty;
    let emptyLines = this.#emptyLines;
    let wsp = this.#wsp;
    let hadContent = this.#hadContent;
    const len = chunk.length;

    for (let i = 0; i < len; i++) {
      const c = chunk[i] ?? 0;
      if (afterCR) {
        afterCR = false;
        if (c === LF) continue;
      }
      if (c === CR || c === LF) {
        afterCR = c === CR;
        // relaxed: whitespace at the end of a line is dropped.
        wsp = false;
        if (lineEmpty) {
          emptyLines++;
        } else {
          out[n++] = CR;
          out[n++] = LF;
          lineEmpty = true;
        }
      } else if (relaxed && (c === SP || c === HTAB)) {
        wsp = true;
      } else {
        if (lineEmpty) {
          lineEmpty = false;
          hadContent = true;
          // Content follows, so the empty lines before it were not trailing after all.
          while (emptyLines > 0) {
            if (n > OUT_LIMIT) {
              hash.update(out.subarray(0, n));
              n = 0;
            }
            out[n++] = CR;
            out[n++] = LF;
            emptyLines--;
          }
        }
        if (wsp) {
          out[n++] = SP;
          wsp = false;
        }
        out[n++] = c;
      }
      if (n > OUT_LIMIT) {
        hash.update(out.subarray(0, n));
        n = 0;
      }
    }

    this.#outLen = n;
    this.#afterCR = afterCR;
    this.#lineEmpty = lineEmpty;
    this.#emptyLines = emptyLines;
    this.#wsp = wsp;
    this.#hadContent = hadContent;
  }

  /** Ends the body and returns the base64 SHA-256 (the bh= value). Idempotent. */
  finish(): string {
    if (this.#result !== undefined) return this.#result;
    const out = this.#out;
    let n = this.#outLen;
    // An unterminated last line gets the CRLF the wire will give it (trailing WSP already dropped for relaxed).
    if (!this.#lineEmpty) {
      out[n++] = CR;
      out[n++] = LF;
    }
    // §3.4.3: an empty simple body is a single CRLF; §3.4.4: an empty relaxed body stays empty.
    if (!this.#relaxed && !this.#hadContent) {
      out[n++] = CR;
      out[n++] = LF;
    }
    this.#hash.update(out.subarray(0, n));
    this.#outLen = 0;
    this.#result = this.#hash.digest("base64");
    return this.#result;
  }
}

/**
 * Passes the body through unchanged while computing its DKIM body hash.
 * Accepts arbitrary bytes; see the module comment for how line ends count.
 */
export class DkimBodyHasher extends Transform {
  readonly #canon: BodyCanonicalizer;
  #ended = false;

  constructor(canonicalization: BodyCanonicalization) {
    super();
    this.#canon = new BodyCanonicalizer(canonicalization);
  }

  override _transform(chunk: unknown, encoding: BufferEncoding, callback: TransformCallback): void {
    let buf: Uint8Array;
    if (chunk instanceof Uint8Array) buf = chunk;
    else if (typeof chunk === "string") buf = Buffer.from(chunk, encoding);
    else {
      callback(new TypeError("DkimBodyHasher accepts only Buffer, Uint8Array or string chunks"));
      return;
    }
    this.#canon.update(buf);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#canon.finish();
    this.#ended = true;
    callback();
  }

  /** The base64 bh= value; only available once the stream has ended (after 'end' or 'finish'). */
  digest(): string {
    if (!this.#ended) {
      throw new SmtpError(ErrorCode.InvalidValue, "DkimBodyHasher.digest() called before the body stream ended");
    }
    return this.#canon.finish();
  }
}

/** The DKIM body hash (base64 bh= value) of a whole body; the same result as DkimBodyHasher. */
export function bodyHash(body: Uint8Array, canonicalization: BodyCanonicalization): string {
  const canon = new BodyCanonicalizer(canonicalization);
  canon.update(body);
  return canon.finish();
}

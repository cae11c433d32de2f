/**
 * Streaming base64 for MIME bodies (RFC 2045 §6.8): 76-character lines, CRLF
 * line ends, and state carried across chunks so any chunking gives the same output.
 */
import { Transform, type TransformCallback } from "node:stream";

/** Bytes per output line: 57 bytes become exactly 76 base64 characters. */
const LINE_BYTES = 57;
const LINE_CHARS = 76;
const CRLF = "\r\n";

/** Base64 of `bytes` (a multiple of 57 bytes, or the final remainder) cut into CRLF-terminated lines. */
function encodeLines(bytes: Buffer): string {
  const b64 = bytes.toString("base64");
  let out = "";
  for (let i = 0; i < b64.length; i += LINE_CHARS) out += b64.slice(i, i + LINE_CHARS) + CRLF;
  return out;
}

/**
 * Every output line ends with CRLF, and empty input still gives one empty
 * line: the composer treats the last CRLF of a part as the one that belongs to
 * the next boundary delimiter, so a part body is never left without it.
 */
export class Base64Encoder extends Transform {
  /** Input bytes that do not yet fill a whole line (fewer than 57). */
  private carry: Buffer = Buffer.alloc(0);
  private wroteAny = false;

  override _transform(chunk: Buffer | string, _enc: BufferEncoding, done: TransformCallback): void {
    const input = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    const all = this.carry.length === 0 ? input : Buffer.concat([this.carry, input]);
    const whole = all.length - (all.length % LINE_BYTES);
    // Copy the tail so a large input chunk is not kept alive by a small slice.
    this.carry = Buffer.from(all.subarray(whole));
    if (whole > 0) {
      this.wroteAny = true;
      this.push(encodeLines(all.subarray(0, whole)), "latin1");
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.carry.length > 0) this.push(encodeLines(this.carry), "latin1");
    else if (!this.wroteAny) this.push(CRLF, "latin1");
    this.carry = Buffer.alloc(0);
    done();
  }
}

/** Whole-buffer base64, the same bytes the streaming encoder gives. */
export function encodeBase64(bytes: Buffer): Buffer {
  return Buffer.from(bytes.length === 0 ? CRLF : encodeLines(bytes), "latin1");
}

/** Exact output size of Base64Encoder for `byteCount` input bytes. */
export function base64EncodedSize(byteCount: number): number {
  if (byteCount === 0) return CRLF.length;
  return Math.ceil(byteCount / 3) * 4 + Math.ceil(byteCount / LINE_BYTES) * CRLF.length;
}

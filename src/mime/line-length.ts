/**
 * Line lengths as SMTP sees them: RFC 5322 §2.1.1 and RFC 5321 §4.5.3.1.6
 * allow at most 998 octets per line, CRLF excluded. A bare CR or LF ends a
 * line too, since the SMTP layer sends every line break as CRLF.
 */

export const MAX_LINE_OCTETS = 998;

const CR = 0x0d;
const LF = 0x0a;

/** Measures lines across chunks: feed() the bytes in order. */
export class LineMeter {
  /** Octets of the line not yet ended. */
  private run = 0;

  /** True when a line of `bytes` (with what came before) is over 998 octets. */
  feed(bytes: Uint8Array): boolean {
    let run = this.run;
    let long = false;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === CR || b === LF) run = 0;
      else if (++run > MAX_LINE_OCTETS) long = true;
    }
    this.run = run;
    return long;
  }
}

export function hasLongLine(bytes: Uint8Array): boolean {
  // Most bodies are far shorter than one line may be.
  return bytes.length > MAX_LINE_OCTETS && new LineMeter().feed(bytes);
}

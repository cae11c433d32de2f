/**
 * What a replay server says: a transcript of steps, each matching what the
 * client sends next and giving the server's reply, or a fault in its place.
 *
 *   { expect: /^EHLO /, reply: lines("250-replay", "250 PIPELINING") }
 *   { expect: /^DATA$/, reply: "354 go ahead" }
 *   { expect: END_OF_DATA, reply: "250 2.0.0 queued" }      the "." after the message
 *   { expect: /^BDAT \d+ LAST$/, reply: "250 2.0.0 queued" } a chunk, payload read
 *   { expect: BODY, fault: "close" }                         part of the message has arrived
 *   { expect: END_OF_DATA, fault: "reset", keep: true }      kept it, then died before replying
 *
 * When the steps run out the server goes on as a plain, accepting SMTP
 * server (see generic-responder.ts) until the client leaves.
 */

/** The "." that ends a DATA body. */
export const END_OF_DATA = Symbol("end of data");
/** Part of the message has arrived but not all of it (DATA: the first line; BDAT: half the first chunk). */
export const BODY = Symbol("message body");

/**
 * close: FIN instead of the reply. reset: ECONNRESET instead of the reply.
 * 421: "421" instead of the reply, then FIN. malformed: a line with a bad
 * code ("2x0") instead of the reply. stray: the reply and one extra "250"
 * right after it. silence: no reply, and nothing ever again. stall: half of
 * the reply's first line, then nothing ever again.
 */
export type FaultKind = "close" | "reset" | "421" | "malformed" | "stray" | "silence" | "stall";

export const FAULT_KINDS: readonly FaultKind[] = ["close", "reset", "421", "malformed", "stray", "silence", "stall"];

export interface Reaction {
  /** The reply, lines joined with CRLF, without the final CRLF. */
  reply?: string;
  /** Instead of the reply, or right after it with faultAfterReply. */
  fault?: FaultKind;
  faultAfterReply?: boolean;
  /** At the end of a message: the server keeps it. Default: a 2xx reply that no fault replaces. */
  keep?: boolean;
  /** FIN after the reply (QUIT). */
  closeAfter?: boolean;
}

export type Expectation = RegExp | typeof END_OF_DATA | typeof BODY;

export interface Step extends Reaction {
  expect: Expectation;
  /** Matches any number of consecutive events (BDAT chunks), zero included. */
  repeat?: boolean;
}

export interface Transcript {
  /** The greeting (or a fault in its place). */
  greeting: Reaction;
  steps: readonly Step[];
}

/** A multi-line reply. */
export function lines(...texts: string[]): string {
  return texts.join("\r\n");
}

/** The 3-digit code of a reply text (undefined when it does not start with one). */
export function replyCode(reply: string | undefined): number | undefined {
  const m = /^(\d{3})[ -]/.exec(reply ?? "");
  return m ? Number(m[1]) : undefined;
}

export function describeExpectation(e: Expectation): string {
  if (e === END_OF_DATA) return "the end of data";
  if (e === BODY) return "message data";
  return String(e);
}

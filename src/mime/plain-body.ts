/**
 * The body of a message without MIME structure (MessageText alone, or a
 * setMessageStream() body). It goes as it is when it may; when it may not
 * (a line over 998 octets, NUL bytes, or 8-bit text for a server without
 * 8BITMIME) it is encoded the way a MIME text part would be. Unlike a part,
 * the encoded body does not end with an extra CRLF: the SMTP layer completes
 * the last line itself, so the text arrives with exactly its own line breaks.
 */
import { pipeline, Readable } from "node:stream";
import type { Header } from "../message/header-block.js";
import { dotStuff, DotStuffer } from "../message/dot-stuffer.js";
import { partChunks, type MessagePart } from "../message/message-parts.js";
import { encodeBase64 } from "./base64-encoder.js";
import { formatParameter, joinParameters } from "./header-params.js";
import { hasLongLine } from "./line-length.js";
import { encodeQuotedPrintable, QuotedPrintableEncoder } from "./qp-encoder.js";
import { chooseTextEncoding, type TransferEncoding } from "./transfer-encoding.js";

/** Only line breaks are touched: every CR, LF and CRLF becomes CRLF, as on the wire. */
const LINE_BREAKS = { stuff: false, terminate: false } as const;

/** RFC 5322 §2.1.1 / §2.3: a body sent as it is may have neither lines over 998 octets nor NUL. */
export function mustEncodeBody(bytes: Buffer): boolean {
  return hasLongLine(bytes) || bytes.includes(0);
}

export interface EncodedBody {
  encoding: TransferEncoding;
  body: Buffer;
}

/** `bytes` as 7bit (pure ASCII, short lines), quoted-printable or base64, whichever fits. */
export function encodeBodyText(bytes: Buffer): EncodedBody {
  // Text is line-oriented (RFC 2046 §4.1.1): its line breaks are CRLF before encoding.
  const canonical = dotStuff(bytes, LINE_BREAKS);
  const encoding = chooseTextEncoding(canonical);
  if (encoding === "7bit") return { encoding, body: canonical };
  if (encoding === "base64") return { encoding, body: encodeBase64(canonical) };
  return { encoding, body: encodeQuotedPrintable(canonical, { finalLineBreak: false }) };
}

/**
 * A stream's content is unknown until it is read, and the header naming the
 * encoding goes first: quoted-printable suits any content, read as it is sent.
 */
export function quotedPrintableBody(parts: readonly MessagePart[]): Readable {
  return pipeline(
    Readable.from(partChunks(parts), { objectMode: false }),
    new DotStuffer(LINE_BREAKS),
    new QuotedPrintableEncoder({ finalLineBreak: false }),
    // Errors reach the reader through the last stream; pipeline() also closes the source.
    () => undefined,
  );
}

/** The headers for a body in `encoding`: its Content-Transfer-Encoding replaced or added, with MIME-Version. */
export function withTransferEncoding(headers: readonly Header[], encoding: TransferEncoding): Header[] {
  const out = headers.filter((h) => !/^content-transfer-encoding$/i.test(h.field));
  if (!out.some((h) => /^mime-version$/i.test(h.field))) out.push({ field: "MIME-Version", value: "1.0" });
  const at = headers.findIndex((h) => /^content-transfer-encoding$/i.test(h.field));
  out.splice(at < 0 ? out.length : Math.min(at, out.length), 0, { field: "Content-Transfer-Encoding", value: encoding });
  return out;
}

/** A Content-Type naming the charset, unless the headers have one (OtherHeaders may say text/html, say). */
export function withTextType(headers: readonly Header[], charset: string): Header[] {
  if (headers.some((h) => /^content-type$/i.test(h.field))) return [...headers];
  return [...headers, { field: "Content-Type", value: joinParameters("text/plain", [formatParameter("charset", charset)]) }];
}

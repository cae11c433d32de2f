/**
 * The text/plain and text/html leaves: encoded up front (the text is in
 * memory anyway), so their size is known and 7bit ones can be checked
 * against the boundary.
 */
import { Readable } from "node:stream";
import { encodeText } from "./charset.js";
import { chooseTextEncoding } from "./transfer-encoding.js";
import { encodeQuotedPrintable } from "./qp-encoder.js";
import { encodeBase64 } from "./base64-encoder.js";
import { formatParameter, joinParameters } from "./header-params.js";
import type { LeafNode } from "./mime-node.js";

/** Text is line-oriented (RFC 2046 §4.1.1): its canonical line break is CRLF, whatever the input used. */
function canonicalLineBreaks(text: string): string {
  return text.replace(/\r\n|\r|\n/g, "\r\n");
}

const CRLF = Buffer.from("\r\n");

function encodeBody(bytes: Buffer, encoding: ReturnType<typeof chooseTextEncoding>, delimiter: boolean): Buffer {
  // The trailing CRLF is the start of the next delimiter, not part of the text (see Base64Encoder).
  if (delimiter) {
    if (encoding === "7bit") return Buffer.concat([bytes, CRLF]);
    return encoding === "quoted-printable" ? encodeQuotedPrintable(bytes) : encodeBase64(bytes);
  }
  // Alone, the body's last line ends with a CRLF like every line (as a plain text message's does), and only one.
  const body = encoding === "7bit" ? bytes : encoding === "quoted-printable" ? encodeQuotedPrintable(bytes, { finalLineBreak: false }) : encodeBase64(bytes);
  return body.subarray(-2).equals(CRLF) ? body : Buffer.concat([body, CRLF]);
}

/**
 * A text/plain or text/html leaf. Inside a multipart its body ends with the
 * CRLF the next delimiter starts with; `standalone` (the whole entity is
 * this one part: an HTML-only message, the text S/MIME signs) has no such
 * CRLF, so a text ending in a line break does not gain an empty line.
 */
export function textPart(text: string, subtype: "plain" | "html", charset: string, standalone = false): LeafNode {
  const encoded = encodeText(canonicalLineBreaks(text), charset);
  const transfer = chooseTextEncoding(encoded.bytes);
  const body = encodeBody(encoded.bytes, transfer, !standalone);
  return {
    kind: "leaf",
    headers: [
      { field: "Content-Type", value: joinParameters(`text/${subtype}`, [formatParameter("charset", encoded.charset)]) },
      { field: "Content-Transfer-Encoding", value: transfer },
    ],
    open: () => Readable.from([body], { objectMode: false }),
    size: body.length,
    literal: transfer === "7bit" ? body : undefined,
    once: false,
  };
}

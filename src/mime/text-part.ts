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

function encodeBody(bytes: Buffer, encoding: ReturnType<typeof chooseTextEncoding>): Buffer {
  // The trailing CRLF is the start of the next delimiter, not part of the text (see Base64Encoder).
  if (encoding === "7bit") return Buffer.concat([bytes, Buffer.from("\r\n")]);
  if (encoding === "quoted-printable") return encodeQuotedPrintable(bytes);
  return encodeBase64(bytes);
}

export function textPart(text: string, subtype: "plain" | "html", charset: string): LeafNode {
  const encoded = encodeText(canonicalLineBreaks(text), charset);
  const transfer = chooseTextEncoding(encoded.bytes);
  const body = encodeBody(encoded.bytes, transfer);
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

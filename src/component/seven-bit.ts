/**
 * RFC 6152 §3: a message with 8-bit content for a server that does not take
 * it (no 8BITMIME, or Use8BitMime off) is converted to 7-bit rather than sent
 * as it is: a plain text body becomes quoted-printable or base64, header text
 * becomes encoded-words. A MIME body is 7-bit already (its parts are encoded).
 * The conversion runs only once the server is known, so a server with
 * 8BITMIME still gets the message unchanged.
 */
import { isAscii } from "node:buffer";
import { formatAddressList, parseAddressList } from "../message/address-list.js";
import type { Header } from "../message/header-block.js";
import { serializeHeaders, withoutBlockEnd } from "../message/header-builder.js";
import { encodeWords } from "../message/header-encoding.js";
import type { MessagePart } from "../message/message-parts.js";
import { encodeBodyText, quotedPrintableBody, withTextType, withTransferEncoding } from "../mime/plain-body.js";
import type { ComposedMessage } from "./composed-message.js";

export interface SevenBitSource {
  /** The headers as composed, before any DKIM signature. */
  headers: readonly Header[];
  /** config Charset ("" = UTF-8): for encoded-words, and the label of a streamed body. */
  charset: string;
  maxHeaderLength: number;
  /** "text": the body is plain text of ours, re-encoded when 8-bit; "keep": 7-bit already, or the caller's to frame. */
  body: "text" | "keep";
}

/** Fields whose value is an address list: their display names become encoded-words, the addresses stay. */
const ADDRESS_FIELD = /^(resent-)?(from|sender|reply-to|to|cc|bcc)$|^(disposition-notification-to|return-receipt-to)$/i;

/** Header values with 8-bit text (OtherHeaders can hold it) as encoded-words (RFC 2047). */
function sevenBitHeaders(headers: readonly Header[], charset: string): Header[] {
  return headers.map((h) => {
    if (isAscii(Buffer.from(h.value, "utf8"))) return h;
    if (ADDRESS_FIELD.test(h.field)) {
      // A non-ASCII local part, or a list that does not parse, cannot be encoded: it stays 8-bit and the send is refused (614).
      try {
        return { field: h.field, value: formatAddressList(parseAddressList(h.value), charset) };
      } catch {
        return h;
      }
    }
    return { field: h.field, value: encodeWords(h.value, charset) };
  });
}

/**
 * The converter for `message`: given the body parts of the message being
 * sent (parts after the header block; a DKIM-signed one included, whose body
 * is the same bytes), the 7-bit message, unsigned and without cleanup.
 */
export function sevenBitConverter(message: ComposedMessage, source: SevenBitSource): (body: readonly MessagePart[]) => ComposedMessage {
  return (body) => {
    let headers = sevenBitHeaders(source.headers, source.charset);
    let parts = body;
    if (source.body === "text") {
      if (body.every((p) => Buffer.isBuffer(p))) {
        const bytes = Buffer.concat(body as Buffer[]);
        if (!isAscii(bytes)) {
          const encoded = encodeBodyText(bytes);
          headers = withTransferEncoding(headers, encoded.encoding);
          parts = [encoded.body];
        }
      } else {
        // A stream is unread: quoted-printable suits whatever it holds, and its charset is the one MessageText would have.
        headers = withTransferEncoding(withTextType(headers, source.charset || "UTF-8"), "quoted-printable");
        parts = [quotedPrintableBody(body)];
      }
    }
    const headersString = serializeHeaders(headers, source.maxHeaderLength);
    const head = Buffer.from(headersString, "utf8");
    const unscanned = source.body === "keep" && message.unscanned === true;
    return {
      envelope: message.envelope,
      headers,
      headersString: withoutBlockEnd(headersString),
      parts: [head, ...parts],
      // Whatever could not be converted (a non-ASCII address, a body OtherHeaders frames) still counts.
      eightBit: !isAscii(head) || parts.some((p) => (Buffer.isBuffer(p) ? !isAscii(p) : unscanned)),
      utf8Addresses: message.utf8Addresses,
      longLines: message.longLines === true,
      unscanned,
    };
  };
}

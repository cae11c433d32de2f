/**
 * A stream that is sent as it is (a complete message from sendMessage() or
 * the queue, a setMessageStream() body) cannot be looked at before its
 * headers go out. Its bytes are checked as they pass instead: a line over
 * 998 octets, or an 8-bit byte the server may not get, stops the transfer
 * with an SmtpError, and the SMTP layer then drops the connection before the
 * end of the data, so nothing is delivered rather than something altered.
 */
import { isAscii } from "node:buffer";
import { Readable } from "node:stream";
import { ErrorCode, SmtpError } from "../errors.js";
import { LineMeter, MAX_LINE_OCTETS } from "./line-length.js";

export interface ContentCheck {
  /** Refuse bytes >= 0x80 (the server does not take 8-bit data). */
  sevenBit: boolean;
}

export function checkedStream(source: Readable, check: ContentCheck): Readable {
  return Readable.from(
    (async function* () {
      const lines = new LineMeter();
      for await (const chunk of source) {
        const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : (chunk as Buffer);
        if (lines.feed(bytes)) {
          throw new SmtpError(ErrorCode.ExtensionRequired, `the message has a line longer than ${MAX_LINE_OCTETS} octets (RFC 5322 §2.1.1), which servers cut, wrap or refuse; the message was not sent`, {
            hint: "give the text as MessageText, which is encoded as needed, or encode the body (quoted-printable) before handing it over",
          });
        }
        if (check.sevenBit && !isAscii(bytes)) {
          throw new SmtpError(ErrorCode.ExtensionRequired, "the message has 8-bit data and the server does not offer 8BITMIME (RFC 6152); the message was not sent", {
            hint: "encode the body as 7-bit (quoted-printable or base64), or set config Allow8BitWithout8BitMime=true to send it as it is",
          });
        }
        yield bytes;
      }
    })(),
    { objectMode: false },
  );
}

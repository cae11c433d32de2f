/**
 * Text to bytes in the message charset ("" = UTF-8), via iconv-lite for the
 * others. Text the charset cannot represent goes out as UTF-8 rather than
 * with "?" in place of the characters it lacks.
 */
import iconv from "iconv-lite";
import { SmtpError, ErrorCode } from "../errors.js";

/** RFC 2978 charset names are tokens. */
const CHARSET_TOKEN = /^[A-Za-z0-9!#$%&'+\-^_`{}~.]+$/;

export interface EncodedText {
  bytes: Buffer;
  /** The label for the Content-Type charset parameter. */
  charset: string;
}

function isUtf8(charset: string): boolean {
  return charset === "" || /^utf-?8$/i.test(charset);
}

/** Throws SmtpError 601 for a charset iconv-lite does not know. */
export function checkCharset(charset: string): void {
  if (isUtf8(charset)) return;
  if (!CHARSET_TOKEN.test(charset) || !iconv.encodingExists(charset)) {
    throw new SmtpError(ErrorCode.InvalidValue, `Unknown charset "${charset}"`);
  }
}

export function encodeText(text: string, charset: string): EncodedText {
  checkCharset(charset);
  if (isUtf8(charset)) return { bytes: Buffer.from(text, "utf8"), charset: "utf-8" };
  const bytes = iconv.encode(text, charset);
  if (iconv.decode(bytes, charset) !== text) return { bytes: Buffer.from(text, "utf8"), charset: "utf-8" };
  return { bytes, charset };
}

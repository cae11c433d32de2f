/**
 * File name parameters for an attachment: `filename` on Content-Disposition
 * (RFC 2183, with RFC 2231 for non-ASCII or long names, and for names a
 * decoder would take for encoded-words) and the older `name` on Content-Type
 * that some clients still read instead (RFC 2047 words there, which encode
 * the literal text).
 */
import { formatParameter } from "./header-params.js";
import { encodeRfc2231 } from "./rfc2231.js";

/** Longer names get RFC 2231 continuations so no header line runs past ~78 characters. */
const MAX_PLAIN_NAME = 60;
/**
 * 42 UTF-8 bytes are 56 base64 characters: with "=?UTF-8?B?" and "?=" a word
 * is 68 long, within RFC 2047's 75, and the first one still fits a folded
 * line after ` name="`.
 */
const WORD_BYTES = 42;

export interface FileNameParams {
  /** For Content-Disposition. */
  disposition: string[];
  /** For Content-Type. */
  contentType: string[];
}

/**
 * A name that contains "=?" goes encoded even when it is short ASCII:
 * receivers decode encoded-words in parameter values (RFC 2231 forms aside),
 * so "=?utf-8?b?ZXZpbC5leGU=?=" would arrive as "evil.exe".
 */
function isPlain(name: string): boolean {
  return name.length <= MAX_PLAIN_NAME && /^[\x20-\x7e]*$/.test(name) && !name.includes("=?");
}

/**
 * The whole name as RFC 2047 B-words separated by spaces (decoders drop the
 * spaces between encoded-words). Words end on code point boundaries, and the
 * spaces give the part-header folder places to break a long name.
 */
function encodedWordsName(name: string): string {
  const words: string[] = [];
  let bytes: Buffer[] = [];
  let count = 0;
  const flush = (): void => {
    if (bytes.length > 0) words.push(`=?UTF-8?B?${Buffer.concat(bytes).toString("base64")}?=`);
    bytes = [];
    count = 0;
  };
  for (const cp of name) {
    const b = Buffer.from(cp, "utf8");
    if (count + b.length > WORD_BYTES) flush();
    bytes.push(b);
    count += b.length;
  }
  flush();
  return words.join(" ");
}

export function fileNameParams(name: string): FileNameParams {
  if (isPlain(name)) {
    return { disposition: [formatParameter("filename", name, true)], contentType: [formatParameter("name", name, true)] };
  }
  return {
    disposition: encodeRfc2231("filename", name),
    contentType: [formatParameter("name", encodedWordsName(name), true)],
  };
}

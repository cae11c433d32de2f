/**
 * RFC 2047 encoded-words: encoding for Subject-like text and display names,
 * and a lenient decoder for what users paste and servers send.
 */
import iconv from "iconv-lite";
import { SmtpError, ErrorCode } from "../errors.js";

/** RFC 2047 §2: an encoded-word may not be more than 75 characters long. */
const MAX_WORD = 75;
/** "=?" + "?Q?" + "?=" around the charset label. */
const WORD_OVERHEAD = 7;
/** RFC 2047 token: what a charset label may contain. */
const CHARSET_TOKEN = /^[A-Za-z0-9!#$%&'+\-^_`{}~.]+$/;
/** Unquoted atext words that need no encoding or quoting in a phrase. */
const PHRASE_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/;
const WORD_PATTERN = "=\\?([^?\\s]+)\\?([QqBb])\\?([^?\\s]*)\\?=";

type Mode = "text" | "phrase";

interface Codec {
  label: string;
  encode(s: string): Buffer;
  /** False when the charset cannot represent `s` (the run then falls back to UTF-8). */
  canEncode(s: string): boolean;
}

const UTF8: Codec = {
  label: "UTF-8",
  encode: (s) => Buffer.from(s, "utf8"),
  canEncode: () => true,
};

/** Non-ASCII or control characters (tab is whitespace, not a control here). */
export function needsEncoding(s: string): boolean {
  return /[^\t\x20-\x7e]/.test(s);
}

/** Text that a decoder would mistake for an encoded-word must be encoded too. */
/**
 * Folding cannot cut a word, and a line holds at most 998 octets (RFC 5322
 * §2.1.1) with the field name in front of the first word: a longer word (a
 * long URL in a Subject, say) goes as encoded-words, which can be split.
 */
const LONGEST_PLAIN_WORD = 900;

function mustEncodeWord(word: string): boolean {
  return needsEncoding(word) || word.includes("=?");
}

function resolveCharset(charset: string): Codec {
  if (charset === "" || /^utf-?8$/i.test(charset)) return UTF8;
  if (!CHARSET_TOKEN.test(charset) || !iconv.encodingExists(charset)) {
    throw new SmtpError(ErrorCode.InvalidValue, `Unknown charset "${charset}"`);
  }
  const cs = charset;
  return {
    label: charset.toUpperCase(),
    encode: (s) => iconv.encode(s, cs),
    canEncode: (s) => iconv.decode(iconv.encode(s, cs), cs) === s,
  };
}

function qSafe(byte: number, mode: Mode): boolean {
  if (mode === "phrase") {
    // RFC 2047 §5(3): only letters, digits and ! * + - / may stay literal.
    return (
      (byte >= 0x30 && byte <= 0x39) ||
      (byte >= 0x41 && byte <= 0x5a) ||
      (byte >= 0x61 && byte <= 0x7a) ||
      byte === 0x21 || byte === 0x2a || byte === 0x2b || byte === 0x2d || byte === 0x2f
    );
  }
  return byte > 0x20 && byte < 0x7f && byte !== 0x3d && byte !== 0x3f && byte !== 0x5f;
}

function qLength(bytes: Buffer, mode: Mode): number {
  let len = 0;
  for (const b of bytes) len += b === 0x20 || qSafe(b, mode) ? 1 : 3;
  return len;
}

function bLength(byteCount: number): number {
  return Math.ceil(byteCount / 3) * 4;
}

function qEncode(bytes: Buffer, mode: Mode): string {
  let out = "";
  for (const b of bytes) {
    if (b === 0x20) out += "_";
    else if (qSafe(b, mode)) out += String.fromCharCode(b);
    else out += "=" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** Splits `run` into encoded-words, each ≤ 75 chars and each holding whole code points. */
function encodeRun(run: string, codec: Codec, mode: Mode): string {
  const all = codec.encode(run);
  const useB = bLength(all.length) < qLength(all, mode);
  const room = MAX_WORD - WORD_OVERHEAD - codec.label.length;
  const sizeOf = (s: string): number => {
    const bytes = codec.encode(s);
    return useB ? bLength(bytes.length) : qLength(bytes, mode);
  };
  const wrap = (s: string): string => {
    const bytes = codec.encode(s);
    return `=?${codec.label}?${useB ? "B" : "Q"}?${useB ? bytes.toString("base64") : qEncode(bytes, mode)}?=`;
  };

  const words: string[] = [];
  let chunk = "";
  // for..of walks code points, so surrogate pairs are never split.
  for (const cp of run) {
    // The whole chunk is re-encoded so that stateful charsets are measured right.
    if (sizeOf(chunk + cp) <= room) {
      chunk += cp;
      continue;
    }
    if (chunk === "") {
      throw new SmtpError(ErrorCode.InvalidValue, `Charset label "${codec.label}" is too long for an encoded-word`);
    }
    words.push(wrap(chunk));
    chunk = cp;
    if (sizeOf(chunk) > room) {
      throw new SmtpError(ErrorCode.InvalidValue, `Charset label "${codec.label}" is too long for an encoded-word`);
    }
  }
  if (chunk !== "") words.push(wrap(chunk));
  // Decoders drop the whitespace between adjacent encoded-words.
  return words.join(" ");
}

function encodeSpan(tokens: string[], first: number, last: number, sep: string, charset: string, mode: Mode): string {
  const codec = resolveCharset(charset);
  const run = tokens.slice(first, last + 1).join(sep);
  const chosen = codec.canEncode(run) ? codec : UTF8;
  const prefix = tokens.slice(0, first).join(sep);
  const suffix = tokens.slice(last + 1).join(sep);
  return (first > 0 ? prefix + sep : "") + encodeRun(run, chosen, mode) + (last < tokens.length - 1 ? sep + suffix : "");
}

/**
 * Encodes unstructured text (Subject). ASCII text comes back unchanged; otherwise
 * the span from the first to the last word needing it becomes encoded-words.
 * A charset that cannot represent the text falls back to UTF-8.
 */
export function encodeWords(text: string, charset: string): string {
  // Odd indexes hold the whitespace runs, so the raw parts keep their exact spacing.
  const parts = text.split(/([ \t]+)/);
  let first = -1;
  let last = -1;
  for (let k = 0; k < parts.length; k += 2) {
    const word = parts[k] ?? "";
    if (mustEncodeWord(word) || word.length > LONGEST_PLAIN_WORD) {
      if (first < 0) first = k;
      last = k;
    }
  }
  if (first < 0) {
    resolveCharset(charset);
    return text;
  }
  return encodeSpan(parts, first, last, "", charset, "text");
}

/**
 * Encodes a display name. Words outside the encoded span are plain atoms
 * joined by single spaces, so a parser rebuilds the name exactly.
 * ASCII names without encoded-word lookalikes come back unchanged (the caller quotes them).
 */
export function encodePhrase(text: string, charset: string): string {
  if (!mustEncodeWord(text)) {
    resolveCharset(charset);
    return text;
  }
  const words = text.split(" ");
  let first = -1;
  let last = -1;
  words.forEach((w, k) => {
    if (!PHRASE_ATOM.test(w) || w.includes("=?")) {
      if (first < 0) first = k;
      last = k;
    }
  });
  return encodeSpan(words, first, last, " ", charset, "phrase");
}

function decodeQ(text: string): Buffer | null {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) bytes.push(0x20);
    else if (c === 0x3d) {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return null;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c > 0x7f) return null;
    else bytes.push(c);
  }
  return Buffer.from(bytes);
}

function decodeBytes(bytes: Buffer, charset: string): string {
  if (/^utf-?8$/i.test(charset)) return bytes.toString("utf8");
  return iconv.decode(bytes, charset);
}

interface Pending {
  charset: string;
  bytes: Buffer[];
}

/**
 * Decodes every encoded-word in `text`. Whitespace between adjacent encoded-words
 * is dropped, and adjacent words in the same charset are joined as bytes first,
 * so a character split across two words (by other encoders) still decodes.
 * Words with an unknown charset or bad encoding are left as they are.
 */
export function decodeWords(text: string): string {
  let out = "";
  let last = 0;
  let pending: Pending | null = null;
  const flush = (): void => {
    if (pending) out += decodeBytes(Buffer.concat(pending.bytes), pending.charset);
    pending = null;
  };

  for (const m of text.matchAll(new RegExp(WORD_PATTERN, "g"))) {
    const start = m.index ?? 0;
    const between = text.slice(last, start);
    const charset = (m[1] ?? "").split("*")[0] ?? "";
    const payload = m[3] ?? "";
    const known = /^utf-?8$/i.test(charset) || iconv.encodingExists(charset);
    const bytes = !known ? null : /b/i.test(m[2] ?? "") ? Buffer.from(payload, "base64") : decodeQ(payload);

    if (bytes === null) {
      flush();
      out += between + m[0];
    } else if (pending !== null && /^[ \t\r\n]*$/.test(between)) {
      const open: Pending = pending;
      if (open.charset.toLowerCase() === charset.toLowerCase()) open.bytes.push(bytes);
      else {
        flush();
        pending = { charset, bytes: [bytes] };
      }
    } else {
      flush();
      out += between;
      pending = { charset, bytes: [bytes] };
    }
    last = start + m[0].length;
  }
  flush();
  return out + text.slice(last);
}

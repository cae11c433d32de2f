/**
 * RFC 2231 parameter values: charset-tagged percent-encoding and continuations,
 * so non-ASCII and long file names survive headers limited to ASCII and 78-char lines.
 */
import iconv from "iconv-lite";

/** RFC 2231 §7 attribute-char: token characters except "*", "'" and "%". */
const ATTR_CHAR = /^[!#$&+\-.0-9A-Z^_`a-z|~]$/;
/**
 * Encoded characters per continuation segment: with "filename*12*=" and the
 * folding whitespace and ";" the line stays under 78 characters.
 */
const SEGMENT_CHARS = 60;
const CHARSET_PREFIX = "utf-8''";

function percentEncode(codePoint: string): string {
  if (ATTR_CHAR.test(codePoint)) return codePoint;
  let out = "";
  for (const b of Buffer.from(codePoint, "utf8")) out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  return out;
}

/**
 * `attr*=utf-8''…` when it fits one segment, else `attr*0*=utf-8''…`,
 * `attr*1*=…`. Segments end on code point boundaries: RFC 2231 lets decoders
 * join bytes first, but some decode each segment on its own.
 */
export function encodeRfc2231(attr: string, value: string): string[] {
  const segments: string[] = [];
  let current = CHARSET_PREFIX;
  // for..of walks code points, so a surrogate pair is encoded as one character.
  for (const cp of value) {
    const enc = percentEncode(cp);
    if (current.length + enc.length > SEGMENT_CHARS && current !== CHARSET_PREFIX) {
      segments.push(current);
      current = "";
    }
    current += enc;
  }
  segments.push(current);
  if (segments.length === 1) return [`${attr}*=${current}`];
  return segments.map((s, k) => `${attr}*${k}*=${s}`);
}

export interface ParsedHeaderValue {
  /** The part before the first ";" (e.g. "attachment" or "text/plain"), trimmed. */
  value: string;
  /** Parameters by lower-cased name, RFC 2231 segments joined and decoded. */
  params: Map<string, string>;
}

interface Segment {
  index: number;
  encoded: boolean;
  text: string;
}

/** Splits at ";" outside quoted strings. */
function splitParams(header: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < header.length; i++) {
    const c = header[i] ?? "";
    if (quoted && c === "\\") {
      current += c + (header[i + 1] ?? "");
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ";" && !quoted) {
      parts.push(current);
      current = "";
    } else current += c;
  }
  parts.push(current);
  return parts;
}

function unquote(raw: string): string {
  const v = raw.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, "$1");
  return v;
}

function percentDecode(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(text.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes);
}

function decodeCharset(bytes: Buffer, charset: string): string {
  if (charset === "" || /^(utf-?8|us-ascii)$/i.test(charset)) return bytes.toString("utf8");
  return iconv.encodingExists(charset) ? iconv.decode(bytes, charset) : bytes.toString("latin1");
}

/** Joins one parameter's segments in index order and decodes them (RFC 2231 §3-4). */
function joinSegments(segments: Segment[]): string {
  segments.sort((a, b) => a.index - b.index);
  let charset = "";
  const bytes: Buffer[] = [];
  segments.forEach((s, k) => {
    let text = s.text;
    if (s.encoded && k === 0) {
      // charset'language'value: only the first segment carries the tag.
      const m = /^([^']*)'[^']*'(.*)$/s.exec(text);
      if (m) {
        charset = m[1] ?? "";
        text = m[2] ?? "";
      }
    }
    bytes.push(s.encoded ? percentDecode(text) : Buffer.from(text, "latin1"));
  });
  return decodeCharset(Buffer.concat(bytes), charset);
}

/** Parses a Content-Type / Content-Disposition value (unfolded), decoding RFC 2231 parameters. */
export function parseHeaderValue(header: string): ParsedHeaderValue {
  const [head = "", ...rest] = splitParams(header);
  const pieces = new Map<string, Segment[]>();
  const plain = new Map<string, string>();
  for (const part of rest) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const raw = unquote(part.slice(eq + 1));
    const m = /^(.+?)(?:\*(\d+))?(\*)?$/.exec(key);
    if (!m) continue;
    const name = m[1] ?? key;
    if (m[2] === undefined && m[3] === undefined) {
      plain.set(name, raw);
      continue;
    }
    const list = pieces.get(name) ?? [];
    list.push({ index: m[2] === undefined ? 0 : Number(m[2]), encoded: m[3] !== undefined, text: raw });
    pieces.set(name, list);
  }
  const params = new Map(plain);
  // An RFC 2231 form wins over a plain parameter of the same name.
  for (const [name, segments] of pieces) params.set(name, joinSegments(segments));
  return { value: head.trim(), params };
}

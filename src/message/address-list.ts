/**
 * Address lists as users type them (SendTo, Cc, BCc, From, ReplyTo), parsed to
 * mailboxes and formatted back to header form.
 */
import { SmtpError, ErrorCode } from "../errors.js";
import { assertNoLineBreak } from "./header-block.js";
import { decodeWords, encodePhrase, needsEncoding } from "./header-encoding.js";

export interface Mailbox {
  name: string;
  address: string;
  group?: string;
}

interface Word {
  kind: "word";
  /** Unescaped text (quotes removed for a quoted string). */
  text: string;
  raw: string;
  quoted: boolean;
  spaceBefore: boolean;
  start: number;
  end: number;
}
interface Angle {
  kind: "angle";
  text: string;
  spaceBefore: boolean;
  start: number;
  end: number;
}
interface Sep {
  kind: "sep";
  char: string;
  start: number;
  end: number;
}
type Token = Word | Angle | Sep;
type ItemToken = Word | Angle;

const WORD_STOP = new Set(['"', "(", ")", ",", ":", ";", "<", ">", " ", "\t"]);
const ENCODED_WORD = /^=\?[^?\s]+\?[QqBb]\?[^?\s]*\?=$/;
const PHRASE_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+$/;
/**
 * Never part of an address: C0 and C1 controls, DEL, and NBSP. RFC 5322 knows
 * only SP and HTAB as whitespace, so NBSP is not a separator; RFC 6532 would
 * let it into a UTF-8 local part, but an invisible look-alike of a space in a
 * mailbox is a paste accident or a spoof, never a real address. In a display
 * name it is ordinary text (written as an encoded-word).
 */
const NOT_IN_ADDRESS = /[\x00-\x1f\x7f-\x9f\u00a0]/;
/** Half a surrogate pair has no UTF-8 form: written out it would come back as U+FFFD. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function invalid(message: string): SmtpError {
  return new SmtpError(ErrorCode.InvalidAddress, message);
}

/** Index just past the quoted string opening at `open`, or -1 if unterminated. */
function skipQuoted(s: string, open: number): number {
  for (let i = open + 1; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === '"') return i + 1;
  }
  return -1;
}

/**
 * Index just past the domain literal opening at `open` ("[...]", which may
 * hold ':' and '"'), or open + 1 when it is never closed. Every scanner here
 * uses it, so a list reads the same bare, inside <...> and when checked.
 */
function skipLiteral(s: string, open: number): number {
  const close = s.indexOf("]", open);
  return close > 0 ? close + 1 : open + 1;
}

function unescapeQuoted(raw: string): string {
  return raw.slice(1, -1).replace(/\\([\s\S])/g, "$1");
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let itemStart = 0;
  let space = false;
  const bad = (why: string): SmtpError => invalid(`Invalid address ${JSON.stringify(input.slice(itemStart).trim())}: ${why}`);

  let i = 0;
  while (i < input.length) {
    const c = input[i] ?? "";
    if (c === " " || c === "\t") {
      space = true;
      i++;
    } else if (c === "(") {
      // Comments are dropped; nesting and escapes per RFC 5322 §3.2.2.
      let depth = 0;
      let j = i;
      for (; j < input.length; j++) {
        const d = input[j];
        if (d === "\\") j++;
        else if (d === "(") depth++;
        else if (d === ")" && --depth === 0) break;
      }
      if (j >= input.length) throw bad("unterminated comment");
      i = j + 1;
      space = true;
    } else if (c === "<") {
      let j = i + 1;
      while (j < input.length && input[j] !== ">") {
        if (input[j] === "<") throw bad("unexpected '<' inside <...>");
        if (input[j] === '"') {
          const end = skipQuoted(input, j);
          if (end < 0) throw bad("unterminated quoted string");
          j = end;
        } else if (input[j] === "[") j = skipLiteral(input, j);
        else j++;
      }
      if (j >= input.length) throw bad("missing '>'");
      // Only SP and HTAB are whitespace here (String.trim would also drop NBSP, hiding it from the checks).
      tokens.push({ kind: "angle", text: input.slice(i + 1, j).replace(/^[ \t]+|[ \t]+$/g, ""), spaceBefore: space, start: i, end: j + 1 });
      i = j + 1;
      space = false;
    } else if (c === ">" || c === ")") {
      throw bad(`unexpected '${c}'`);
    } else if (c === "," || c === ";" || c === ":") {
      tokens.push({ kind: "sep", char: c, start: i, end: i + 1 });
      i++;
      if (c !== ":") itemStart = i;
      space = false;
    } else if (c === '"') {
      const end = skipQuoted(input, i);
      if (end < 0) throw bad("unterminated quoted string");
      const raw = input.slice(i, end);
      tokens.push({ kind: "word", text: unescapeQuoted(raw), raw, quoted: true, spaceBefore: space, start: i, end });
      i = end;
      space = false;
    } else {
      let j = i;
      while (j < input.length && !WORD_STOP.has(input[j] ?? "")) {
        // A domain literal may hold ':' (IPv6).
        j = input[j] === "[" ? skipLiteral(input, j) : j + 1;
      }
      const raw = input.slice(i, j);
      tokens.push({ kind: "word", text: raw, raw, quoted: false, spaceBefore: space, start: i, end: j });
      i = j;
      space = false;
    }
  }
  return tokens;
}

/**
 * Checks an addr-spec and returns it (quoted local parts kept as written).
 * `item` is the user's text, for the error message.
 */
function checkAddress(address: string, item: string): string {
  const bad = (why: string): SmtpError => invalid(`Invalid address ${JSON.stringify(item)}: ${why}`);
  // Obsolete source routes (<@relay:user@host>) are dropped.
  const addr = address.replace(/^@[^:"]*:/, "");
  if (addr === "") throw bad("empty address");
  assertNoLineBreak("An address", addr);
  if (NOT_IN_ADDRESS.test(addr)) throw bad("control characters and no-break spaces are not allowed in an address");
  let at = -1;
  for (let i = 0; i < addr.length; i++) {
    const c = addr[i] ?? "";
    if (c === '"') {
      const end = skipQuoted(addr, i);
      if (end < 0) throw bad("unterminated quoted string");
      i = end - 1;
    } else if (c === "[") {
      i = skipLiteral(addr, i) - 1;
    } else if (c === " " || c === "\t") {
      throw bad("spaces are not allowed in an unquoted address (put a name before <address>)");
    } else if (c === "," || c === ";" || c === "<" || c === ">" || c === "(" || c === ")") {
      throw bad(`unexpected '${c}'`);
    } else if (c === "@") {
      at = i;
    }
  }
  if (at < 0) throw bad("missing '@'");
  if (at === 0) throw bad("empty local part");
  if (at === addr.length - 1) throw bad("empty domain");
  return addr;
}

/** Display name from phrase words: encoded-words decoded, the space between two of them dropped. */
function phraseText(words: Word[]): string {
  let out = "";
  let prevEncoded = false;
  for (const w of words) {
    const encoded = !w.quoted && ENCODED_WORD.test(w.text);
    if (out !== "" && w.spaceBefore && !(encoded && prevEncoded)) out += " ";
    out += w.quoted ? w.text : decodeWords(w.text);
    prevEncoded = encoded;
  }
  return out;
}

function toMailbox(item: ItemToken[], input: string): Mailbox {
  const text = input.slice(item[0]?.start ?? 0, item[item.length - 1]?.end ?? 0);
  const angleAt = item.findIndex((t) => t.kind === "angle");
  if (angleAt >= 0) {
    const angle = item[angleAt];
    if (angleAt !== item.length - 1 || angle?.kind !== "angle") {
      throw invalid(`Invalid address ${JSON.stringify(text)}: unexpected text after '>'`);
    }
    const words = item.slice(0, angleAt).filter((t): t is Word => t.kind === "word");
    return { name: phraseText(words), address: checkAddress(angle.text, text) };
  }
  const words = item.filter((t): t is Word => t.kind === "word");
  const joined = words.map((w) => w.raw).join("");
  if (!joined.includes("@")) throw invalid(`Invalid address ${JSON.stringify(text)}: missing '@'`);
  if (words.slice(1).some((w) => w.spaceBefore)) {
    throw invalid(`Invalid address ${JSON.stringify(text)}: spaces are not allowed in an unquoted address (put a name before <address>)`);
  }
  return { name: "", address: checkAddress(joined, text) };
}

/**
 * Parses an RFC 5322 address list, leniently: ';' also separates items outside
 * a group, comments are dropped, encoded-words in names are decoded.
 */
/** Recently parsed lists: one send parses From and SendTo several times, a bulk run the same strings thousands of times. */
const parsedCache = new Map<string, readonly Mailbox[]>();
const CACHE_SIZE = 64;

export function parseAddressList(input: string): Mailbox[] {
  const cached = parsedCache.get(input);
  // Copies: callers may change what they get.
  if (cached) return cached.map((m) => ({ ...m }));
  const parsed = parseUncached(input);
  if (parsedCache.size >= CACHE_SIZE) parsedCache.delete(parsedCache.keys().next().value as string);
  parsedCache.set(input, parsed.map((m) => ({ ...m })));
  return parsed;
}

function parseUncached(input: string): Mailbox[] {
  assertNoLineBreak("An address list", input);
  if (LONE_SURROGATE.test(input)) throw invalid(`Invalid address list ${JSON.stringify(input)}: not well-formed Unicode (a lone surrogate)`);
  const result: Mailbox[] = [];
  let group: string | null = null;
  let item: ItemToken[] = [];
  const finish = (): void => {
    if (item.length > 0) {
      const mailbox = toMailbox(item, input);
      result.push(group === null ? mailbox : { ...mailbox, group });
    }
    item = [];
  };

  for (const tok of tokenize(input)) {
    if (tok.kind !== "sep") {
      item.push(tok);
    } else if (tok.char === ":") {
      const text = input.slice(item[0]?.start ?? tok.start, tok.end);
      if (group !== null) throw invalid(`Invalid address ${JSON.stringify(text)}: groups cannot be nested`);
      const words = item.filter((t): t is Word => t.kind === "word");
      if (words.length !== item.length) throw invalid(`Invalid group ${JSON.stringify(text)}: '<' before ':'`);
      group = phraseText(words);
      if (group === "") throw invalid(`Invalid group ${JSON.stringify(text)}: the group has no name`);
      item = [];
    } else {
      finish();
      // ';' closes a group; outside one it is just a separator (Outlook habit).
      if (tok.char === ";") group = null;
    }
  }
  // An unclosed group at the end is tolerated.
  finish();
  return result;
}

/** A display name (or group name) in header form: as is, quoted, or encoded. */
function formatPhrase(name: string, charset: string): string {
  if (needsEncoding(name) || name.includes("=?")) return encodePhrase(name, charset);
  if (name.split(" ").every((w) => PHRASE_ATOM.test(w))) return name;
  return `"${name.replace(/(["\\])/g, "\\$1")}"`;
}

export function formatMailbox(m: Mailbox, charset: string): string {
  const address = checkAddress(m.address, m.address);
  if (m.name !== "") return `${formatPhrase(m.name, charset)} <${address}>`;
  // Bare only when it reads back the same: a ":" would start a group, "\\" or quotes escape.
  return /[:\\"\[\]]/.test(address) ? `<${address}>` : address;
}

/** Header form of a list; consecutive members of one group become "Group: a, b;". */
export function formatAddressList(list: Mailbox[], charset: string): string {
  const parts: string[] = [];
  for (let i = 0; i < list.length; ) {
    const group = list[i]?.group;
    let j = i + 1;
    if (group) {
      while (j < list.length && list[j]?.group === group) j++;
    }
    const members = list.slice(i, j).map((m) => formatMailbox(m, charset));
    parts.push(group ? `${formatPhrase(group, charset)}: ${members.join(", ")};` : members.join(", "));
    i = j;
  }
  return parts.join(", ");
}

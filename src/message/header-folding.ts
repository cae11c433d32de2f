/**
 * RFC 5322 §2.2.3 header folding: CRLF is inserted only before existing
 * whitespace, so unfolding (removing the CRLFs) gives back the exact line.
 */
import { SmtpError, ErrorCode } from "../errors.js";

/** RFC 5322 §2.1.1: the hard limit per line, CRLF excluded. */
const MAX_LINE_OCTETS = 998;
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

function isWsp(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Index just past the closing quote, or -1 when the quote is never closed. */
function quotedEnd(s: string, open: number): number {
  for (let i = open + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i + 1;
  }
  return -1;
}

/**
 * Cuts the line into fold units: each is a whitespace run followed by
 * non-whitespace (a quoted string counts as non-whitespace). Trailing
 * whitespace joins the last unit so no line is only whitespace.
 */
function foldUnits(line: string): string[] {
  const units: string[] = [];
  let i = 0;
  while (i < line.length) {
    let j = i;
    while (j < line.length && isWsp(line.charCodeAt(j))) j++;
    const wordStart = j;
    while (j < line.length && !isWsp(line.charCodeAt(j))) {
      // An unclosed quote is an ordinary character (a Subject may say 5" screen).
      const end = line.charCodeAt(j) === 0x22 ? quotedEnd(line, j) : -1;
      j = end > 0 ? end : j + 1;
    }
    if (j === wordStart && units.length > 0) units[units.length - 1] += line.slice(i, j);
    else if (wordStart - i > 1 && units.length > 0) {
      // A run of blanks: all but the last stay at the end of the line before (FWS allows that),
      // so a receiver that turns CRLF + blanks into one space still gets every blank.
      units[units.length - 1] += line.slice(i, wordStart - 1);
      units.push(line.slice(wordStart - 1, j));
    } else units.push(line.slice(i, j));
    i = j;
  }
  return units;
}

/**
 * Returns "Field: value" folded to lines of at most `maxLength` characters where
 * the whitespace allows it (no trailing CRLF). Throws when a line cannot be kept
 * within 998 octets, or when field or value holds CR or LF.
 */
export function foldHeader(field: string, value: string, maxLength: number): string {
  const whole = `${field}: ${value}`;
  if (/[\r\n]/.test(whole)) {
    throw new SmtpError(ErrorCode.LineBreakInjection, `Header ${JSON.stringify(field)} must not contain CR or LF`);
  }
  if (!FIELD_NAME.test(field)) {
    throw new SmtpError(ErrorCode.InvalidValue, `Invalid header field name ${JSON.stringify(field)}`);
  }
  // Most headers fit on one line: nothing to cut, and at most 3 UTF-8 octets per UTF-16 unit.
  if (whole.length <= maxLength && whole.length * 3 <= MAX_LINE_OCTETS) return whole;
  const [head = "", ...rest] = foldUnits(whole);
  const lines: string[] = [];
  let current = head;
  for (const unit of rest) {
    if (current.length + unit.length > maxLength) {
      lines.push(current);
      current = unit;
    } else {
      current += unit;
    }
  }
  lines.push(current);
  for (const line of lines) {
    if (Buffer.byteLength(line, "utf8") > MAX_LINE_OCTETS) {
      throw new SmtpError(
        ErrorCode.InvalidValue,
        `Header ${field} has a word too long to fold within ${MAX_LINE_OCTETS} octets per line`,
      );
    }
  }
  return lines.join("\r\n");
}

/** Removes folding: every line break followed by whitespace. */
export function unfold(value: string): string {
  return value.replace(/\r?\n(?=[ \t])/g, "");
}

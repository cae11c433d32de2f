/**
 * Header blocks: parsing (OtherHeaders, prebuilt messages) and the checks that
 * keep user text from ending the header block early or smuggling a body in.
 */
import { SmtpError, ErrorCode } from "../errors.js";

export interface Header {
  field: string;
  value: string;
}

/** RFC 5322 field-name: printable ASCII except ":", then the colon. */
const FIELD_LINE = /^[\x21-\x39\x3b-\x7e]+:/;

/**
 * Parses header lines (CRLF or LF separated) up to the first empty line.
 * Continuation lines are unfolded into the previous header; lines that are
 * not "name: value" are skipped, since prebuilt messages are not ours to judge.
 */
export function parseHeaderBlock(text: string): Header[] {
  const headers: Header[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === "") break;
    const last = headers[headers.length - 1];
    if (line.charCodeAt(0) === 0x20 || line.charCodeAt(0) === 0x09) {
      if (last) last.value += line;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    headers.push({ field: line.slice(0, colon).trimEnd(), value: line.slice(colon + 1) });
  }
  for (const h of headers) h.value = h.value.replace(/^[ \t]+/, "");
  return headers;
}

function injection(lineNo: number, line: string, why: string): SmtpError {
  return new SmtpError(ErrorCode.LineBreakInjection, `OtherHeaders line ${lineNo} (${JSON.stringify(line)}) ${why}`);
}

/**
 * OtherHeaders must be "Name: value" lines (CRLF or LF separated, one trailing
 * line break allowed). Anything that could end the header block or start a
 * body is refused.
 */
export function validateOtherHeaders(text: string): void {
  if (text === "") return;
  const body = text.endsWith("\r\n") ? text.slice(0, -2) : text.endsWith("\n") ? text.slice(0, -1) : text;
  const lines = body.split(/\r?\n/);
  lines.forEach((line, k) => {
    const n = k + 1;
    if (line.includes("\r")) throw injection(n, line, "contains a CR that is not followed by LF");
    if (line.includes("\0")) throw injection(n, line, "contains NUL");
    // Some parsers take a whitespace-only line as the end of the header block.
    if (/^[ \t]*$/.test(line)) throw injection(n, line, "is empty, which would end the header block");
    if (/^[ \t]/.test(line)) {
      if (k === 0) throw injection(n, line, "is a continuation line with no header before it");
      return;
    }
    if (!FIELD_LINE.test(line)) throw injection(n, line, 'is not a header line ("Name: value")');
  });
}

/** CR or LF end a command or header line early; NUL ends it early for C-string based servers and filters. */
const LINE_BREAK_OR_NUL = /[\r\n\0]/;

/** The one check for every single-line value (properties, headers, addresses, command arguments): SmtpError 602. */
export function assertNoLineBreak(what: string, value: string): void {
  if (LINE_BREAK_OR_NUL.test(value)) {
    throw new SmtpError(ErrorCode.LineBreakInjection, `${what} must not contain CR, LF or NUL`);
  }
}

/**
 * Writes the headers of a body part. They are ours (ASCII, no line breaks),
 * so folding may break at any space, including inside a quoted-string, where
 * RFC 5322 allows folding white space: long RFC 2047 `name="=?…?= =?…?="`
 * values then fold too, which the general header folder keeps on one line.
 */
import type { Header } from "../message/header-block.js";

/** RFC 5322 §2.1.1's recommended 78, less a little for the ";" separators. */
const MAX_LINE = 76;

/** Units that each start with the space a fold may go before; runs of spaces stay with the next word. */
function units(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/ *[^ ]+| +$/g)) out.push(m[0]);
  return out;
}

export function foldPartHeader(field: string, value: string): string {
  const [head = "", ...rest] = units(`${field}: ${value}`);
  let out = "";
  let current = head;
  for (const unit of rest) {
    if (current.length + unit.length > MAX_LINE) {
      out += current + "\r\n";
      current = unit;
    } else current += unit;
  }
  return out + current + "\r\n";
}

/** The header block of a body part, with the empty line that ends it. */
export function serializePartHeaders(headers: readonly Header[]): string {
  return headers.map((h) => foldPartHeader(h.field, h.value)).join("") + "\r\n";
}

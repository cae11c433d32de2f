/**
 * A ready-made message's header block as `send -t` reads it (sendmail -t):
 * the recipients from To, Cc and Bcc, the sender from From, and the message
 * without its Bcc header lines. The bytes are handled as latin1 so that the
 * rest of the message goes out exactly as it was read.
 */
import { parseHeaderBlock } from "../message/header-block.js";
import { parseAddressList } from "../message/address-list.js";

export interface HeaderAddresses {
  to: string[];
  cc: string[];
  bcc: string[];
  /** The first address of From, if any. */
  from: string | undefined;
}

/** Where the header block ends: the offset of the empty line's first byte (or the end). */
function headerEnd(bytes: Buffer): number {
  const crlf = bytes.indexOf("\r\n\r\n");
  const lf = bytes.indexOf("\n\n");
  const ends = [crlf === -1 ? -1 : crlf + 2, lf === -1 ? -1 : lf + 1].filter((i) => i >= 0);
  return ends.length === 0 ? bytes.length : Math.min(...ends);
}

export function headerAddresses(bytes: Buffer): HeaderAddresses {
  // UTF-8: addresses may be internationalized (SMTPUTF8); encoded-words are decoded by the parser.
  const headers = parseHeaderBlock(bytes.subarray(0, headerEnd(bytes)).toString("utf8"));
  const list = (field: string): string[] =>
    headers.filter((h) => h.field.toLowerCase() === field).flatMap((h) => parseAddressList(h.value).map((m) => m.address)).filter((a) => a !== "");
  return { to: list("to"), cc: list("cc"), bcc: list("bcc"), from: list("from")[0] };
}

/** The message with every Bcc field (and its continuation lines) left out of the header block. */
export function withoutBcc(bytes: Buffer): Buffer {
  const end = headerEnd(bytes);
  const head = bytes.subarray(0, end).toString("latin1");
  // Split keeping each line's own line end, so CRLF and LF survive as they were.
  const lines = head.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const kept: string[] = [];
  let dropping = false;
  for (const line of lines) {
    const continuation = line.startsWith(" ") || line.startsWith("\t");
    if (!continuation) dropping = /^bcc[ \t]*:/i.test(line);
    if (!dropping) kept.push(line);
  }
  if (kept.length === lines.length) return bytes;
  return Buffer.concat([Buffer.from(kept.join(""), "latin1"), bytes.subarray(end)]);
}

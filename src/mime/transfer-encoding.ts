/**
 * Picks the Content-Transfer-Encoding for text held in memory, by looking at
 * its bytes: readable as-is when possible, QP when mostly readable, else base64.
 */

export type TransferEncoding = "7bit" | "quoted-printable" | "base64";

/** RFC 5322 §2.1.1 / RFC 5321 §4.5.3.1.6: 998 octets per line, CRLF excluded. */
const MAX_LINE = 998;
/** Above this share of bytes needing escapes, QP grows past base64 (each costs 3 chars vs 1.33). */
const QP_MAX_SHARE = 0.2;

const CR = 0x0d;
const LF = 0x0a;
const TAB = 0x09;

/**
 * `bytes` is text whose line breaks are already CRLF. 7bit needs pure ASCII
 * without NUL or stray CR/LF and lines within 998 octets; otherwise QP when
 * fewer than 20 % of the bytes need escaping, else base64.
 */
export function chooseTextEncoding(bytes: Uint8Array): TransferEncoding {
  let awkward = 0;
  let lineLength = 0;
  let longLine = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    if (b === CR && bytes[i + 1] === LF) {
      i++;
      lineLength = 0;
      continue;
    }
    // Bytes 7bit does not allow: 8-bit, NUL and controls (tab aside), stray CR or LF.
    if (b >= 0x80 || (b < 0x20 && b !== TAB) || b === 0x7f) awkward++;
    if (++lineLength > MAX_LINE) longLine = true;
  }
  if (awkward === 0 && !longLine) return "7bit";
  return awkward < bytes.length * QP_MAX_SHARE ? "quoted-printable" : "base64";
}

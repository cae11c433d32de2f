/**
 * SmtpReply: one complete server reply (RFC 5321 section 4.2), plus the
 * classification helpers the command layer branches on.
 */

export interface SmtpReply {
  /** The 3-digit reply code. */
  code: number;
  /** Text of each line after "NNN-" / "NNN " (or "" when the line is just "NNN"). */
  lines: string[];
  /** RFC 2034 / 3463 "class.subject.detail" from the first line, when its class matches the code's first digit. */
  enhancedStatus?: string;
  /** Lines joined with "\n", with the enhanced status prefix removed from each line that carries it. */
  text: string;
  /** The reply as received, lines joined with "\r\n", no trailing CRLF. */
  raw: string;
}

// RFC 3463: class "." subject "." detail, subject/detail 1-3 digits. The code
// must be followed by a space or end the line, so "5.1.1x" is plain text.
const ENHANCED_STATUS = /^([245]\.\d{1,3}\.\d{1,3})(?: +|$)/;

/**
 * Builds a reply from its code and line texts. `raw` defaults to the canonical
 * serialization; the parser passes what it actually received.
 */
export function createReply(code: number, lines: readonly string[], raw?: string): SmtpReply {
  const first = lines[0] ?? "";
  const m = ENHANCED_STATUS.exec(first);
  // A status whose class disagrees with the code ("250 5.0.0 ...") is not an
  // enhanced status for this reply, just text (RFC 3463 section 2).
  const candidate = m?.[1];
  const status = candidate !== undefined && candidate[0] === String(code)[0] ? candidate : undefined;
  const textLines = status === undefined ? lines : lines.map((l) => stripStatus(l, status));
  const reply: SmtpReply = {
    code,
    lines: [...lines],
    text: textLines.join("\n"),
    raw: raw ?? serializeLines(code, lines),
  };
  if (status !== undefined) reply.enhancedStatus = status;
  return reply;
}

function stripStatus(line: string, status: string): string {
  const m = ENHANCED_STATUS.exec(line);
  return m !== null && m[1] === status ? line.slice(m[0].length) : line;
}

/** Canonical wire form without the final CRLF: "250-a\r\n250 b". */
function serializeLines(code: number, lines: readonly string[]): string {
  const all = lines.length === 0 ? [""] : lines;
  return all.map((l, i) => `${code}${i === all.length - 1 ? " " : "-"}${l}`).join("\r\n");
}

export function isPositive(r: SmtpReply): boolean {
  return r.code >= 200 && r.code < 300;
}

export function isIntermediate(r: SmtpReply): boolean {
  return r.code >= 300 && r.code < 400;
}

export function isTransientNegative(r: SmtpReply): boolean {
  return r.code >= 400 && r.code < 500;
}

export function isPermanentNegative(r: SmtpReply): boolean {
  return r.code >= 500 && r.code < 600;
}

/**
 * One-line human form for logs and error messages:
 * `550 5.1.1 <x@y>: Recipient address rejected`; the status is shown once and
 * the lines are joined with " / ". Control characters are escaped so a hostile
 * reply cannot forge log lines.
 */
export function describeReply(r: SmtpReply): string {
  const body = r.text
    .split("\n")
    .filter((l) => l.length > 0)
    .join(" / ");
  const parts = [String(r.code)];
  if (r.enhancedStatus !== undefined) parts.push(r.enhancedStatus);
  if (body.length > 0) parts.push(body);
  return escapeControls(parts.join(" "));
}

function escapeControls(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

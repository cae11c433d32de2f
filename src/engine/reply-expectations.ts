/**
 * The reply classes: which reply codes can answer a command at all (RFC 5321
 * §4.3.2, RFC 3030, RFC 3207, RFC 4954). Each command type names its class
 * (smtp-commands.ts); the greeting and the end of data have one too. A reply
 * outside its class means the two sides are out of step (a stray or missing
 * reply shifted the pairing): taking it as the answer could report a refusal
 * as a success, so the connection is treated as broken instead.
 */

/** What a waiter expects; "any" for commands whose replies vary (HELP, raw sendCommand()). */
export type Expected = "any" | "greeting" | "command" | "reset" | "data" | "verdict" | "quit" | "starttls" | "auth";

/** 4xx and 5xx answer any command (421 closing, 500-504 syntax, 530 auth required...). */
function negative(code: number): boolean {
  return code >= 400 && code < 600;
}

export function plausible(expected: Expected, code: number, enhancedStatus?: string): boolean {
  switch (expected) {
    case "any":
      return true;
    case "greeting":
      return code === 220 || negative(code);
    case "command":
      // MAIL, RCPT, EHLO, HELO, VRFY, EXPN: 250, 251, 252.
      return (code >= 250 && code <= 252) || negative(code);
    case "reset":
      // RSET and NOOP have no refusal of their own: 250, or the server closing, or a syntax error.
      return code === 250 || code === 421 || (code >= 500 && code <= 504);
    case "data":
      return code === 354 || negative(code);
    case "verdict":
      // The end of data or a BDAT chunk: 250, never 354 or a greeting; and never
      // an addressing status (2.1.x answers MAIL / RCPT, RFC 3463).
      if (enhancedStatus?.startsWith("2.1.")) return false;
      return code === 250 || code === 251 || negative(code);
    case "quit":
      // 221 by the RFC; a 2xx from a sloppy server is harmless, a refusal is not an answer to QUIT.
      return (code >= 200 && code < 300 && code !== 220 && code !== 354) || code === 421;
    case "starttls":
      return code === 220 || negative(code);
    case "auth":
      return code === 235 || code === 334 || negative(code);
  }
}

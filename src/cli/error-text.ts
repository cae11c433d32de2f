/** The text of an SmtpError without the " (hint)" the component appends: the CLI prints the hint on its own line. */
import type { SmtpError } from "../index.js";

export function messageWithoutHint(e: SmtpError): string {
  const suffix = e.hint ? ` (${e.hint})` : "";
  return suffix && e.message.endsWith(suffix) ? e.message.slice(0, -suffix.length) : e.message;
}

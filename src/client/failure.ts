/** What a method reports when it fails. */
import { SmtpError } from "../errors.js";

/** What a method reports for `e`: once aborted, whatever broke next is a consequence, so the abort (301) is the reason. */
export function failureOf(e: unknown, signal: AbortSignal): SmtpError {
  const caught = SmtpError.from(e);
  const reason = signal.aborted && signal.reason instanceof SmtpError ? signal.reason : undefined;
  // The abort is the reason, but a message that was sent in full may have been delivered: keep saying so.
  return reason && caught.deliveryUnknown
    ? caught.derive(`${reason.reason}: the whole message was sent but the server's verdict was not received; delivery unknown`, { code: reason.code, cause: caught })
    : reason ?? caught;
}

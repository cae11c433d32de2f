/**
 * Leaving a transaction that will not complete: RSET keeps the session for
 * the next one; when the server could still deliver something (it gave 354,
 * or it got a command it should not have), closing the connection makes it
 * discard the open transaction.
 */
import type { SmtpError } from "../../errors.js";
import type { SmtpSession } from "../session.js";

/** Leaves the session clean for the next transaction (RSET); a failed RSET closes it. */
export async function resetQuietly(session: SmtpSession, cause: SmtpError): Promise<void> {
  if (!session.isOpen || cause.replyCode === 421) return;
  try {
    await session.rset();
  } catch {
    session.abort(cause);
  }
}

/** Drops the connection so the server discards the open transaction; returns the error to throw. */
export function abortOn(session: SmtpSession, err: SmtpError): SmtpError {
  const closed = err.derive(`${err.reason}; the connection was closed so that nothing is delivered`);
  session.abort(closed);
  return closed;
}

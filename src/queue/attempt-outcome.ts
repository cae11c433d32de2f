/**
 * What one delivery attempt of a queued message means for its recipients,
 * the same for a queue file and a Redis job: who took it, who is refused for
 * good, who waits for the next attempt, and when the attempt does not count.
 */
import type { RecipientResult } from "../engine/transaction.js";
import { ErrorCode, type SmtpError } from "../errors.js";
import type { QueueRecipient, RecipientFailure } from "./queue-file.js";

/** How an attempt that rejected ends for the message. */
export type FailedAttempt =
  /** Sent in full, verdict lost (an abort included): it may have been delivered, so it is never resent by itself. */
  | { kind: "unknown" }
  /** Not the message's fault and not sent in full: back as it was, no attempt counted. */
  | { kind: "putBack" }
  /** The attempt counts; these recipients are refused for good, the others wait. */
  | { kind: "counted"; newlyFailed: RecipientFailure[] };

export function failedAttempt(err: SmtpError, remaining: readonly QueueRecipient[], done: Set<string>, aborted: boolean): FailedAttempt {
  // Checked first: a message sent in full may have been delivered, also when an abort cut off its verdict.
  if (err.deliveryUnknown) return { kind: "unknown" };
  if (aborted || err.code === ErrorCode.Interrupted || isSetupError(err)) return { kind: "putBack" };
  const newlyFailed: RecipientFailure[] = [];
  if (err.code === ErrorCode.Protocol && err.recipient !== undefined) {
    // A refusal a StopOn setting stops on (as send() does): nobody gets this message now. A
    // permanent one fails it for every remaining recipient; a transient one defers it whole.
    if (!err.isTransient()) {
      const refused = err.recipient.toLowerCase();
      const reply = err.lastReply ?? err.message;
      for (const r of remaining) {
        newlyFailed.push({ address: r.address, reply: r.address.toLowerCase() === refused ? reply : `not sent: ${err.recipient} was refused (${reply}) and the StopOn setting for its type stops the message` });
      }
    }
  } else if (err.recipientResults) {
    // The message was not taken, so "accepted" recipients still wait; refused ones are final.
    classify(err.recipientResults.map((r) => ({ ...r, accepted: false, transient: r.accepted || r.transient })), done, newlyFailed);
  } else if (!err.isTransient()) {
    for (const r of remaining) newlyFailed.push({ address: r.address, reply: err.lastReply ?? err.message });
  }
  return { kind: "counted", newlyFailed };
}

/** Adds the recipients that took the message to `done` and those refused for good to `failed`. */
export function classify(results: readonly Pick<RecipientResult, "address" | "accepted" | "transient" | "reply">[], done: Set<string>, failed: RecipientFailure[]): void {
  for (const r of results) {
    if (r.accepted) done.add(r.address.toLowerCase());
    else if (!r.transient) failed.push({ address: r.address, reply: r.reply });
  }
}

/**
 * Failures of our own set-up (no MailServer, TLS, AUTH, proxy, bad settings)
 * and a relay that cannot be reached at all (as IP*Works' ProcessQueue
 * aborts): no message is at fault, so nothing is marked and no attempt counts.
 */
export function isSetupError(err: SmtpError): boolean {
  const c = err.code;
  return c === ErrorCode.NoMailServer || c === ErrorCode.Firewall || c === ErrorCode.InvalidValue || c === ErrorCode.UnknownSetting
    || (c >= 270 && c <= 299) || (c >= 620 && c <= 629) || unreachable(err);
}

/** The relay could not be reached: nothing answered (refused, no route, no such host, or no TCP connection in time). */
function unreachable(err: SmtpError): boolean {
  const c = err.code;
  if (c === ErrorCode.ConnectionRefused || c === ErrorCode.NoRoute || c === ErrorCode.HostNotFound) return true;
  // A timeout before any reply was awaited is the TCP connect's; one waiting for a reply names its command.
  return c === ErrorCode.TimedOut && err.command === undefined && err.lastReply === undefined;
}

/**
 * The verdict phase, and the meaning of every failure. Success is reported
 * only on a 250 to the end of the message, read in step. From the moment the
 * last byte of the message is handed to the socket, only a refusal read in
 * step says "not delivered"; anything else (close, reset, timeout, interrupt,
 * a garbled or out-of-step reply) is "delivery unknown", never retried
 * automatically.
 */
import { ErrorCode, SmtpError } from "../../errors.js";
import type { SmtpReply } from "../reply.js";
import { replyError } from "../smtp-commands.js";
import type { TransactionState } from "./state.js";
import type { RecipientResult, SendResult } from "./types.js";

/**
 * The server's reply to the end of the message (`final`), trusted already,
 * as the result of the send; anything but 250 is a refusal.
 */
export function sendResult(tx: TransactionState, final: SmtpReply): SendResult {
  const results = tx.results;
  if (final.code !== 250) {
    const err = replyError(final, "the server did not accept the message", "end of data");
    throw err.derive(err.reason, { recipientResults: results });
  }
  const accepted: string[] = [];
  const rejected: RecipientResult[] = [];
  for (const r of results) {
    if (r.accepted) accepted.push(r.address);
    else rejected.push(r);
  }
  return {
    accepted,
    rejected,
    recipients: results,
    replyCode: final.code,
    enhancedStatus: final.enhancedStatus,
    reply: final.raw,
    messageBytes: tx.bytes,
  };
}

/**
 * A verdict counts only if replies and commands are still in step. With
 * PIPELINING a NOOP rides behind the end of the message: a stray reply before
 * the verdict shifts the real verdict onto the NOOP, where it cannot pass
 * (NOOP only ever gets 250), so the reply to the NOOP is awaited first. Without
 * it, bytes already received are read (one turn of the event loop), so a stray
 * reply that came with the verdict shows up before the verdict is believed.
 */
export async function trusted(tx: TransactionState): Promise<void> {
  const connection = tx.session.connection;
  const confirmation = tx.confirmation;
  if (confirmation) {
    // Unanswered, the NOOP vouches for nothing: a dangling "250-" line completed by its
    // reply, or a shifted 250 followed by a drop, would otherwise pass as the verdict.
    const unanswered = await confirmation.then(() => undefined, (e: unknown) => e);
    if (unanswered !== undefined) throw unanswered;
    // Replies already pipelined behind it (the next message of a series) can still show a shift.
    await connection.checkpoint();
  } else {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const broken = connection.outOfStep;
  if (broken) throw broken;
}

/** The one place a failure gets its meaning (see the top of this file). */
export function verdictOf(e: unknown, tx: TransactionState): SmtpError {
  const err = sendingFailed(e);
  if (!tx.wholeMessageSent || err.deliveryUnknown) return err;
  const refusedInStep = (err.code === ErrorCode.Protocol || err.code === ErrorCode.NoRecipient) && err.replyCode !== undefined && !tx.session.connection.outOfStep;
  if (refusedInStep) return err;
  return deliveryUnknown(err, tx.phase);
}

/** Anything thrown while sending, as an SmtpError. */
export function sendingFailed(e: unknown): SmtpError {
  return SmtpError.from(e, ErrorCode.Communication, "sending the message failed");
}

/**
 * A failure before the end of the message was written: the server cannot
 * have accepted it ("not delivered"), reworded when the connection dropped.
 */
export function notDelivered(e: unknown, phase: "DATA" | "BDAT"): SmtpError {
  if (!(e instanceof SmtpError)) return sendingFailed(e);
  const dropped = e.code === ErrorCode.ConnectionClosed || e.code === ErrorCode.ConnectionReset || e.code === ErrorCode.Communication;
  if (!dropped) return e;
  const last = e.lastReply ? `; its last reply was "${e.lastReply.split(/\r?\n/).join(" / ")}"` : "";
  return e.derive(`the server closed the connection during ${phase}, before the whole message was sent; it was not delivered${last}`, {
    command: phase,
    cause: e,
    hint: "the message may be too large for the server, or the server dropped the connection; retry later",
  });
}

/** The whole message went out and its verdict was not read in step: it may or may not have been delivered. */
export function deliveryUnknown(e: SmtpError, phase?: "DATA" | "BDAT"): SmtpError {
  const why = e.code === ErrorCode.Interrupted ? "before the interruption" : "but the server's verdict was lost";
  return e.derive(`${e.reason}: the whole message was sent${phase ? ` (${phase})` : ""} ${why}; delivery unknown, it may or may not have been delivered`, {
    command: phase ?? e.command,
    cause: e,
    deliveryUnknown: true,
    hint: "check with the recipient or the server's logs before sending it again",
  });
}


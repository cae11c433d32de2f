/**
 * One mail transaction, in three phases:
 *  1. envelope (transaction/envelope.ts): RSET on a reused connection, MAIL
 *     FROM, RCPT TO for each recipient; one pipelined group with PIPELINING
 *     (RFC 2920), one command at a time without;
 *  2. body (transaction/body.ts): DATA, BDAT chunks, or the whole message as
 *     one `BDAT n LAST` inside the envelope group, as the plan allows;
 *  3. verdict (transaction/verdict.ts): the reply to the end of the message,
 *     believed only when read in step. Success is reported only on a 250
 *     there; every other outcome is an SmtpError with its one true meaning.
 */
import { ErrorCode, SmtpError } from "../errors.js";
import { dotStuff } from "../message/dot-stuffer.js";
import type { SmtpReply } from "./reply.js";
import type { SmtpSession } from "./session.js";
import type { BodyTransfer } from "./transaction/body.js";
import { ChunkedBody } from "./transaction/chunked-body.js";
import { DataBody } from "./transaction/data-body.js";
import { sendEnvelope } from "./transaction/envelope.js";
import { OneFlightBody } from "./transaction/one-flight-body.js";
import { TransactionState } from "./transaction/state.js";
import type { Envelope, MessageData, SendResult, TransactionHooks, TransactionPlan } from "./transaction/types.js";
import { sendingFailed, sendResult, trusted, verdictOf } from "./transaction/verdict.js";

export type { Envelope, EnvelopeRecipient, MessageData, RecipientResult, RecipientType, SendResult, TransactionHooks, TransactionPlan } from "./transaction/types.js";
export { deliveryUnknown } from "./transaction/verdict.js";

/**
 * Runs the transaction and gives every failure its one true meaning. From
 * the moment the last byte of the message is handed to the socket, a failure
 * to read the server's verdict in step is "delivery unknown" (never retried
 * automatically); only a refusal read in step is a refusal.
 */
export async function runTransaction(
  session: SmtpSession,
  envelope: Envelope,
  message: MessageData,
  plan: TransactionPlan,
  hooks: TransactionHooks,
  signal?: AbortSignal,
): Promise<SendResult> {
  let tx: TransactionState | undefined;
  try {
    // In-memory messages are normalized once: their exact size is known for SIZE and BDAT.
    const whole = inMemory(message, plan);
    tx = new TransactionState(session, envelope, plan, hooks, signal, whole ? [whole] : message.parts, whole);
    if (whole && plan.sizeLimit && whole.length > plan.sizeLimit) {
      throw new SmtpError(ErrorCode.MessageTooLarge, `the message is ${whole.length} bytes; the server accepts at most ${plan.sizeLimit} (SIZE); nothing was sent`);
    }
    const body = chooseBody(tx);
    let final: SmtpReply;
    try {
      const early = await sendEnvelope(tx, body);
      final = await body.send(tx, early);
    } finally {
      // However the transaction ends, a StartTransfer gets its EndTransfer.
      tx.endTransfer();
    }
    await trusted(tx);
    return sendResult(tx, final);
  } catch (e) {
    throw tx ? verdictOf(e, tx) : sendingFailed(e);
  }
}

/** The body strategy: DATA without CHUNKING; with it, one flight when everything can go in one group. */
function chooseBody(tx: TransactionState): BodyTransfer {
  const { plan, whole } = tx;
  if (!plan.chunking) return new DataBody();
  // One flight for everything: only when no refused recipient could still have to stop a delivery.
  const oneFlight = plan.pipelining && whole !== undefined && whole.length <= plan.chunkSize && !anyStop(tx) && !tx.session.options.maxTransferRate;
  return oneFlight ? new OneFlightBody(whole) : new ChunkedBody();
}

/** A refusal of one of several recipients would stop the send (StopOn for its type). */
function anyStop(tx: TransactionState): boolean {
  const recipients = tx.envelope.recipients;
  if (recipients.length <= 1) return false;
  for (const r of recipients) if (tx.hooks.stopOn(r.type)) return true;
  return false;
}

const CRLF = Buffer.from("\r\n");

/** The whole message when it is in memory, as SIZE counts it and BDAT sends it; undefined for streams. */
function inMemory(message: MessageData, plan: TransactionPlan): Buffer | undefined {
  const parts = message.parts;
  for (const p of parts) if (!Buffer.isBuffer(p)) return undefined;
  const whole = Buffer.concat(parts as Buffer[]);
  return plan.binary ? whole : normalize(whole);
}

/** CRLF line ends, a final CRLF, no dot-stuffing: the form SIZE counts and BDAT sends. */
function normalize(buf: Buffer): Buffer {
  const lines = dotStuff(buf, { stuff: false, terminate: false });
  // Line ends are all CRLF now, so a final LF means the last line is complete: usually no copy at all.
  return lines.length === 0 || lines[lines.length - 1] === 0x0a ? lines : Buffer.concat([lines, CRLF]);
}

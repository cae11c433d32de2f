/**
 * The envelope phase: RSET on a reused connection, MAIL FROM, RCPT TO for
 * each recipient, and what the body sends with them. With PIPELINING these
 * go out as one group (RFC 2920), DATA or even the whole message included,
 * and every reply of the group is read before anything is decided; without
 * it, one command at a time. Each recipient's answer is reported as soon as
 * it is known; a refusal stops the send when the StopOn setting for its type
 * says so, and is reported as an Error event otherwise.
 */
import { ErrorCode, SmtpError } from "../../errors.js";
import type { SmtpReply } from "../reply.js";
import { Mail, Rcpt, RSET, type SmtpCommand } from "../smtp-commands.js";
import { abortOn, resetQuietly } from "./abandon.js";
import type { BodyTransfer } from "./body.js";
import type { TransactionState } from "./state.js";
import type { EnvelopeRecipient, RecipientResult } from "./types.js";

/**
 * Sends the envelope and returns once the server took it (the sender and at
 * least one recipient, none that must stop the send), with the reply to
 * what the body added to the group, if it did; throws otherwise, leaving the
 * session reset or, if the server could still deliver something, closed.
 */
export async function sendEnvelope(tx: TransactionState, body: BodyTransfer): Promise<SmtpReply | undefined> {
  const { session, plan, envelope, hooks } = tx;
  const mail = new Mail(plan.verb, envelope.sender, envelope.mailParameters, plan.announceSize ? tx.whole?.length : undefined);
  const rcpts = envelope.recipients.map(toRcpt);
  session.transactions++;
  let rset: SmtpReply | undefined;
  let mailReply: SmtpReply;
  /** Pipelined: the group's replies; the recipients' start at `at`. */
  let replies: Promise<SmtpReply>[] | undefined;
  let at = 0;
  if (plan.pipelining) {
    const group: SmtpCommand[] = plan.rset ? [RSET, mail, ...rcpts] : [mail, ...rcpts];
    const bodyAt = group.length;
    body.join(tx, group);
    // send() writes only to an open connection, and then the whole group at once.
    const open = session.connection.isOpen;
    replies = session.connection.send(group, tx.timeoutMs);
    body.joined(tx, replies, bodyAt, open);
    if (plan.rset) rset = await (replies[at++] as Promise<SmtpReply>);
    mailReply = await (replies[at++] as Promise<SmtpReply>);
  } else {
    if (plan.rset) rset = await session.send(RSET);
    mailReply = rset && !RSET.accepts(rset) ? rset : await session.send(mail);
  }

  // RFC 2920: every reply of the group is read before acting on any of them.
  if (rset && !RSET.accepts(rset)) {
    await drain(replies, at, rcpts.length, body.pending);
    throw abortOn(session, RSET.refused(rset));
  }
  if (!mail.accepts(mailReply)) {
    const early = await drain(replies, at, rcpts.length, body.pending);
    const err = mail.refused(mailReply);
    if (early?.code === 354) throw abortOn(session, err); // never complete a transaction the server got wrong
    await resetQuietly(session, err);
    throw err;
  }

  let stop: SmtpError | undefined;
  let closing: SmtpError | undefined;
  for (let k = 0; k < rcpts.length; k++) {
    const rcpt = rcpts[k] as Rcpt;
    const reply = await (replies ? (replies[at + k] as Promise<SmtpReply>) : session.send(rcpt));
    const accepted = rcpt.accepts(reply);
    const result = recipientResult(rcpt, reply, accepted);
    tx.results.push(result);
    hooks.recipientResult(result);
    if (accepted) continue;
    if (reply.code === 421) closing ??= rcpt.closing(reply);
    else if (hooks.stopOn(rcpt.type)) stop ??= rcpt.refused(reply);
    else {
      hooks.recipientRefused(rcpt.refused(reply));
      continue;
    }
    // The send stops: the rest of a group is still read (RFC 2920); one at a time, nothing more is sent.
    if (!replies) break;
  }

  // A 421 or a stopping refusal already in hand is the reason, whatever happens to the replies after it.
  const early = body.pending ? await settle(body.pending, closing ?? stop, tx) : undefined;
  const failure = closing ?? stop ?? (tx.results.some(isAccepted) ? undefined : noRecipientError(tx.results));
  if (failure) {
    // A 354 already given must not be answered with "." : that would deliver
    // an empty message. Closing the connection makes the server drop it.
    if (early?.code === 354) throw abortOn(session, failure);
    if (early && body.abandoned) await body.abandoned(tx);
    await resetQuietly(session, failure);
    throw failure;
  }
  return early;
}

function toRcpt(r: EnvelopeRecipient): Rcpt {
  return new Rcpt(r.address, r.type, r.options);
}

function isAccepted(r: RecipientResult): boolean {
  return r.accepted;
}

/** Reads the remaining replies of a group; failures there change nothing any more. */
async function drain(replies: readonly Promise<SmtpReply>[] | undefined, at: number, count: number, pending: Promise<SmtpReply> | undefined): Promise<SmtpReply | undefined> {
  if (replies) for (let k = 0; k < count; k++) await replies[at + k];
  return pending ? await pending : undefined;
}

/** The reply to the body's part of the group, once the recipients' replies are in. */
async function settle(pending: Promise<SmtpReply>, decided: SmtpError | undefined, tx: TransactionState): Promise<SmtpReply> {
  try {
    return await pending;
  } catch (e) {
    // The server hung up after a 421 or a refusal: that refusal is the reason
    // (unless the whole message went with the group: then its fate is unknown).
    const hungUp = e instanceof SmtpError && (e.code === ErrorCode.ConnectionClosed || e.code === ErrorCode.ConnectionReset);
    if (decided && hungUp && !tx.wholeMessageSent) throw decided;
    throw e;
  }
}

function recipientResult(r: Rcpt, reply: SmtpReply, accepted: boolean): RecipientResult {
  return {
    address: r.address,
    type: r.type,
    accepted,
    transient: !accepted && reply.code >= 400 && reply.code < 500,
    replyCode: reply.code,
    enhancedStatus: reply.enhancedStatus,
    reply: reply.raw,
  };
}

/** Carries the last refusal, which says why (not the DATA reply that followed it), and every recipient's answer. */
function noRecipientError(results: readonly RecipientResult[]): SmtpError {
  const last = results[results.length - 1];
  return new SmtpError(ErrorCode.NoRecipient, "the server refused every recipient; nothing was sent", {
    replyCode: last?.replyCode,
    enhancedStatus: last?.enhancedStatus,
    lastReply: last?.reply,
    recipient: last?.address,
    recipientResults: results,
  });
}

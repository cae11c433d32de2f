/**
 * One mail transaction: MAIL FROM, RCPT TO for each recipient, then the
 * message with DATA or BDAT, and the final reply. Success is reported only on
 * a 250 to the end of the message; every other outcome is an SmtpError.
 *
 * With PIPELINING the envelope goes out as one group (RFC 2920): an RSET for
 * a reused connection, MAIL, every RCPT, and DATA, or even the whole message
 * as `BDAT n LAST` when CHUNKING makes that safe. Every reply of the group is
 * read and checked before anything is decided.
 */
import { ErrorCode, SmtpError } from "../errors.js";
import { dotStuff } from "../message/dot-stuffer.js";
import { transferChunks } from "./chunk-transfer.js";
import type { PipelinedCommand } from "./connection.js";
import { transferData, type MessagePart, type TransferProgress } from "./data-transfer.js";
import type { SmtpReply } from "./reply.js";
import { replyError, type SmtpSession } from "./session.js";

/** 0 To, 1 Cc, 2 BCc, as MessageRecipientType. */
export type RecipientType = 0 | 1 | 2;
const TYPE_NAMES = ["To", "Cc", "BCc"] as const;

export interface EnvelopeRecipient {
  address: string;
  type: RecipientType;
  /** Raw RCPT parameters (MessageRecipientOptions, DSN). */
  options: string;
}

export interface Envelope {
  /** Reverse path without brackets; "" is the null sender <>. */
  sender: string;
  /** MAIL FROM parameters such as "BODY=8BITMIME". */
  mailParameters: readonly string[];
  recipients: readonly EnvelopeRecipient[];
}

export interface RecipientResult {
  address: string;
  type: RecipientType;
  accepted: boolean;
  /** A refusal that may succeed later (4xx). */
  transient: boolean;
  replyCode: number;
  enhancedStatus: string | undefined;
  reply: string;
  /** Direct delivery: the mail host that answered for this recipient. */
  host?: string;
}

export interface SendResult {
  /** Addresses the server accepted. */
  accepted: string[];
  /** Recipients the server refused (only possible when the StopOn setting for their type is false). */
  rejected: RecipientResult[];
  recipients: RecipientResult[];
  /** The reply to the end of the message. */
  replyCode: number;
  enhancedStatus: string | undefined;
  reply: string;
  /** Message bytes written (CRLF line ends; dot-stuffed for DATA), without the final ".". */
  messageBytes: number;
}

export interface TransactionHooks {
  /** StopOnToErrors / StopOnCcErrors / StopOnBccErrors. */
  stopOn(type: RecipientType): boolean;
  /** Each recipient's outcome, as soon as it is known (RecipientStatus event). */
  recipientResult(result: RecipientResult): void;
  /** A refused recipient that does not stop the send (fires the Error event). */
  recipientRefused(err: SmtpError): void;
  startTransfer(): void;
  transfer(p: TransferProgress): void;
  endTransfer(): void;
  /**
   * The whole message is written and only its verdict is awaited: the next
   * message's commands may follow it on the wire now (pipelined series). Only
   * called when the server offers PIPELINING, and not when the transaction
   * fails before that point.
   */
  handover?(): void;
}

/** The transfer choices, worked out from the server's extensions and the settings. */
export interface TransactionPlan {
  /** MAIL for mail; SEND, SOML, SAML for the terminal variants. */
  verb: "MAIL" | "SEND" | "SOML" | "SAML";
  /** Start with RSET (a reused connection with SendRSET). */
  rset: boolean;
  pipelining: boolean;
  chunking: boolean;
  chunkSize: number;
  /** Server SIZE limit (0 / undefined: none) and whether to announce SIZE=. */
  sizeLimit: number | undefined;
  announceSize: boolean;
  /** BODY=BINARYMIME: the bytes go as they are (BDAT only), line ends untouched. */
  binary: boolean;
}

export interface MessageData {
  parts: readonly MessagePart[];
}

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
  const progress: Progress = { wholeMessageSent: false, phase: "DATA" };
  try {
    return await transact(session, envelope, message, plan, hooks, progress, signal);
  } catch (e) {
    throw verdictOf(e, progress, session);
  }
}

/** How far the message got: set the moment its last byte is handed to the socket. */
interface Progress {
  wholeMessageSent: boolean;
  phase: "DATA" | "BDAT";
}

async function transact(
  session: SmtpSession,
  envelope: Envelope,
  message: MessageData,
  plan: TransactionPlan,
  hooks: TransactionHooks,
  progress: Progress,
  signal?: AbortSignal,
): Promise<SendResult> {
  if (plan.chunking) progress.phase = "BDAT";
  const timeoutMs = session.options.timeoutMs;
  // In-memory messages are normalized once: their exact size is known for SIZE and BDAT.
  const inMemory = message.parts.every((p) => Buffer.isBuffer(p));
  const whole = inMemory ? Buffer.concat(message.parts as Buffer[]) : undefined;
  const normalized = whole && (plan.binary ? whole : normalize(whole));
  const parts: readonly MessagePart[] = normalized ? [normalized] : message.parts;
  if (normalized && plan.sizeLimit && normalized.length > plan.sizeLimit) {
    throw new SmtpError(ErrorCode.MessageTooLarge, `the message is ${normalized.length} bytes; the server accepts at most ${plan.sizeLimit} (SIZE); nothing was sent`);
  }
  const mailParameters = [...envelope.mailParameters];
  if (plan.announceSize && normalized) mailParameters.push(`SIZE=${normalized.length}`);
  const mailLine = `${plan.verb} FROM:<${envelope.sender}>${mailParameters.length ? " " + mailParameters.join(" ") : ""}`;
  const rcptLines = envelope.recipients.map((r) => `RCPT TO:<${r.address}>${r.options ? " " + r.options.trim() : ""}`);
  const anyStop = envelope.recipients.length > 1 && envelope.recipients.some((r) => hooks.stopOn(r.type));
  // One flight for everything: only when no refused recipient could still have to stop a delivery.
  const wholeInGroup = plan.pipelining && plan.chunking && normalized !== undefined && normalized.length <= plan.chunkSize && !anyStop && !session.options.maxTransferRate;

  session.transactions++;
  const commands: PipelinedCommand[] = [];
  if (plan.rset) commands.push({ line: "RSET", timeoutMs, expect: "reset" });
  commands.push({ line: mailLine, timeoutMs, expect: "command" });
  let rcptReplies: Promise<SmtpReply>[];
  let mail: SmtpReply;
  let rset: SmtpReply | undefined;
  let dataReply: Promise<SmtpReply> | undefined;
  let bdatReply: Promise<SmtpReply> | undefined;
  /** The reply to a NOOP pipelined behind the end of the message: it vouches for the verdict. */
  let confirmation: Promise<SmtpReply> | undefined;

  if (plan.pipelining) {
    for (const line of rcptLines) commands.push({ line, timeoutMs, expect: "command" });
    if (wholeInGroup && normalized) {
      commands.push({ line: `BDAT ${normalized.length} LAST`, timeoutMs, payload: normalized, expect: "verdict" });
      commands.push({ line: "NOOP", timeoutMs, expect: "reset" });
    }
    else if (!plan.chunking) commands.push({ line: "DATA", timeoutMs, expect: "data" });
    if (wholeInGroup) hooks.startTransfer();
    // pipeline() writes only to an open connection, and then writes the whole group at once.
    const open = session.connection.isOpen;
    const replies = session.connection.pipeline(commands);
    if (wholeInGroup && open) progress.wholeMessageSent = true;
    let i = 0;
    if (plan.rset) rset = await (replies[i++] as Promise<SmtpReply>);
    mail = await (replies[i++] as Promise<SmtpReply>);
    rcptReplies = replies.slice(i, i + rcptLines.length);
    const last = replies[i + rcptLines.length];
    if (wholeInGroup) {
      bdatReply = last;
      confirmation = replies[i + rcptLines.length + 1];
    }
    else if (!plan.chunking) dataReply = last;
  } else {
    if (plan.rset) {
      rset = await session.command("RSET", { expect: "reset" });
    }
    mail = rset && rset.code !== 250 ? rset : await session.command(mailLine, { expect: "command" });
    rcptReplies = [];
  }

  // RFC 2920: every reply of the group is read before acting on any of them.
  if (rset && rset.code !== 250) {
    await drain(rcptReplies, dataReply, bdatReply);
    throw abortOn(session, replyError(rset, "the server refused RSET", "RSET"));
  }
  if (mail.code !== 250) {
    const [, dataR] = await drain(rcptReplies, dataReply, bdatReply);
    const err = replyError(mail, "the server refused the sender", mailLine);
    if (dataR?.code === 354) throw abortOn(session, err); // never complete a transaction the server got wrong
    await resetQuietly(session, err);
    throw err;
  }

  const results: RecipientResult[] = [];
  let stopError: SmtpError | undefined;
  let closing: SmtpError | undefined;
  for (let k = 0; k < envelope.recipients.length; k++) {
    const r = envelope.recipients[k] as EnvelopeRecipient;
    const line = rcptLines[k] as string;
    const reply = plan.pipelining ? await (rcptReplies[k] as Promise<SmtpReply>) : await session.command(line, { expect: "command" });
    const accepted = reply.code === 250 || reply.code === 251;
    const result = recipientResult(r, reply, accepted);
    results.push(result);
    hooks.recipientResult(result);
    if (accepted) continue;
    const err = replyError(reply, `the server refused ${TYPE_NAMES[r.type]} recipient ${r.address}`, line, r.address);
    if (reply.code === 421) {
      closing ??= replyError(reply, "the server closed the session", line, r.address);
      if (!plan.pipelining) break;
      continue;
    }
    if (hooks.stopOn(r.type)) {
      stopError ??= err;
      if (!plan.pipelining) break;
      continue;
    }
    hooks.recipientRefused(err);
  }
  // A 421 or a stopping refusal already in hand is the reason, whatever happens to the replies after it.
  const decided = closing ?? stopError;
  const settle = async (p: Promise<SmtpReply> | undefined): Promise<SmtpReply | undefined> => {
    if (!p) return undefined;
    try {
      return await p;
    } catch (e) {
      // The server hung up after a 421 or a refusal: that refusal is the reason
      // (unless the whole message went with the group: then its fate is unknown).
      const hungUp = e instanceof SmtpError && (e.code === ErrorCode.ConnectionClosed || e.code === ErrorCode.ConnectionReset);
      if (decided && hungUp && !progress.wholeMessageSent) throw decided;
      throw e;
    }
  };
  const data = await settle(dataReply);
  const bdat = await settle(bdatReply);
  if (closing) {
    if (bdat) await trusted(session, confirmation);
    throw closing;
  }

  const accepted = results.filter((r) => r.accepted);
  const failure = stopError ?? (accepted.length === 0 ? noRecipientError(results) : undefined);
  if (failure) {
    // A 354 already given must not be answered with "." : that would deliver
    // an empty message. Closing the connection makes the server drop it.
    if (data?.code === 354) throw abortOn(session, failure);
    if (bdat) {
      hooks.endTransfer();
      await trusted(session, confirmation);
    }
    await resetQuietly(session, failure);
    throw failure;
  }

  let final: SmtpReply;
  let bytes: number;
  if (bdat && normalized) {
    hooks.transfer({ bytes: normalized.length, total: normalized.length, chunk: normalized });
    hooks.endTransfer();
    final = bdat;
    bytes = normalized.length;
  } else if (plan.chunking) {
    hooks.startTransfer();
    try {
      ({ final, bytes, confirmation } = await transferChunks(session.connection, {
        parts,
        total: normalized?.length,
        chunkSize: plan.chunkSize,
        pipelining: plan.pipelining,
        timeoutMs,
        maxRate: session.options.maxTransferRate,
        onProgress: (p) => hooks.transfer(p),
        onLastSent: () => {
          progress.wholeMessageSent = true;
        },
        confirm: plan.pipelining,
        signal,
      }));
    } catch (e) {
      // Replies to chunks still in flight must not answer later commands.
      if (e instanceof SmtpError && session.isOpen) session.abort(e);
      throw progress.wholeMessageSent ? e : notDelivered(e, "BDAT");
    } finally {
      hooks.endTransfer();
    }
  } else {
    const dataR = data ?? (await session.command("DATA", { expect: "data" }));
    if (dataR.code !== 354) {
      const err = replyError(dataR, "the server refused DATA", "DATA");
      await resetQuietly(session, err);
      throw err;
    }
    hooks.startTransfer();
    // Queued before the first byte so even an instant reply finds its waiter;
    // its Timeout starts only once the end-of-data marker is written.
    const endOfData = session.connection.deferReply("the end of data (.)", timeoutMs);
    const noop = plan.pipelining ? session.connection.deferCommand("NOOP", timeoutMs, "reset") : undefined;
    confirmation = noop?.reply;
    let written = 0;
    // Only a pipelining server may get the next commands before this verdict (RFC 2920).
    const handover = plan.pipelining ? hooks.handover : undefined;
    try {
      bytes = await transferData(session.connection, {
        parts,
        timeoutMs,
        maxRate: session.options.maxTransferRate,
        onProgress: (p) => {
          written = p.bytes;
          hooks.transfer(p);
        },
        trailer: noop?.bytes,
        onMarker: () => {
          // Called right before the last write: it hands the bytes over only on an open connection.
          if (session.connection.isOpen) progress.wholeMessageSent = true;
          endOfData.arm();
          noop?.arm();
          // The next message's envelope joins the end of this one in a single write.
          if (handover) session.connection.coalesce();
        },
        signal,
      });
      endOfData.arm();
      noop?.arm();
      handover?.();
      final = await endOfData.reply;
    } catch (e) {
      if (!progress.wholeMessageSent) throw notDelivered(e, "DATA");
      // The verdict may have come while the last write was still draining (a 421 right behind it): it stands.
      // A failure that left the connection up (a throwing listener) closes it, so the wait cannot hang.
      if (session.isOpen) session.abort(sendingFailed(e));
      const verdict = await endOfData.reply.catch(() => undefined);
      if (!verdict) throw e;
      final = verdict;
      bytes = written;
    } finally {
      hooks.endTransfer();
    }
  }
  await trusted(session, confirmation);
  if (final.code !== 250) {
    const err = replyError(final, "the server did not accept the message", "end of data");
    throw new SmtpError(err.code, err.message, { replyCode: err.replyCode, enhancedStatus: err.enhancedStatus, lastReply: err.lastReply, command: err.command, recipientResults: results });
  }
  return {
    accepted: accepted.map((r) => r.address),
    rejected: results.filter((r) => !r.accepted),
    recipients: results,
    replyCode: final.code,
    enhancedStatus: final.enhancedStatus,
    reply: final.raw,
    messageBytes: bytes,
  };
}

const CRLF = Buffer.from("\r\n");

/** CRLF line ends, a final CRLF, no dot-stuffing: the form SIZE counts and BDAT sends. */
function normalize(buf: Buffer): Buffer {
  const lines = dotStuff(buf, { stuff: false, terminate: false });
  // Line ends are all CRLF now, so a final LF means the last line is complete: usually no copy at all.
  return lines.length === 0 || lines[lines.length - 1] === 0x0a ? lines : Buffer.concat([lines, CRLF]);
}

/**
 * A verdict counts only if replies and commands are still in step. With
 * PIPELINING a NOOP rides behind the end of the message: a stray reply before
 * the verdict shifts the real verdict onto the NOOP, where it cannot pass
 * (NOOP only ever gets 250), so the reply to the NOOP is awaited first. Without
 * it, bytes already received are read (one turn of the event loop), so a stray
 * reply that came with the verdict shows up before the verdict is believed.
 */
async function trusted(session: SmtpSession, confirmation: Promise<SmtpReply> | undefined): Promise<void> {
  if (confirmation) {
    // Unanswered, the NOOP vouches for nothing: a dangling "250-" line completed by its
    // reply, or a shifted 250 followed by a drop, would otherwise pass as the verdict.
    const unanswered = await confirmation.then(() => undefined, (e: unknown) => e);
    if (unanswered !== undefined) throw unanswered;
    // Replies already pipelined behind it (the next message of a series) can still show a shift.
    await session.connection.checkpoint();
  } else {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const broken = session.connection.outOfStep;
  if (broken) throw broken;
}

/**
 * The one place a failure gets its meaning: once the whole message went out,
 * only a refusal read in step says "not delivered"; anything else (close,
 * reset, timeout, interrupt, a garbled or out-of-step reply) is delivery unknown.
 */
function verdictOf(e: unknown, progress: Progress, session: SmtpSession): SmtpError {
  const err = sendingFailed(e);
  if (!progress.wholeMessageSent || err.deliveryUnknown) return err;
  const refusedInStep = (err.code === ErrorCode.Protocol || err.code === ErrorCode.NoRecipient) && err.replyCode !== undefined && !session.connection.outOfStep;
  if (refusedInStep) return err;
  return deliveryUnknown(err, progress.phase);
}

/** Reads the remaining replies of a group; failures there change nothing any more. */
async function drain(rcpts: readonly Promise<SmtpReply>[], data?: Promise<SmtpReply>, bdat?: Promise<SmtpReply>): Promise<[SmtpReply[], SmtpReply | undefined, SmtpReply | undefined]> {
  const got: SmtpReply[] = [];
  for (const p of rcpts) got.push(await p);
  return [got, data ? await data : undefined, bdat ? await bdat : undefined];
}

function recipientResult(r: EnvelopeRecipient, reply: SmtpReply, accepted: boolean): RecipientResult {
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

/** Leaves the session clean for the next transaction (RSET); a failed RSET closes it. */
async function resetQuietly(session: SmtpSession, cause: SmtpError): Promise<void> {
  if (!session.isOpen || cause.replyCode === 421) return;
  try {
    await session.rset();
  } catch {
    session.abort(cause);
  }
}

/** Drops the connection so the server discards the open transaction; returns `err` for throwing. */
function abortOn(session: SmtpSession, err: SmtpError): SmtpError {
  const closed = new SmtpError(err.code, `${err.message}; the connection was closed so that nothing is delivered`, {
    replyCode: err.replyCode,
    enhancedStatus: err.enhancedStatus,
    lastReply: err.lastReply,
    command: err.command,
    recipient: err.recipient,
  });
  session.abort(closed);
  return closed;
}

/** Anything thrown while sending, as an SmtpError. */
function sendingFailed(e: unknown): SmtpError {
  return e instanceof SmtpError ? e : new SmtpError(ErrorCode.Communication, `sending the message failed: ${String(e)}`, { cause: e });
}

/**
 * A failure before the end of the message was written: the server cannot
 * have accepted it ("not delivered"), reworded when the connection dropped.
 */
function notDelivered(e: unknown, phase: "DATA" | "BDAT"): SmtpError {
  if (!(e instanceof SmtpError)) return sendingFailed(e);
  const dropped = e.code === ErrorCode.ConnectionClosed || e.code === ErrorCode.ConnectionReset || e.code === ErrorCode.Communication;
  if (!dropped) return e;
  const last = e.lastReply ? `; its last reply was "${e.lastReply.split(/\r?\n/).join(" / ")}"` : "";
  return new SmtpError(e.code, `the server closed the connection during ${phase}, before the whole message was sent; it was not delivered${last}`, {
    replyCode: e.replyCode,
    enhancedStatus: e.enhancedStatus,
    lastReply: e.lastReply,
    command: phase,
    cause: e,
    hint: "the message may be too large for the server, or the server dropped the connection; retry later",
  });
}

/** The whole message went out and its verdict was not read in step: it may or may not have been delivered. */
export function deliveryUnknown(e: SmtpError, phase?: "DATA" | "BDAT"): SmtpError {
  const why = e.code === ErrorCode.Interrupted ? "before the interruption" : "but the server's verdict was lost";
  return new SmtpError(e.code, `${e.message}: the whole message was sent${phase ? ` (${phase})` : ""} ${why}; delivery unknown, it may or may not have been delivered`, {
    replyCode: e.replyCode,
    enhancedStatus: e.enhancedStatus,
    lastReply: e.lastReply,
    command: phase ?? e.command,
    cause: e,
    deliveryUnknown: true,
    hint: "check with the recipient or the server's logs before sending it again",
  });
}

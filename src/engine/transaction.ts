/**
 * One mail transaction: MAIL FROM, RCPT TO for each recipient, DATA, the
 * message, and the final reply. Success is reported only on a 250 to the end
 * of data; every other outcome is an SmtpError.
 */
import { ErrorCode, SmtpError } from "../errors.js";
import { transferData, type MessagePart, type TransferProgress } from "./data-transfer.js";
import { describeReply, type SmtpReply } from "./reply.js";
import { replyError, type SmtpSession } from "./session.js";

/** 0 To, 1 Cc, 2 BCc, as MessageRecipientType. */
export type RecipientType = 0 | 1 | 2;
const TYPE_NAMES = ["To", "Cc", "BCc"] as const;

export interface EnvelopeRecipient {
  address: string;
  type: RecipientType;
  /** Raw RCPT parameters (MessageRecipientOptions). */
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
  replyCode: number;
  enhancedStatus: string | undefined;
  reply: string;
}

export interface SendResult {
  /** Addresses the server accepted. */
  accepted: string[];
  /** Recipients the server refused (only possible when the StopOn setting for their type is false). */
  rejected: RecipientResult[];
  recipients: RecipientResult[];
  /** The reply to the end of data. */
  replyCode: number;
  enhancedStatus: string | undefined;
  reply: string;
  /** Message bytes written in DATA (CRLF line ends, dot-stuffed), without the final ".". */
  messageBytes: number;
}

export interface TransactionHooks {
  /** StopOnToErrors / StopOnCcErrors / StopOnBccErrors. */
  stopOn(type: RecipientType): boolean;
  /** A refused recipient that does not stop the send (fires the Error event). */
  recipientRefused(err: SmtpError): void;
  startTransfer(): void;
  transfer(p: TransferProgress): void;
  endTransfer(): void;
}

export interface MessageData {
  parts: readonly MessagePart[];
}

export async function runTransaction(
  session: SmtpSession,
  envelope: Envelope,
  data: MessageData,
  hooks: TransactionHooks,
  signal?: AbortSignal,
): Promise<SendResult> {
  session.transactions++;
  const mailLine = `MAIL FROM:<${envelope.sender}>${params(envelope.mailParameters)}`;
  const mail = await session.command(mailLine);
  if (mail.code !== 250) await failAndReset(session, replyError(mail, "the server refused the sender", mailLine));

  const results: RecipientResult[] = [];
  for (const r of envelope.recipients) {
    const line = `RCPT TO:<${r.address}>${r.options ? " " + r.options.trim() : ""}`;
    const reply = await session.command(line);
    const accepted = reply.code === 250 || reply.code === 251;
    results.push(result(r, reply, accepted));
    if (accepted) continue;
    if (reply.code === 421) throw replyError(reply, "the server closed the session", line, r.address);
    const err = replyError(reply, `the server refused ${TYPE_NAMES[r.type]} recipient ${r.address}`, line, r.address);
    if (hooks.stopOn(r.type)) await failAndReset(session, err);
    hooks.recipientRefused(err);
  }

  const accepted = results.filter((r) => r.accepted);
  if (accepted.length === 0) {
    const last = session.connection.lastReceived;
    await failAndReset(session, new SmtpError(ErrorCode.NoRecipient, "the server refused every recipient; nothing was sent", {
      replyCode: last?.code,
      enhancedStatus: last?.enhancedStatus,
      lastReply: last?.raw,
    }));
  }

  const dataReply = await session.command("DATA");
  if (dataReply.code !== 354) await failAndReset(session, replyError(dataReply, "the server refused DATA", "DATA"));

  hooks.startTransfer();
  let bytes: number;
  let final: SmtpReply;
  // Queued before the first byte so even an instant reply finds its waiter;
  // its Timeout starts only once the end-of-data marker is written.
  const endOfData = session.connection.deferReply("the end of data (.)", session.options.timeoutMs);
  try {
    bytes = await transferData(session.connection, {
      parts: data.parts,
      timeoutMs: session.options.timeoutMs,
      onProgress: (p) => hooks.transfer(p),
      signal,
    });
    endOfData.arm();
    final = await endOfData.reply;
  } catch (e) {
    throw duringData(e);
  } finally {
    hooks.endTransfer();
  }
  if (final.code !== 250) throw replyError(final, "the server did not accept the message", "end of data");
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

function params(list: readonly string[]): string {
  return list.length ? " " + list.join(" ") : "";
}

function result(r: EnvelopeRecipient, reply: SmtpReply, accepted: boolean): RecipientResult {
  return { address: r.address, type: r.type, accepted, replyCode: reply.code, enhancedStatus: reply.enhancedStatus, reply: reply.raw };
}

/** Leaves the session clean for the next transaction (RSET), then throws `err`. */
async function failAndReset(session: SmtpSession, err: SmtpError): Promise<never> {
  if (session.isOpen && err.replyCode !== 421) {
    try {
      await session.rset();
    } catch {
      // The original error is what the caller needs; a failed RSET closes the connection anyway.
      session.abort(err);
    }
  }
  throw err;
}

/** Rewords a failure during DATA so the user learns the message was NOT delivered. */
function duringData(e: unknown): SmtpError {
  if (!(e instanceof SmtpError)) return new SmtpError(ErrorCode.Communication, `sending the message failed: ${String(e)}`, { cause: e });
  if (e.code === ErrorCode.ConnectionClosed || e.code === ErrorCode.ConnectionReset) {
    const last = e.lastReply ? `; its last reply was "${describeReplyText(e.lastReply)}"` : "";
    return new SmtpError(e.code, `the server closed the connection during DATA, before confirming the message; it was not delivered${last}`, {
      replyCode: e.replyCode,
      enhancedStatus: e.enhancedStatus,
      lastReply: e.lastReply,
      command: "DATA",
      hint: "the message may be too large for the server, or the server dropped the connection; retry later",
      cause: e,
    });
  }
  return e;
}

function describeReplyText(raw: string): string {
  return raw.split(/\r?\n/).join(" / ");
}

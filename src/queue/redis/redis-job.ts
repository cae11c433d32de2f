/**
 * What a Redis outbox job holds. The job's data is the message as queue()
 * composed it and its envelope, written once. The per-recipient state
 * changes with each attempt, so it lives in the job's progress field: an
 * update then rewrites a few addresses, not the message. Both are JSON that
 * BullMQ's own tools show and edit (docs/queue.md).
 */
import { isUtf8 } from "node:buffer";
import type { RecipientType } from "../../engine/transaction.js";
import { ErrorCode, SmtpError } from "../../errors.js";
import type { QueueRecipient, RecipientFailure } from "../queue-file.js";

/** The job data format this release writes and reads. */
export const JOB_FORMAT_VERSION = 1;

export interface MessageJobData {
  smtpkit: number;
  /** When queue() stored it (ISO 8601). */
  created: string;
  /** "" is the null sender. */
  sender: string;
  recipients: QueueRecipient[];
  /** The message's Message-ID, for operators (the message itself is authoritative). */
  messageId: string | undefined;
  /** "utf8" when the bytes are valid UTF-8 (readable in any tool), else "base64". */
  encoding: "utf8" | "base64";
  message: string;
}

/** The per-recipient state of a job (its progress field). */
export interface JobDelivery {
  /** Recipients that took the message: never sent to again. */
  delivered: string[];
  /** Recipients refused for good, with the reply. */
  failed: RecipientFailure[];
  /**
   * Written, and confirmed by Redis, right before the end of the message goes
   * out; replaced by the attempt's outcome. A job taken back with this still
   * set lost its worker after the whole message may have gone: delivery unknown.
   */
  sending?: { at: string; worker: string; recipients: string[] };
  /** The whole message went out and the verdict was lost: the job is never sent again by itself. */
  unknown?: { at: string; recipients: string[]; reason: string };
}

export function messageJobData(sender: string, recipients: readonly QueueRecipient[], message: Buffer): MessageJobData {
  const utf8 = isUtf8(message);
  return {
    smtpkit: JOB_FORMAT_VERSION,
    created: new Date().toISOString(),
    sender,
    recipients: recipients.map((r) => ({ address: r.address, options: r.options, type: r.type ?? 0 })),
    messageId: messageIdOf(message),
    encoding: utf8 ? "utf8" : "base64",
    message: message.toString(utf8 ? "utf8" : "base64"),
  };
}

/** The job's data, checked: a job written by another tool may be anything. */
export function readJobData(data: unknown, id: string): MessageJobData & { bytes: Buffer } {
  const bad = (why: string): SmtpError => new SmtpError(ErrorCode.CannotOpenFile, `job ${id} is not a valid smtpkit message job: ${why}`);
  if (typeof data !== "object" || data === null) throw bad("no data");
  const d = data as Partial<MessageJobData>;
  if (d.smtpkit !== JOB_FORMAT_VERSION) throw bad(`format version ${String(d.smtpkit)} is not supported (this version reads ${JOB_FORMAT_VERSION})`);
  if (typeof d.sender !== "string" || !Array.isArray(d.recipients) || d.recipients.length === 0) throw bad("no sender or no recipient");
  const recipients: QueueRecipient[] = d.recipients.map((r: unknown) => {
    const q = r as Partial<QueueRecipient> | null;
    if (typeof q?.address !== "string" || q.address === "") throw bad("a recipient without an address");
    return { address: q.address, options: typeof q.options === "string" ? q.options : "", type: (q.type === 1 || q.type === 2 ? q.type : 0) as RecipientType };
  });
  for (const v of [d.sender, ...recipients.flatMap((r) => [r.address, r.options])]) {
    if (/[\r\n\0]/.test(v)) throw new SmtpError(ErrorCode.LineBreakInjection, `job ${id}: an envelope value contains CR, LF or NUL`);
  }
  if (typeof d.message !== "string" || (d.encoding !== "utf8" && d.encoding !== "base64")) throw bad("no message");
  return { ...(d as MessageJobData), recipients, bytes: Buffer.from(d.message, d.encoding) };
}

export function readDelivery(progress: unknown): JobDelivery {
  const p = (typeof progress === "object" && progress !== null ? progress : {}) as Partial<JobDelivery>;
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
  return {
    delivered: strings(p.delivered),
    failed: Array.isArray(p.failed) ? p.failed.filter((f): f is RecipientFailure => typeof f?.address === "string").map((f) => ({ address: f.address, reply: String(f.reply ?? "") })) : [],
    ...(p.sending && typeof p.sending === "object" ? { sending: { at: String(p.sending.at), worker: String(p.sending.worker), recipients: strings(p.sending.recipients) } } : {}),
    ...(p.unknown && typeof p.unknown === "object" ? { unknown: { at: String(p.unknown.at), recipients: strings(p.unknown.recipients), reason: String(p.unknown.reason) } } : {}),
  };
}

function messageIdOf(message: Buffer): string | undefined {
  const end = message.indexOf("\r\n\r\n");
  const head = message.subarray(0, end < 0 ? Math.min(message.length, 65536) : end).toString("latin1");
  return /^Message-ID:[ \t]*(<[^>\r\n]*>)/im.exec(head)?.[1];
}

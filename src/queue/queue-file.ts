/**
 * The queue file: a block of envelope lines, an empty line, then the RFC 5322
 * message exactly as it will be sent. Plain text, so other tools can read it
 * (docs/queue.md). Files are written to a temporary name, fsynced and renamed,
 * so a reader only ever sees complete files; no link is ever followed
 * (queue-no-follow.ts).
 */
import type { Readable } from "node:stream";
import type { RecipientType } from "../engine/transaction.js";
import { ErrorCode, SmtpError } from "../errors.js";
import { partChunks } from "../message/message-parts.js";
import { openRegular, readFrom, writeAtomically } from "./queue-no-follow.js";

/** The version of the queue file format this release writes and reads. */
export const QUEUE_FORMAT_VERSION = 1;
/** Longest envelope block read back (a recipient line each: generous, but bounded). */
const MAX_HEADER = 4 * 1024 * 1024;

export interface QueueRecipient {
  address: string;
  /** Raw RCPT parameters (DSN). */
  options: string;
  /** 0 To (also when the file does not say), 1 Cc, 2 BCc: which StopOn setting its refusal answers to. */
  type?: RecipientType;
}

const TYPE_NAMES = ["To", "Cc", "BCc"] as const;

export interface RecipientFailure {
  address: string;
  reply: string;
}

export interface QueueEnvelope {
  version: number;
  created: Date;
  /** "" is the null sender. */
  sender: string;
  recipients: QueueRecipient[];
  attempts: number;
  nextAttempt: Date | undefined;
  /** Recipients that took the message in an earlier attempt. */
  delivered: string[];
  /** Recipients refused for good in an earlier attempt. */
  failed: RecipientFailure[];
}

export function serializeEnvelope(e: QueueEnvelope): string {
  const lines = [
    `X-Smtpkit-Queue: ${e.version}`,
    `X-Smtpkit-Created: ${e.created.toISOString()}`,
    `X-Smtpkit-Sender: <${e.sender}>`,
    ...e.recipients.map((r) => `X-Smtpkit-Recipient: <${r.address}>${r.options ? " " + r.options : ""}`),
    // Only Cc and BCc are written: To is what a file without the line means.
    ...e.recipients.filter((r) => r.type === 1 || r.type === 2).map((r) => `X-Smtpkit-Recipient-Type: <${r.address}> ${TYPE_NAMES[r.type ?? 0]}`),
    `X-Smtpkit-Attempts: ${e.attempts}`,
    ...(e.nextAttempt ? [`X-Smtpkit-Next-Attempt: ${e.nextAttempt.toISOString()}`] : []),
    ...e.delivered.map((a) => `X-Smtpkit-Delivered: <${a}>`),
    ...e.failed.map((f) => `X-Smtpkit-Failed: <${f.address}> ${f.reply.replace(/[\r\n]+/g, " / ")}`),
  ];
  for (const l of lines) {
    if (/[\r\n]/.test(l)) throw new SmtpError(ErrorCode.LineBreakInjection, "a queue envelope line must not contain CR or LF");
  }
  return lines.join("\r\n") + "\r\n\r\n";
}

export function parseEnvelope(text: string, file: string): QueueEnvelope {
  const e: QueueEnvelope = { version: 0, created: new Date(0), sender: "", recipients: [], attempts: 0, nextAttempt: undefined, delivered: [], failed: [] };
  let sawSender = false;
  const types = new Map<string, RecipientType>();
  for (const line of text.split(/\r?\n/)) {
    if (line === "") continue;
    const m = /^X-Smtpkit-([A-Za-z-]+):\s?(.*)$/.exec(line);
    if (!m) throw corrupt(file, `unexpected line ${JSON.stringify(line.slice(0, 60))}`);
    const [, key = "", value = ""] = m;
    const angle = /^<([^>]*)>\s*(.*)$/.exec(value);
    switch (key.toLowerCase()) {
      case "queue":
        e.version = Number(value);
        break;
      case "created":
        e.created = new Date(value);
        break;
      case "sender":
        e.sender = angle?.[1] ?? "";
        sawSender = true;
        break;
      case "recipient":
        if (!angle?.[1]) throw corrupt(file, "a recipient line without <address>");
        e.recipients.push({ address: angle[1], options: angle[2] ?? "" });
        break;
      case "attempts":
        e.attempts = Number(value) || 0;
        break;
      case "next-attempt":
        e.nextAttempt = new Date(value);
        break;
      case "delivered":
        if (angle?.[1]) e.delivered.push(angle[1]);
        break;
      case "failed":
        if (angle?.[1]) e.failed.push({ address: angle[1], reply: angle[2] ?? "" });
        break;
      case "recipient-type": {
        const type = TYPE_NAMES.findIndex((n) => n.toLowerCase() === (angle?.[2] ?? "").trim().toLowerCase());
        if (angle?.[1] && type >= 0) types.set(angle[1].toLowerCase(), type as RecipientType);
        break;
      }
      default:
        // Unknown keys are kept readable for newer writers; they change nothing here.
        break;
    }
  }
  if (e.version !== QUEUE_FORMAT_VERSION) throw corrupt(file, `format version ${e.version} is not supported (this version reads ${QUEUE_FORMAT_VERSION})`);
  if (!sawSender || e.recipients.length === 0) throw corrupt(file, "no sender or no recipient line");
  for (const r of e.recipients) r.type = types.get(r.address.toLowerCase()) ?? 0;
  return e;
}

/** The envelope of a queue file and where its message starts. */
export async function readEnvelope(path: string): Promise<{ envelope: QueueEnvelope; messageOffset: number; size: number }> {
  const handle = await openRegular(path);
  try {
    const { size } = await handle.stat();
    let text = "";
    let offset = 0;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
      if (bytesRead === 0) throw corrupt(path, "the envelope block never ends");
      text += buf.subarray(0, bytesRead).toString("latin1");
      offset += bytesRead;
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const header = Buffer.from(text.slice(0, end), "latin1").toString("utf8");
        return { envelope: parseEnvelope(header, path), messageOffset: end + 4, size };
      }
      if (text.length > MAX_HEADER) throw corrupt(path, "the envelope block is too long");
    }
  } finally {
    await handle.close();
  }
}

/** The message part of a queue file, streamed. */
export function messageStream(path: string, offset: number): Readable {
  return readFrom(path, offset);
}

/** Writes envelope + message to `target` atomically (temporary name, fsync, rename, directory fsync). */
export async function writeQueueFile(target: string, envelope: QueueEnvelope, message: readonly (Buffer | Readable)[]): Promise<void> {
  try {
    await writeAtomically(target, partChunks([Buffer.from(serializeEnvelope(envelope), "utf8"), ...message]));
  } catch (e) {
    throw fileError(`cannot write the queue file ${target}`, e);
  }
}

function corrupt(file: string, why: string): SmtpError {
  return new SmtpError(ErrorCode.CannotOpenFile, `${file} is not a valid smtpkit queue file: ${why}`);
}

export function fileError(what: string, e: unknown): SmtpError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const why = code === "ENOSPC" ? "the disk is full" : code === "EROFS" ? "the file system is read-only" : code === "EACCES" || code === "EPERM" ? "permission denied" : code === "ENOENT" ? "no such file or directory" : e instanceof Error ? e.message : String(e);
  return new SmtpError(ErrorCode.CannotOpenFile, `${what}: ${why}`, { cause: e });
}

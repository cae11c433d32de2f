/**
 * processQueue(): sends every due .queued file through a pool and files the
 * outcome: deleted (or .sent) when every recipient took it, back to .queued
 * with a later next-attempt time for transient failures, .failed with an
 * .errors file for permanent ones. Each recipient's outcome is kept, so a
 * retry goes only to the recipients that did not take the message yet. New
 * state is written before the claim is released: a crash leaves a stale
 * claim to be taken back, never a lost message. A message sent in full
 * whose verdict was lost (deliveryUnknown, an abort included) is never put
 * back: it may have been delivered, so it goes to .failed for an operator.
 */
import { promises as fsp } from "node:fs";
import { join } from "node:path";
import { ErrorCode, SmtpError } from "../errors.js";
import type { SmtpPool } from "../pool/smtp-pool.js";
import { classify, failedAttempt } from "./attempt-outcome.js";
import { claim, listQueued, ownerId, reclaimStale } from "./queue-claims.js";
import { stateName } from "./queue-names.js";
import { fileError, messageStream, readEnvelope, writeQueueFile, type QueueEnvelope, type RecipientFailure } from "./queue-file.js";
import { syncDirectory, writeAtomically } from "./queue-no-follow.js";

export interface QueueSettings {
  keepQueue: boolean;
  maxAttempts: number;
  retryDelayMs: number;
  claimTimeoutMs: number;
  /** Files in progress at once (the pool bounds the connections). */
  concurrency: number;
}

export type QueueFileStatus = "sent" | "deferred" | "failed" | "partial";

export interface QueueProgressEvent {
  /** The queue file (its .queued name). */
  file: string;
  index: number;
  total: number;
  status: QueueFileStatus;
  /** What happened, in a line: the server's reply or the error. */
  detail: string;
}

/** What processQueue() did with each queue file, by outcome. */
export interface QueueResult {
  /** Files whose message every recipient took. */
  sent: string[];
  /** Files left for a later run (transient failures, or not due yet). */
  deferred: string[];
  /** Files that ended in .failed (every remaining recipient refused, or attempts used up). */
  failed: string[];
  /** Files delivered to some recipients, with a .failed record for the others. */
  partial: string[];
}

export async function processQueueDirectory(dir: string, pool: SmtpPool, settings: QueueSettings, progress: (e: QueueProgressEvent) => void, signal?: AbortSignal): Promise<QueueResult> {
  await assertDirectory(dir);
  await reclaimStale(dir, settings.claimTimeoutMs);
  const names = await listQueued(dir);
  const result: QueueResult = { sent: [], deferred: [], failed: [], partial: [] };
  const owner = ownerId();
  let index = 0;
  let fatal: unknown;
  const next = async (): Promise<void> => {
    for (;;) {
      // After an abort or a configuration error nothing more is claimed.
      if (fatal !== undefined || signal?.aborted) return;
      const i = index++;
      const name = names[i];
      if (name === undefined) return;
      try {
        const outcome = await processFile(dir, name, owner, pool, settings, signal);
        if (!outcome) continue; // another worker has it
        result[outcome.status].push(name);
        progress({ file: name, index: i + 1, total: names.length, status: outcome.status, detail: outcome.detail });
      } catch (e) {
        fatal ??= e;
      }
    }
  };
  // Every loop ends before the result (or the error) is reported: no work continues unseen.
  await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(settings.concurrency, names.length)) }, () => next()));
  if (signal?.aborted) throw signal.reason;
  if (fatal !== undefined) throw fatal;
  return result;
}

async function assertDirectory(dir: string): Promise<void> {
  const stat = await fsp.stat(dir).catch((e: unknown) => {
    throw fileError(`the queue directory ${dir} does not exist`, e);
  });
  if (!stat.isDirectory()) throw new SmtpError(ErrorCode.CannotOpenFile, `${dir} is not a directory`);
}

async function processFile(dir: string, name: string, owner: string, pool: SmtpPool, settings: QueueSettings, signal: AbortSignal | undefined): Promise<{ status: QueueFileStatus; detail: string } | undefined> {
  // Not due yet: look without claiming.
  const peek = await readEnvelope(join(dir, name)).catch(() => undefined);
  if (peek?.envelope.nextAttempt && peek.envelope.nextAttempt.getTime() > Date.now()) {
    return { status: "deferred", detail: `next attempt at ${peek.envelope.nextAttempt.toISOString()}` };
  }
  const claimed = await claim(dir, name, owner);
  if (!claimed) return undefined;
  const { id } = claimed;
  let read: Awaited<ReturnType<typeof readEnvelope>>;
  try {
    read = await readEnvelope(claimed.path);
  } catch (e) {
    // A file nobody can read cannot be sent: set it aside with the reason.
    const err = e instanceof SmtpError ? e : fileError(`cannot read ${claimed.path}`, e);
    await writeErrors(join(dir, stateName(id, "errors")), [], err).catch(() => undefined);
    await moveClaim(claimed.path, join(dir, stateName(id, "failed")));
    return { status: "failed", detail: err.message };
  }
  const { envelope, messageOffset } = read;
  // Re-checked on the claimed copy: another worker may have rescheduled it meanwhile.
  if (envelope.nextAttempt && envelope.nextAttempt.getTime() > Date.now()) {
    await moveClaim(claimed.path, join(dir, name));
    return { status: "deferred", detail: `next attempt at ${envelope.nextAttempt.toISOString()}` };
  }
  const done = new Set(envelope.delivered.map((a) => a.toLowerCase()));
  const failed = new Map(envelope.failed.map((f) => [f.address.toLowerCase(), f]));
  const remaining = envelope.recipients.filter((r) => !done.has(r.address.toLowerCase()) && !failed.has(r.address.toLowerCase()));
  const newlyFailed: RecipientFailure[] = [];
  let detail = "";
  let overall: SmtpError | undefined;

  if (remaining.length) {
    try {
      const sent = await pool.sendMessage(
        envelope.sender === "" ? "<>" : envelope.sender,
        remaining.map((r) => ({ address: r.address, options: r.options, type: r.type ?? 0 })),
        messageStream(claimed.path, messageOffset),
      );
      classify(sent.recipients, done, newlyFailed);
      detail = sent.reply;
    } catch (e) {
      const err = SmtpError.from(e);
      const outcome = failedAttempt(err, remaining, done, signal?.aborted === true);
      if (outcome.kind === "unknown") {
        // Filed for an operator (attempt counted), never put back for a blind resend.
        for (const r of remaining) newlyFailed.push({ address: r.address, reply: err.message });
      } else if (outcome.kind === "putBack") {
        await moveClaim(claimed.path, join(dir, name));
        throw signal?.aborted ? signal.reason : err;
      } else newlyFailed.push(...outcome.newlyFailed);
      detail = err.message;
      overall = err;
    }
  }
  for (const f of newlyFailed) failed.set(f.address.toLowerCase(), f);
  const pending = envelope.recipients.filter((r) => !done.has(r.address.toLowerCase()) && !failed.has(r.address.toLowerCase()));
  const attempts = envelope.attempts + 1;
  const base: QueueEnvelope = { ...envelope, attempts, delivered: [...done].map((a) => original(envelope, a)), failed: [...failed.values()] };

  const retry = pending.length > 0 && attempts < settings.maxAttempts;
  if (retry) {
    // The claimed file gets the new state before it goes back: a reclaimed
    // copy will not go again to a recipient that already took it.
    const delay = settings.retryDelayMs * 2 ** (attempts - 1);
    await writeQueueFile(claimed.path, { ...base, nextAttempt: new Date(Date.now() + delay) }, [messageStream(claimed.path, messageOffset)]);
    await moveClaim(claimed.path, join(dir, name));
    return { status: "deferred", detail: `attempt ${attempts} of ${settings.maxAttempts}: ${detail}` };
  }
  for (const r of pending) failed.set(r.address.toLowerCase(), { address: r.address, reply: `gave up after ${attempts} attempts: ${overall?.message ?? detail}` });
  const allFailed = [...failed.values()];
  // From here on nothing is sent again, so a full disk may not turn into a
  // duplicate: records are best effort, the claim is always finished.
  if (allFailed.length) await writeErrors(join(dir, stateName(id, "errors")), allFailed, overall).catch(() => undefined);
  if (done.size === 0) {
    await writeQueueFile(claimed.path, { ...base, failed: allFailed, nextAttempt: undefined }, [messageStream(claimed.path, messageOffset)]).catch(() => undefined);
    await moveClaim(claimed.path, join(dir, stateName(id, "failed")));
    return { status: "failed", detail };
  }
  if (allFailed.length) {
    // Delivered to some: a .failed record with just the refused recipients.
    await writeQueueFile(join(dir, stateName(id, "failed")), { ...base, nextAttempt: undefined, failed: allFailed, delivered: [], recipients: envelope.recipients.filter((r) => failed.has(r.address.toLowerCase())) }, [messageStream(claimed.path, messageOffset)]).catch(() => undefined);
  }
  if (settings.keepQueue) {
    await writeQueueFile(claimed.path, { ...base, failed: allFailed, nextAttempt: undefined }, [messageStream(claimed.path, messageOffset)]).catch(() => undefined);
    await moveClaim(claimed.path, join(dir, stateName(id, "sent")));
  } else await removeClaim(claimed.path);
  return { status: allFailed.length ? "partial" : "sent", detail };
}

function original(e: QueueEnvelope, lower: string): string {
  return e.recipients.find((r) => r.address.toLowerCase() === lower)?.address ?? lower;
}

async function writeErrors(path: string, failures: readonly RecipientFailure[], err: SmtpError | undefined): Promise<void> {
  const lines = [
    `smtpkit queue errors, ${new Date().toISOString()}`,
    ...(err ? [`error ${err.code}: ${err.message}`, ...(err.lastReply ? [`last reply: ${err.lastReply.replace(/\r?\n/g, " / ")}`] : [])] : []),
    ...failures.map((f) => `<${f.address}> ${f.reply.replace(/\r?\n/g, " / ")}`),
  ];
  try {
    await writeAtomically(path, Buffer.from(lines.join("\n") + "\n", "utf8"));
  } catch (e) {
    throw fileError(`cannot write ${path}`, e);
  }
}

async function moveClaim(from: string, to: string): Promise<void> {
  try {
    await fsp.rename(from, to);
  } catch (e) {
    throw fileError(`cannot rename ${from} to ${to}`, e);
  }
  await syncDirectory(join(to, ".."));
}

async function removeClaim(path: string): Promise<void> {
  await fsp.rm(path, { force: true });
  await syncDirectory(join(path, ".."));
}

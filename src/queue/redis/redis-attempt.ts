/**
 * One delivery attempt of a Redis outbox job, inside a BullMQ worker.
 *
 * Exactly once, or delivery unknown and at most once: before the end of the
 * message goes out (the final "." or BDAT LAST, the moment the server may
 * take it), the worker checks that it still holds the job's lock and records
 * a `sending` mark in Redis; the message's last bytes wait for both. A
 * worker that dies before that never finished the message (the server
 * discards it) and the job is safe to send again. One that dies after it
 * leaves the mark, and the worker that takes the job back files it as
 * delivery unknown instead of sending it again. A worker that lost its lock
 * (Redis down for longer than QueueLockDuration, its job handed to another
 * worker) stops before the end of the message.
 */
import { hostname } from "node:os";
import { Readable } from "node:stream";
import type { Job } from "bullmq";
import { ErrorCode, SmtpError } from "../../errors.js";
import type { SmtpPool } from "../../pool/smtp-pool.js";
import { classify, failedAttempt } from "../attempt-outcome.js";
import type { RecipientFailure } from "../queue-file.js";
import type { QueueFileStatus } from "../queue-processor.js";
import type { BullMQModule } from "./redis-driver.js";
import { readDelivery, readJobData, type JobDelivery, type MessageJobData } from "./redis-job.js";

export type MessageJob = Job<MessageJobData, JobOutcome>;

export interface JobOutcome {
  status: QueueFileStatus;
  /** What happened, in a line: the server's reply or the error. */
  detail: string;
  /** What the processor throws for BullMQ: UnrecoverableError (to the failed set) or Error (retried with back-off). */
  fail?: Error;
  /** The attempt did not count (our own set-up failed, the relay cannot be reached, the run was aborted): the job is back in the queue as it was. */
  putBack?: SmtpError;
}

export interface AttemptContext {
  bullmq: BullMQModule;
  pool: SmtpPool;
  lockMs: number;
  /** Aborts the run (processQueue's signal): jobs not sent in full go back. */
  signal: AbortSignal | undefined;
  /** How long a job put back waits before it is due again (a worker backing off from a relay that is down). */
  putBackDelayMs: () => number;
}

const WORKER = `${hostname()}:${process.pid}`;

/** The attempt's outcome; a failure of Redis itself rejects (BullMQ then retries or the job stalls). */
export async function attemptJob(job: MessageJob, token: string, ctx: AttemptContext): Promise<JobOutcome> {
  const { UnrecoverableError } = ctx.bullmq;
  const failWith = (status: QueueFileStatus, detail: string): JobOutcome => ({ status, detail, fail: new UnrecoverableError(detail) });
  const id = job.id ?? "?";
  let data: ReturnType<typeof readJobData>;
  try {
    data = readJobData(job.data, id);
  } catch (e) {
    return failWith("failed", SmtpError.from(e).message);
  }
  const state = readDelivery(job.progress);
  // Its last worker died after the whole message may have gone out: never sent again by itself.
  if (state.unknown || state.sending) {
    const unknown = state.unknown ?? { at: new Date().toISOString(), recipients: state.sending?.recipients ?? [], reason: `delivery unknown: worker ${state.sending?.worker ?? "?"} stopped after it was cleared to end the message at ${state.sending?.at ?? "?"} and before the server's verdict was recorded: the server may have taken it` };
    if (!state.unknown) await job.updateProgress({ delivered: state.delivered, failed: state.failed, unknown } satisfies JobDelivery);
    return failWith("failed", unknown.reason);
  }
  const done = new Set(state.delivered.map((a) => a.toLowerCase()));
  let failed = new Map(state.failed.map((f) => [f.address.toLowerCase(), f]));
  let remaining = data.recipients.filter((r) => !done.has(r.address.toLowerCase()) && !failed.has(r.address.toLowerCase()));
  if (remaining.length === 0) {
    if (failed.size === 0) return { status: "sent", detail: "every recipient took it in an earlier attempt" };
    // A failed job retried from outside (job.retry(), a BullMQ UI): its refused recipients get another try.
    remaining = data.recipients.filter((r) => failed.has(r.address.toLowerCase()));
    failed = new Map();
  }

  let gateError: unknown;
  const gate = async (): Promise<void> => {
    try {
      if ((await job.extendLock(token, ctx.lockMs)) !== 1) throw new SmtpError(ErrorCode.Interrupted, `job ${id}: this worker lost its lock (another worker has the job); the message was not finished`);
      await job.updateProgress({ delivered: [...done].map((a) => original(data, a)), failed: [...failed.values()], sending: { at: new Date().toISOString(), worker: WORKER, recipients: remaining.map((r) => r.address) } } satisfies JobDelivery);
    } catch (e) {
      gateError = e;
      throw e;
    }
  };

  const newlyFailed: RecipientFailure[] = [];
  let detail: string;
  let overall: SmtpError | undefined;
  try {
    const sent = await ctx.pool.sendMessage(
      data.sender === "" ? "<>" : data.sender,
      remaining.map((r) => ({ address: r.address, options: r.options, type: r.type ?? 0 })),
      gatedMessage(data.bytes, gate),
    );
    classify(sent.recipients, done, newlyFailed);
    detail = sent.reply;
  } catch (e) {
    // The end of the message never went out: nothing to record, and another worker may own the job now.
    if (gateError !== undefined) throw SmtpError.from(gateError, ErrorCode.QueueBackend, `job ${id}: cannot record the send in Redis`);
    const err = SmtpError.from(e);
    const outcome = failedAttempt(err, remaining, done, ctx.signal?.aborted === true);
    if (outcome.kind === "unknown") {
      const reason = `delivery unknown: ${err.message}`;
      await job.updateProgress({ delivered: [...done].map((a) => original(data, a)), failed: [...failed.values()], unknown: { at: new Date().toISOString(), recipients: remaining.map((r) => r.address), reason } } satisfies JobDelivery);
      return failWith("failed", reason);
    }
    if (outcome.kind === "putBack") {
      await job.moveToDelayed(Date.now() + ctx.putBackDelayMs(), token);
      return { status: "deferred", detail: err.message, putBack: err };
    }
    newlyFailed.push(...outcome.newlyFailed);
    detail = err.message;
    overall = err;
  }
  for (const f of newlyFailed) failed.set(f.address.toLowerCase(), f);
  const pending = data.recipients.filter((r) => !done.has(r.address.toLowerCase()) && !failed.has(r.address.toLowerCase()));
  const attempt = job.attemptsMade + 1;
  const attempts = job.opts.attempts ?? 1;
  if (pending.length > 0 && attempt >= attempts) {
    for (const r of pending) failed.set(r.address.toLowerCase(), { address: r.address, reply: `gave up after ${attempt} attempts: ${overall?.message ?? detail}` });
  }
  // The outcome replaces the sending mark before the job moves on: taken back later, it goes only to those still waiting.
  await job.updateProgress({ delivered: [...done].map((a) => original(data, a)), failed: [...failed.values()] } satisfies JobDelivery);
  if (pending.length > 0 && attempt < attempts) {
    // BullMQ retries it after QueueRetryDelay × 2^(attempt − 1).
    const line = `attempt ${attempt} of ${attempts}: ${detail}`;
    return { status: "deferred", detail: line, fail: new Error(line) };
  }
  if (failed.size > 0) {
    const report = [...failed.values()].map((f) => `<${f.address}> ${f.reply.replace(/\r?\n/g, " / ")}`).join("\n");
    return failWith(done.size > 0 ? "partial" : "failed", `${done.size > 0 ? `delivered to ${done.size}, ` : ""}not delivered to ${failed.size}:\n${report}`);
  }
  return { status: "sent", detail };
}

/** The message as a stream whose end waits for `gate`: the engine writes the end-of-data marker only after the stream ends. */
function gatedMessage(bytes: Buffer, gate: () => Promise<void>): Readable {
  let offset = 0;
  const CHUNK = 64 * 1024;
  return new Readable({
    read() {
      if (offset < bytes.length) {
        this.push(bytes.subarray(offset, (offset += CHUNK)));
        return;
      }
      gate().then(() => this.push(null), (e: unknown) => this.destroy(e instanceof Error ? e : new Error(String(e))));
    },
  });
}

function original(data: MessageJobData, lower: string): string {
  return data.recipients.find((r) => r.address.toLowerCase() === lower)?.address ?? lower;
}

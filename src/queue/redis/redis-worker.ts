/**
 * BullMQ workers for the Redis outbox: processQueue(url) sends what is due
 * and returns (drainRedisQueue); startQueueWorker(url) keeps sending as jobs
 * arrive until close(). Both send through one SmtpPool built from the
 * client, take QueueConcurrency jobs at once, and share the queue's global
 * rate limit (QueueGlobalRateLimit) with every other worker.
 */
import type { Worker } from "bullmq";
import type { SmtpClient } from "../../client/smtp-client.js";
import { emitError } from "../../client/client-events.js";
import { ErrorCode, SmtpError } from "../../errors.js";
import type { SmtpPool } from "../../pool/smtp-pool.js";
import { queueConcurrency, queuePool } from "../queue-pool.js";
import type { QueueProgressEvent, QueueResult } from "../queue-processor.js";
import type { QueueWorker } from "./queue-worker.js";
import { limiterWindow } from "./rate-window.js";
import { attemptJob, type JobOutcome, type MessageJob } from "./redis-attempt.js";
import { loadDriver, openRedis, redisError, redisTimeoutMs, type BullMQModule, type RedisClient } from "./redis-driver.js";
import type { MessageJobData } from "./redis-job.js";
import { parseRedisUrl, type RedisTarget } from "./redis-url.js";

/** A worker taken back more often than this (it kept dying on the job) fails the job. */
const MAX_STALLS = 5;
/** Back-off of a long-running worker whose own set-up fails (relay unreachable, AUTH refused). */
const SETUP_BACKOFF_MS = { first: 1000, max: 60_000 };

interface RunState {
  pool: SmtpPool;
  connection: RedisClient;
  target: RedisTarget;
  bullmq: BullMQModule;
  /** Each finished job: a drain lists them, a long-running worker only counts them (its memory must not grow). */
  record: (status: JobOutcome["status"], id: string) => void;
  inFlight: number;
  /**
   * Jobs whose processor returned, by id, until BullMQ has filed them (completed, failed or back for a retry).
   * Only a drain needs it (to know when it is done); a long-running worker has none, so nothing grows.
   */
  settling: Map<string, number> | undefined;
  /** BullMQ has looked for a job and found none at least once. */
  drained: boolean;
  /** Jobs started so far ("active"): a job handed over with the last one's outcome starts without a fetch. */
  started: number;
  /** Called after each job and on "drained". */
  onIdle: () => void;
  /** How long a job put back waits (0 for a one-shot run, which stops at the first one). */
  putBackDelayMs: number;
  /** What to do with an attempt that did not count. */
  onPutBack: (err: SmtpError) => Promise<void>;
}

interface Run extends RunState {
  worker: Worker<MessageJobData, JobOutcome>;
}

async function openRun(client: SmtpClient, url: string, signal: AbortSignal | undefined, total: () => number, settling?: Map<string, number>): Promise<Run> {
  const target = parseRedisUrl(url);
  const { bullmq } = loadDriver();
  const store = client.store;
  const connection = await openRedis(target, "worker", redisTimeoutMs(store));
  const pool = queuePool(client);
  const lockMs = store.int("QueueLockDuration") * 1000;
  const rate = store.int("QueueGlobalRateLimit");
  let index = 0;
  const state: RunState = {
    pool,
    connection,
    target,
    bullmq,
    record: () => undefined,
    inFlight: 0,
    settling,
    drained: false,
    started: 0,
    onIdle: () => undefined,
    putBackDelayMs: 0,
    onPutBack: async () => undefined,
  };
  const ctx = { bullmq, pool, lockMs, signal, putBackDelayMs: () => state.putBackDelayMs };
  const processor = async (job: MessageJob, token?: string): Promise<JobOutcome> => {
    state.inFlight++;
    const id = job.id ?? "?";
    try {
      const outcome = await attemptJob(job, token ?? "", ctx);
      state.record(outcome.status, id);
      const event: QueueProgressEvent = { file: id, index: ++index, total: Math.max(total(), index), status: outcome.status, detail: outcome.detail };
      client.events.emit("QueueProgress", event);
      if (outcome.putBack) {
        await state.onPutBack(outcome.putBack);
        // The job is already back in the queue (moveToDelayed): BullMQ must not file it.
        throw new bullmq.DelayedError();
      }
      if (outcome.fail) throw outcome.fail;
      return outcome;
    } finally {
      state.settling?.set(id, Date.now());
      state.inFlight--;
    }
  };
  const worker = new bullmq.Worker<MessageJobData, JobOutcome>(target.queueName, processor, {
    connection,
    autorun: false,
    concurrency: queueConcurrency(client),
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: MAX_STALLS,
    ...(rate > 0 ? { limiter: limiterWindow(rate, store.int("QueueGlobalRateInterval") * 1000) } : {}),
  });
  const run: Run = Object.assign(state, { worker });
  const filed = (job: MessageJob | undefined): void => {
    if (job?.id !== undefined) run.settling?.delete(job.id);
    run.onIdle();
  };
  run.worker.on("completed", filed);
  run.worker.on("failed", filed);
  run.worker.on("active", () => run.started++);
  run.worker.on("drained", () => {
    run.drained = true;
    run.onIdle();
  });
  // Redis going away and coming back is reported, not thrown: the worker reconnects by itself.
  run.worker.on("error", (e) => emitError(client.events, ErrorCode.QueueBackend, redisError(target, e).message));
  return run;
}

/** How long close() waits for an unreachable Redis before it cuts the connections. */
const CLOSE_REDIS_GRACE_MS = 5000;

async function closeRun(run: Run, force: boolean): Promise<void> {
  if (force) await run.pool.close({ force: true });
  // While Redis is away BullMQ's commands wait for it for ever, and so would close(). Work in flight
  // cannot finish without Redis anyway: cut the connections, and its jobs stall and are taken back.
  let downSince: number | undefined;
  const watch = setInterval(() => {
    if (run.connection.status === "ready") downSince = undefined;
    else if ((downSince ??= Date.now()) + CLOSE_REDIS_GRACE_MS <= Date.now()) {
      clearInterval(watch);
      void run.pool.close({ force: true }).catch(() => undefined);
      void run.worker.disconnect().catch(() => undefined);
      run.connection.disconnect();
    }
  }, 250);
  try {
    await run.worker.close();
  } finally {
    clearInterval(watch);
  }
  await run.pool.close();
  run.connection.disconnect();
}

/** processQueue(url): every job that is due now, then it returns with each one's outcome. */
export async function drainRedisQueue(client: SmtpClient, url: string, signal: AbortSignal): Promise<QueueResult> {
  let waitingAtStart = 0;
  const settling = new Map<string, number>();
  const run = await openRun(client, url, signal, () => waitingAtStart, settling);
  const queue = new run.bullmq.Queue(run.target.queueName, { connection: run.connection });
  let fatal: SmtpError | undefined;
  const result: QueueResult = { sent: [], deferred: [], failed: [], partial: [] };
  run.record = (status, id) => result[status].push(id);
  try {
    waitingAtStart = await queue.getJobCountByTypes("wait", "prioritized");
    await new Promise<void>((resolve) => {
      let checking = false;
      const check = async (): Promise<void> => {
        if (checking || !run.drained || run.inFlight > 0) return;
        checking = true;
        const started = run.started;
        try {
          // A job BullMQ did not report filed (a put-back, a failed write) is looked up once it has had a moment.
          for (const [id, at] of settling) {
            if (Date.now() - at > 1000 && (await queue.getJobState(id)) !== "active") settling.delete(id);
          }
          if (settling.size > 0) return;
          // "drained" also comes while the rate limit holds jobs back: done only when none waits.
          const idle = (await queue.getJobCountByTypes("wait", "prioritized")) === 0 || (await queue.isPaused());
          // A job filed for a retry without delay comes straight back to this worker: then it started meanwhile.
          if (idle && run.started === started && run.inFlight === 0) resolve();
        } finally {
          checking = false;
        }
      };
      const timer = setInterval(() => void check().catch(() => undefined), 500);
      const stop = (): void => {
        clearInterval(timer);
        resolve();
      };
      run.onIdle = () => void check().catch(() => undefined);
      // Like a directory run, a failure of our own set-up stops the run: every other job stays as it is.
      run.onPutBack = async (err) => {
        fatal ??= err;
        stop();
      };
      signal.addEventListener("abort", stop, { once: true });
      void run.worker.run().catch((e: unknown) => {
        fatal ??= redisError(run.target, e);
        stop();
      });
      run.worker.once("closed", () => clearInterval(timer));
    });
    if (signal.aborted) await run.pool.close({ force: true });
    await run.worker.close();
    // Jobs still waiting for their time: the directory run lists files not due yet as deferred.
    const later = await queue.getRanges(["delayed"]);
    const listed = new Set(Object.values(result).flat());
    for (const id of later) if (!listed.has(id)) result.deferred.push(id);
  } finally {
    await closeRun(run, signal.aborted).catch(() => undefined);
    await queue.close().catch(() => undefined);
  }
  if (signal.aborted) throw signal.reason;
  if (fatal) throw fatal;
  return result;
}

/** A worker that sends jobs as they arrive until close(). */
export async function startQueueWorker(client: SmtpClient, url: string): Promise<QueueWorker> {
  const run = await openRun(client, url, undefined, () => 0);
  let backoff = SETUP_BACKOFF_MS.first;
  let pausedUntil = 0;
  let closing: Promise<void> | undefined;
  run.onPutBack = async (err) => {
    // Our own set-up failed (relay down, AUTH refused): the job went back; wait before taking more, longer each time.
    emitError(client.events, err.code, `queue worker: ${err.message}; taking no job for ${Math.round(backoff / 1000)} s`);
    if (Date.now() < pausedUntil) return;
    pausedUntil = Date.now() + backoff;
    const wait = backoff;
    backoff = Math.min(backoff * 2, SETUP_BACKOFF_MS.max);
    run.putBackDelayMs = backoff;
    void run.worker.pause(true).then(() => setTimeout(() => {
      if (!closing) run.worker.resume();
    }, wait).unref());
  };
  run.putBackDelayMs = backoff;
  run.worker.on("completed", () => {
    backoff = SETUP_BACKOFF_MS.first;
    run.putBackDelayMs = backoff;
  });
  const closed = run.worker.run().then(() => undefined, (e: unknown) => {
    throw redisError(run.target, e);
  });
  // Observed here so an unwatched failure is not an unhandled rejection; close() and `closed` report it.
  closed.catch(() => undefined);
  const counts = { sent: 0, deferred: 0, failed: 0, partial: 0 };
  run.record = (status) => counts[status]++;
  return {
    url: run.target.label,
    counts,
    closed,
    close: () => (closing ??= closeRun(run, false).then(() => closed)),
  };
}

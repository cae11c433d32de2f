/**
 * IP*Works ProcessQueue() for a client: every due message of a queue
 * directory, or of a Redis queue (a redis:// URL), goes through an SmtpPool
 * built from the client's configuration, and each outcome is filed (see
 * docs/queue.md).
 */
import type { SmtpClient } from "../client/smtp-client.js";
import { queueConcurrency, queuePool } from "./queue-pool.js";
import { processQueueDirectory, type QueueResult } from "./queue-processor.js";
import { drainRedisQueue } from "./redis/redis-worker.js";
import { isRedisUrl } from "./redis/redis-url.js";

export async function processQueue(client: SmtpClient, target: string, signal: AbortSignal): Promise<QueueResult> {
  if (isRedisUrl(target)) return drainRedisQueue(client, target, signal);
  const store = client.store;
  const pool = queuePool(client);
  const onAbort = (): void => void pool.close({ force: true });
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await processQueueDirectory(target, pool, {
      keepQueue: store.bool("KeepQueue"),
      maxAttempts: store.int("QueueMaxAttempts"),
      retryDelayMs: store.int("QueueRetryDelay") * 1000,
      claimTimeoutMs: store.int("QueueClaimTimeout") * 1000,
      concurrency: queueConcurrency(client),
    }, (e) => client.events.emit("QueueProgress", e), signal);
  } finally {
    signal.removeEventListener("abort", onAbort);
    await pool.close();
  }
}

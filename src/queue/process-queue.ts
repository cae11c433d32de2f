/**
 * IP*Works ProcessQueue() for a client: every due file in `dir` goes through
 * an SmtpPool built from the client's configuration (QueueConnections,
 * QueueRateLimit), and each outcome is filed (see docs/queue.md).
 */
import type { SmtpClient } from "../client/smtp-client.js";
import { SmtpPool } from "../pool/smtp-pool.js";
import { processQueueDirectory, type QueueResult } from "./queue-processor.js";

export async function processQueue(client: SmtpClient, dir: string, signal: AbortSignal): Promise<QueueResult> {
  const store = client.store;
  // StopOnToErrors / StopOnCcErrors / StopOnBccErrors apply as they do for send(): each file records its recipients' types.
  const template = client.derived();
  const rate = store.int("QueueRateLimit");
  const pool = new SmtpPool(template, {
    maxConnections: store.int("QueueConnections"),
    maxMessagesPerConnection: 0,
    ...(rate > 0 ? { rateLimit: { messages: rate, intervalMs: 1000 } } : {}),
  });
  pool.on("PITrail", (e) => client.events.emit("PITrail", { direction: e.direction, message: e.message }));
  const onAbort = (): void => void pool.close({ force: true });
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await processQueueDirectory(dir, pool, {
      keepQueue: store.bool("KeepQueue"),
      maxAttempts: store.int("QueueMaxAttempts"),
      retryDelayMs: store.int("QueueRetryDelay") * 1000,
      claimTimeoutMs: store.int("QueueClaimTimeout") * 1000,
      concurrency: store.int("QueueConnections") * 2,
    }, (e) => client.events.emit("QueueProgress", e), signal);
  } finally {
    signal.removeEventListener("abort", onAbort);
    await pool.close();
  }
}

/**
 * The SmtpPool a queue run or worker sends through: built from the client's
 * configuration (QueueConnections, QueueRateLimit, and everything a send
 * uses), its protocol trace passed on to the client's PITrail.
 */
import type { SmtpClient } from "../client/smtp-client.js";
import { SmtpPool } from "../pool/smtp-pool.js";

export function queuePool(client: SmtpClient): SmtpPool {
  const store = client.store;
  // StopOnToErrors / StopOnCcErrors / StopOnBccErrors apply as they do for send(): each message records its recipients' types.
  const rate = store.int("QueueRateLimit");
  const pool = new SmtpPool(client.derived(), {
    maxConnections: store.int("QueueConnections"),
    maxMessagesPerConnection: 0,
    ...(rate > 0 ? { rateLimit: { messages: rate, intervalMs: 1000 } } : {}),
  });
  pool.on("PITrail", (e) => client.events.emit("PITrail", { direction: e.direction, message: e.message }));
  return pool;
}

/** Messages in progress at once: QueueConcurrency, or twice the connections (so the next one is ready when one ends). */
export function queueConcurrency(client: SmtpClient): number {
  const store = client.store;
  return store.int("QueueConcurrency") || store.int("QueueConnections") * 2;
}

/**
 * queue(url): the client's current message, composed and signed as it would
 * be sent, stored with its envelope in a new BullMQ job (redis-job.ts). The
 * job carries the attempts and back-off of the producer's settings.
 */
import type { SmtpClient } from "../../client/smtp-client.js";
import { ErrorCode, SmtpError } from "../../errors.js";
import { partChunks, type MessagePart } from "../../message/message-parts.js";
import { newQueueId } from "../queue-claims.js";
import { redisTimeoutMs } from "./redis-driver.js";
import { messageJobData } from "./redis-job.js";
import { withProducer } from "./redis-producer.js";
import { parseRedisUrl } from "./redis-url.js";

/** Resolves with the new job's id. */
export async function enqueueRedis(client: SmtpClient, url: string): Promise<string> {
  const target = parseRedisUrl(url);
  const store = client.store;
  const composed = await client.compose();
  client.takeStream();
  let message: Buffer;
  try {
    message = await collect(composed.parts, store.int("QueueMaxJobSize"));
  } finally {
    await composed.cleanup?.();
  }
  const data = messageJobData(composed.envelope.sender, composed.envelope.recipients.map((r) => ({ address: r.address, options: r.options, type: r.type })), message);
  const id = newQueueId();
  const timeoutMs = redisTimeoutMs(store);
  await withProducer(target, url, timeoutMs, (queue) =>
    queue.add("message", data, {
      jobId: id,
      attempts: store.int("QueueMaxAttempts"),
      backoff: { type: "exponential", delay: store.int("QueueRetryDelay") * 1000 },
      removeOnComplete: !store.bool("KeepQueue"),
      removeOnFail: false,
    }),
  );
  return id;
}

/** The message in one buffer, refused as soon as it passes `limit` (a job lives in Redis memory whole). */
async function collect(parts: readonly MessagePart[], limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of partChunks(parts)) {
    size += chunk.length;
    if (size > limit) {
      for (const p of parts) if (!Buffer.isBuffer(p)) p.destroy();
      throw new SmtpError(ErrorCode.QueueJobTooLarge, `the message is larger than QueueMaxJobSize (${limit} bytes): not queued`, { hint: "raise config QueueMaxJobSize (Redis holds every job in memory), or queue large messages to a directory" });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

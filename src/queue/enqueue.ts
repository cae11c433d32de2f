/**
 * IP*Works Queue(): the client's current message, composed and signed as it
 * would be sent, written with its envelope to a new `.queued` file, or to a
 * new job of a Redis queue for a redis:// URL (redis/redis-enqueue.ts).
 */
import { promises as fsp } from "node:fs";
import { join } from "node:path";
import type { SmtpClient } from "../client/smtp-client.js";
import { ErrorCode, SmtpError } from "../errors.js";
import { newQueueId } from "./queue-claims.js";
import { fileError, QUEUE_FORMAT_VERSION, writeQueueFile } from "./queue-file.js";
import { enqueueRedis } from "./redis/redis-enqueue.js";
import { isRedisUrl } from "./redis/redis-url.js";

/** Returns the new file's path (or job id); the file appears complete or not at all, and a message stream is copied, not buffered. */
export async function enqueue(client: SmtpClient, dir: string): Promise<string> {
  if (isRedisUrl(dir)) return enqueueRedis(client, dir);
  const stat = await fsp.stat(dir).catch((e: unknown) => {
    throw fileError(`the queue directory ${dir} does not exist`, e);
  });
  if (!stat.isDirectory()) throw new SmtpError(ErrorCode.CannotOpenFile, `${dir} is not a directory`);
  const composed = await client.compose();
  client.takeStream();
  const path = join(dir, `${newQueueId()}.queued`);
  await writeQueueFile(path, {
    version: QUEUE_FORMAT_VERSION,
    created: new Date(),
    sender: composed.envelope.sender,
    recipients: composed.envelope.recipients.map((r) => ({ address: r.address, options: r.options, type: r.type })),
    attempts: 0,
    nextAttempt: undefined,
    delivered: [],
    failed: [],
  }, composed.parts).finally(() => composed.cleanup?.());
  return path;
}

/**
 * One BullMQ Queue per Redis URL and process, shared by every queue() call:
 * a web server queueing mail per request must not open a connection each
 * time. Its socket is unreferenced while no call is in flight, so an idle
 * producer never keeps a process from exiting.
 */
import type { Queue } from "bullmq";
import { loadDriver, openRedis, redisError, type RedisClient } from "./redis-driver.js";
import type { RedisTarget } from "./redis-url.js";

interface Producer {
  queue: Queue;
  client: RedisClient;
  busy: number;
}

const producers = new Map<string, Promise<Producer>>();

/**
 * Runs `work` with the queue of `target`, connecting first when needed.
 * While the connection is down (a Redis restart) `work` is tried again
 * until `timeoutMs` has passed: it must be idempotent (an add with a fixed
 * job id is: BullMQ stores a job id once).
 */
export async function withProducer<T>(target: RedisTarget, url: string, timeoutMs: number, work: (queue: Queue) => Promise<T>): Promise<T> {
  let pending = producers.get(url);
  if (!pending) {
    pending = openProducer(target, timeoutMs);
    producers.set(url, pending);
    // A failed connection is not kept: the next call tries again.
    pending.catch(() => producers.delete(url));
  }
  const producer = await pending;
  producer.busy++;
  setReferenced(producer.client, true);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        return await work(producer.queue);
      } catch (e) {
        if (producer.client.status === "ready" || Date.now() >= deadline) throw redisError(target, e, timeoutMs);
        await untilReady(producer.client, Math.min(250, deadline - Date.now()));
      }
    }
  } finally {
    if (--producer.busy === 0) setReferenced(producer.client, false);
  }
}

function untilReady(client: RedisClient, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.off("ready", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(ms, 0));
    client.once("ready", done);
  });
}

async function openProducer(target: RedisTarget, timeoutMs: number): Promise<Producer> {
  const { bullmq } = loadDriver();
  const client = await openRedis(target, "producer", timeoutMs);
  const producer: Producer = { queue: new bullmq.Queue(target.queueName, { connection: client }), client, busy: 0 };
  // A reconnection makes a new socket: it starts unreferenced unless a call waits.
  client.on("connect", () => setReferenced(client, producer.busy > 0));
  producer.queue.on("error", () => undefined); // reported by the calls that fail
  setReferenced(client, false);
  return producer;
}

function setReferenced(client: RedisClient, on: boolean): void {
  const socket = (client as unknown as { stream?: { ref?(): void; unref?(): void } }).stream;
  if (on) socket?.ref?.();
  else socket?.unref?.();
}

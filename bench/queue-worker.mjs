#!/usr/bin/env node
// One process of bench/queue-redis.mjs: a producer that fills an outbox, or a
// worker that drains one. Not meant to be run by hand.
//
//   node bench/queue-worker.mjs '<json>'
//
// json: { role: "produce" | "work", smtpkitUrl, target (redis:// URL or a
//         directory), messages (produce), concurrent (produce: in-flight
//         queue() calls for the second half), port (work: the sink),
//         connections (work: QueueConnections) }
//
// produce: queues `messages` copies of one small text message, the first half
//   awaited one at a time, the second half with `concurrent` queue() calls in
//   flight, and prints one JSON line: { serialMs, serialCount, concurrentMs,
//   concurrentCount, cpuUs }.
// work: prints "ready" once loaded, waits for "go" on stdin, then runs
//   startQueueWorker(url) until "stop" on stdin (Redis), or one processQueue(dir)
//   (a directory), and prints one JSON line: { counts, cpuUs, ms, errors }.
//   cpuUs is process.cpuUsage() (user + system) from "go" to the end, close() included.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const sc = JSON.parse(process.argv[2]);
const { Smtp } = await import(sc.smtpkitUrl);
const isRedis = /^rediss?:\/\//.test(sc.target);
// Load the optional peers now, so the timed part does not include it (same realpath: same module instance).
if (isRedis) {
  const req = createRequire(sc.smtpkitUrl);
  req("bullmq");
  req("ioredis");
}

const TEXT = "Hello,\r\n\r\nyour order 4711 has shipped. It should arrive within three working days;\r\nthe parcel can be followed at the carrier's site with the number below.\r\n\r\n  Tracking number: 00340434161094042557\r\n\r\nThank you for shopping with us.\r\n-- \r\nThe shop\r\n";

const cpu = (since) => {
  const u = process.cpuUsage(since);
  return u.user + u.system;
};

if (sc.role === "produce") await produce();
else await work();

async function produce() {
  const m = new Smtp({ from: "Shop <shop@example.com>", sendTo: "ann@example.org", subject: "Your order has shipped", messageText: TEXT });
  const half = Math.floor(sc.messages / 2);
  // A first call opens the producer's Redis connection (or touches the directory); not timed.
  const warm = await m.queue(sc.target);
  let done = 1;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (; done < half; done++) await m.queue(sc.target);
  const t1 = performance.now();
  const serialCount = done - 1;
  let next = done;
  const lane = async () => {
    while (next < sc.messages) {
      next++;
      await m.queue(sc.target);
    }
  };
  await Promise.all(Array.from({ length: sc.concurrent }, lane));
  const t2 = performance.now();
  process.stdout.write(
    JSON.stringify({ first: warm, serialMs: t1 - t0, serialCount, concurrentMs: t2 - t1, concurrentCount: sc.messages - done, cpuUs: cpu(cpu0) }) + "\n",
  );
  process.exit(0);
}

async function work() {
  const smtp = new Smtp({ mailServer: "127.0.0.1", mailPort: sc.port });
  smtp.config(`QueueConnections=${sc.connections}`);
  const errors = [];
  smtp.on("Error", (e) => errors.length < 5 && errors.push(`${e.errorCode ?? e.code ?? ""} ${e.description ?? e.message ?? ""}`.trim()));
  const lines = createInterface({ input: process.stdin });
  const heard = (word) => new Promise((resolve) => lines.on("line", (l) => l.trim() === word && resolve()));
  const go = heard("go");
  const stop = heard("stop");
  process.stdout.write("ready\n");
  await go;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let counts;
  if (isRedis) {
    const w = await smtp.startQueueWorker(sc.target);
    await Promise.race([stop, w.closed]);
    await w.close();
    counts = { ...w.counts };
  } else {
    const r = await smtp.processQueue(sc.target);
    counts = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.length]));
  }
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ counts, cpuUs: cpu(cpu0), ms, errors }) + "\n");
  process.exit(0);
}

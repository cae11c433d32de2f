/**
 * The outbox on Redis (docs/queue.md): web servers queue mail, workers on
 * any machine send it, with one rate limit for all of them. Needs the
 * optional peers: npm install bullmq ioredis.
 *
 *   # a producer: queues messages and prints their job ids (no SMTP traffic)
 *   node examples/dist/redis-outbox.js produce --redis 'redis://127.0.0.1:6379/0?queue=mail' \
 *     --from shop@example.com --to ann@example.org --count 3
 *   # a worker: sends jobs as they arrive until Ctrl-C / SIGTERM, then lets the ones in flight finish
 *   node examples/dist/redis-outbox.js work --redis 'redis://127.0.0.1:6379/0?queue=mail' \
 *     --server 127.0.0.1 --port 2525 --rate 20
 */
import { parseArgs } from "node:util";
import { Smtp, SmtpError } from "smtpkit";

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    redis: { type: "string", default: "redis://127.0.0.1:6379/0?queue=mail" },
    server: { type: "string", default: "localhost" },
    port: { type: "string", default: "25" },
    from: { type: "string" },
    to: { type: "string" },
    count: { type: "string", default: "1" },
    rate: { type: "string", default: "0" },
  },
});

async function produce(): Promise<void> {
  if (!args.from || !args.to) throw new Error("produce needs --from and --to");
  for (let i = 1; i <= Number(args.count); i++) {
    const m = new Smtp({ from: args.from, sendTo: args.to, subject: `Order ${i}`, messageText: `Thank you for order ${i}.\r\n` });
    // The message is composed (and signed, with DKIM or S/MIME set) here; the job holds it as it will be sent.
    console.log(`queued job ${await m.queue(args.redis)}`);
  }
}

async function work(): Promise<void> {
  const s = new Smtp({ mailServer: args.server, mailPort: Number(args.port) });
  // Shared by every worker of the queue: give each the same value.
  s.config(`QueueGlobalRateLimit=${args.rate}`);
  s.on("QueueProgress", (e) => console.log(`${e.status.padEnd(8)} ${e.file} ${e.detail.replace(/\r?\n/g, " / ")}`));
  s.on("Error", (e) => console.error(`warning ${e.errorCode}: ${e.description}`));
  const worker = await s.startQueueWorker(args.redis);
  console.log(`watching ${worker.url}; Ctrl-C stops after the messages in flight`);
  const stop = (): void => void worker.close();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await worker.closed;
  console.log(`stopped: ${JSON.stringify(worker.counts)}`);
}

try {
  if (positionals[0] === "produce") await produce();
  else if (positionals[0] === "work") await work();
  else {
    console.log("usage: redis-outbox.js produce|work [--redis URL] ...");
    process.exitCode = 2;
  }
} catch (e) {
  // 630: Redis cannot be used (not running, wrong password, TLS); 631: the message is too large for a job.
  console.error(e instanceof SmtpError ? `Error ${e.code}: ${e.message}` : e);
  process.exitCode = 1;
}

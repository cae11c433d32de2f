// A "machine" for spec/integration/redis-queue-cluster.spec.ts, in its own
// process, running a private copy of the built package (SMTPKIT_DIST, the
// directory of dist/esm):
//
//   node redis-cluster-process.mjs produce <url> <count> <prefix> <paceMs>
//     queues <count> messages with Message-IDs <prefix-i@cluster.test>, one
//     every paceMs, prints {"queued":n,"failures":[...]} and exits 0;
//   node redis-cluster-process.mjs cli <args...>
//     runs the smtpkit command (e.g. process-queue URL --watch ...).
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";

const dist = process.env.SMTPKIT_DIST;
if (!dist) {
  process.stderr.write("SMTPKIT_DIST is not set\n");
  process.exit(64);
}
const [role, ...args] = process.argv.slice(2);

if (role === "cli") {
  const { run } = await import(pathToFileURL(join(dist, "cli", "main.js")).href);
  process.exitCode = await run(args, { version: "test" });
} else if (role === "produce") {
  const { Smtp } = await import(pathToFileURL(join(dist, "index.js")).href);
  const [url, count, prefix, pace] = args;
  const failures = [];
  let queued = 0;
  for (let i = 0; i < Number(count); i++) {
    const m = new Smtp({ from: "Producer <producer@example.com>", sendTo: `rcpt-${i % 7}@example.org`, subject: `${prefix} ${i}`, messageText: `message ${i} of ${prefix}\r\n`, messageId: `<${prefix}-${i}@cluster.test>`, timeout: 30 });
    try {
      await m.queue(url);
      queued++;
    } catch (e) {
      failures.push({ i, code: e?.code, message: String(e?.message ?? e) });
    }
    await sleep(Number(pace));
  }
  process.stdout.write(JSON.stringify({ queued, failures }) + "\n");
} else {
  process.stderr.write(`unknown role ${role}\n`);
  process.exit(64);
}

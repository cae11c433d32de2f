#!/usr/bin/env node
// The Redis outbox (BullMQ) next to the file outbox, over loopback. Run by
// hand; not a test.
//
//   npm run build && node bench/queue-redis.mjs [--messages 4000] [--runs 2]
//                        [--workers 1,2,4] [--concurrent 16] [--only redis,file]
//
// For each kind of outbox and each number of worker processes K (runs
// interleaved, medians shown):
//   1. fill: one producer process queues --messages copies of one small text
//      message (about 700 bytes composed) with queue(target): the first half
//      awaited one at a time, the second half with --concurrent calls in
//      flight. Both rates are reported.
//   2. drain: K worker processes (bench/queue-worker.mjs), all loaded and
//      waiting, get "go" at once. Redis: each runs startQueueWorker(url) until
//      told to stop; a directory: each runs one processQueue(dir), all on the
//      same directory (claims by rename). QueueConnections=4 in each. Timed
//      from "go" until the sink has received every message; CPU is the
//      workers' process.cpuUsage() from "go" to their exit (close() included)
//      and, for Redis, redis-server's own (from /proc), per message.
// A fresh queue name (Redis) or directory per fill. The sink is
// bench/counting-sink.mjs (PIPELINING, no CHUNKING), polled with "peek" for
// its message count. Redis is a private redis-server on a free port with its
// AOF in a temporary directory (appendonly yes, appendfsync everysec), stopped
// by its PID at the end. After each drain the queue (or directory) is checked
// for leftovers: jobs waiting, active, delayed or failed; files not sent.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { freePort, machine, median, parseArgs, snapshotSmtpkit, stopAllChildren } from "./lib.mjs";

const WORKER = fileURLToPath(new URL("./queue-worker.mjs", import.meta.url));
const COUNTING_SINK = fileURLToPath(new URL("./counting-sink.mjs", import.meta.url));
const REDIS_SERVER = "/usr/bin/redis-server";
const CONNECTIONS = 4;
const DRAIN_TIMEOUT_MS = 180_000;

const opts = parseArgs(process.argv.slice(2));
if (opts.help) {
  console.log("usage: node bench/queue-redis.mjs [--messages 4000] [--runs 2] [--workers 1,2,4] [--concurrent 16] [--only redis,file]");
  process.exit(0);
}
const messages = int(opts.messages, 4000);
const runs = int(opts.runs, 2);
const concurrent = int(opts.concurrent, 16);
const workerCounts = String(opts.workers ?? "1,2,4").split(",").map(Number).filter((n) => n > 0);
const kinds = String(opts.only ?? "redis,file").split(",").filter((k) => k === "redis" || k === "file");

// ------------------------------------------------------------ our children

const children = new Set();
function track(proc) {
  children.add(proc);
  proc.once("exit", () => children.delete(proc));
  return proc;
}
const temps = [];
process.once("exit", () => {
  for (const p of children) p.kill("SIGTERM");
  stopAllChildren();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM"]) process.once(sig, () => process.exit(130));

function stopChild(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const hard = setTimeout(() => proc.kill("SIGKILL"), 5000);
    proc.once("exit", () => {
      clearTimeout(hard);
      resolve();
    });
    proc.kill("SIGTERM");
  });
}

function tempDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

// ------------------------------------------------------------ redis-server

function resp(port, command) {
  return new Promise((resolve) => {
    const c = connect(port, "127.0.0.1");
    let got = "";
    const done = (v) => (c.destroy(), resolve(v));
    c.setTimeout(1000, () => done(""));
    c.on("connect", () => c.write(command + "\r\n"));
    c.on("data", (d) => {
      got += d;
      if (got.endsWith("\r\n")) done(got.trim());
    });
    c.on("error", () => done(""));
  });
}

async function startRedis() {
  if (!existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} is not installed`);
  const port = await freePort();
  const dir = tempDir("smtpkit-bench-redis-");
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no", "--logfile", ""];
  const proc = track(spawn(REDIS_SERVER, args, { stdio: ["ignore", "ignore", "pipe"] }));
  let err = "";
  proc.stderr.on("data", (d) => (err += d));
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}): ${err.trim().slice(0, 300)}`);
    if ((await resp(port, "PING")) === "+PONG") {
      return { port, pid: proc.pid, proc, stop: () => stopChild(proc).then(() => rmSync(dir, { recursive: true, force: true })) };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stopChild(proc);
  throw new Error(`redis-server did not answer PING on 127.0.0.1:${port}`);
}

/** CPU time (user + system) of a process so far, in µs, from /proc (0 where there is none). */
function procCpuUs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

/** Jobs of a queue in each BullMQ state, read with plain commands. */
async function jobCounts(port, queue) {
  const k = `bull:${queue}:`;
  const n = async (cmd) => Number((await resp(port, cmd)).replace(/^:/, "")) || 0;
  return {
    wait: await n(`LLEN ${k}wait`),
    active: await n(`LLEN ${k}active`),
    delayed: await n(`ZCARD ${k}delayed`),
    failed: await n(`ZCARD ${k}failed`),
    completed: await n(`ZCARD ${k}completed`),
  };
}

// ------------------------------------------------------------ the sink

async function startSink() {
  const proc = track(spawn(process.execPath, [COUNTING_SINK], { stdio: ["pipe", "pipe", "inherit"] }));
  const lines = createInterface({ input: proc.stdout });
  const waiting = [];
  const port = await new Promise((resolve, reject) => {
    proc.once("exit", (code) => reject(new Error(`counting sink exited (${code})`)));
    lines.on("line", (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
      else waiting.shift()?.(JSON.parse(line));
    });
  });
  const ask = (cmd) =>
    new Promise((resolve) => {
      waiting.push(resolve);
      proc.stdin.write(cmd + "\n");
    });
  return {
    port,
    peek: () => ask("peek"),
    take: () => ask("take"),
    stop() {
      proc.stdin.end();
      return stopChild(proc);
    },
  };
}

// ------------------------------------------------------------ producer and workers

function runProducer(smtpkitUrl, target) {
  return new Promise((resolve, reject) => {
    const p = track(spawn(process.execPath, [WORKER, JSON.stringify({ role: "produce", smtpkitUrl, target, messages, concurrent })], { stdio: ["ignore", "pipe", "pipe"] }));
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), DRAIN_TIMEOUT_MS);
    p.on("exit", (code) => {
      clearTimeout(timer);
      try {
        if (code === 0) return resolve(JSON.parse(out));
      } catch {
        /* below */
      }
      reject(new Error(`producer failed (exit ${code}): ${(err || out).trim().split("\n").slice(-3).join(" | ")}`));
    });
  });
}

/** Spawns a worker and resolves once it printed "ready"; result resolves with its JSON line. */
function startWorker(smtpkitUrl, target, port) {
  const p = track(spawn(process.execPath, [WORKER, JSON.stringify({ role: "work", smtpkitUrl, target, port, connections: CONNECTIONS })], { stdio: ["pipe", "pipe", "pipe"] }));
  let err = "";
  p.stderr.on("data", (d) => (err += d));
  p.stdin.on("error", () => undefined); // a directory worker may have exited before "stop"
  const lines = createInterface({ input: p.stdout });
  let onReady;
  const ready = new Promise((resolve, reject) => {
    onReady = resolve;
    p.once("exit", (code) => reject(new Error(`worker exited (${code}) before ready: ${err.trim().split("\n").slice(-3).join(" | ")}`)));
  });
  const result = new Promise((resolve) => {
    lines.on("line", (line) => {
      if (line === "ready") return onReady();
      try {
        resolve(JSON.parse(line));
      } catch {
        /* not ours */
      }
    });
    p.once("exit", (code) => resolve({ exit: code, stderr: err.trim().split("\n").slice(-3).join(" | ") }));
  });
  return { proc: p, ready, result, send: (word) => p.exitCode === null && p.signalCode === null && p.stdin.writable && p.stdin.write(word + "\n") };
}

// ------------------------------------------------------------ one scenario

async function scenario(kind, k, run, ctx) {
  const tag = `${kind} x${k} run ${run + 1}`;
  const queueName = `bench-${process.pid}-${run}-${k}-${Math.random().toString(36).slice(2, 8)}`;
  const target = kind === "redis" ? `redis://127.0.0.1:${ctx.redis.port}/0?queue=${queueName}` : tempDir("smtpkit-bench-outbox-");
  const odd = [];

  const fill = await runProducer(ctx.smtpkit.url, target);
  const serialRate = (fill.serialCount * 1000) / fill.serialMs;
  const concurrentRate = (fill.concurrentCount * 1000) / fill.concurrentMs;
  const queued = kind === "redis" ? (await jobCounts(ctx.redis.port, queueName)).wait : readdirSync(target).filter((f) => f.endsWith(".queued")).length;
  if (queued !== messages) odd.push(`${queued} queued after the fill, expected ${messages}`);

  const workers = Array.from({ length: k }, () => startWorker(ctx.smtpkit.url, target, ctx.sink.port));
  await Promise.all(workers.map((w) => w.ready));
  await ctx.sink.take();
  const redisCpu0 = kind === "redis" ? procCpuUs(ctx.redis.pid) : 0;
  const t0 = performance.now();
  for (const w of workers) w.send("go");
  let received = 0;
  let timedOut = false;
  for (;;) {
    received = (await ctx.sink.peek()).messages;
    if (received >= messages) break;
    if (performance.now() - t0 > DRAIN_TIMEOUT_MS) {
      timedOut = true;
      break;
    }
    if (kind === "file" && workers.every((w) => w.proc.exitCode !== null)) {
      received = (await ctx.sink.peek()).messages;
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const ms = performance.now() - t0;
  const redisCpuUs = kind === "redis" ? procCpuUs(ctx.redis.pid) - redisCpu0 : NaN;
  for (const w of workers) w.send("stop");
  const results = await Promise.all(workers.map((w) => w.result));
  await Promise.all(workers.map((w) => stopChild(w.proc)));
  const stats = await ctx.sink.take();

  if (timedOut) odd.push(`timed out after ${DRAIN_TIMEOUT_MS / 1000} s with ${received} of ${messages} received`);
  if (stats.messages !== messages) odd.push(`the sink received ${stats.messages} messages, expected ${messages}`);
  const counts = { sent: 0, deferred: 0, failed: 0, partial: 0 };
  let workerCpuUs = 0;
  for (const r of results) {
    if (!r.counts) {
      odd.push(`a worker ended without a result (exit ${r.exit}): ${r.stderr}`);
      continue;
    }
    for (const key of Object.keys(counts)) counts[key] += r.counts[key] ?? 0;
    workerCpuUs += r.cpuUs;
    if (r.errors.length) odd.push(`Error events: ${r.errors.join(" / ")}`);
  }
  if (counts.sent !== messages || counts.deferred + counts.failed + counts.partial > 0) odd.push(`workers counted ${JSON.stringify(counts)}`);
  if (kind === "redis") {
    const left = await jobCounts(ctx.redis.port, queueName);
    if (left.wait + left.active + left.delayed + left.failed + left.completed > 0) odd.push(`jobs left in the queue: ${JSON.stringify(left)}`);
  } else {
    const left = readdirSync(target);
    if (left.length > 0) odd.push(`${left.length} files left in the directory (${[...new Set(left.map((f) => f.replace(/^.*\./, ".")))].join(", ")})`);
    rmSync(target, { recursive: true, force: true });
  }

  const r = {
    kind,
    k,
    run,
    serialRate,
    concurrentRate,
    producerCpuPerMsg: fill.cpuUs / (fill.serialCount + fill.concurrentCount),
    ms,
    rate: (messages * 1000) / ms,
    workerCpuPerMsg: workerCpuUs / messages,
    redisCpuPerMsg: redisCpuUs / messages,
    perWorker: results.map((x) => x.counts?.sent ?? 0),
    odd,
  };
  console.log(
    `  ${tag}: fill ${serialRate.toFixed(0)}/s awaited, ${concurrentRate.toFixed(0)}/s with ${concurrent} in flight; drain ${(ms / 1000).toFixed(2)} s = ${r.rate.toFixed(0)} msg/s, ` +
      `workers ${r.workerCpuPerMsg.toFixed(0)} µs CPU/msg${kind === "redis" ? `, redis-server ${r.redisCpuPerMsg.toFixed(0)} µs/msg` : ""}; sent per worker ${r.perWorker.join("/")}`,
  );
  for (const o of odd) console.log(`    ODD: ${o}`);
  return r;
}

// ------------------------------------------------------------ main

const smtpkit = await snapshotSmtpkit(fileURLToPath(new URL("..", import.meta.url)));
const m = machine();
console.log(`machine: ${m.cores} cores (${m.model}), ${m.memGiB.toFixed(1)} GiB RAM, node ${m.node}, load average ${m.load}`);
const rv = spawnSync(REDIS_SERVER, ["--version"], { encoding: "utf8" }).stdout?.trim().split(" ").find((w) => w.startsWith("v="));
const bullmqVersion = JSON.parse(readFileSync(fileURLToPath(new URL("../node_modules/bullmq/package.json", import.meta.url)), "utf8")).version;
console.log(`redis-server ${rv ?? "?"} (appendonly yes, appendfsync everysec), bullmq ${bullmqVersion}; ${messages} messages, ${runs} run(s), workers ${workerCounts.join("/")}, QueueConnections=${CONNECTIONS}\n`);

const rows = [];
const ctx = { smtpkit };
let exitCode = 0;
try {
  ctx.sink = await startSink();
  if (kinds.includes("redis")) ctx.redis = await startRedis();
  console.log(`sink: bench/counting-sink.mjs (PIPELINING, no CHUNKING) :${ctx.sink.port}${ctx.redis ? `; redis-server :${ctx.redis.port} (pid ${ctx.redis.pid})` : ""}\n`);
  for (let run = 0; run < runs; run++) {
    for (const k of workerCounts) {
      for (const kind of kinds) {
        try {
          rows.push(await scenario(kind, k, run, ctx));
        } catch (e) {
          exitCode = 1;
          console.log(`  ${kind} x${k} run ${run + 1}: FAILED: ${e.message}`);
        }
      }
    }
  }
} finally {
  await ctx.sink?.stop();
  await ctx.redis?.stop();
}

console.log(`\n${messages} messages, median of ${runs} run(s); CPU per message from "go" to the workers' exit, summed over the workers`);
const header = ["outbox", "workers", "drain msg/s", "workers CPU µs/msg", "redis-server CPU µs/msg", "fill awaited /s", `fill ${concurrent} in flight /s`, "producer CPU µs/msg"];
const table = [];
for (const kind of kinds) {
  for (const k of workerCounts) {
    const rs = rows.filter((r) => r.kind === kind && r.k === k);
    if (rs.length === 0) continue;
    const med = (f, d = 0) => {
      const v = median(rs.map(f));
      return Number.isFinite(v) ? v.toFixed(d) : "";
    };
    const range = (f) => (rs.length > 1 ? ` (${Math.min(...rs.map(f)).toFixed(0)}-${Math.max(...rs.map(f)).toFixed(0)})` : "");
    table.push([
      kind === "redis" ? "Redis (BullMQ)" : "directory",
      String(k),
      med((r) => r.rate) + range((r) => r.rate),
      med((r) => r.workerCpuPerMsg),
      med((r) => r.redisCpuPerMsg),
      med((r) => r.serialRate),
      med((r) => r.concurrentRate),
      med((r) => r.producerCpuPerMsg),
    ]);
  }
}
console.log(`| ${header.join(" | ")} |`);
console.log(`|${header.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`);
for (const row of table) console.log(`| ${row.join(" | ")} |`);
const odd = rows.flatMap((r) => r.odd.map((o) => `${r.kind} x${r.k} run ${r.run + 1}: ${o}`));
console.log(odd.length ? `\n${odd.length} odd observation(s):\n${odd.map((o) => `  ${o}`).join("\n")}` : "\nno leftovers, no errors: every message received exactly once, every job / file gone");
console.log(`load average at the end: ${machine().load}`);
process.exit(exitCode);

function int(v, d) {
  const n = Number.parseInt(v ?? "", 10);
  return Number.isFinite(n) && n > 0 ? n : d;
}

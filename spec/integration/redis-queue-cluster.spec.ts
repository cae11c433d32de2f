/**
 * The Redis outbox across processes standing in for machines (issue 18):
 * producer processes calling queue(url), worker processes running
 * `smtpkit process-queue URL --watch`, one private redis-server (appendonly)
 * and smtp-server on 127.0.0.1 counting what it took by Message-ID.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { Queue, type Job } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyBuiltPackage } from "../support/built-package.js";
import { cliEnvironment } from "../support/cli-runner.js";
import { queueClient } from "../support/client.js";
import { startRedis, type RedisPeer } from "../support/peers/redis.js";
import { startSmtpServer, type Harness, type Hooks } from "../support/smtp-server-harness.js";

const PROJECT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SCRIPT = join(PROJECT, "spec", "support", "redis-cluster-process.mjs");
const root = mkdtempSync(join(tmpdir(), "smtpkit-redis-cluster-"));
const children = new Set<ChildProcess>();
const servers: Harness[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
let dist: string;
let redis: RedisPeer;

beforeAll(async () => {
  [dist, redis] = await Promise.all([copyBuiltPackage(PROJECT, root), startRedis({ appendfsync: "everysec" })]);
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  await Promise.all([...children].map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once("exit", r)))));
  for (const f of cleanups.reverse()) await f();
  await Promise.all(servers.map((s) => s.close()));
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

interface Proc {
  child: ChildProcess;
  stdout: string[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [SCRIPT, ...args], { cwd: root, env: cliEnvironment(root, { SMTPKIT_DIST: dist }), stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  const stdout: string[] = [];
  let stderr = "";
  createInterface({ input: child.stdout as Readable }).on("line", (l) => stdout.push(l));
  child.stderr?.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, stdout, stderr: () => stderr, exited };
}

/** A worker process: `smtpkit process-queue URL --watch`, started once it says it watches. */
async function startWorker(url: string, port: number, settings: Record<string, string | number>): Promise<Proc> {
  const config = Object.entries(settings).flatMap(([k, v]) => ["--config", `${k}=${v}`]);
  const p = start(["cli", "process-queue", url, "--watch", "--json", "--server", `127.0.0.1:${port}`, "--timeout", "20", ...config]);
  const deadline = Date.now() + 30_000;
  while (!p.stderr().includes("watching")) {
    if (Date.now() > deadline || p.child.exitCode !== null) throw new Error(`the worker did not start: ${p.stderr()}`);
    await sleep(50);
  }
  return p;
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function server(hooks: Hooks = {}): Promise<Harness> {
  const s = await startSmtpServer({ hooks, keepRaw: false });
  servers.push(s);
  return s;
}

function inspect(queueName: string): Queue {
  const connection = new Redis({ host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null });
  const q = new Queue(queueName, { connection });
  cleanups.push(async () => {
    await q.close().catch(() => undefined);
    connection.disconnect();
  });
  return q;
}

describe("a worker killed with SIGKILL, at a known moment", () => {
  /** Queues one message (its body about `size` bytes) on a fresh queue of its own; delivered jobs are kept to be looked at. */
  async function queueOne(name: string, messageId: string, size = 100): Promise<string> {
    const m = queueClient(1, { messageId, messageText: `${"x".repeat(76)}\r\n`.repeat(Math.ceil(size / 78)) }, { KeepQueue: "true" });
    return m.queue(redis.url(0, name));
  }

  /** A second worker in this process takes the dead worker's job back once its lock has run out; resolves with the job when it has ended. */
  async function takeOver(name: string, id: string, port: number): Promise<Job> {
    const q = inspect(name);
    const m = queueClient(port, {}, { QueueLockDuration: 1 });
    const worker = await m.startQueueWorker(redis.url(0, name));
    cleanups.push(() => worker.close());
    await until("the job to end", async () => ["completed", "failed"].includes(await q.getJobState(id)));
    await worker.close();
    return (await q.getJob(id)) as Job;
  }

  it("after the whole message went out (its verdict held by the server): the job ends failed as delivery unknown, never sent again", async () => {
    let held: () => void = () => undefined;
    const holding = new Promise<void>((r) => (held = r));
    const srv = await server({
      holdVerdict: () => {
        held();
        return true;
      },
    });
    const name = "killed-after-data";
    const id = await queueOne(name, "<killed-after-data@cluster.test>");
    const a = await startWorker(redis.url(0, name), srv.port, { QueueLockDuration: 1 });
    await holding;
    a.child.kill("SIGKILL");
    await a.exited;
    srv.hooks.holdVerdict = undefined;
    const job = await takeOver(name, id, srv.port);
    expect(await job.getState()).toBe("failed");
    expect(job.failedReason).toMatch(/^delivery unknown: worker [^ ]+:\d+ stopped after it was cleared to end the message at .* the server may have taken it$/);
    expect(job.progress).toMatchObject({ unknown: { recipients: ["rcpt@example.com"] } });
    // One transaction only: the second worker did not send it again.
    expect(srv.mailCommands).toHaveLength(1);
    expect(srv.heldVerdicts).toBe(1);
  }, 60_000);

  it("in the middle of the message (DATA not finished): the server discards it, another worker sends it, delivered once", async () => {
    let started: () => void = () => undefined;
    const inData = new Promise<void>((r) => (started = r));
    const srv = await server({ dataStarted: () => started() });
    const name = "killed-in-data";
    const id = await queueOne(name, "<killed-in-data@cluster.test>", 400_000);
    // 50 kB/s: the 400 kB message takes about 8 s, so the kill lands inside it.
    const a = await startWorker(redis.url(0, name), srv.port, { QueueLockDuration: 1, MaxTransferRate: 50_000 });
    await inData;
    a.child.kill("SIGKILL");
    await a.exited;
    srv.hooks.dataStarted = undefined;
    const job = await takeOver(name, id, srv.port);
    await until("the cut-off transfer to be seen", () => srv.abortedData === 1, 10_000);
    if ((await job.getState()) === "completed") {
      // The usual case: killed before its sending mark, so sent again and delivered once.
      expect(job.returnvalue).toMatchObject({ status: "sent" });
      expect(srv.countById().get("<killed-in-data@cluster.test>")).toBe(1);
      expect(srv.mailCommands).toHaveLength(2);
    } else {
      // The engine reads a body ahead of the throttled socket, so the mark can be stored while
      // bytes are still buffered: then the report is delivery unknown and nothing is resent.
      expect(job.failedReason).toMatch(/^delivery unknown: /);
      expect(srv.countById().get("<killed-in-data@cluster.test>") ?? 0).toBe(0);
      expect(srv.mailCommands).toHaveLength(1);
    }
  }, 60_000);
});

describe("three producers and three workers on one queue", () => {
  it("300 messages, a worker killed with SIGKILL mid-run, Redis restarted: each delivered exactly once, or reported delivery unknown and delivered at most once", async () => {
    // Each 250 comes 150 ms after the message is in, so a killed worker has messages in every phase.
    const srv = await server({ verdictDelayMs: () => 150 });
    const name = "cluster";
    const url = redis.url(0, name);
    const settings = { QueueLockDuration: 2, QueueConnections: 2, QueueConcurrency: 4, QueueRetryDelay: 1 };
    const workers = await Promise.all([0, 1, 2].map(() => startWorker(url, srv.port, settings)));
    const producers = ["alpha", "beta", "gamma"].map((prefix) => start(["produce", url, "100", prefix, "8"]));

    await until("the first 60 messages", () => srv.received.length >= 60);
    const victim = workers[0]!;
    victim.child.kill("SIGKILL");
    expect((await victim.exited).signal).toBe("SIGKILL");
    await until("150 messages", () => srv.received.length >= 150);
    await redis.restart({ downMs: 300 });

    const produced = await Promise.all(producers.map(async (p) => {
      const { code } = await p.exited;
      expect(code, p.stderr()).toBe(0);
      return JSON.parse(p.stdout.at(-1) ?? "{}") as { queued: number; failures: unknown[] };
    }));
    // Nothing a producer handed over was refused: queue() rode out the restart.
    expect(produced).toEqual([{ queued: 100, failures: [] }, { queued: 100, failures: [] }, { queued: 100, failures: [] }]);

    const q = inspect(name);
    // Every job ends: delivered (and removed) or in the failed set; the dead worker's jobs come back after its lock expires.
    await until("every job to finish", async () => (await q.getJobCountByTypes("wait", "active", "delayed", "prioritized")) === 0);
    const failed = (await q.getJobs(["failed"])) as Job[];
    const unknown = new Set<string>();
    for (const job of failed) {
      // The only failures allowed are messages whose verdict the killed worker took with it.
      expect(job.failedReason).toMatch(/^delivery unknown: worker .* stopped after it was cleared to end the message/);
      unknown.add(job.data.messageId as string);
    }
    const counts = srv.countById();
    const ids = ["alpha", "beta", "gamma"].flatMap((p) => Array.from({ length: 100 }, (_, i) => `<${p}-${i}@cluster.test>`));
    for (const id of ids) {
      const n = counts.get(id) ?? 0;
      if (unknown.has(id)) expect(n, id).toBeLessThanOrEqual(1);
      else expect(n, id).toBe(1);
    }
    expect(counts.size).toBe(ids.filter((id) => (counts.get(id) ?? 0) > 0).length);
    // The kill caught messages in flight: transfers cut off (sent again by another worker) or verdicts lost.
    expect(srv.abortedData + unknown.size).toBeGreaterThan(0);

    // SIGTERM: the survivors finish what is in flight and exit 0.
    for (const w of workers.slice(1)) w.child.kill("SIGTERM");
    for (const w of workers.slice(1)) expect((await w.exited).code, w.stderr()).toBe(0);
    for (const w of workers.slice(1)) {
      expect(w.stdout.map((l) => (JSON.parse(l) as { status: string }).status)).toContain("sent");
    }
    console.log(`cluster: ${srv.received.length} received, ${unknown.size} delivery unknown, ${srv.abortedData} transfers cut off by the kill`);
  }, 180_000);
});

describe("the global rate limit", () => {
  it("holds across three worker processes: no sliding second at the server more than 10 % above it", async () => {
    const limit = 100;
    const total = 400;
    const srv = await server();
    const name = "rate";
    const url = redis.url(0, name);
    // Queued before any worker runs, so the limit alone paces them.
    const producer = queueClient(1);
    for (let i = 0; i < total; i++) {
      producer.messageId = `<rate-${i}@cluster.test>`;
      await producer.queue(url);
    }
    const settings = { QueueGlobalRateLimit: limit, QueueGlobalRateInterval: 1, QueueConnections: 2, QueueConcurrency: 4 };
    const workers = await Promise.all([0, 1, 2].map(() => startWorker(url, srv.port, settings)));
    await until("every message", () => srv.received.length >= total);
    for (const w of workers) w.child.kill("SIGTERM");
    for (const w of workers) expect((await w.exited).code, w.stderr()).toBe(0);

    // When each transaction started at the server (MAIL FROM): what the limiter paces.
    const times = [...srv.mailTimes].sort((a, b) => a - b);
    let worst = 0;
    let lo = 0;
    for (let hi = 0; hi < times.length; hi++) {
      while (times[hi]! - times[lo]! >= 1000) lo++;
      worst = Math.max(worst, hi - lo + 1);
    }
    console.log(`rate: limit ${limit}/s, busiest sliding second ${worst}, ${total} messages in ${Math.round(times.at(-1)! - times[0]!)} ms`);
    expect(worst).toBeLessThanOrEqual(limit * 1.1);
    // The workers shared one limit: three of them alone would have sent far faster.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(((total - limit * 1.1) / limit) * 1000);
    // Each worker took part (a JSON line per job it finished).
    for (const w of workers) expect(w.stdout.length).toBeGreaterThan(0);
    expect(srv.countById().size).toBe(total);
  }, 120_000);
});

/**
 * The Redis outbox (issue 18) in one process: queue(url) / processQueue(url) /
 * startQueueWorker(url) against a private redis-server (random port, its own
 * directory, appendonly) and smtp-server on 127.0.0.1. What happens across
 * processes (killed workers, a Redis restart, the global rate limit) is in
 * redis-queue-cluster.spec.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Queue, type Job } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, SmtpError } from "../../src/errors.js";
import type { QueueProgressEvent } from "../../src/events.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";
import type { Smtp } from "../../src/smtp.js";
import { cliRunner } from "../support/cli-runner.js";
import { queueClient } from "../support/client.js";
import { freePort } from "../support/proxies.js";
import { startRedis, type RedisPeer } from "../support/peers/redis.js";
import { startSmtpServer, type Harness, type Hooks } from "../support/smtp-server-harness.js";

let redis: RedisPeer;
let secured: RedisPeer;
const servers: Harness[] = [];
const queues: Queue[] = [];
const clients: Redis[] = [];
const silent: Server[] = [];
const home = mkdtempSync(join(tmpdir(), "smtpkit-redis-cli-home-"));
const cli = cliRunner(fileURLToPath(new URL("../../", import.meta.url)), () => home);

beforeAll(async () => {
  [redis, secured] = await Promise.all([startRedis(), startRedis({ password: "s3cret-pass" })]);
});

afterAll(async () => {
  await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
  for (const c of clients) c.disconnect();
  await Promise.all(servers.map((s) => s.close()));
  for (const s of silent) s.close();
  for (const c of cli.children) c.kill("SIGKILL");
  await Promise.all([redis?.stop(), secured?.stop()]);
  rmSync(home, { recursive: true, force: true });
});

let queueCount = 0;
/** A fresh queue name on the shared instance (tests do not see each other's jobs). */
function freshUrl(label: string): string {
  return redis.url(0, `t${++queueCount}-${label}`);
}

async function server(hooks: Hooks = {}): Promise<Harness> {
  const s = await startSmtpServer({ hooks, keepRaw: 256 * 1024 });
  servers.push(s);
  return s;
}

/** The BullMQ view of a queue, as an operator's tool sees it. */
function inspect(url: string): Queue {
  const name = new URL(url).searchParams.get("queue") ?? "smtpkit";
  const connection = new Redis({ host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null });
  clients.push(connection);
  const q = new Queue(name, { connection });
  queues.push(q);
  return q;
}

function queueOne(url: string, messageId: string, options: SmtpOptions = {}, settings: Record<string, string | number> = {}): Promise<string> {
  return queueClient(1, { ...options, messageId }, settings).queue(url);
}

async function drain(port: number, url: string, settings: Record<string, string | number | boolean> = {}, options: SmtpOptions = {}): Promise<{ result: Awaited<ReturnType<Smtp["processQueue"]>>; progress: QueueProgressEvent[] }> {
  const m = queueClient(port, options, settings);
  const progress: QueueProgressEvent[] = [];
  m.on("QueueProgress", (e) => progress.push(e));
  const result = await m.processQueue(url);
  return { result, progress };
}

async function rejection(p: Promise<unknown>): Promise<SmtpError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(SmtpError);
  return e as SmtpError;
}

describe("queue(url) and processQueue(url)", () => {
  it("store each composed message in a job and send every job once, with its Message-ID, reporting ids", async () => {
    const srv = await server();
    const url = freshUrl("basic");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await queueOne(url, `<basic-${i}@redis.test>`, { subject: `basic ${i}`, messageText: `body ${i}\r\nGrüße\r\n` }));
    const q = inspect(url);
    expect(await q.getJobCountByTypes("wait")).toBe(5);
    const job = (await q.getJob(ids[0]!)) as Job;
    // What an operator sees in any BullMQ tool: the envelope, the Message-ID and the message as text.
    expect(job.data).toMatchObject({ smtpkit: 1, sender: "sender@example.com", recipients: [{ address: "rcpt@example.com", options: "", type: 0 }], messageId: "<basic-0@redis.test>", encoding: "utf8" });
    expect(job.data.message).toContain("Subject: basic 0");
    expect(job.opts).toMatchObject({ attempts: 5, backoff: { type: "exponential", delay: 60_000 }, removeOnComplete: true });

    const { result, progress } = await drain(srv.port, url);
    expect([...result.sent].sort()).toEqual([...ids].sort());
    expect(result).toMatchObject({ deferred: [], failed: [], partial: [] });
    expect(progress.map((e) => e.status)).toEqual(Array(5).fill("sent"));
    expect(progress.every((e) => e.total === 5 && /^250/.test(e.detail))).toBe(true);
    expect([...srv.countById().entries()].sort()).toEqual(ids.map((_, i) => [`<basic-${i}@redis.test>`, 1]).sort());
    expect(srv.received[0]!.raw.toString("utf8")).toContain("Grüße");
    // KeepQueue=false: a delivered job is gone.
    expect(await q.getJobCounts("wait", "active", "completed", "failed", "delayed")).toEqual({ wait: 0, active: 0, completed: 0, failed: 0, delayed: 0 });

    const again = await drain(srv.port, url);
    expect(again.result).toEqual({ sent: [], deferred: [], failed: [], partial: [] });
    expect(srv.received).toHaveLength(5);
  });

  it("KeepQueue=true keeps delivered jobs in the completed set", async () => {
    const srv = await server();
    const url = freshUrl("keep");
    const id = await queueOne(url, "<keep@redis.test>", {}, { KeepQueue: "true" });
    await drain(srv.port, url);
    const q = inspect(url);
    expect(await q.getJobState(id)).toBe("completed");
    expect((await q.getJob(id))?.returnvalue).toMatchObject({ status: "sent" });
  });

  it("retries only the recipients that did not take the message, with the same Message-ID; a refused one ends in the failed set with its reply", async () => {
    let busyRefusals = 0;
    const srv = await server({
      rcptTo: (address) => {
        if (address.startsWith("reject")) return { code: 550, text: "5.1.1 no such user here" };
        if (address.startsWith("busy") && busyRefusals++ === 0) return { code: 450, text: "4.2.1 mailbox busy, try later" };
        return undefined;
      },
    });
    const url = freshUrl("per-recipient");
    const id = await queueOne(url, "<per-recipient@redis.test>", { sendTo: "ann@example.org, busy@example.org, reject@example.org" }, { QueueRetryDelay: 0, StopOnToErrors: "false" });
    const { result, progress } = await drain(srv.port, url, { StopOnToErrors: "false" });

    // Attempt 1: ann took it, busy waits, reject is final. Attempt 2 (no delay): busy only.
    expect(progress.map((e) => e.status)).toEqual(["deferred", "partial"]);
    expect(result).toEqual({ sent: [], deferred: [id], failed: [], partial: [id] });
    expect(srv.received.map((m) => m.rcptTo)).toEqual([["ann@example.org"], ["busy@example.org"]]);
    expect(srv.received.map((m) => m.messageId)).toEqual(["<per-recipient@redis.test>", "<per-recipient@redis.test>"]);
    const q = inspect(url);
    const job = (await q.getJob(id)) as Job;
    expect(await job.getState()).toBe("failed");
    expect(job.attemptsMade).toBe(2);
    expect(job.progress).toEqual({ delivered: ["ann@example.org", "busy@example.org"], failed: [{ address: "reject@example.org", reply: expect.stringMatching(/^550 5\.1\.1 no such user here/) as unknown }] });
    expect(job.failedReason).toMatch(/delivered to 2, not delivered to 1:\n<reject@example\.org> 550 5\.1\.1 no such user here/);

    // Retried from a BullMQ tool: only the refused recipient gets another try (the others took it).
    await job.retry("failed");
    const retried = await drain(srv.port, url, { StopOnToErrors: "false" });
    expect(retried.result.partial).toEqual([id]);
    expect(srv.rcptCommands.filter((a) => a === "ann@example.org")).toHaveLength(1);
    expect(srv.rcptCommands.filter((a) => a === "reject@example.org")).toHaveLength(2);
    expect(srv.received).toHaveLength(2);
  });

  it("a permanent refusal of every recipient goes to the failed set with every server reply, not retried", async () => {
    const srv = await server();
    const url = freshUrl("refused");
    const id = await queueOne(url, "<refused@redis.test>", { sendTo: "reject-a@example.org, reject-b@example.org" }, { StopOnToErrors: "false" });
    const { result } = await drain(srv.port, url, { StopOnToErrors: "false" });
    expect(result.failed).toEqual([id]);
    const job = (await inspect(url).getJob(id)) as Job;
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toContain("<reject-a@example.org> 550");
    expect(job.failedReason).toContain("<reject-b@example.org> 550");
    expect(srv.received).toHaveLength(0);
  });

  it("transient failures back off (QueueRetryDelay × 2^n) and give up after QueueMaxAttempts", async () => {
    const srv = await server();
    const url = freshUrl("transient");
    const id = await queueOne(url, "<transient@redis.test>", { sendTo: "busy@example.org" }, { QueueRetryDelay: 3600, QueueMaxAttempts: 2 });
    const first = await drain(srv.port, url);
    expect(first.result.deferred).toEqual([id]);
    expect(first.progress[0]!.detail).toMatch(/^attempt 1 of 2: .*450/);
    const q = inspect(url);
    expect(await q.getJobState(id)).toBe("delayed");
    // Not due: a second run leaves it alone and lists it as deferred, like a file not due yet.
    const second = await drain(srv.port, url);
    expect(second.result).toEqual({ sent: [], deferred: [id], failed: [], partial: [] });
    expect(second.progress).toEqual([]);
    // Made due (an operator's "promote"): the last attempt fails it for good.
    await (await q.getJob(id))!.promote();
    const third = await drain(srv.port, url);
    expect(third.result.failed).toEqual([id]);
    expect((await q.getJob(id))!.failedReason).toMatch(/gave up after 2 attempts/);
  });

  it("a message sent in full whose verdict is lost ends failed as delivery unknown and is never sent again", async () => {
    const srv = await server({ holdVerdict: () => true });
    const url = freshUrl("unknown");
    const id = await queueOne(url, "<unknown@redis.test>");
    const { result, progress } = await drain(srv.port, url, { QueueRetryDelay: 0 }, { timeout: 2 });
    // The client's Timeout ran out waiting for the verdict.
    expect(result.failed).toEqual([id]);
    expect(progress[0]!.detail).toMatch(/^delivery unknown: /);
    expect(srv.heldVerdicts).toBe(1);
    const job = (await inspect(url).getJob(id)) as Job;
    expect(job.progress).toMatchObject({ delivered: [], failed: [], unknown: { recipients: ["rcpt@example.com"], reason: expect.stringMatching(/delivery unknown/) as unknown } });

    // Retried from a tool, it is still not resent: an operator must clear `unknown` to send it again.
    srv.hooks.holdVerdict = undefined;
    await job.retry("failed");
    const again = await drain(srv.port, url);
    expect(again.result.failed).toEqual([id]);
    expect(srv.mailCommands).toHaveLength(1);
    // Cleared by the operator: sent.
    await job.updateProgress({ delivered: [], failed: [] });
    await job.retry("failed");
    const resent = await drain(srv.port, url);
    expect(resent.result.sent).toEqual([id]);
    expect(srv.countById().get("<unknown@redis.test>")).toBe(1);
  }, 60_000);

  it("a relay that cannot be reached stops the run with its error; the job stays as it was, no attempt counted", async () => {
    const url = freshUrl("unreachable");
    const id = await queueOne(url, "<unreachable@redis.test>");
    const port = await freePort();
    const e = await rejection(drain(port, url));
    expect(e.code).toBe(ErrorCode.ConnectionRefused);
    const q = inspect(url);
    const job = (await q.getJob(id)) as Job;
    expect(["wait", "delayed"]).toContain(await job.getState());
    expect(job.attemptsMade).toBe(0);
    const srv = await server();
    const later = await drain(srv.port, url);
    expect(later.result.sent).toEqual([id]);
  });

  it("refuses a message larger than QueueMaxJobSize at queue(), storing nothing", async () => {
    const url = freshUrl("too-large");
    const e = await rejection(queueOne(url, "<large@redis.test>", { messageText: "x".repeat(5000) }, { QueueMaxJobSize: 2048 }));
    expect(e.code).toBe(ErrorCode.QueueJobTooLarge);
    expect(e.message).toMatch(/larger than QueueMaxJobSize \(2048 bytes\)/);
    expect(e.hint).toMatch(/QueueMaxJobSize/);
    expect(await inspect(url).getJobCountByTypes("wait", "delayed", "failed")).toBe(0);
  });
});

describe("Redis connection problems are typed errors with a hint, never a hang", () => {
  it("nothing listening: 630, refused, names host and port", async () => {
    const port = await freePort();
    const e = await rejection(queueOne(`redis://127.0.0.1:${port}/0`, "<x@redis.test>"));
    expect(e.code).toBe(ErrorCode.QueueBackend);
    expect(e.message).toContain(`Redis at 127.0.0.1:${port} refused the connection`);
    expect(e.hint).toMatch(/redis-server running/);
    const p = await rejection(queueClient(1).processQueue(`redis://127.0.0.1:${port}/0`));
    expect(p.code).toBe(ErrorCode.QueueBackend);
  });

  it("wrong or missing password: 630 naming the credentials, without the password", async () => {
    for (const url of [`redis://:wrong-one@127.0.0.1:${secured.port}/0`, `redis://127.0.0.1:${secured.port}/0`]) {
      const e = await rejection(queueOne(url, "<x@redis.test>"));
      expect(e.code).toBe(ErrorCode.QueueBackend);
      expect(e.message).toMatch(/refused the credentials/);
      expect(e.message).not.toContain("wrong-one");
      expect(e.hint).toMatch(/user and password/);
    }
    // The right one works.
    const id = await queueOne(`redis://:s3cret-pass@127.0.0.1:${secured.port}/0?queue=auth`, "<auth@redis.test>");
    expect(id).toMatch(/^[0-9a-z]+-[0-9a-f]{16}$/);
  });

  it("a silent server (or TLS against plain Redis) fails within ConnectionTimeout", async () => {
    const s = createServer((c: Socket) => c.on("error", () => undefined));
    silent.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as { port: number }).port;
    const e = await rejection(queueOne(`redis://127.0.0.1:${port}/0`, "<x@redis.test>", {}, { ConnectionTimeout: 1 }));
    expect(e.code).toBe(ErrorCode.QueueBackend);
    expect(e.message).toMatch(/did not answer within 1 s/);
    const tls = await rejection(queueOne(`rediss://127.0.0.1:${redis.port}/0`, "<x@redis.test>", {}, { ConnectionTimeout: 2 }));
    expect(tls.code).toBe(ErrorCode.QueueBackend);
    expect(tls.hint).toMatch(/TLS|rediss/);
  });
});

describe("startQueueWorker(url)", () => {
  it("sends jobs as they arrive until close(), which lets the job in flight finish", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const srv = await server();
    const url = freshUrl("worker");
    const m = queueClient(srv.port);
    const progress: QueueProgressEvent[] = [];
    m.on("QueueProgress", (e) => {
      progress.push(e);
      if (progress.length === 3) release();
    });
    const worker = await m.startQueueWorker(url);
    expect(worker.url).toBe(`redis://127.0.0.1:${redis.port}/0?queue=${new URL(url).searchParams.get("queue")}`);
    const ids = [await queueOne(url, "<w1@redis.test>"), await queueOne(url, "<w2@redis.test>"), await queueOne(url, "<w3@redis.test>")];
    await gate;
    await worker.close();
    await worker.closed;
    expect(worker.counts).toEqual({ sent: 3, deferred: 0, failed: 0, partial: 0 });
    expect(progress.map((e) => e.file).sort()).toEqual([...ids].sort());
    expect(srv.received).toHaveLength(3);
    // The object stays usable while and after its worker runs.
    await expect(m.processQueue(url)).resolves.toEqual({ sent: [], deferred: [], failed: [], partial: [] });
  });
});

describe("a long-running worker whose Redis has gone away", () => {
  it("still ends on close(): it waits a few seconds for Redis, then cuts its connections", async () => {
    const own = await startRedis();
    try {
      const m = queueClient((await server()).port);
      const worker = await m.startQueueWorker(own.url(0, "gone"));
      await own.kill();
      // Long enough for BullMQ's fetch to be waiting on the offline connection (close() hung before).
      await new Promise((r) => setTimeout(r, 8000));
      await worker.close();
      await worker.closed;
      expect(worker.counts).toEqual({ sent: 0, deferred: 0, failed: 0, partial: 0 });
    } finally {
      await own.stop();
    }
  }, 60_000);
});

describe("a long-running worker whose relay cannot be reached", () => {
  it("puts the job back without counting an attempt, reports it as an Error event and waits before the next job", async () => {
    const url = freshUrl("worker-unreachable");
    const m = queueClient(await freePort());
    const errors: { errorCode: number; description: string }[] = [];
    let reported: () => void = () => undefined;
    const first = new Promise<void>((r) => (reported = r));
    m.on("Error", (e) => {
      errors.push(e);
      reported();
    });
    const worker = await m.startQueueWorker(url);
    const id = await queueOne(url, "<worker-unreachable@redis.test>");
    await first;
    await worker.close();
    expect(errors[0]).toMatchObject({ errorCode: ErrorCode.ConnectionRefused, description: expect.stringMatching(/^queue worker: .*refused.*; taking no job for 1 s$/) as unknown });
    const job = (await inspect(url).getJob(id)) as Job;
    expect(["wait", "delayed"]).toContain(await job.getState());
    expect(job.attemptsMade).toBe(0);
    expect(worker.counts).toEqual({ sent: 0, deferred: 1, failed: 0, partial: 0 });
  });
});

describe("the CLI with a Redis URL", () => {
  it("queue prints the job id, process-queue sends it and names jobs, and a password in the URL is never printed", async () => {
    const srv = await server();
    const url = `redis://:s3cret-pass@127.0.0.1:${secured.port}/0?queue=cli`;
    const queued = await cli.run(["queue", url, "--from", "shop@example.com", "--to", "ann@example.org", "--subject", "via the CLI", "--body", "hello"]);
    expect(queued.code, queued.stderr).toBe(0);
    const id = queued.stdout.trim();
    expect(id).toMatch(/^[0-9a-z]+-[0-9a-f]{16}$/);
    const json = await cli.run(["queue", url, "--json", "--from", "shop@example.com", "--to", "bob@example.org", "--subject", "second", "--body", "hello"]);
    const second = (JSON.parse(json.stdout) as { job: string }).job;

    const run = await cli.run(["process-queue", url, "--server", `127.0.0.1:${srv.port}`, "--tls", "none"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Queue redis://:****@127.0.0.1:${secured.port}/0?queue=cli: 2 jobs`);
    expect(run.stdout).toMatch(/STATUS\s+JOB\s+DETAIL/);
    expect(run.stdout).toContain(id);
    expect(run.stdout).toContain(second);
    for (const out of [queued, json, run]) expect(out.stdout + out.stderr).not.toContain("s3cret-pass");
    expect(srv.received.map((m) => m.subject).sort()).toEqual(["second", "via the CLI"]);
  });

  it("--watch needs a Redis URL; with a wrong password it fails at once with 630 and no password in the output", async () => {
    const dir = await cli.run(["process-queue", home, "--watch", "--server", "127.0.0.1:25"]);
    expect(dir.code).toBe(1); // ExitCode.Usage
    expect(dir.stderr).toMatch(/--watch needs a Redis URL/);
    const bad = await cli.run(["process-queue", `redis://:nope-nope@127.0.0.1:${secured.port}/0`, "--watch", "--server", "127.0.0.1:25"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/630.*refused the credentials/);
    expect(bad.stdout + bad.stderr).not.toContain("nope-nope");
  });
});

/**
 * Queue files whose fate must never be guessed (issue 14): a message sent in
 * full whose verdict was lost to an abort, links planted in the queue
 * directory, and ids with dots written by other tools. Real smtp-server on
 * 127.0.0.1, real queue directories.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, lstatSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ErrorCode, SmtpError } from "../../src/errors.js";
import type { QueueProgressEvent } from "../../src/events.js";
import { claim, ownerId } from "../../src/queue/queue-claims.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";
import { processWith, queueClient } from "../support/client.js";
import { startSmtpServer, type Harness, type Hooks } from "../support/smtp-server-harness.js";

const root = mkdtempSync(join(tmpdir(), "smtpkit-queue-integrity-"));
const servers: Harness[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(root, { recursive: true, force: true });
});

let dirCount = 0;
function freshDir(label: string): string {
  const dir = join(root, `${++dirCount}-${label}`);
  mkdirSync(dir);
  return dir;
}

async function server(hooks: Hooks = {}): Promise<Harness> {
  const s = await startSmtpServer({ hooks, keepRaw: 256 * 1024 });
  servers.push(s);
  return s;
}

const smtp = queueClient;

/** Queues one message with this Message-ID; returns the .queued path. */
function queueOne(dir: string, messageId: string, options: SmtpOptions = {}): Promise<string> {
  return smtp(1, { ...options, messageId }).queue(dir);
}


const files = (dir: string): string[] => readdirSync(dir).sort();
const idOf = (queuedPath: string): string => basename(queuedPath).replace(/\.queued$/, "");

/** The values of one X-Smtpkit-* envelope line of a queue file. */
function field(path: string, name: string): string[] {
  const raw = readFileSync(path);
  const head = raw.subarray(0, raw.indexOf("\r\n\r\n")).toString("utf8").split("\r\n");
  const prefix = `x-smtpkit-${name.toLowerCase()}:`;
  return head.filter((l) => l.toLowerCase().startsWith(prefix)).map((l) => l.slice(prefix.length).trim());
}

describe("an abort while a fully sent message waits for its verdict", () => {
  it.each(["AbortSignal", "interrupt()"] as const)("(%s) files it as delivery unknown (.failed + .errors, the attempt counted); the next run does not send it again", async (how) => {
    let verdictHeld: () => void = () => undefined;
    const held = new Promise<void>((r) => (verdictHeld = r));
    const srv = await server({
      holdVerdict: () => {
        verdictHeld();
        return true;
      },
    });
    const dir = freshDir("abort-after-data");
    const path = await queueOne(dir, `<held-${how === "AbortSignal" ? "signal" : "interrupt"}@queue.test>`);
    const name = basename(path);
    const id = idOf(path);

    const m = smtp(srv.port, {}, { QueueConnections: 1, QueueRetryDelay: 0 });
    const progress: QueueProgressEvent[] = [];
    m.on("QueueProgress", (e) => progress.push(e));
    const ac = new AbortController();
    const run = m.processQueue(dir, how === "AbortSignal" ? { signal: ac.signal } : {}).then(
      (r) => ({ resolved: r }),
      (e: unknown) => ({ rejected: e }),
    );
    // The server has the whole message (its data stream ended) and stalls: abort now.
    await held;
    if (how === "AbortSignal") ac.abort();
    else await m.interrupt();
    const outcome = await run;

    expect("rejected" in outcome && outcome.rejected instanceof SmtpError ? outcome.rejected.code : outcome).toBe(ErrorCode.Interrupted);
    expect(srv.heldVerdicts).toBe(1);
    expect(srv.received).toHaveLength(0);
    // Kept the way every delivery-unknown file is kept: for an operator, never resent blindly.
    expect(files(dir)).toEqual([`${id}.errors`, `${id}.failed`]);
    const failed = join(dir, `${id}.failed`);
    expect(field(failed, "Attempts")).toEqual(["1"]);
    expect(field(failed, "Next-Attempt")).toEqual([]);
    expect(field(failed, "Delivered")).toEqual([]);
    expect(field(failed, "Failed")).toHaveLength(1);
    expect(field(failed, "Failed")[0]).toMatch(/^<rcpt@example\.com> .*delivery unknown/);
    expect(readFileSync(join(dir, `${id}.errors`), "utf8")).toMatch(/error 301: .*delivery unknown/);
    expect(progress).toEqual([expect.objectContaining({ file: name, status: "failed", detail: expect.stringMatching(/delivery unknown/) as unknown })]);

    // The next run finds nothing to send: the server sees no second copy.
    srv.hooks.holdVerdict = undefined;
    const again = await processWith(srv.port, dir, { QueueRetryDelay: 0 });
    expect(again.result).toEqual({ sent: [], deferred: [], failed: [], partial: [] });
    expect(srv.mailCommands).toHaveLength(1);
    expect(srv.received).toHaveLength(0);
    expect(files(dir)).toEqual([`${id}.errors`, `${id}.failed`]);
  });
});

describe("symbolic links in the queue directory", () => {
  it("are never written through nor read: planted .errors / .failed / .sent / .queued links and linked queue and claim files leave their targets untouched", async () => {
    const dir = freshDir("links");
    const outside = freshDir("outside");
    const target = (label: string): string => {
      const p = join(outside, `${label}.txt`);
      writeFileSync(p, `outside file ${label}: must stay as it is\n`);
      return p;
    };
    const plant = (name: string, label: string): string => {
      const t = target(label);
      symlinkSync(t, join(dir, name));
      return t;
    };

    // A: refused for good (.errors + .failed); B: partial with KeepQueue (.failed record, .errors, .sent); C: 451 (back to .queued).
    const a = idOf(await queueOne(dir, "<links-a@queue.test>", { sendTo: "refused@example.com" }));
    const b = idOf(await queueOne(dir, "<links-b@queue.test>", { sendTo: "ok@example.com, refused@example.com" }));
    const cPath = await queueOne(dir, "<links-c@queue.test>", { sendTo: "later@example.com" });
    const c = idOf(cPath);
    const targets = [
      plant(`${a}.errors`, "a-errors"),
      plant(`${a}.failed`, "a-failed"),
      plant(`${b}.errors`, "b-errors"),
      plant(`${b}.failed`, "b-failed"),
      plant(`${b}.sent`, "b-sent"),
    ];
    // Queue files outside the directory, linked in as a queued file and as a stale claim of a dead worker.
    const secret = (messageId: string): string => {
      const p = join(outside, `${messageId}.eml`);
      writeFileSync(p, `X-Smtpkit-Queue: 1\r\nX-Smtpkit-Sender: <sender@example.com>\r\nX-Smtpkit-Recipient: <thief@example.com>\r\nX-Smtpkit-Attempts: 0\r\n\r\nMessage-ID: <${messageId}@queue.test>\r\nSubject: private\r\n\r\nprivate\r\n`);
      return p;
    };
    const linkedQueued = secret("secret-queued");
    const linkedClaim = secret("secret-claim");
    symlinkSync(linkedQueued, join(dir, "zz-linked.queued"));
    symlinkSync(linkedClaim, join(dir, "zz-claimed.deadhost-1-abcdef.1000.sending"));
    targets.push(linkedQueued, linkedClaim);
    const before = new Map(targets.map((t) => [t, readFileSync(t)]));

    let cTarget = "";
    const srv = await server({
      rcptTo: (address) => (address.startsWith("refused") ? { code: 550, text: "5.1.1 no such mailbox" } : undefined),
      endOfData: ({ messageId }) => {
        if (messageId !== "<links-c@queue.test>") return undefined;
        // C is claimed now, so its .queued name is free: plant a link where the retry will go.
        cTarget = plant(`${c}.queued`, "c-queued");
        return { code: 451, text: "4.3.0 try again later" };
      },
    });
    const { result, progress } = await processWith(srv.port, dir, { QueueRetryDelay: 0, KeepQueue: true, QueueConnections: 1, StopOnToErrors: false });

    for (const [t, bytes] of before) expect(readFileSync(t).equals(bytes), `${basename(t)} is untouched`).toBe(true);
    expect(readFileSync(cTarget, "utf8")).toBe("outside file c-queued: must stay as it is\n");
    // Nothing behind a link was sent.
    expect(srv.received.map((d) => d.messageId).sort()).toEqual(["<links-b@queue.test>"]);
    expect(srv.rcptCommands).not.toContain("thief@example.com");

    expect(result.failed.sort()).toEqual([`${a}.queued`, "zz-claimed.queued", "zz-linked.queued"].sort());
    expect(result.partial).toEqual([`${b}.queued`]);
    expect(result.deferred).toEqual([`${c}.queued`]);
    // The queue's own files replaced the links (the links themselves, not their targets).
    for (const name of [`${a}.errors`, `${a}.failed`, `${b}.errors`, `${b}.failed`, `${b}.sent`, `${c}.queued`]) {
      expect(lstatSync(join(dir, name)).isFile(), `${name} is a regular file`).toBe(true);
    }
    expect(field(join(dir, `${c}.queued`), "Attempts")).toEqual(["1"]);
    expect(readFileSync(join(dir, `${a}.errors`), "utf8")).toMatch(/<refused@example\.com> 550 5\.1\.1 no such mailbox/);
    // A linked queue file is set aside unread, with the reason.
    for (const id of ["zz-linked", "zz-claimed"]) {
      expect(progress.find((p) => p.file === `${id}.queued`)?.detail).toMatch(/symbolic link/);
      expect(readFileSync(join(dir, `${id}.errors`), "utf8")).toMatch(/symbolic link/);
      expect(lstatSync(join(dir, `${id}.failed`)).isSymbolicLink()).toBe(true);
    }
  });
});

describe("crash recovery and queue ids", () => {
  it.each([
    ["an id from queue()", false],
    ["an id with dots from another tool", true],
  ] as const)("a claim left by a dead worker is taken back after QueueClaimTimeout and sent once: %s", async (_label, dotted) => {
    const srv = await server();
    const dir = freshDir(dotted ? "reclaim-dotted" : "reclaim");
    let name = basename(await queueOne(dir, `<reclaim-${dotted ? "dotted" : "plain"}@queue.test>`));
    if (dotted) {
      renameSync(join(dir, name), join(dir, "tool.batch-7.msg.queued"));
      name = "tool.batch-7.msg.queued";
    }
    // Exactly what a worker that died after claiming leaves behind: a claim a minute old.
    const claimed = await claim(dir, name, ownerId(), Date.now() - 60_000);
    expect(claimed?.id).toBe(name.replace(/\.queued$/, ""));
    expect(files(dir)).toEqual([basename(claimed?.path ?? "")]);

    const { result } = await processWith(srv.port, dir, { QueueRetryDelay: 0, QueueClaimTimeout: 30 });
    expect(result).toEqual({ sent: [name], deferred: [], failed: [], partial: [] });
    expect(srv.received.map((d) => d.messageId)).toEqual([`<reclaim-${dotted ? "dotted" : "plain"}@queue.test>`]);
    expect(files(dir)).toEqual([]);
  });

  it("an id with dots keeps its name through a retry and ends as <id>.failed + <id>.errors", async () => {
    const srv = await server({ endOfData: () => ({ code: 451, text: "4.3.0 try again later" }) });
    const dir = freshDir("dotted-retry");
    const queued = join(dir, "tool.batch-8.msg.queued");
    renameSync(await queueOne(dir, "<dotted-retry@queue.test>"), queued);

    const first = await processWith(srv.port, dir, { QueueRetryDelay: 0, QueueMaxAttempts: 2 });
    expect(first.result.deferred).toEqual(["tool.batch-8.msg.queued"]);
    expect(files(dir)).toEqual(["tool.batch-8.msg.queued"]);
    expect(field(queued, "Attempts")).toEqual(["1"]);
    const second = await processWith(srv.port, dir, { QueueRetryDelay: 0, QueueMaxAttempts: 2 });
    expect(second.result.failed).toEqual(["tool.batch-8.msg.queued"]);
    expect(files(dir)).toEqual(["tool.batch-8.msg.errors", "tool.batch-8.msg.failed"]);
  });
});

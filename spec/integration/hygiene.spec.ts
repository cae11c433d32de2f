/**
 * Process hygiene after failures:
 *
 *  - a child process (spec/support/exit-check.mjs, on the BUILT package) runs
 *    failing operations and must then exit by itself, promptly, with code 0 and
 *    no unhandled rejection / uncaught exception: no timer or socket of smtpkit
 *    may keep the event loop alive;
 *  - in this process, a batch of failing calls (including the fire-and-forget
 *    property setters) never produces an unhandledRejection or
 *    uncaughtException, and leaves no client socket open.
 *
 * The child needs `npm run build`; it loads a private copy of dist/esm taken
 * when the build was complete (like queue.spec.ts), so a concurrent build
 * cannot pull it away.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ErrorCode, Smtp, SmtpError } from "../../src/index.js";
import { client } from "../support/client.js";
import { closedPort, goodDialogue, preamble, step, stepServer, type TcpServer } from "../support/tcp-server.js";

const PROJECT = fileURLToPath(new URL("../../", import.meta.url));
const EXIT_CHECK = fileURLToPath(new URL("../support/exit-check.mjs", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "smtpkit-hygiene-spec-"));
const children = new Set<ChildProcess>();
const servers: TcpServer[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await Promise.all(servers.splice(0).map((s) => s.close()));
  rmSync(tmp, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A copy of dist/esm taken while it was complete (scripts/build.mjs writes package.json last). */
async function builtEntry(): Promise<string> {
  const esm = join(PROJECT, "dist", "esm");
  const marker = join(esm, "package.json");
  const pkg = join(tmp, "pkg");
  mkdirSync(pkg, { recursive: true });
  symlinkSync(join(PROJECT, "node_modules"), join(pkg, "node_modules"), "dir");
  const deadline = Date.now() + 20_000;
  for (let attempt = 0; ; attempt++) {
    try {
      const before = statSync(marker).mtimeMs;
      const copy = join(pkg, `esm-${attempt}`);
      cpSync(esm, copy, { recursive: true });
      if (statSync(marker).mtimeMs === before) return join(copy, "index.js");
    } catch {
      // Missing or being rebuilt: try again.
    }
    if (Date.now() > deadline) throw new Error(`no complete build in ${esm}: run \`npm run build\` first`);
    await sleep(250);
  }
}

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** When the child process ended (Date.now()). */
  exitedAt: number;
  /** The child had to be killed: it did not exit by itself. */
  killed: boolean;
}

function runChild(entry: string, limitMs: number): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [EXIT_CHECK], { env: { ...process.env, SMTPKIT_ENTRY: entry }, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let stdout = "";
    let stderr = "";
    let killed = false;
    child.stdout?.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr?.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, limitMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      // Let the pipes deliver what is left.
      setTimeout(() => resolve({ code, signal, stdout, stderr, exitedAt: Date.now(), killed }), 50);
    });
  });
}

describe("the process exits by itself after failing operations (child process, built package)", () => {
  it("exit code 0, no unhandled rejection / uncaught exception, gone within 3 s of its last operation", async () => {
    const entry = await builtEntry();
    const run = await runChild(entry, 40_000);
    const diagnostics = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
    expect(run.killed, `the child did not exit within 40 s (something keeps the event loop alive)\n${diagnostics}`).toBe(false);
    expect(run.stdout + run.stderr).not.toMatch(/unhandledRejection|uncaughtException/);
    expect(run.stdout, diagnostics).not.toMatch(/STILL ALIVE/);
    expect({ code: run.code, signal: run.signal }, diagnostics).toEqual({ code: 0, signal: null });
    const line = run.stdout.split("\n").find((l) => l.startsWith("{"));
    expect(line, diagnostics).toBeDefined();
    const report = JSON.parse(line as string) as { done: number; results: { name: string; ok: boolean; got: unknown }[] };
    expect(report.results.filter((r) => !r.ok)).toEqual([]);
    expect(report.results.map((r) => r.name)).toEqual(
      expect.arrayContaining(["no greeting (Timeout)", "closed port", "interrupted send (slow body stream)", "refused recipient", "proxy answers garbage", "stall after DATA"]),
    );
    // Nothing was left running: the process ended right after its last line (Linger's 2 s wait included).
    expect(run.exitedAt - report.done).toBeLessThan(3_000);
  });
});

describe("no unhandled rejection in this process during a batch of failing calls", () => {
  it("failing send / connect / sendCommand, fire-and-forget setters, interrupts: nothing unhandled, no socket left open", async () => {
    const unhandled: unknown[] = [];
    const onRejection = (e: unknown): void => void unhandled.push(e);
    const onException = (e: unknown): void => void unhandled.push(e);
    process.on("unhandledRejection", onRejection);
    process.on("uncaughtException", onException);
    const socketsBefore = process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;
    try {
      const silent = await stepServer([step.stall()]);
      const closing = await stepServer([step.reply("220 hi"), step.close()]);
      const refusing = await stepServer([...preamble(), step.expect(/^MAIL/), step.reply("250 ok"), step.expect(/^RCPT/), step.reply("550 5.1.1 no"), step.expect(/^RSET/), step.reply("250 ok"), step.expect(/^QUIT/), step.reply("221 bye"), step.close()]);
      const garbled = await stepServer([step.reply("220 hi\r\n250 surprise"), step.stall()]);
      const stallData = await stepServer([...goodDialogue().slice(0, 10), step.stall()]);
      const resetting = await stepServer([...preamble(), step.expect(/^MAIL/), step.reset()]);
      servers.push(silent, closing, refusing, garbled, stallData, resetting);
      const closed = await closedPort();

      const calls: Promise<unknown>[] = [];
      const expectFail = (p: Promise<unknown>, ...codes: number[]): void => {
        calls.push(
          p.then(
            () => {
              throw new Error("expected a failure");
            },
            (e: unknown) => {
              expect(e).toBeInstanceOf(SmtpError);
              expect(codes).toContain((e as SmtpError).code);
            },
          ),
        );
      };
      expectFail(client(silent.port, { timeout: 1 }).send(), ErrorCode.TimedOut);
      expectFail(client(closing.port, { timeout: 2 }).send(), ErrorCode.ConnectionClosed);
      expectFail(client(refusing.port, { timeout: 2 }).send(), ErrorCode.Protocol);
      expectFail(client(garbled.port, { timeout: 2 }).send(), ErrorCode.MalformedReply);
      expectFail(client(stallData.port, { timeout: 1 }).send(), ErrorCode.TimedOut);
      expectFail(client(resetting.port, { timeout: 2 }).send(), ErrorCode.ConnectionReset, ErrorCode.ConnectionClosed);
      expectFail(client(closed, { timeout: 2 }).connect(), ErrorCode.ConnectionRefused);
      expectFail(client(closed, { timeout: 2 }).sendCommand("NOOP"), ErrorCode.ConnectionRefused);
      const abs = client(silent.port, { timeout: 1 });
      abs.config("AbsoluteTimeout=true");
      expectFail(abs.send(), ErrorCode.TimedOut);
      const interrupted = client(silent.port, { timeout: 30 });
      expectFail(interrupted.send(), ErrorCode.Interrupted);
      setTimeout(() => void interrupted.interrupt(), 100);
      expectFail(client(silent.port, { timeout: 30 }).send({ signal: AbortSignal.timeout(150) }), ErrorCode.Interrupted);
      const busy = client(silent.port, { timeout: 1 });
      expectFail(busy.send(), ErrorCode.TimedOut);
      expectFail(busy.send(), ErrorCode.Busy);

      // Fire-and-forget: failures must arrive as Error events, never as rejections.
      const errorEvents: number[] = [];
      const viaAssignment = client(closed);
      viaAssignment.on("Error", (e) => errorEvents.push(e.errorCode));
      viaAssignment.connected = true;
      const viaCommand = client(closing.port, { timeout: 2 });
      viaCommand.on("Error", (e) => errorEvents.push(e.errorCode));
      viaCommand.command = "NOOP";
      // No Error listener at all: still nothing unhandled.
      const noListener = new Smtp({ mailServer: "127.0.0.1", mailPort: closed, timeout: 1 });
      noListener.connected = true;

      await Promise.all(calls);
      const deadline = Date.now() + 5_000;
      while (errorEvents.length < 2 && Date.now() < deadline) await sleep(20);
      expect(errorEvents.sort()).toEqual([ErrorCode.ConnectionClosed, ErrorCode.ConnectionRefused].sort());
      // Late rejections (a timer, a socket event after the call settled) would show up here.
      await sleep(500);
      // Every connection the servers saw was closed by the client (or reset by the server).
      for (const s of [silent, closing, refusing, garbled, stallData, resetting]) {
        for (const c of s.connections) {
          await Promise.race([c.closed, sleep(5_000)]);
          expect(c.isClosed, `connection #${c.index} still open`).toBe(true);
        }
      }
    } finally {
      process.off("unhandledRejection", onRejection);
      process.off("uncaughtException", onException);
    }
    expect(unhandled.map(String)).toEqual([]);
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await sleep(100);
    const socketsAfter = process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;
    expect(socketsAfter).toBeLessThanOrEqual(socketsBefore);
  });
});

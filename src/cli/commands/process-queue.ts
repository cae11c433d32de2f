/**
 * smtpkit process-queue DIR|URL: sends every due .queued file in DIR, or
 * every due job of a Redis queue (processQueue()), with a progress bar
 * (QueueProgress), then a summary: sent / deferred / failed / partial with
 * the names. With --watch (Redis), a worker that sends jobs as they arrive
 * and prints a line per job until SIGTERM / SIGINT, then lets the jobs in
 * flight finish and exits 0.
 */
import type { Command } from "commander";
import { Smtp, type QueueProgressEvent, type QueueResult } from "../../index.js";
import { commandIo, type CliContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { table, toJson } from "../format.js";
import { isRedisUrl, maskPassword } from "../../queue/redis/redis-url.js";
import { usageError } from "../cli-error.js";
import { callServer } from "../server-call.js";
import { addConnectionOptions, addOutputOptions, profileFromFlags, type ConnectionFlags, type OutputFlags } from "../options/common.js";
import { applyConnection } from "../options/connection.js";
import { addDsnOptions, applyDsn, type DsnFlags } from "../options/dsn.js";
import { loadProfile } from "../options/load-profile.js";
import { writeLine, type Paint } from "../output.js";
import { ProgressBar } from "../progress.js";
import { attachTrace } from "../trace.js";

type ProcessQueueFlags = ConnectionFlags & DsnFlags & OutputFlags & { progress?: boolean; watch?: boolean };

const STATUSES = ["sent", "deferred", "failed", "partial"] as const;
type Status = (typeof STATUSES)[number];
const STATUS_STYLE = { sent: "green", deferred: "yellow", failed: "red", partial: "magenta" } as const;

export function registerProcessQueue(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("process-queue")
    .description("send the messages in a queue directory or Redis queue (retries, .failed files, jobs: see docs/queue.md)")
    .argument("<dir>", "the queue directory, or a Redis URL: redis://[[user]:password@]host[:port][/db][?queue=name]");
  addConnectionOptions(cmd, { server: true, login: true });
  addDsnOptions(cmd);
  cmd.option("--watch", "Redis: keep sending jobs as they arrive until SIGTERM / SIGINT (jobs in flight finish)");
  cmd.option("--progress", "show the progress bar even when stderr is not a terminal").option("--no-progress", "never show the progress bar");
  addOutputOptions(cmd, { trace: true, json: true });
  cmd.addHelpText("after", "\nExamples:\n  $ smtpkit process-queue /var/spool/mail-out --server smtp.example.com --port 587 --user shop --password-file ~/.smtp-pass --config QueueConnections=2\n  $ smtpkit process-queue 'redis://127.0.0.1:6379/0?queue=mail' --watch --server smtp.example.com --config QueueGlobalRateLimit=20");
  cmd.action(async (dir: string, flags: ProcessQueueFlags) => {
    if (flags.watch && !isRedisUrl(dir)) throw usageError("--watch needs a Redis URL", "a directory is processed once per run: run process-queue DIR from a timer");
    ctx.exitCode = flags.watch ? await watchQueue(dir, flags, ctx) : await processQueue(dir, flags, ctx);
  });
}

async function processQueue(dir: string, flags: ProcessQueueFlags, ctx: CliContext): Promise<number> {
  const io = commandIo(ctx, flags);
  const profile = loadProfile(profileFromFlags(flags), flags, io);
  const smtp = new Smtp();
  await applyConnection(smtp, profile, ctx.env, { login: true, needsServer: true, prompt: ctx });
  applyDsn(smtp, flags);
  const showProgress = flags.progress === true || (flags.progress !== false && ctx.stderr.isTTY === true);
  const bar = showProgress ? new ProgressBar(ctx.stderr, io.paintErr, ctx.stderr.isTTY === true) : undefined;
  if (flags.trace) attachTrace(smtp, ctx.stderr, io.paintErr, bar);
  const details = new Map<string, QueueProgressEvent>();
  smtp.on("QueueProgress", (e) => {
    details.set(e.file, e);
    // Files finish in any order (several connections): count them, not their index.
    const done = details.size;
    bar?.update(e.total === 0 ? 1 : done / e.total, `${done}/${e.total} ${e.file} ${e.status}`);
  });

  let result: QueueResult;
  try {
    result = await callServer(smtp, () => smtp.processQueue(dir));
  } finally {
    bar?.finish();
  }

  if (flags.json) {
    const files = STATUSES.flatMap((status) => result[status].map((file) => ({ file, status, detail: details.get(file)?.detail ?? "" })));
    writeLine(ctx.stdout, toJson({ ...result, files }));
  } else {
    for (const line of summary(dir, result, details, io.paintOut)) writeLine(ctx.stdout, line);
  }
  if (result.failed.length > 0) return ExitCode.Refused;
  if (result.partial.length > 0) return ExitCode.Partial;
  return ExitCode.Ok;
}

async function watchQueue(url: string, flags: ProcessQueueFlags, ctx: CliContext): Promise<number> {
  const io = commandIo(ctx, flags);
  const profile = loadProfile(profileFromFlags(flags), flags, io);
  const smtp = new Smtp();
  await applyConnection(smtp, profile, ctx.env, { login: true, needsServer: true, prompt: ctx });
  applyDsn(smtp, flags);
  if (flags.trace) attachTrace(smtp, ctx.stderr, io.paintErr);
  smtp.on("QueueProgress", (e) => {
    const detail = e.detail.replace(/\r?\n/g, " / ");
    // JSON Lines: one object per job, for log shippers.
    writeLine(ctx.stdout, flags.json ? JSON.stringify({ job: e.file, status: e.status, detail }) : `${styled(e.status, io.paintOut)} ${e.file} ${detail}`);
  });
  smtp.on("Error", (e) => writeLine(ctx.stderr, `${io.paintErr("yellow", "warning")} ${e.errorCode}: ${e.description}`));
  const worker = await smtp.startQueueWorker(url);
  writeLine(ctx.stderr, `smtpkit: watching ${worker.url} (SIGTERM or Ctrl-C stops after the messages in flight)`);
  const stop = (): void => void worker.close();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await worker.closed;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  const c = worker.counts;
  writeLine(ctx.stderr, `smtpkit: stopped: ${c.sent} sent, ${c.deferred} deferred, ${c.failed} failed, ${c.partial} partial`);
  return ExitCode.Ok;
}

function summary(dir: string, result: QueueResult, details: ReadonlyMap<string, QueueProgressEvent>, paint: Paint): string[] {
  const total = STATUSES.reduce((n, s) => n + result[s].length, 0);
  const redis = isRedisUrl(dir);
  const noun = redis ? "job" : "file";
  // A Redis URL may carry a password: never printed.
  const lines = [`Queue ${redis ? maskPassword(dir) : dir}: ${total} ${noun}${total === 1 ? "" : "s"}`];
  if (total > 0) {
    const rows = STATUSES.flatMap((status) => result[status].map((file) => [styled(status, paint), file, (details.get(file)?.detail ?? "").replace(/\r?\n/g, " / ")]));
    for (const line of table([["STATUS  ", noun.toUpperCase(), "DETAIL"], ...rows])) lines.push(`  ${line}`);
    lines.push("");
  }
  const counts = STATUSES.map((status) => [styled(status, paint), String(result[status].length), result[status].join(", ") || "-"]);
  for (const line of table([["STATUS  ", "COUNT", `${noun.toUpperCase()}S`], ...counts])) lines.push(`  ${line}`);
  return lines;
}

/** The status word padded to one width before colouring, so the columns line up. */
function styled(status: Status, paint: Paint): string {
  return paint(STATUS_STYLE[status], status.padEnd(8));
}

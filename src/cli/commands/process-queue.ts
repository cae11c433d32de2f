/**
 * smtpkit process-queue DIR: sends every due .queued file in DIR
 * (processQueue()), with a progress bar over the files (QueueProgress), then
 * a summary: sent / deferred / failed / partial with the file names.
 */
import type { Command } from "commander";
import { Smtp, type QueueProgressEvent, type QueueResult } from "../../index.js";
import { commandIo, type CliContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { table, toJson } from "../format.js";
import { callServer } from "../server-call.js";
import { addConnectionOptions, addOutputOptions, profileFromFlags, type ConnectionFlags, type OutputFlags } from "../options/common.js";
import { applyConnection } from "../options/connection.js";
import { addDsnOptions, applyDsn, type DsnFlags } from "../options/dsn.js";
import { loadProfile } from "../options/load-profile.js";
import { writeLine, type Paint } from "../output.js";
import { ProgressBar } from "../progress.js";
import { attachTrace } from "../trace.js";

type ProcessQueueFlags = ConnectionFlags & DsnFlags & OutputFlags & { progress?: boolean };

const STATUSES = ["sent", "deferred", "failed", "partial"] as const;
type Status = (typeof STATUSES)[number];
const STATUS_STYLE = { sent: "green", deferred: "yellow", failed: "red", partial: "magenta" } as const;

export function registerProcessQueue(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("process-queue")
    .description("send the messages in a queue directory (retries, .failed files: see docs/queue.md)")
    .argument("<dir>", "the queue directory");
  addConnectionOptions(cmd, { server: true, login: true });
  addDsnOptions(cmd);
  cmd.option("--progress", "show the progress bar even when stderr is not a terminal").option("--no-progress", "never show the progress bar");
  addOutputOptions(cmd, { trace: true, json: true });
  cmd.addHelpText("after", "\nExample:\n  $ smtpkit process-queue /var/spool/mail-out --server smtp.example.com --port 587 --user shop --password-file ~/.smtp-pass --config QueueConnections=2");
  cmd.action(async (dir: string, flags: ProcessQueueFlags) => {
    ctx.exitCode = await processQueue(dir, flags, ctx);
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

function summary(dir: string, result: QueueResult, details: ReadonlyMap<string, QueueProgressEvent>, paint: Paint): string[] {
  const total = STATUSES.reduce((n, s) => n + result[s].length, 0);
  const lines = [`Queue ${dir}: ${total} file${total === 1 ? "" : "s"}`];
  if (total > 0) {
    const rows = STATUSES.flatMap((status) => result[status].map((file) => [styled(status, paint), file, (details.get(file)?.detail ?? "").replace(/\r?\n/g, " / ")]));
    for (const line of table([["STATUS  ", "FILE", "DETAIL"], ...rows])) lines.push(`  ${line}`);
    lines.push("");
  }
  const counts = STATUSES.map((status) => [styled(status, paint), String(result[status].length), result[status].join(", ") || "-"]);
  for (const line of table([["STATUS  ", "COUNT", "FILES"], ...counts])) lines.push(`  ${line}`);
  return lines;
}

/** The status word padded to one width before colouring, so the columns line up. */
function styled(status: Status, paint: Paint): string {
  return paint(STATUS_STYLE[status], status.padEnd(8));
}

/**
 * smtpkit send: one message, built from the options or ready-made (--data),
 * through the server; or only printed (--dry-run), or the session stopped
 * before DATA (--quit-after). The parts are in ../send/.
 */
import type { Command } from "commander";
import { ErrorCode, isSmtpError, Smtp, type RecipientResult, type SendResult } from "../../index.js";
import { usageError } from "../cli-error.js";
import { commandIo, type CliContext } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import { RECIPIENT_TYPES, table, toJson } from "../format.js";
import { addConnectionOptions, addOutputOptions, profileFromFlags, type ConnectionFlags, type OutputFlags } from "../options/common.js";
import { applyConnection } from "../options/connection.js";
import { addDataOptions, type DataFlags } from "../options/data.js";
import { addDsnOptions, applyDsn, type DsnFlags } from "../options/dsn.js";
import { loadProfile } from "../options/load-profile.js";
import { addMessageOptions, type MessageFlags } from "../options/message.js";
import type { Profile } from "../options/profile.js";
import { writeLine, type OutStream, type Paint } from "../output.js";
import { ProgressBar } from "../progress.js";
import { dryRun, printDryRun } from "../send/dry-run.js";
import { envelopeFromOptions, prepareOutgoing, type CliEnvelope, type Outgoing } from "../send/outgoing.js";
import { parseQuitAfter, printQuitAfter, QUIT_AFTER_STAGES, runUntil, stageLogsIn, stageNeedsEnvelope, type QuitAfterStage } from "../send/quit-after.js";
import { callServer } from "../server-call.js";
import { attachTrace } from "../trace.js";
import { attachTransferProgress } from "../transfer-progress.js";

type SendFlags = ConnectionFlags & MessageFlags & DataFlags & DsnFlags & OutputFlags & { allowPartial?: boolean; progress?: boolean; dryRun?: boolean; quitAfter?: string };

const EXAMPLES = `
Examples:
  $ smtpkit send --server smtp.example.com --port 587 --tls starttls \\
      --user ann --password-env SMTP_PASSWORD \\
      --from ann@example.com --to bob@example.com --subject Hello --body "Hi Bob"
  $ git log -1 | smtpkit send --from ci@example.com --to dev@example.com --subject "Last commit" --body-file -
  $ smtpkit send --from ann@example.com --to bob@example.com --attach report.pdf --body-file note.txt --json
  $ smtpkit send --data message.eml --from ann@example.com --to bob@example.com
  $ smtpkit send --data - -t < message.eml          # recipients from To / Cc / Bcc, like sendmail -t
  $ smtpkit send --from ann@example.com --to bob@example.com --attach a.pdf --dry-run > message.eml
  $ smtpkit send --server smtp.example.com:587 --user ann --quit-after AUTH     # asks for the password on a terminal
  $ smtpkit send --profile work --from ann@example.com --to bob@example.org --quit-after RCPT`;

export function registerSend(program: Command, ctx: CliContext): void {
  const cmd = program.command("send").description("send one message");
  addConnectionOptions(cmd, { server: true, login: true });
  addMessageOptions(cmd);
  addDataOptions(cmd);
  addDsnOptions(cmd);
  cmd
    .option("--allow-partial", "send to the recipients the server accepts even when it refuses others (exit code 7)")
    .option("--progress", "show the progress bar even when stderr is not a terminal")
    .option("--no-progress", "never show the progress bar")
    .option("--dry-run", "print the message exactly as it would be sent (stdout) and its envelope (stderr); no network")
    .option("--quit-after <stage>", `stop after ${QUIT_AFTER_STAGES.join(" | ")} and QUIT without sending (exit code 0 when all went well)`);
  // -t is sendmail's "read recipients" here: the trace is --trace.
  addOutputOptions(cmd, { trace: true, json: true, shortTrace: false });
  cmd.addHelpText("after", EXAMPLES);
  cmd.action(async (flags: SendFlags) => {
    ctx.exitCode = await send(flags, ctx);
  });
}

async function send(flags: SendFlags, ctx: CliContext): Promise<number> {
  const io = commandIo(ctx, flags);
  const profile = loadProfile(profileFromFlags(flags, { from: flags.from }), flags, io);
  const smtp = new Smtp();
  const stage = flags.quitAfter === undefined ? undefined : parseQuitAfter(flags.quitAfter);
  if (stage && flags.dryRun) throw usageError("--dry-run and --quit-after exclude each other", "--dry-run never connects; --quit-after connects and stops before DATA");
  // A dry run needs no server and no login; --quit-after before AUTH must not log in.
  const online = flags.dryRun !== true;
  const login = online && (stage === undefined || stageLogsIn(stage));
  await applyConnection(smtp, profile, ctx.env, { login, needsServer: online, prompt: ctx });
  const showProgress = online && !stage && (flags.progress === true || (flags.progress !== false && ctx.stderr.isTTY === true));
  const bar = showProgress ? new ProgressBar(ctx.stderr, io.paintErr, ctx.stderr.isTTY === true) : undefined;
  if (flags.trace) attachTrace(smtp, ctx.stderr, io.paintErr, bar);
  if (stage) return quitAfter(smtp, stage, flags, profile, ctx, io.paintOut);
  if (flags.allowPartial) for (const s of ["StopOnToErrors", "StopOnCcErrors", "StopOnBccErrors"]) smtp.config(`${s}=false`);
  applyDsn(smtp, flags);
  const outgoing = await prepareOutgoing(smtp, flags, profile, ctx.stdin);
  if (!online) {
    printDryRun(await dryRun(smtp, outgoing), { stdout: ctx.stdout, stderr: ctx.stderr, paintErr: io.paintErr, json: flags.json === true });
    return ExitCode.Ok;
  }

  const progress = bar ? attachTransferProgress(smtp, bar, { estimatedBytes: outgoing.kind === "built" ? outgoing.estimatedBytes : outgoing.bytes.length }) : undefined;

  let result: SendResult;
  try {
    result = await callServer(smtp, () => sendOutgoing(smtp, outgoing));
  } catch (e) {
    progress?.finish(isSmtpError(e) && e.code === ErrorCode.Interrupted ? "interrupted" : "failed");
    throw e;
  }
  progress?.finish("sent");

  if (flags.json) writeLine(ctx.stdout, toJson(result));
  else printResult(result, ctx.stdout, io.paintOut);
  if (result.rejected.length > 0) {
    writeLine(ctx.stderr, io.paintErr("yellow", `warning: partial delivery: ${result.rejected.length} of ${result.recipients.length} recipients refused`));
    return ExitCode.Partial;
  }
  return ExitCode.Ok;
}

async function quitAfter(smtp: Smtp, stage: QuitAfterStage, flags: SendFlags, profile: Profile, ctx: CliContext, paintOut: Paint): Promise<number> {
  if (stage === "AUTH" && smtp.getUser() === "") throw usageError("--quit-after AUTH needs a user to log in as", "use --user NAME (and --password-env / --password-file)");
  let envelope: CliEnvelope | undefined;
  if (stageNeedsEnvelope(stage)) {
    envelope = flags.data !== undefined ? (await prepareOutgoing(smtp, flags, profile, ctx.stdin)).envelope : envelopeFromOptions(flags, profile, stage === "RCPT");
  }
  const report = await callServer(smtp, () => runUntil(smtp, stage, envelope));
  printQuitAfter(report, ctx.stdout, paintOut, flags.json === true);
  return ExitCode.Ok;
}

/** A built message goes with send(); a ready-made one as it is, with its own envelope. */
function sendOutgoing(smtp: Smtp, outgoing: Outgoing): Promise<SendResult> {
  if (outgoing.kind === "built") return smtp.send();
  return smtp.sendMessage(outgoing.envelope.sender, outgoing.envelope.recipients, outgoing.bytes);
}

function printResult(result: SendResult, out: OutStream, paint: Paint): void {
  writeLine(out, `${paint("green", "sent")}: ${oneLine(result.reply)} (${result.messageBytes} bytes)`);
  const rows = result.recipients.map((r: RecipientResult) => [
    r.accepted ? paint("green", "accepted") : paint("red", "refused "),
    RECIPIENT_TYPES[r.type],
    r.address,
    r.accepted ? "" : oneLine(r.reply),
  ]);
  for (const line of table(rows)) writeLine(out, `  ${line}`);
}

function oneLine(text: string): string {
  return text.replace(/\r?\n/g, " / ");
}

/**
 * Prints a failure as `error <code>: <message>`, followed by the server's
 * reply, refused recipients and the hint, and returns the exit code. A stack
 * trace only with --debug.
 */
import { isSmtpError, type SmtpError } from "../index.js";
import { CliError } from "./cli-error.js";
import { cliHint } from "./cli-hints.js";
import { messageWithoutHint } from "./error-text.js";
import { ExitCode, exitCodeForSmtpError } from "./exit-codes.js";
import { writeLine, type OutStream, type Paint } from "./output.js";

export function reportError(e: unknown, out: OutStream, paint: Paint, debug: boolean): number {
  if (e instanceof CliError) {
    writeLine(out, paint("red", `error ${e.label}: ${e.message}`));
    const inner = e.cause;
    if (isSmtpError(inner)) writeDetails(inner, out, paint);
    else if (e.hint) writeLine(out, `  hint: ${e.hint}`);
    for (const note of e.notes) writeLine(out, `  ${note}`);
    writeStack(e, out, debug);
    return e.exitCode;
  }
  if (isSmtpError(e)) {
    writeLine(out, paint("red", `error ${e.code}: ${messageWithoutHint(e)}`));
    writeDetails(e, out, paint);
    writeStack(e, out, debug);
    return exitCodeForSmtpError(e);
  }
  const message = e instanceof Error ? e.message : String(e);
  writeLine(out, paint("red", `error internal: ${message}`));
  if (!debug) writeLine(out, "  (run with --debug for the stack trace)");
  writeStack(e, out, debug);
  return ExitCode.Usage;
}

function writeDetails(e: SmtpError, out: OutStream, paint: Paint): void {
  if (e.command) writeLine(out, `  command: ${e.command}`);
  if (e.lastReply) for (const line of e.lastReply.split(/\r?\n/)) if (line !== "") writeLine(out, `  server: ${paint("yellow", line)}`);
  for (const r of e.recipientResults ?? []) {
    if (!r.accepted) writeLine(out, `  refused: ${r.address}: ${r.reply.replace(/\r?\n/g, " / ")}`);
  }
  if (e.deliveryUnknown) writeLine(out, "  note: the whole message was sent but the server's answer was lost: it may have been delivered");
  if (e.hint) writeLine(out, `  hint: ${e.hint}`);
  const cli = cliHint(e);
  if (cli) writeLine(out, `  ${e.hint ? "on the command line" : "hint"}: ${cli}`);
}

function writeStack(e: unknown, out: OutStream, debug: boolean): void {
  if (!debug || !(e instanceof Error) || !e.stack) return;
  writeLine(out, e.stack);
  if (e.cause instanceof Error && e.cause.stack) writeLine(out, `caused by: ${e.cause.stack}`);
}

/**
 * Entry point of the smtpkit command (bin/smtpkit.mjs calls run()): parses
 * the arguments, runs the command, and turns any failure into its message
 * and exit code (docs/cli.md).
 */
import { CommanderError } from "commander";
import type { CliContext, InStream } from "./context.js";
import { ExitCode } from "./exit-codes.js";
import { colorsEnabled, createPaint, type OutStream } from "./output.js";
import { createProgram } from "./program.js";
import { reportError } from "./report-error.js";

export interface RunOptions {
  /** Shown by --version. */
  version?: string;
  env?: NodeJS.ProcessEnv;
  stdout?: OutStream;
  stderr?: OutStream;
  stdin?: InStream;
}

/** Runs the command line `args` (without "node" and the script) and resolves with the exit code. */
export async function run(args: readonly string[], options: RunOptions = {}): Promise<number> {
  const ctx: CliContext = {
    version: options.version ?? "0.0.0",
    env: options.env ?? process.env,
    stdout: options.stdout ?? process.stdout,
    stderr: options.stderr ?? process.stderr,
    // Only touched when a command reads it (--body-file -).
    get stdin(): InStream {
      return options.stdin ?? process.stdin;
    },
    exitCode: ExitCode.Ok,
  };
  exitQuietlyOnBrokenPipe(ctx.stdout);
  // Read before parsing: they also apply to errors found while parsing.
  const before = args.includes("--") ? args.slice(0, args.indexOf("--")) : args;
  const debug = before.includes("--debug");
  const color = before.includes("--no-color") ? false : before.includes("--color") ? true : undefined;
  const paintErr = createPaint(colorsEnabled(ctx.stderr, ctx.env, color));
  try {
    await createProgram(ctx, paintErr).parseAsync([...args], { from: "user" });
    return ctx.exitCode;
  } catch (e) {
    // Commander has printed its message already (help, version, usage errors).
    if (e instanceof CommanderError) return e.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    return reportError(e, ctx.stderr, paintErr, debug);
  }
}

/** `smtpkit ... | head`: a reader that goes away is not an error worth a stack trace. */
function exitQuietlyOnBrokenPipe(stream: OutStream): void {
  if (stream !== process.stdout) return;
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(ExitCode.Ok);
    throw e;
  });
}

/**
 * What a command runs with: the streams, the environment, the version, and
 * the exit code it leaves behind. Tests and the launcher create it through
 * run() in main.ts.
 */
import { colorsEnabled, createPaint, type OutStream, type Paint } from "./output.js";
import type { OutputFlags } from "./options/common.js";

export type InStream = NodeJS.ReadableStream & { isTTY?: boolean };

export interface CliContext {
  version: string;
  env: NodeJS.ProcessEnv;
  stdout: OutStream;
  stderr: OutStream;
  stdin: InStream;
  /** Set by the command that ran (0 unless it says otherwise). */
  exitCode: number;
}

/** The context plus what the command's output options decided. */
export interface CommandIo {
  ctx: CliContext;
  /** Colours for stdout / stderr (each decided for its own stream). */
  paintOut: Paint;
  paintErr: Paint;
  env: NodeJS.ProcessEnv;
  stderr: OutStream;
}

export function commandIo(ctx: CliContext, flags: OutputFlags): CommandIo {
  return {
    ctx,
    paintOut: createPaint(colorsEnabled(ctx.stdout, ctx.env, flags.color)),
    paintErr: createPaint(colorsEnabled(ctx.stderr, ctx.env, flags.color)),
    env: ctx.env,
    stderr: ctx.stderr,
  };
}

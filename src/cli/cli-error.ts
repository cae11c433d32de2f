/**
 * CliError: a failure the command line tool finds itself (before or around
 * the component), with the exit code it ends the process with.
 */
import { ExitCode, type ExitCodeValue } from "./exit-codes.js";

export class CliError extends Error {
  /** The process exit code. */
  readonly exitCode: ExitCodeValue;
  /** What `error <code>:` shows: "usage", or a component code such as 302 for a file. */
  readonly label: string;
  /** What to do about it. */
  readonly hint: string | undefined;
  /** Lines the CLI adds to the cause's details (a certificate's fingerprint, ...). */
  readonly notes: readonly string[];

  constructor(exitCode: ExitCodeValue, label: string, message: string, options: { hint?: string; cause?: unknown; notes?: readonly string[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CliError";
    this.exitCode = exitCode;
    this.label = label;
    this.hint = options.hint;
    this.notes = options.notes ?? [];
  }
}

/** The command line itself is wrong (exit code 1). */
export function usageError(message: string, hint?: string): CliError {
  return new CliError(ExitCode.Usage, "usage", message, hint === undefined ? {} : { hint });
}

/** A value from the environment or a config file is wrong (exit code 6, code 601). */
export function valueError(message: string, hint?: string): CliError {
  return new CliError(ExitCode.Input, "601", message, hint === undefined ? {} : { hint });
}

/** A file cannot be read (exit code 6, code 302 as the component's CannotOpenFile). */
export function fileError(path: string, cause: unknown): CliError {
  const reason = cause instanceof Error && "code" in cause && typeof cause.code === "string" ? describeFsCode(cause.code) : cause instanceof Error ? cause.message : String(cause);
  return new CliError(ExitCode.Input, "302", `cannot read ${path}: ${reason}`, { cause });
}

function describeFsCode(code: string): string {
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a directory";
    default:
      return code;
  }
}

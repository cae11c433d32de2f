/**
 * A value together with where it came from (an option, an environment
 * variable, a line of a config file), so that an error can name the place.
 */
import { usageError, valueError, type CliError } from "../cli-error.js";

export interface Sourced {
  value: string;
  /** "--port", "SMTPKIT_PORT", "/home/ann/.smtpkitrc:3", ... */
  source: string;
  /** A bad value on the command line is a usage error (1); elsewhere an input error (6). */
  fromCommandLine: boolean;
}

export function fromOption(flag: string, value: string): Sourced {
  return { value, source: flag, fromCommandLine: true };
}

/** The error for a bad value, right for where it came from. */
export function badValue(v: Sourced, message: string, hint?: string): CliError {
  const text = `${v.source}: ${message}`;
  return v.fromCommandLine ? usageError(text, hint) : valueError(text, hint);
}

/**
 * Terminal output: the stream type the commands write to, colours through
 * node:util styleText (on a TTY, or as --color / NO_COLOR / FORCE_COLOR say),
 * and writing lines.
 */
import { styleText } from "node:util";

/** A writable stream as the CLI uses it (process.stdout / process.stderr). */
export type OutStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export type Style = Parameters<typeof styleText>[0];

/** Colours `text` when colours are on for the stream it was made for; returns it unchanged otherwise. */
export type Paint = (style: Style, text: string) => string;

/**
 * Colours for `stream`: `preference` (--color / --no-color) wins, then
 * NO_COLOR, then FORCE_COLOR, then whether the stream is a terminal.
 */
export function colorsEnabled(stream: OutStream, env: NodeJS.ProcessEnv, preference: boolean | undefined): boolean {
  if (preference !== undefined) return preference;
  if (env["NO_COLOR"] !== undefined && env["NO_COLOR"] !== "") return false;
  const force = env["FORCE_COLOR"];
  if (force !== undefined && force !== "") return force !== "0" && force !== "false";
  return stream.isTTY === true && env["TERM"] !== "dumb";
}

export function createPaint(enabled: boolean): Paint {
  return enabled ? (style, text) => styleText(style, text, { validateStream: false }) : (_style, text) => text;
}

/** Writes `text` and a line end. */
export function writeLine(stream: OutStream, text = ""): void {
  stream.write(text + "\n");
}

/**
 * Asks for the password on the terminal, without echo, when a user is given
 * and no password source is (see password.ts). Without a terminal there is
 * nobody to ask: that is a usage error before any connection, never an AUTH
 * with an empty password.
 */
import { CliError, usageError } from "../cli-error.js";
import { PASSWORD_SOURCES_HINT } from "./password.js";
import type { InStream } from "../context.js";
import { ExitCode } from "../exit-codes.js";
import type { OutStream } from "../output.js";

/** A terminal's input: raw mode turns the echo off. */
export type TtyInput = InStream & { setRawMode?: (raw: boolean) => unknown };

/** what: "Password", or "OAuth token" for XOAUTH2 / OAUTHBEARER. */
export async function promptPassword(user: string, input: TtyInput, out: OutStream, what = "Password"): Promise<string> {
  const setRaw = input.setRawMode;
  if (input.isTTY !== true || typeof setRaw !== "function") {
    throw usageError(`user ${user} has no ${what.toLowerCase()} and standard input is not a terminal to ask for it`, PASSWORD_SOURCES_HINT);
  }
  // Echo off before the prompt shows: whatever is typed once it is visible must not be echoed.
  setRaw.call(input, true);
  out.write(`${what} for ${user}: `);
  try {
    return await readSecretLine(input);
  } finally {
    setRaw.call(input, false);
    input.pause();
    out.write("\n");
  }
}

/** Characters until Enter; Backspace edits, Ctrl-C gives up (exit code 130), Ctrl-D ends the input. */
function readSecretLine(input: InStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let secret = "";
    const finish = (error?: CliError): void => {
      input.off("data", onData);
      input.off("end", onEnd);
      if (error) reject(error);
      else resolve(secret);
    };
    const onEnd = (): void => finish();
    const onData = (chunk: Buffer | string): void => {
      for (const ch of typeof chunk === "string" ? chunk : chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n" || ch === "\x04") return finish();
        if (ch === "\x03") return finish(new CliError(ExitCode.Interrupted, "301", "interrupted while asking for the password"));
        if (ch === "\x7f" || ch === "\b") secret = [...secret].slice(0, -1).join("");
        else if (ch >= " ") secret += ch;
      }
    };
    input.on("data", onData);
    input.on("end", onEnd);
    input.resume();
  });
}

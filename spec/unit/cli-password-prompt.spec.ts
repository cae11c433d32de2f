/**
 * The password prompt of the smtpkit command (src/cli/options/password-prompt.ts)
 * on a stand-in terminal: a stream that says it is a TTY and records raw mode.
 * The real terminal is exercised end to end in spec/integration/cli-daily.spec.ts.
 */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { CliError } from "../../src/cli/cli-error.js";
import { promptPassword, type TtyInput } from "../../src/cli/options/password-prompt.js";

function terminal(): { input: TtyInput & PassThrough; rawModes: boolean[] } {
  const rawModes: boolean[] = [];
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (raw: boolean) => rawModes.push(raw) });
  return { input, rawModes };
}

function output(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  let text = "";
  out.setEncoding("utf8").on("data", (s: string) => (text += s));
  return { out, text: () => text };
}

describe("promptPassword", () => {
  it("reads up to Enter in raw mode (no echo), with Backspace, and restores the terminal", async () => {
    const { input, rawModes } = terminal();
    const { out, text } = output();
    const answer = promptPassword("ann", input, out);
    input.write("sec");
    input.write("x\x7fret\r");
    await expect(answer).resolves.toBe("secret");
    expect(rawModes).toEqual([true, false]);
    expect(text()).toBe("Password for ann: \n");
  });

  it("turns the echo off before the prompt shows, so an answer typed as soon as it appears is never echoed", async () => {
    const events: string[] = [];
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (raw: boolean) => events.push(`raw ${raw}`) });
    const out = new PassThrough();
    out.setEncoding("utf8").on("data", (s: string) => events.push(`shown ${JSON.stringify(s)}`));
    const answer = promptPassword("ann", input, out);
    input.write("pw\r");
    await expect(answer).resolves.toBe("pw");
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(["raw true", 'shown "Password for ann: "', "raw false", 'shown "\\n"']);
  });

  it("Ctrl-C gives up with exit code 130", async () => {
    const { input, rawModes } = terminal();
    const answer = promptPassword("ann", input, output().out);
    input.write("abc\x03");
    await expect(answer).rejects.toMatchObject({ exitCode: 130, label: "301" });
    expect(rawModes).toEqual([true, false]);
  });

  it("without a terminal it is a usage error naming --password-env and --password-file", async () => {
    const pipe = new PassThrough();
    const error = await promptPassword("ann", pipe, output().out).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect(error).toMatchObject({ exitCode: 1, label: "usage" });
    expect((error as CliError).hint).toMatch(/--password-env VAR or --password-file FILE/);
  });
});

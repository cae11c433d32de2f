/**
 * The progress display of `smtpkit send` as functions: events in, frames out
 * (src/cli/progress-frame.ts), and the bar's drawing on a stand-in terminal
 * (src/cli/progress.ts). End to end: spec/integration/cli-daily.spec.ts.
 */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { duration, transferFrames, type TransferInput } from "../../src/cli/progress-frame.js";
import { ProgressBar } from "../../src/cli/progress.js";

const MiB = 1024 * 1024;

/** 10 MiB at 1 MiB per second with a known total (percentDone). */
function steadyTransfer(upTo: number): TransferInput[] {
  const inputs: TransferInput[] = [{ kind: "start", at: 0 }];
  for (let i = 1; i <= upTo; i++) inputs.push({ kind: "transfer", at: i * 1000, bytes: i * MiB, percentDone: i * 10 });
  return inputs;
}

describe("transferFrames", () => {
  it("shows the bytes, the total, the rate and the time left", () => {
    const frames = transferFrames(steadyTransfer(4));
    expect(frames[4]).toEqual({ fraction: 0.4, label: "4.0 MiB of 10 MiB, 1.0 MiB/s, ETA 0:06" });
  });

  it("marks an estimated total with ~ and stays below 100 % when the estimate was low", () => {
    const frames = transferFrames([
      { kind: "start", at: 0 },
      { kind: "transfer", at: 2000, bytes: 3 * MiB, percentDone: -1 },
      { kind: "transfer", at: 4000, bytes: 5 * MiB, percentDone: -1 },
    ], 4 * MiB);
    expect(frames[1]).toEqual({ fraction: 0.75, label: "3.0 MiB of ~4.0 MiB, 1.5 MiB/s, ETA 0:01" });
    expect(frames[2]).toEqual({ fraction: 0.99, label: "5.0 MiB of ~4.0 MiB, 1.3 MiB/s, ETA 0:00" });
  });

  it("every byte of a known total written: 99 %, waiting for the server's answer; 100 % only when the message was taken", () => {
    const sent = transferFrames([...steadyTransfer(10), { kind: "outcome", at: 10_500, outcome: "sent" }]);
    expect(sent.at(-2)).toEqual({ fraction: 0.99, label: "10 MiB sent, 1.0 MiB/s, waiting for the server's answer" });
    expect(sent.at(-1)).toEqual({ fraction: 1, label: "10 MiB sent, 975 KiB/s" });
  });

  it("after an interrupt it never shows 100 %, even once every byte was written", () => {
    const written = transferFrames([...steadyTransfer(10), { kind: "outcome", at: 12_000, outcome: "interrupted" }]);
    expect(written.at(-1)).toEqual({ fraction: 0.99, label: "interrupted after 10 MiB" });
    const midway = transferFrames([...steadyTransfer(3), { kind: "outcome", at: 3500, outcome: "interrupted" }]);
    expect(midway.at(-1)).toEqual({ fraction: 0.3, label: "interrupted after 3.0 MiB" });
    const failed = transferFrames([...steadyTransfer(2), { kind: "outcome", at: 2500, outcome: "failed" }]);
    expect(failed.at(-1)?.label).toBe("failed after 2.0 MiB");
    for (const frame of [...written, ...midway, ...failed]) expect(frame.fraction ?? 0).toBeLessThan(1);
  });

  it("without any total only the bytes and the rate", () => {
    const frames = transferFrames([{ kind: "start", at: 0 }, { kind: "transfer", at: 1000, bytes: 2 * MiB, percentDone: -1 }]);
    expect(frames[1]).toEqual({ fraction: undefined, label: "2.0 MiB sent, 2.0 MiB/s (size unknown)" });
  });

  it("no rate from less than a quarter of a second", () => {
    const frames = transferFrames([{ kind: "start", at: 0 }, { kind: "transfer", at: 100, bytes: MiB, percentDone: 10 }]);
    expect(frames[1]?.label).toBe("1.0 MiB of 10 MiB");
  });

  it("durations", () => {
    expect(duration(0)).toBe("0:00");
    expect(duration(75)).toBe("1:15");
    expect(duration(3725)).toBe("1:02:05");
  });
});

function recorder(): { out: PassThrough & { isTTY: boolean }; text: () => string } {
  const out = Object.assign(new PassThrough(), { isTTY: true });
  let text = "";
  out.setEncoding("utf8").on("data", (s: string) => (text += s));
  return { out, text: () => text };
}

const noPaint = (_style: unknown, text: string): string => text;

describe("ProgressBar on a terminal", () => {
  it("other lines clear the bar's line first and the bar is drawn again below them", () => {
    const { out, text } = recorder();
    let now = 0;
    const bar = new ProgressBar(out, noPaint, true, () => now);
    bar.show({ fraction: 0.5, label: "5.0 MiB of 10 MiB" });
    bar.writeLine("S: 250 2.0.0 Ok");
    now = 1000;
    bar.finish({ fraction: 1, label: "10 MiB sent" });
    const bar50 = `[${"#".repeat(15)}${"-".repeat(15)}]  50% 5.0 MiB of 10 MiB\x1b[K`;
    expect(text()).toBe(`\r${bar50}\r\x1b[KS: 250 2.0.0 Ok\n\r${bar50}\r[${"#".repeat(30)}] 100% 10 MiB sent\x1b[K\n`);
    // What stays on the screen: every line from its last carriage return, without the erase codes.
    const visible = text().split("\n").map((line) => (line.split("\r").at(-1) ?? "").replaceAll("\x1b[K", ""));
    expect(visible).toEqual(["S: 250 2.0.0 Ok", `[${"#".repeat(30)}] 100% 10 MiB sent`, ""]);
  });

  it("without a bar drawn, lines are written as they are", () => {
    const { out, text } = recorder();
    const bar = new ProgressBar(out, noPaint, true, () => 0);
    bar.writeLine("C: QUIT");
    bar.finish();
    expect(text()).toBe("C: QUIT\n");
  });

  it("redraws at most every 100 ms, and finish() shows the frame that was held back", () => {
    const { out, text } = recorder();
    let now = 0;
    const bar = new ProgressBar(out, noPaint, true, () => now);
    bar.show({ fraction: 0.1, label: "a" });
    now = 50;
    bar.show({ fraction: 0.2, label: "b" });
    expect(text()).not.toContain(" b");
    bar.finish();
    expect(text()).toMatch(/ b\x1b\[K\n$/);
  });
});

describe("ProgressBar in a log (not a terminal)", () => {
  it("a line per tenth, and the final frame always", () => {
    const { out, text } = recorder();
    const bar = new ProgressBar(out, noPaint, false, () => 0);
    bar.show({ fraction: 0.11, label: "x" });
    bar.show({ fraction: 0.12, label: "y" });
    bar.show({ fraction: 0.25, label: "z" });
    bar.finish({ fraction: 0.25, label: "interrupted after 2.5 MiB" });
    expect(text().split("\n").filter((l) => l !== "").map((l) => l.slice(33))).toEqual([" 11% x", " 25% z", " 25% interrupted after 2.5 MiB"]);
  });
});

/**
 * The fault matrix for SmtpPool's pipelined series: three messages on one
 * connection (maxConnections 1), each message's commands written with the
 * previous one's end of data, every fault at every point of the second
 * message (and at the greeting, EHLO and QUIT of the connection), the
 * server's output arriving whole, line by line and byte by byte. Besides the
 * single-Smtp rules, each cell checks the pool's: a retried message keeps its
 * Message-ID, and one whose whole message went out without a verdict is never
 * sent again. In memory, on fake time.
 */
import { afterEach, beforeEach, describe, expect } from "vitest";
import { cellsOf, MODES } from "../support/replay/fault-cells.js";
import { checkRun, describeRun, describeViolation } from "../support/replay/fault-rules.js";
import { runScenario } from "../support/replay/fault-scenario.js";
import { itInEveryChunking } from "../support/replay/every-chunking.js";
import { restoreClock, useReplayClock } from "../support/replay/fake-clock.js";

describe.each(MODES.filter((m) => m.pool))("fault matrix: $mode", (spec) => {
  beforeEach(() => useReplayClock());
  afterEach(() => restoreClock());

  for (const cell of cellsOf(spec)) {
    itInEveryChunking(`${cell.fault} at ${cell.point}`, async (chunking) => {
      const run = await runScenario(cell, chunking);
      expect(run.messages.map((m) => m.spec.key)).toEqual(["m1", "m2", "m3"]);
      const violations = checkRun(cell, run).map(describeViolation);
      expect(violations, [describeRun(run), ...violations].join("\n")).toEqual([]);
    });
  }
});

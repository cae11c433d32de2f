/**
 * The fault matrix for a single Smtp: every fault (close, reset, 421 then
 * close, a malformed reply, a stray extra reply, silence, a reply stalled
 * half-way) at every point of a send (greeting, EHLO, MAIL, each RCPT, the
 * 354, the message body, right after the end of data with the server keeping
 * the message or not, the verdict, QUIT), in every transfer mode (DATA,
 * DATA with PIPELINING, BDAT in several chunks, one-flight BDAT), with the
 * server's output arriving whole, line by line and byte by byte. The cells
 * are generated; each checks the rules in spec/support/replay/fault-rules.ts.
 * Timeouts run on fake time: a cell takes no real waiting.
 */
import { afterEach, beforeEach, describe, expect } from "vitest";
import { cellsOf, MODES } from "../support/replay/fault-cells.js";
import { checkRun, describeRun, describeViolation } from "../support/replay/fault-rules.js";
import { runScenario } from "../support/replay/fault-scenario.js";
import { itInEveryChunking } from "../support/replay/every-chunking.js";
import { restoreClock, useReplayClock } from "../support/replay/fake-clock.js";

describe.each(MODES.filter((m) => !m.pool))("fault matrix: $mode", (spec) => {
  beforeEach(() => useReplayClock());
  afterEach(() => restoreClock());

  for (const cell of cellsOf(spec)) {
    itInEveryChunking(`${cell.fault} at ${cell.point}`, async (chunking) => {
      const run = await runScenario(cell, chunking);
      expect(run.messages.map((m) => m.spec.key)).toEqual(["a", "b"]);
      const violations = checkRun(cell, run).map(describeViolation);
      expect(violations, [describeRun(run), ...violations].join("\n")).toEqual([]);
    });
  }
});

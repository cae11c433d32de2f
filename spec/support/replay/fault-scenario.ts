/**
 * Runs one cell of the fault matrix against a replay harness and collects
 * what the rules need: each message's outcome, the order of events, and
 * what the client could see of its connection right after a failed send.
 *
 * Every phase is bounded in fake time; a send still pending at the bound
 * stays "pending" (the rules report it).
 */
import { Smtp, SmtpPool } from "../../../src/index.js";
import { messagesOf, transcriptOf, usesConnect, type Cell, type MessageSpec } from "./fault-cells.js";
import { runUntil } from "./fake-clock.js";
import type { ChunkMode } from "./output-chunking.js";
import { Watched, type Outcome } from "./outcome.js";
import { replaySmtp, REPLAY_TIMEOUT_S } from "./replay-client.js";
import { ReplayHarness } from "./replay-harness.js";

/** Fake time each phase (a send, the cleanup) may take: six reply timeouts. */
export const PHASE_BOUND_MS = 6 * REPLAY_TIMEOUT_S * 1000;

export interface MessageRun {
  spec: MessageSpec;
  outcome: Outcome;
  /** smtp.connected read synchronously as the send settled (single-Smtp modes). */
  connectedAfter?: boolean;
}

export interface ScenarioRun {
  harness: ReplayHarness;
  messages: MessageRun[];
  victim: string;
  /** Failures of the scenario's own steps (connect() on a healthy server, disconnect(), pool.close()). */
  problems: string[];
  /** seq when the cleanup (disconnect / pool.close) began. */
  cleanupSeq: number;
  /** All connections were closed at both ends in the end. */
  allClosed: boolean;
  fakeMs: number;
}

function messageText(lines: number): string {
  const body = Array.from({ length: lines }, (_, i) => `Line ${String(i + 1).padStart(4, "0")} of a fault matrix message, to give the transfer some length.`);
  return `${body.join("\r\n")}\r\n.A line with a leading dot.\r\n`;
}

export async function runScenario(cell: Cell, chunking: ChunkMode): Promise<ScenarioRun> {
  const harness = new ReplayHarness({ chunking, ehlo: cell.spec.ehlo, transcripts: [transcriptOf(cell)] });
  const { messages, victim } = messagesOf(cell);
  const run: ScenarioRun = { harness, messages: [], victim, problems: [], cleanupSeq: 0, allClosed: false, fakeMs: 0 };
  const busy = (): boolean => harness.busy;
  const phase = async (done: () => boolean): Promise<void> => {
    run.fakeMs += await runUntil(done, busy, { maxMs: PHASE_BOUND_MS }).catch(() => PHASE_BOUND_MS);
  };
  if (cell.spec.pool) await poolScenario(cell, harness, messages, run, phase);
  else await singleScenario(cell, harness, messages, run, phase);
  // Whatever is left closes (LingerTime runs on the fake clock).
  await phase(() => harness.allClosed);
  run.allClosed = harness.allClosed;
  return run;
}

type Phase = (done: () => boolean) => Promise<void>;

function settledOrProblem(run: ScenarioRun, what: string, watched: Watched): void {
  const o = watched.outcome;
  if (o.kind === "pending") run.problems.push(`${what} did not settle within ${PHASE_BOUND_MS} ms of fake time`);
  else if (o.kind !== "sent") run.problems.push(`${what} failed: ${o.kind === "invalid" ? o.why : o.error.message}`);
}

async function singleScenario(cell: Cell, harness: ReplayHarness, messages: MessageSpec[], run: ScenarioRun, phase: Phase): Promise<void> {
  const smtp = replaySmtp(harness, { settings: cell.spec.settings });
  const seq = harness.sequencer;
  if (usesConnect(cell)) {
    const connect = new Watched(smtp.connect(), seq);
    await phase(() => connect.settled);
    settledOrProblem(run, "connect()", connect);
  }
  for (const m of messages) {
    setMessage(smtp, m, messageText(cell.spec.bodyLines));
    const entry: MessageRun = { spec: m, outcome: { kind: "pending" } };
    const watched = new Watched(smtp.send(), seq, () => {
      entry.connectedAfter = smtp.connected;
    });
    await phase(() => watched.settled);
    entry.outcome = watched.outcome;
    run.messages.push(entry);
  }
  run.cleanupSeq = seq.next();
  const disconnect = new Watched(smtp.disconnect(), seq);
  await phase(() => disconnect.settled);
  settledOrProblem(run, "disconnect()", disconnect);
}

function setMessage(smtp: Smtp, m: MessageSpec, text: string): void {
  smtp.from = m.from;
  smtp.sendTo = m.recipients.join(", ");
  smtp.subject = m.subject;
  smtp.messageText = text;
}

async function poolScenario(cell: Cell, harness: ReplayHarness, messages: MessageSpec[], run: ScenarioRun, phase: Phase): Promise<void> {
  const template = replaySmtp(harness, { settings: cell.spec.settings });
  // No idle timer and no idle NOOP check: nothing may depend on real time.
  const pool = new SmtpPool(template, { maxConnections: 1, idleTimeout: 0, idleCheckAfter: 0 });
  const seq = harness.sequencer;
  const text = messageText(cell.spec.bodyLines);
  const watched = messages.map((m) => new Watched(pool.send({ from: m.from, sendTo: m.recipients.join(", "), subject: m.subject, messageText: text }), seq));
  await phase(() => watched.every((w) => w.settled));
  messages.forEach((m, i) => run.messages.push({ spec: m, outcome: (watched[i] as Watched).outcome }));
  run.cleanupSeq = seq.next();
  const close = new Watched(pool.close(), seq);
  await phase(() => close.settled);
  settledOrProblem(run, "pool.close()", close);
}

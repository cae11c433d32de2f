/**
 * The fault matrix's cells: transfer mode × fault × point, and for each the
 * transcript of the first connection, with the fault at its point.
 *
 * Single-message modes send message "a", then message "b" on the same Smtp.
 * Session points (greeting, EHLO, QUIT) hit "a"'s own session (send() opens
 * and closes it); transaction points hit "a" on a connection opened with
 * connect(), so "b" shows whether the connection is used again. The pool
 * sends m1, m2, m3 as one pipelined series on one connection; transaction
 * points hit m2, whose commands ride with m1's end of data.
 */
import { lines, BODY, END_OF_DATA, FAULT_KINDS, type FaultKind, type Step, type Transcript } from "./transcript.js";

export type TransferMode = "DATA" | "DATA+PIPELINING" | "BDAT" | "BDAT+PIPELINING" | "one-flight BDAT" | "pool series";

export type FaultPoint =
  | "greeting"
  | "EHLO"
  | "MAIL"
  | "RCPT 1"
  | "RCPT 2"
  | "DATA (354)"
  | "message body"
  | "BDAT chunk reply"
  | "end of data, kept"
  | "end of data, not kept"
  | "verdict"
  | "QUIT"
  /** With PIPELINING, the NOOP the client sends behind the end of the message. */
  | "NOOP after the message"
  /** The pool's RSET before the second message (pipelined with the first one's end). */
  | "RSET";

export interface ModeSpec {
  mode: TransferMode;
  ehlo: string;
  settings: Record<string, number | boolean>;
  transfer: "data" | "bdat-chunks" | "bdat-one-flight";
  pool: boolean;
  /**
   * Lines of message text. DATA writes a message in 64 KiB pieces, so a large
   * one is still being written when the server acts on its first lines; BDAT
   * modes keep it small (several 512-byte chunks, or one flight).
   */
  bodyLines: number;
  points: readonly FaultPoint[];
}

const SESSION_POINTS: readonly FaultPoint[] = ["greeting", "EHLO"];
const ENVELOPE_POINTS: readonly FaultPoint[] = ["MAIL", "RCPT 1", "RCPT 2"];
const END_POINTS: readonly FaultPoint[] = ["end of data, kept", "end of data, not kept", "verdict", "QUIT"];
const PIPELINED_END_POINTS: readonly FaultPoint[] = ["end of data, kept", "end of data, not kept", "verdict", "NOOP after the message", "QUIT"];

/** About 84 KB (two writes of DATA) and 2.4 KB of text. */
const LARGE = 1100;
const SMALL = 30;

export const MODES: readonly ModeSpec[] = [
  {
    mode: "DATA",
    ehlo: "250 replay.test",
    settings: {},
    transfer: "data",
    pool: false,
    bodyLines: LARGE,
    points: [...SESSION_POINTS, ...ENVELOPE_POINTS, "DATA (354)", "message body", ...END_POINTS],
  },
  {
    mode: "DATA+PIPELINING",
    ehlo: lines("250-replay.test", "250 PIPELINING"),
    settings: {},
    transfer: "data",
    pool: false,
    bodyLines: LARGE,
    points: [...SESSION_POINTS, ...ENVELOPE_POINTS, "DATA (354)", "message body", ...PIPELINED_END_POINTS],
  },
  {
    mode: "BDAT",
    ehlo: lines("250-replay.test", "250 CHUNKING"),
    // Several chunks, each waiting for its reply (no PIPELINING).
    settings: { ChunkSize: 512 },
    transfer: "bdat-chunks",
    pool: false,
    bodyLines: SMALL,
    points: [...SESSION_POINTS, ...ENVELOPE_POINTS, "message body", "BDAT chunk reply", ...END_POINTS],
  },
  {
    mode: "BDAT+PIPELINING",
    ehlo: lines("250-replay.test", "250-PIPELINING", "250 CHUNKING"),
    // A message larger than a chunk: the chunks go out without waiting for each other's replies.
    settings: { ChunkSize: 512 },
    transfer: "bdat-chunks",
    pool: false,
    bodyLines: SMALL,
    points: [...SESSION_POINTS, ...ENVELOPE_POINTS, "message body", "BDAT chunk reply", ...PIPELINED_END_POINTS],
  },
  {
    mode: "one-flight BDAT",
    ehlo: lines("250-replay.test", "250-PIPELINING", "250 CHUNKING"),
    // Two recipients go in the one flight only when a refused one would not stop the send.
    settings: { StopOnToErrors: false },
    transfer: "bdat-one-flight",
    pool: false,
    bodyLines: SMALL,
    points: [...SESSION_POINTS, ...ENVELOPE_POINTS, "message body", ...PIPELINED_END_POINTS],
  },
  {
    mode: "pool series",
    ehlo: lines("250-replay.test", "250 PIPELINING"),
    settings: {},
    transfer: "data",
    pool: true,
    bodyLines: LARGE,
    points: [...SESSION_POINTS, "RSET", ...ENVELOPE_POINTS, "DATA (354)", "message body", ...PIPELINED_END_POINTS],
  },
];

export interface Cell {
  spec: ModeSpec;
  fault: FaultKind;
  point: FaultPoint;
}

/**
 * Pairs left out, each because no client could pass it or it repeats another:
 * a 421 to an end of data the server kept (the server says "not taken" and
 * took it); a stray reply after the end of data is a 250 then a stray, the
 * same bytes as the stray at the verdict, and with "not kept" a 250 for a
 * message the server dropped.
 */
const LEFT_OUT: readonly [FaultKind, FaultPoint][] = [
  ["421", "end of data, kept"],
  ["stray", "end of data, kept"],
  ["stray", "end of data, not kept"],
];

export function cellsOf(spec: ModeSpec): Cell[] {
  const cells: Cell[] = [];
  for (const point of spec.points) {
    for (const fault of FAULT_KINDS) {
      if (LEFT_OUT.some(([f, p]) => f === fault && p === point)) continue;
      cells.push({ spec, fault, point });
    }
  }
  return cells;
}

/** A message of a scenario: key "a" is sent from a@replay.test to a1@ and a2@, subject "replay message a". */
export interface MessageSpec {
  key: string;
  from: string;
  recipients: [string, string];
  subject: string;
}

export function message(key: string): MessageSpec {
  return { key, from: `${key}@replay.test`, recipients: [`${key}1@replay.test`, `${key}2@replay.test`], subject: `replay message ${key}` };
}

/** The key of a message from its sender address or subject, as the server saw them. */
export function keyOfSender(sender: string | undefined): string | undefined {
  return /^([a-z0-9]+)@replay\.test$/.exec(sender ?? "")?.[1];
}

export function keyOfSubject(subject: string | undefined): string | undefined {
  return /^replay message ([a-z0-9]+)$/.exec(subject ?? "")?.[1];
}

/** The messages of a cell, in the order sent, and which one the fault hits. */
export function messagesOf(cell: Cell): { messages: MessageSpec[]; victim: string } {
  if (cell.spec.pool) return { messages: ["m1", "m2", "m3"].map(message), victim: "m2" };
  return { messages: ["a", "b"].map(message), victim: "a" };
}

/** Session points run on send()'s own session; the others on a connection opened with connect(). */
export function usesConnect(cell: Cell): boolean {
  return !cell.spec.pool && !["greeting", "EHLO", "QUIT"].includes(cell.point);
}

const OK = "250 2.0.0 replay: ok";

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The transcript of the first connection: everything the client should say on it, the fault at its point. */
export function transcriptOf(cell: Cell): Transcript {
  const { messages, victim } = messagesOf(cell);
  const faultAt = (point: FaultPoint, step: Step, key?: string): Step =>
    cell.point === point && (key === undefined || key === victim) ? { ...step, fault: cell.fault } : step;
  const steps: Step[] = [faultAt("EHLO", { expect: /^EHLO client\.test$/, reply: cell.spec.ehlo })];
  // Only the pool's series shares one connection between messages; a single Smtp's "b" goes to the generic server.
  const onFirst = cell.spec.pool ? messages : messages.slice(0, 1);
  onFirst.forEach((m, i) => steps.push(...messageSteps(cell, m, i > 0, (point, step) => faultAt(point, step, m.key))));
  steps.push(faultAt("QUIT", { expect: /^QUIT$/, reply: "221 2.0.0 replay: bye", closeAfter: true }));
  const greeting = cell.point === "greeting" ? { reply: "220 replay.test ESMTP replay", fault: cell.fault } : { reply: "220 replay.test ESMTP replay" };
  return { greeting, steps };
}

function messageSteps(cell: Cell, m: MessageSpec, rset: boolean, at: (point: FaultPoint, step: Step) => Step): Step[] {
  const steps: Step[] = [];
  if (rset) steps.push(at("RSET", { expect: /^RSET$/, reply: OK }));
  steps.push(at("MAIL", { expect: new RegExp(`^MAIL FROM:<${escape(m.from)}>`), reply: "250 2.1.0 replay: sender ok" }));
  steps.push(at("RCPT 1", { expect: new RegExp(`^RCPT TO:<${escape(m.recipients[0])}>`), reply: "250 2.1.5 replay: recipient ok" }));
  steps.push(at("RCPT 2", { expect: new RegExp(`^RCPT TO:<${escape(m.recipients[1])}>`), reply: "250 2.1.5 replay: recipient ok" }));
  const body = at("message body", { expect: BODY });
  const withBody = body.fault ? [body] : [];
  switch (cell.spec.transfer) {
    case "data":
      steps.push(at("DATA (354)", { expect: /^DATA$/, reply: "354 replay: go ahead" }), ...withBody, ...endOfData(cell, END_OF_DATA, at));
      break;
    case "bdat-chunks": {
      steps.push(...withBody);
      const first = at("BDAT chunk reply", { expect: /^BDAT \d+$/, reply: "250 2.0.0 replay: chunk received" });
      if (first.fault) steps.push(first);
      steps.push({ expect: /^BDAT \d+$/, reply: "250 2.0.0 replay: chunk received", repeat: true }, ...endOfData(cell, /^BDAT \d+ LAST$/, at));
      break;
    }
    case "bdat-one-flight":
      steps.push(...withBody, ...endOfData(cell, /^BDAT \d+ LAST$/, at));
      break;
  }
  return steps;
}

/** The end of the message and, when the fault is there, the NOOP the client sends behind it. */
function endOfData(cell: Cell, expect: Step["expect"], at: (point: FaultPoint, step: Step) => Step): Step[] {
  const verdict: Step = { expect, reply: "250 2.0.0 replay: queued" };
  const kept = at("end of data, kept", verdict);
  if (kept.fault) return [{ ...kept, keep: true }];
  const dropped = at("end of data, not kept", verdict);
  if (dropped.fault) return [{ ...dropped, keep: false }];
  const after = at("verdict", verdict);
  if (after.fault) return [{ ...after, faultAfterReply: true }];
  const noop = at("NOOP after the message", { expect: /^NOOP$/, reply: OK });
  return noop.fault ? [verdict, noop] : [verdict];
}

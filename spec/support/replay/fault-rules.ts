/**
 * The rules every fault-matrix cell is held to, checked against what the
 * client reported and what the wire and the server recorded. Each broken
 * rule is one Violation, "expected ... got ...".
 *
 *  outcome       every send settles within the bound, as sent, refused or delivery unknown,
 *                and every error is an SmtpError with a numeric code
 *  kept          sent: kept exactly once; refused: never kept; unknown: kept at most once
 *  verdict lost  the whole message went out and no reply arrived in its verdict's place: delivery unknown
 *  poison        after an unsolicited or garbled reply (a 421 excepted): every message in flight on that
 *                connection is delivery unknown if its whole message went out, refused otherwise; no new
 *                transaction starts on it ("reused") and nothing but QUIT is written on it ("kept writing");
 *                it is closed before the scenario's cleanup; smtp.connected is false right after a send it failed
 *  421           after a 421 arrived, no new transaction and nothing but QUIT is written on the connection;
 *                smtp.connected is false right after a send it failed
 *  retry (pool)  copies of one message carry one Message-ID; a message whose whole message went out without
 *                a verdict, or that ended delivery unknown, is not sent again on a later connection
 *  scenario      the fault was reached on the transcript the cell describes, connect() / disconnect() /
 *                pool.close() did their part, and no connection was left open
 */
import { keyOfSender, keyOfSubject, type Cell } from "./fault-cells.js";
import type { ScenarioRun } from "./fault-scenario.js";
import { headerValue } from "./message-headers.js";
import { describeOutcome, type Outcome } from "./outcome.js";
import type { ReplayConnection } from "./replay-connection.js";
import type { Unit } from "./wire-ledger.js";

export interface Violation {
  rule: string;
  expected: string;
  got: string;
}

export function describeViolation(v: Violation): string {
  return `[${v.rule}] expected ${v.expected}; got ${v.got}`;
}

function keyOfUnit(u: Unit): string | undefined {
  return (u.message && keyOfSubject(headerValue(u.message, "Subject"))) ?? keyOfSender(u.sender);
}

function isMail(u: Unit): boolean {
  return /^(?:MAIL|SEND|SOML|SAML) FROM:/i.test(u.line);
}

/** Units that end a message (end of DATA, BDAT LAST) for `key` on connection `c`. */
function endsOf(c: ReplayConnection, key: string): Unit[] {
  return c.ledger.units.filter((u) => u.message !== undefined && keyOfUnit(u) === key);
}

function mailsOf(c: ReplayConnection, key: string): Unit[] {
  return c.ledger.units.filter((u) => isMail(u) && keyOfUnit(u) === key);
}

/**
 * The Message-ID of every copy of message `key` the client started to send
 * on `c`, complete or not: each header block on the wire that names the
 * message in its Subject.
 */
function messageIdsOnWire(c: ReplayConnection, key: string): string[] {
  const wire = Buffer.concat(c.clientWrites).toString("latin1");
  const ids: string[] = [];
  for (const m of wire.matchAll(/\r\nMessage-ID: *(<[^>\r\n]*>)/gi)) {
    const at = m.index;
    const start = Math.max(wire.lastIndexOf("\r\n\r\n", at), wire.lastIndexOf("DATA\r\n", at), wire.lastIndexOf("\r\nBDAT ", at));
    const endOfBlock = wire.indexOf("\r\n\r\n", at);
    const block = wire.slice(Math.max(0, start), endOfBlock < 0 ? wire.length : endOfBlock);
    if (keyOfSubject(/\r\nSubject: *([^\r\n]*)/i.exec(block)?.[1]) === key && m[1]) ids.push(m[1]);
  }
  return ids;
}

/**
 * What the client wrote on `c` after it had received something that ends the
 * connection (`clientBytes` written by then): a new transaction (RSET, MAIL)
 * reuses the connection; anything else but QUIT goes on writing the current
 * one. Each is its own violation.
 */
function writtenAfter(c: ReplayConnection, clientBytes: number, rule: string, what: string): Violation[] {
  const after = c.ledger.units.filter((u) => u.at > clientBytes && !/^QUIT$/i.test(u.line));
  const startsTransaction = (u: Unit): boolean => isMail(u) || /^RSET$/i.test(u.line);
  const reused = after.filter(startsTransaction);
  const continued = after.filter((u) => !startsTransaction(u));
  const v: Violation[] = [];
  if (reused.length > 0) v.push({ rule: `${rule}: reused`, expected: `no new transaction on connection ${c.index} after ${what}`, got: reused.map((u) => u.line).join(" | ") });
  if (continued.length > 0) v.push({ rule: `${rule}: kept writing`, expected: `nothing but QUIT written on connection ${c.index} after ${what}`, got: continued.map((u) => (u.kind === "data-end" ? "<end of data>" : u.line)).join(" | ") });
  return v;
}

function verdictRead(c: ReplayConnection, end: Unit): boolean {
  return c.ledger.replyTo(end.index)?.kind === "reply";
}

function settledSeq(o: Outcome): number | undefined {
  return o.kind === "pending" ? undefined : o.seq;
}

export function checkRun(cell: Cell, run: ScenarioRun): Violation[] {
  const v: Violation[] = [];
  const { harness } = run;
  const connections = harness.connections;

  // ---- scenario ----
  for (const p of run.problems) v.push({ rule: "scenario", expected: "the scenario's own calls to succeed", got: p });
  for (const m of harness.mismatches) v.push({ rule: "scenario", expected: "the client to follow the transcript up to the fault", got: m });
  if ((connections[0]?.faults.length ?? 0) === 0) {
    v.push({ rule: "scenario", expected: `the ${cell.fault} fault at ${cell.point} to be reached`, got: `it never was; commands on connection 0: ${(connections[0]?.commands ?? []).join(" | ")}` });
  }
  if (!run.allClosed) {
    const open = connections.filter((c) => !c.closed).map((c) => c.index);
    v.push({ rule: "scenario", expected: "every connection closed at the end", got: `connection(s) ${open.join(", ")} still open` });
  }

  // ---- outcome and kept ----
  const keptCount = (key: string): number =>
    harness.kept.filter((k) => (keyOfSubject(headerValue(k.bytes, "Subject")) ?? keyOfSender(k.sender)) === key).length;
  for (const m of run.messages) {
    const o = m.outcome;
    const key = m.spec.key;
    if (o.kind === "pending") {
      v.push({ rule: "outcome", expected: `message ${key} to settle within the bound`, got: "still pending" });
      continue;
    }
    if (o.kind === "invalid") {
      v.push({ rule: "outcome", expected: `message ${key}: sent, or an SmtpError with a numeric code`, got: o.why });
      continue;
    }
    const kept = keptCount(key);
    const ok = o.kind === "sent" ? kept === 1 : o.kind === "refused" ? kept === 0 : kept <= 1;
    if (!ok) {
      const want = o.kind === "sent" ? "kept exactly once" : o.kind === "refused" ? "never kept" : "kept at most once";
      v.push({ rule: "kept", expected: `message ${key} reported ${o.kind} to be ${want}`, got: `kept ${kept} time(s); ${describeOutcome(o)}` });
    }
  }

  const outcomeOf = (key: string): Outcome => run.messages.find((m) => m.spec.key === key)?.outcome ?? { kind: "pending" };

  // ---- verdict lost ----
  for (const c of connections) {
    for (const end of c.ledger.messagesSent()) {
      const key = keyOfUnit(end);
      if (!key || verdictRead(c, end)) continue;
      const o = outcomeOf(key);
      if (o.kind === "refused" || o.kind === "sent") {
        v.push({
          rule: "verdict lost",
          expected: `message ${key}: delivery unknown (its whole message went out on connection ${c.index} and no verdict came back)`,
          got: describeOutcome(o),
        });
      }
    }
  }

  // ---- poison ----
  for (const c of connections) {
    const poison = c.ledger.poisons[0];
    if (!poison) continue;
    for (const m of run.messages) {
      const key = m.spec.key;
      const seq = settledSeq(m.outcome);
      const started = mailsOf(c, key).some((u) => u.at <= poison.clientBytes);
      if (!started || seq === undefined || seq < poison.seq || m.outcome.kind === "invalid") continue;
      // Out = handed to the socket (write() called), as the engine counts it, even if it never left the buffer.
      const out = endsOf(c, key).length > 0 || c.handed.units.some((u) => u.message !== undefined && keyOfUnit(u) === key);
      const expected = out ? "unknown" : "refused";
      // The pool may send a message the poisoned connection refused again on a fresh connection.
      const retried = expected === "refused" && connections.some((later) => later.index > c.index && mailsOf(later, key).length > 0);
      if (m.outcome.kind !== expected && !retried) {
        v.push({ rule: "poison", expected: `message ${key}, in flight when the ${poison.why} (${JSON.stringify(poison.text.trim())}) arrived on connection ${c.index}: ${expected}`, got: describeOutcome(m.outcome) });
      }
      if (m.outcome.kind !== "sent" && m.connectedAfter === true) {
        v.push({ rule: "poison", expected: `smtp.connected false right after message ${key} failed on a poisoned connection`, got: "true" });
      }
    }
    v.push(...writtenAfter(c, poison.clientBytes, "poison", `the ${poison.why} arrived`));
    const closed = c.closedAt.client;
    // A poison that came during the cleanup (the reply to QUIT) is the cleanup's to close.
    if (poison.seq < run.cleanupSeq && (closed === undefined || closed > run.cleanupSeq)) {
      v.push({ rule: "poison", expected: `connection ${c.index} closed once the ${poison.why} arrived (before the cleanup)`, got: closed === undefined ? "never closed" : "still open at the cleanup" });
    }
  }

  // ---- 421 ----
  for (const c of connections) {
    const closing = c.ledger.closings[0];
    if (!closing) continue;
    v.push(...writtenAfter(c, closing.clientBytes, "421", "its 421 arrived"));
    for (const m of run.messages) {
      const seq = settledSeq(m.outcome);
      if (seq === undefined || seq < closing.seq || m.outcome.kind === "sent" || m.connectedAfter !== true) continue;
      if (mailsOf(c, m.spec.key).length === 0) continue;
      v.push({ rule: "421", expected: `smtp.connected false right after message ${m.spec.key} failed after a 421`, got: "true" });
    }
  }

  // ---- retry (pool) ----
  if (cell.spec.pool) {
    for (const m of run.messages) {
      const key = m.spec.key;
      const ids = new Set<string>();
      for (const k of harness.kept) {
        if ((keyOfSubject(headerValue(k.bytes, "Subject")) ?? keyOfSender(k.sender)) === key) ids.add(headerValue(k.bytes, "Message-ID") ?? "(none)");
      }
      for (const c of connections) for (const id of messageIdsOnWire(c, key)) ids.add(id);
      if (ids.size > 1) v.push({ rule: "retry", expected: `every copy of message ${key} with one Message-ID`, got: [...ids].join(", ") });

      const lost = connections.find((c) => endsOf(c, key).some((end) => !verdictRead(c, end)));
      const firstEnd = connections.find((c) => endsOf(c, key).length > 0);
      const after = lost ?? (m.outcome.kind === "unknown" ? firstEnd : undefined);
      if (after) {
        const again = connections.filter((c) => c.index > after.index && mailsOf(c, key).length > 0).map((c) => c.index);
        if (again.length > 0) {
          v.push({
            rule: "retry",
            expected: `message ${key} not sent again (its whole message went out on connection ${after.index}${lost ? " and its verdict was lost" : ""}; ${describeOutcome(m.outcome)})`,
            got: `sent again on connection(s) ${again.join(", ")}`,
          });
        }
      }
    }
  }
  return v;
}

/** One line per message and what the server kept, for failure messages. */
export function describeRun(run: ScenarioRun): string {
  const outcomes = run.messages.map((m) => `${m.spec.key}: ${describeOutcome(m.outcome)}`);
  const kept = run.harness.kept.map((k) => `${keyOfSubject(headerValue(k.bytes, "Subject")) ?? "?"}@conn${k.connection}`);
  return `${outcomes.join(" | ")} || kept: ${kept.join(", ") || "nothing"} || connections: ${run.harness.connectorCalls}`;
}

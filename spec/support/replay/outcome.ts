/**
 * What a send reported, in the three kinds the fault matrix knows:
 * sent (resolved), refused (rejected, deliveryUnknown false), delivery
 * unknown (rejected, deliveryUnknown true). Anything else (not an SmtpError,
 * a code that is not a number) is "invalid". `seq` orders the settlement
 * against the arrivals on the wire.
 */
import { SmtpError } from "../../../src/index.js";
import type { Sequencer } from "./wire-ledger.js";

export type OutcomeKind = "sent" | "refused" | "unknown";

export type Outcome =
  | { kind: "pending" }
  | { kind: "sent"; seq: number }
  | { kind: "refused" | "unknown"; error: SmtpError; seq: number }
  | { kind: "invalid"; why: string; seq: number };

export class Watched {
  outcome: Outcome = { kind: "pending" };

  /** `settledHook` runs in the same turn as the settlement, before anything else can happen. */
  constructor(promise: Promise<unknown>, sequencer: Sequencer, settledHook?: () => void) {
    promise.then(
      () => {
        settledHook?.();
        this.outcome = { kind: "sent", seq: sequencer.now };
      },
      (e: unknown) => {
        settledHook?.();
        this.outcome = classify(e, sequencer.now);
      },
    );
  }

  get settled(): boolean {
    return this.outcome.kind !== "pending";
  }
}

export function classify(e: unknown, seq: number): Outcome {
  if (!(e instanceof SmtpError)) return { kind: "invalid", why: `rejected with ${describeError(e)}, not an SmtpError`, seq };
  if (typeof e.code !== "number" || !Number.isInteger(e.code)) return { kind: "invalid", why: `SmtpError with code ${String(e.code)}`, seq };
  return { kind: e.deliveryUnknown ? "unknown" : "refused", error: e, seq };
}

/** "refused (10054 connection reset...)", for messages. */
export function describeOutcome(o: Outcome): string {
  switch (o.kind) {
    case "pending":
    case "sent":
      return o.kind;
    case "invalid":
      return `invalid: ${o.why}`;
    default:
      return `${o.kind} (${o.error.code}${o.error.replyCode ? `/${o.error.replyCode}` : ""}: ${o.error.message.slice(0, 140)})`;
  }
}

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

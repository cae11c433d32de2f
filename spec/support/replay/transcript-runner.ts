/**
 * Walks a transcript: each event of the client's stream is matched against
 * the next step, whose reaction is returned. Once the steps run out, the
 * fallback responder answers. A command the transcript did not expect is
 * answered with 503 and recorded as a mismatch (QUIT and NOOP are answered
 * wherever they come).
 */
import type { Responder, ScriptEvent } from "./generic-responder.js";
import { BODY, END_OF_DATA, describeExpectation, type Expectation, type Reaction, type Transcript } from "./transcript.js";

/**
 * Commands answered wherever they come, without a step: QUIT (the client may
 * leave at any point) and NOOP (with PIPELINING the client sends one behind
 * the end of each message, to check that the verdict was read in step).
 */
const OFF_SCRIPT: readonly [RegExp, Reaction][] = [
  [/^QUIT$/i, { reply: "221 2.0.0 replay: bye", closeAfter: true }],
  [/^NOOP$/i, { reply: "250 2.0.0 replay: ok" }],
];

export class TranscriptRunner {
  readonly mismatches: string[] = [];
  private next = 0;

  constructor(
    private readonly transcript: Transcript,
    private readonly fallback: Responder,
  ) {}

  /** Every step has been used. */
  get finished(): boolean {
    return this.next >= this.transcript.steps.length;
  }

  react(event: ScriptEvent): Reaction | undefined {
    if (event.kind === "connect") return this.transcript.greeting;
    const steps = this.transcript.steps;
    while (this.next < steps.length) {
      const step = steps[this.next];
      if (!step) break;
      if (matches(step.expect, event)) {
        if (!step.repeat) this.next++;
        return step;
      }
      // Progress through a message only matters to a BODY step.
      if (event.kind === "data-progress") return undefined;
      if (step.repeat) {
        this.next++;
        continue;
      }
      const offScript = event.kind === "command" ? OFF_SCRIPT.find(([verb]) => verb.test(event.line)) : undefined;
      if (offScript) return offScript[1];
      this.mismatches.push(`expected ${describeExpectation(step.expect)}, got ${describeEvent(event)}`);
      return { reply: "503 5.5.1 replay: not in the transcript" };
    }
    return this.fallback(event);
  }
}

function matches(expect: Expectation, event: ScriptEvent): boolean {
  if (expect === END_OF_DATA) return event.kind === "data-end";
  if (expect === BODY) return event.kind === "data-progress";
  if (event.kind === "command" || event.kind === "bdat") return expect.test(event.line);
  return false;
}

function describeEvent(event: ScriptEvent): string {
  switch (event.kind) {
    case "command":
    case "bdat":
      return JSON.stringify(event.line);
    case "data-end":
      return "the end of data";
    case "data-progress":
      return "message data";
    case "connect":
      return "a connection";
  }
}

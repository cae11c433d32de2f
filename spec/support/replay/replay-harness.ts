/**
 * The replay server as a connector: `smtp.connector = harness.connector`.
 * Each connection the client opens gets the next transcript given, or, once
 * those run out, a generic accepting server. All connections share one
 * sequencer, so what happened on them can be ordered against each other and
 * against the test's own observations.
 */
import type { Duplex } from "node:stream";
import type { ConnectTarget, Connector } from "../../../src/index.js";
import { DEFAULT_GREETING, genericResponder } from "./generic-responder.js";
import type { ChunkMode } from "./output-chunking.js";
import { ReplayConnection, type KeptMessage } from "./replay-connection.js";
import type { Transcript } from "./transcript.js";
import type { Sequencer } from "./wire-ledger.js";

export interface HarnessOptions {
  chunking: ChunkMode;
  /** The EHLO reply of the generic server: the capabilities every connection without a transcript announces. */
  ehlo: string;
  /** Transcripts for the first connections, in order. */
  transcripts?: readonly Transcript[];
}

class Counter implements Sequencer {
  now = 0;
  next(): number {
    return ++this.now;
  }
}

export class ReplayHarness {
  readonly connections: ReplayConnection[] = [];
  readonly targets: ConnectTarget[] = [];
  readonly sequencer: Sequencer = new Counter();

  constructor(private readonly options: HarnessOptions) {}

  /** Opens the next connection. */
  readonly connector: Connector = (target: ConnectTarget): Duplex => {
    this.targets.push({ host: target.host, port: target.port });
    const index = this.connections.length;
    const transcript = this.options.transcripts?.[index] ?? { greeting: { reply: DEFAULT_GREETING }, steps: [] };
    const connection = new ReplayConnection(index, transcript, genericResponder(this.options.ehlo), this.options.chunking, this.sequencer);
    this.connections.push(connection);
    return connection.open();
  };

  get connectorCalls(): number {
    return this.targets.length;
  }

  /** Something sent on some connection has not arrived yet. */
  get busy(): boolean {
    return this.connections.some((c) => c.pair.busy);
  }

  /** Every message kept, on every connection, in the order kept. */
  get kept(): KeptMessage[] {
    return this.connections.flatMap((c) => c.kept).sort((a, b) => a.seq - b.seq);
  }

  /** Transcript mismatches of every connection, prefixed with the connection's index. */
  get mismatches(): string[] {
    return this.connections.flatMap((c) => c.mismatches.map((m) => `connection ${c.index}: ${m}`));
  }

  /** Every connection is closed at both ends. */
  get allClosed(): boolean {
    return this.connections.every((c) => c.closed);
  }
}

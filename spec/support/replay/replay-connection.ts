/**
 * One connection of the replay server: the server end of a duplex pair,
 * reading the client's bytes with a CommandReader, answering from a
 * transcript (then a generic responder), carrying out faults, and recording
 * the commands it read and the messages it kept.
 *
 * Everything the server writes while handling one arrival of client bytes is
 * one burst, cut into writes by the chunk mode. A fault that ends the
 * connection (FIN, reset) follows the burst's writes.
 */
import type { Duplex } from "node:stream";
import { CommandReader } from "./command-reader.js";
import { DuplexPair } from "./duplex-pair.js";
import type { Responder, ScriptEvent } from "./generic-responder.js";
import { splitOutput, type ChunkMode } from "./output-chunking.js";
import { replyCode, type FaultKind, type Reaction, type Transcript } from "./transcript.js";
import { TranscriptRunner } from "./transcript-runner.js";
import { WireLedger, type OutputKind, type Sequencer } from "./wire-ledger.js";

export interface KeptMessage {
  /** Index of the connection (0 = the first the client opened). */
  connection: number;
  sender: string | undefined;
  bytes: Buffer;
  seq: number;
}

/** A fault as the server carried it out. */
export interface FiredFault {
  kind: FaultKind;
  /** What it happened at: a command line, "the greeting", "the end of data", "message data". */
  at: string;
  seq: number;
}

const STRAY = "250 2.0.0 replay: stray reply";
const GARBLED = "2x0 replay: garbled reply";
const CLOSING = "421 4.3.2 replay: service shutting down";
/** What a stall cuts in half when the fault comes after a reply (the next reply, had there been one). */
const NEXT_REPLY = "250 2.0.0 replay: ok";

type State = "script" | "generic" | "silent" | "gone";

export class ReplayConnection {
  readonly pair: DuplexPair;
  readonly ledger: WireLedger;
  /**
   * The same account, from the client's write() calls: bytes handed to its
   * socket, whether or not they left its buffer before the connection died
   * (the engine's "the whole message went out" is this moment).
   */
  readonly handed: WireLedger;
  /** Every command line (BDAT lines included) the server read, in order. */
  readonly commands: string[] = [];
  /** Each write (or corked batch) the client handed to its end, as handed. */
  readonly clientWrites: Buffer[] = [];
  readonly kept: KeptMessage[] = [];
  readonly faults: FiredFault[] = [];
  /** seq when each end closed. */
  readonly closedAt: { client?: number; server?: number } = {};
  private readonly reader: CommandReader;
  private readonly runner: TranscriptRunner;
  private state: State = "script";
  private burst: Buffer[] = [];
  private ending: "fin" | "reset" | undefined;
  private sender: string | undefined;
  private bdatParts: Buffer[] = [];
  private dataCommands = 0;

  constructor(
    readonly index: number,
    transcript: Transcript,
    private readonly generic: Responder,
    private readonly chunking: ChunkMode,
    private readonly sequencer: Sequencer,
  ) {
    this.ledger = new WireLedger(sequencer);
    this.handed = new WireLedger(sequencer);
    this.pair = new DuplexPair({
      clientWrote: (bytes) => {
        this.clientWrites.push(bytes);
        this.ledger.clientWrote(bytes);
      },
      arriving: (to, bytes) => {
        sequencer.next();
        if (to === "client") this.ledger.deliveredToClient(bytes.length);
      },
      closed: (side) => {
        this.closedAt[side] = sequencer.now;
      },
    });
    const client = this.pair.client;
    const write = client.write.bind(client) as (chunk: unknown, ...rest: unknown[]) => boolean;
    client.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
      if (Buffer.isBuffer(chunk)) this.handed.clientWrote(chunk);
      else if (typeof chunk === "string") this.handed.clientWrote(Buffer.from(chunk, "latin1"));
      return write(chunk, ...rest);
    }) as typeof client.write;
    this.runner = new TranscriptRunner(transcript, generic);
    this.reader = new CommandReader((e) => this.handle(e));
    const server = this.pair.server;
    server.on("data", (chunk: Buffer) => {
      this.reader.push(chunk);
      this.flush();
    });
    // A reset client end closes this end; nothing to report.
    server.on("error", () => undefined);
  }

  /** Greets (or not) and returns the client's end. */
  open(): Duplex {
    this.handle({ kind: "connect" });
    this.flush();
    return this.pair.client;
  }

  /** Transcript steps the client did not follow. */
  get mismatches(): readonly string[] {
    return this.runner.mismatches;
  }

  get transcriptFinished(): boolean {
    return this.runner.finished;
  }

  get closed(): boolean {
    return this.pair.client.destroyed && this.pair.server.destroyed;
  }

  private handle(event: ScriptEvent): void {
    if (event.kind === "command" || event.kind === "bdat") this.commands.push(event.line);
    this.track(event);
    if (this.state === "silent" || this.state === "gone") return;
    const reaction = this.state === "script" ? this.runner.react(event) : this.generic(event);
    if (!reaction) return;
    this.perform(event, reaction);
  }

  /** Follows the transaction the server is in (sender, BDAT chunks so far). */
  private track(event: ScriptEvent): void {
    if (event.kind === "command") {
      const mail = /^(?:MAIL|SEND|SOML|SAML) FROM:<([^>]*)>/i.exec(event.line);
      if (mail) this.sender = mail[1];
      if (mail || /^RSET$/i.test(event.line)) this.bdatParts = [];
    } else if (event.kind === "bdat") {
      this.bdatParts.push(event.payload);
    }
  }

  private perform(event: ScriptEvent, r: Reaction): void {
    const fault = r.fault;
    const replaced = fault !== undefined && !r.faultAfterReply && fault !== "stray";
    const replySent = r.reply !== undefined && !replaced;
    const message = this.messageEnded(event);
    if (message) {
      const keep = r.keep ?? (replySent && /^2/.test(r.reply ?? ""));
      if (keep) this.kept.push({ connection: this.index, sender: this.sender, bytes: message, seq: this.sequencer.now });
      this.bdatParts = [];
    }
    if (replySent && r.reply !== undefined) this.say("reply", r.reply);
    if (event.kind === "command" && /^DATA$/i.test(event.line)) {
      const accepted = replySent && replyCode(r.reply) === 354;
      this.ledger.decidedData(this.dataCommands++, accepted);
      if (accepted) this.reader.startData();
    }
    if (fault) this.fault(fault, event, r.faultAfterReply ? NEXT_REPLY : r.reply);
    // QUIT's FIN follows its reply; a fault that took the reply's place decides alone.
    if (r.closeAfter && replySent && (this.state === "script" || this.state === "generic")) {
      this.ending ??= "fin";
      this.state = "gone";
    }
  }

  private messageEnded(event: ScriptEvent): Buffer | undefined {
    if (event.kind === "data-end") return event.body;
    if (event.kind === "bdat" && event.last) return Buffer.concat(this.bdatParts);
    return undefined;
  }

  private fault(kind: FaultKind, event: ScriptEvent, slot: string | undefined): void {
    this.faults.push({ kind, at: describe(event), seq: this.sequencer.now });
    switch (kind) {
      case "close":
        this.ending = "fin";
        this.state = "gone";
        return;
      case "reset":
        this.ending = "reset";
        this.state = "gone";
        return;
      case "421":
        this.say("reply", CLOSING);
        this.ending = "fin";
        this.state = "gone";
        return;
      case "malformed":
        this.say("garbled", GARBLED);
        this.state = "generic";
        return;
      case "stray":
        this.say("reply", STRAY);
        this.state = "generic";
        return;
      case "silence":
        this.state = "silent";
        return;
      case "stall": {
        const first = (slot ?? NEXT_REPLY).split("\r\n")[0] ?? "";
        this.write("partial", first.slice(0, Math.max(1, Math.floor(first.length / 2))), undefined);
        this.state = "silent";
        return;
      }
    }
  }

  private say(kind: OutputKind, text: string): void {
    this.write(kind, `${text}\r\n`, kind === "reply" ? replyCode(text) : undefined);
  }

  private write(kind: OutputKind, text: string, code: number | undefined): void {
    this.ledger.serverWrote(kind, text, code);
    this.burst.push(Buffer.from(text, "latin1"));
  }

  /** Sends the burst, then FIN or the reset if a fault asked for one. */
  private flush(): void {
    const server = this.pair.server;
    const bytes = Buffer.concat(this.burst);
    this.burst = [];
    const writable = !server.destroyed && !server.writableEnded;
    const pieces = writable ? splitOutput(bytes, this.chunking) : [];
    const ending = this.ending;
    this.ending = undefined;
    // The reset follows the burst once all of it has arrived (a FIN follows the writes by itself).
    const reset = (): void => this.pair.reset();
    pieces.forEach((piece, i) => server.write(piece, ending === "reset" && i === pieces.length - 1 ? reset : undefined));
    if (ending === "fin" && writable) server.end();
    if (ending === "reset" && pieces.length === 0) reset();
  }
}

function describe(event: ScriptEvent): string {
  switch (event.kind) {
    case "connect":
      return "the greeting";
    case "command":
    case "bdat":
      return event.line;
    case "data-end":
      return "the end of data";
    case "data-progress":
      return "message data";
  }
}


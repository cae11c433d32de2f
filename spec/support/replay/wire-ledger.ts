/**
 * The wire's own account of one connection, for judging the client.
 *
 * Client side: every byte the client handed to its socket, parsed as it is
 * written into "units", the things that each earn exactly one reply: the
 * connection (the greeting), each command line, each BDAT chunk, each end of
 * DATA. Server side: every reply, garbled line and half line the server
 * wrote, and when it arrived at the client. Replies are matched to units by
 * position, as SMTP matches them; a reply arriving when every unit written
 * so far already has one is unsolicited.
 *
 * `seq` values come from the harness's sequencer, shared by all connections,
 * so they order arrivals against the test's own observations (a send settling).
 */
import { CommandReader, type ReaderEvent } from "./command-reader.js";

export interface Sequencer {
  /** The last value handed out. */
  readonly now: number;
  next(): number;
}

export interface Unit {
  index: number;
  kind: "greeting" | "command" | "data-end";
  /** The command line ("" for the greeting, "." for an end of DATA). */
  line: string;
  /** The envelope sender of the transaction the unit belongs to. */
  sender: string | undefined;
  /** Client bytes written up to and including this unit. */
  at: number;
  /** For the end of a message (end of DATA, BDAT LAST): the message as sent. */
  message?: Buffer;
}

export type OutputKind = "reply" | "garbled" | "partial";

export interface OutputItem {
  kind: OutputKind;
  text: string;
  /** The reply code (replies only). */
  code: number | undefined;
  /** Server output offsets [start, end). */
  start: number;
  end: number;
  /** Set once all of it reached the client. */
  delivered?: { seq: number; clientBytes: number; position: number | undefined; unsolicited: boolean };
}

/** Something that makes the connection unusable, as it reached the client. */
export interface Poison {
  why: "unsolicited reply" | "garbled reply";
  text: string;
  seq: number;
  /** Client bytes written when it arrived. */
  clientBytes: number;
}

export class WireLedger {
  readonly units: Unit[] = [];
  readonly output: OutputItem[] = [];
  readonly poisons: Poison[] = [];
  /** 421 replies, as they reached the client. */
  readonly closings: { seq: number; clientBytes: number }[] = [];
  clientBytes = 0;
  private outputLength = 0;
  private deliveredLength = 0;
  private repliesDelivered = 0;
  private readonly tap: CommandReader;
  private sender: string | undefined;
  private bdatParts: Buffer[] = [];
  private dataCommands = 0;
  /** Whether the server answered each DATA with 354, in order. */
  private readonly dataDecisions: boolean[] = [];
  private awaitingDecision: number | undefined;

  constructor(private readonly sequencer: Sequencer) {
    this.tap = new CommandReader((e) => this.onTapEvent(e));
    this.units.push({ index: 0, kind: "greeting", line: "", sender: undefined, at: 0 });
  }

  /** The server answered the k-th DATA command (354 or not). */
  decidedData(index: number, accepted: boolean): void {
    this.dataDecisions[index] = accepted;
  }

  clientWrote(bytes: Buffer): void {
    // Message data follows a DATA only if the server said 354 (which it had to, before the client could go on).
    if (this.awaitingDecision !== undefined) {
      if (this.dataDecisions[this.awaitingDecision] === true) this.tap.startData();
      this.awaitingDecision = undefined;
    }
    this.clientBytes += bytes.length;
    this.tap.push(bytes);
  }

  /** The server wrote this; returns the item for reference. */
  serverWrote(kind: OutputKind, text: string, code: number | undefined): OutputItem {
    const length = Buffer.byteLength(text, "latin1");
    const item: OutputItem = { kind, text, code, start: this.outputLength, end: this.outputLength + length };
    this.outputLength += length;
    this.output.push(item);
    return item;
  }

  /** `bytes` of the server's output reached the client. */
  deliveredToClient(bytes: number): void {
    this.deliveredLength += bytes;
    const seq = this.sequencer.now;
    for (const item of this.output) {
      if (item.delivered || item.end > this.deliveredLength) continue;
      let position: number | undefined;
      let unsolicited = false;
      if (item.kind !== "partial") {
        position = this.repliesDelivered++;
        unsolicited = position >= this.units.length;
      }
      item.delivered = { seq, clientBytes: this.clientBytes, position, unsolicited };
      if (item.kind === "garbled") this.poisons.push({ why: "garbled reply", text: item.text, seq, clientBytes: this.clientBytes });
      // A server may announce its closing with a 421 nobody asked for (RFC 5321 3.8): that is no poison.
      else if (unsolicited && item.code !== 421) this.poisons.push({ why: "unsolicited reply", text: item.text, seq, clientBytes: this.clientBytes });
      if (item.kind === "reply" && item.code === 421) this.closings.push({ seq, clientBytes: this.clientBytes });
    }
  }

  /** The reply that arrived in answer to unit `index`, if any. */
  replyTo(index: number): OutputItem | undefined {
    return this.output.find((o) => o.delivered?.position === index);
  }

  /** Ends of messages the client wrote in full on this connection. */
  messagesSent(): Unit[] {
    return this.units.filter((u) => u.message !== undefined);
  }

  private onTapEvent(e: ReaderEvent): void {
    switch (e.kind) {
      case "data-progress":
        return;
      case "command": {
        const mail = /^(?:MAIL|SEND|SOML|SAML) FROM:<([^>]*)>/i.exec(e.line);
        if (mail) {
          this.sender = mail[1];
          this.bdatParts = [];
        }
        if (/^RSET$/i.test(e.line)) this.bdatParts = [];
        this.addUnit("command", e.line, e.end);
        if (/^DATA$/i.test(e.line)) this.awaitingDecision = this.dataCommands++;
        return;
      }
      case "data-end":
        this.addUnit("data-end", ".", e.end, e.body);
        return;
      case "bdat": {
        this.bdatParts.push(e.payload);
        const message = e.last ? Buffer.concat(this.bdatParts) : undefined;
        if (e.last) this.bdatParts = [];
        this.addUnit("command", e.line, e.end, message);
        return;
      }
    }
  }

  private addUnit(kind: Unit["kind"], line: string, at: number, message?: Buffer): void {
    const unit: Unit = { index: this.units.length, kind, line, sender: this.sender, at };
    if (message) unit.message = message;
    this.units.push(unit);
  }
}

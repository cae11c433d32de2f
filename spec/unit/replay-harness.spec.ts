/**
 * The in-memory replay harness itself: the duplex pair, the server-side
 * reader, transcripts, faults on fake time, and clean sends through the real
 * Smtp component in each transfer mode (DATA, PIPELINING, BDAT, one-flight
 * BDAT) and against a Postfix-like transcript, each with the server's output
 * arriving whole, one line at a time and one byte at a time.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ErrorCode, SmtpError } from "../../src/index.js";
import { CommandReader, type ReaderEvent } from "../support/replay/command-reader.js";
import { DuplexPair } from "../support/replay/duplex-pair.js";
import { itInEveryChunking } from "../support/replay/every-chunking.js";
import { quiesce, restoreClock, settle, useReplayClock } from "../support/replay/fake-clock.js";
import { headerValue } from "../support/replay/message-headers.js";
import { splitOutput } from "../support/replay/output-chunking.js";
import { replaySmtp, REPLAY_TIMEOUT_S } from "../support/replay/replay-client.js";
import { ReplayHarness } from "../support/replay/replay-harness.js";
import { END_OF_DATA, lines, type Step, type Transcript } from "../support/replay/transcript.js";
import { WireLedger } from "../support/replay/wire-ledger.js";

const BODY_LINES = Array.from({ length: 30 }, (_, i) => `Line ${String(i + 1).padStart(2, "0")} of the replay message, long enough to need a few BDAT chunks.`);
BODY_LINES.splice(5, 0, ".A line that starts with a dot (dot-stuffed by DATA, not by BDAT).");
const MESSAGE_TEXT = `${BODY_LINES.join("\r\n")}\r\n`;
const SENDER = "sender@replay.test";
const RECIPIENTS = ["one@replay.test", "two@replay.test"];

const GREETING = { reply: "220 replay.test ESMTP replay" };
const envelopeSteps: Step[] = [
  { expect: /^MAIL FROM:<sender@replay\.test>$/, reply: "250 2.1.0 sender ok" },
  { expect: /^RCPT TO:<one@replay\.test>$/, reply: "250 2.1.5 recipient ok" },
  { expect: /^RCPT TO:<two@replay\.test>$/, reply: "250 2.1.5 recipient ok" },
];
const QUIT: Step = { expect: /^QUIT$/, reply: "221 2.0.0 bye", closeAfter: true };

function harnessFor(chunking: "whole" | "lines" | "bytes", ehlo: string, steps: Step[]): ReplayHarness {
  const transcript: Transcript = { greeting: GREETING, steps: [{ expect: /^EHLO client\.test$/, reply: ehlo }, ...steps] };
  return new ReplayHarness({ chunking, ehlo, transcripts: [transcript] });
}

async function sendThrough(harness: ReplayHarness, settings: Record<string, number | boolean> = {}): Promise<void> {
  const smtp = replaySmtp(harness, { from: SENDER, sendTo: RECIPIENTS.join(", "), subject: "replay harness", messageText: MESSAGE_TEXT, settings });
  const result = await settle(smtp.send(), () => harness.busy);
  expect(result.replyCode).toBe(250);
  expect(result.accepted).toEqual(RECIPIENTS);
  // send() opened the connection itself, so it said QUIT and closed it.
  await quiesce(() => harness.busy);
  expect(harness.allClosed).toBe(true);
  expect(smtp.connected).toBe(false);
}

/** The one message the server kept, checked against what was sent. */
function keptMessage(harness: ReplayHarness): Buffer {
  const kept = harness.kept;
  expect(kept).toHaveLength(1);
  const message = (kept[0] as { bytes: Buffer }).bytes;
  expect(headerValue(message, "Subject")).toBe("replay harness");
  expect(headerValue(message, "Message-ID")).toMatch(/^<[^>]+@replay\.test>$/);
  const text = message.toString("latin1");
  // Dot-stuffing (DATA) was undone, BDAT carried the line as it is: either way the line arrives intact.
  expect(text).toContain(`\r\n${BODY_LINES[5]}\r\n`);
  expect(text.endsWith(`${BODY_LINES[BODY_LINES.length - 1]}\r\n`)).toBe(true);
  return message;
}

/**
 * The commands the server read, NOOPs left out: with PIPELINING the client
 * may send one behind the end of a message (the transcript runner answers
 * NOOP wherever it comes).
 */
function commandsWithoutNoop(harness: ReplayHarness): string[] {
  return (harness.connections[0]?.commands ?? []).filter((c) => c !== "NOOP");
}

const ENVELOPE_COMMANDS = ["EHLO client.test", `MAIL FROM:<${SENDER}>`, ...RECIPIENTS.map((r) => `RCPT TO:<${r}>`)];

function expectTranscriptFollowed(harness: ReplayHarness): void {
  expect(harness.mismatches).toEqual([]);
  expect(harness.connections.every((c) => c.transcriptFinished)).toBe(true);
  expect(harness.connectorCalls).toBe(1);
  expect(harness.targets[0]).toEqual({ host: "replay.test", port: 25 });
}

describe("duplex pair", () => {
  it("carries bytes both ways, each write as one chunk, in order", async () => {
    const pair = new DuplexPair();
    const atServer: string[] = [];
    const atClient: string[] = [];
    pair.server.on("data", (c: Buffer) => atServer.push(c.toString()));
    pair.client.on("data", (c: Buffer) => atClient.push(c.toString()));
    pair.client.write("EHLO a\r\n");
    pair.client.write("MAIL FROM:<>\r\n");
    pair.server.write("250 ok\r\n");
    // Nothing arrives synchronously, as on a socket.
    expect(atServer).toEqual([]);
    await quiesce(() => pair.busy);
    expect(atServer).toEqual(["EHLO a\r\n", "MAIL FROM:<>\r\n"]);
    expect(atClient).toEqual(["250 ok\r\n"]);
  });

  it("sends a corked batch as one chunk", async () => {
    const pair = new DuplexPair();
    const atServer: string[] = [];
    pair.server.on("data", (c: Buffer) => atServer.push(c.toString()));
    pair.client.cork();
    pair.client.write(".\r\n");
    pair.client.write("RSET\r\nMAIL FROM:<>\r\n");
    process.nextTick(() => pair.client.uncork());
    await quiesce(() => pair.busy);
    expect(atServer).toEqual([".\r\nRSET\r\nMAIL FROM:<>\r\n"]);
  });

  it("a client end() is seen by the server as end and close, and both ends close", async () => {
    const pair = new DuplexPair();
    const seen: string[] = [];
    pair.server.on("data", () => undefined);
    pair.client.on("data", () => undefined);
    pair.server.on("end", () => seen.push("server end"));
    pair.server.on("close", () => seen.push("server close"));
    pair.client.on("close", () => seen.push("client close"));
    pair.client.end("QUIT\r\n");
    await quiesce(() => pair.busy);
    expect(seen).toContain("server end");
    expect(seen).toContain("server close");
    expect(seen).toContain("client close");
  });

  it("a server FIN closes the client's end (no half-open socket)", async () => {
    const pair = new DuplexPair();
    const seen: string[] = [];
    pair.server.on("data", () => undefined);
    pair.client.on("data", () => undefined);
    pair.client.on("end", () => seen.push("client end"));
    pair.client.on("close", () => seen.push("client close"));
    pair.server.end("421 bye\r\n");
    await quiesce(() => pair.busy);
    expect(seen).toEqual(["client end", "client close"]);
    expect(pair.server.destroyed).toBe(true);
  });

  it("destroying one end closes the other", async () => {
    const pair = new DuplexPair();
    let serverClosed = false;
    pair.server.on("close", () => (serverClosed = true));
    pair.client.destroy();
    await quiesce(() => pair.busy);
    expect(serverClosed).toBe(true);
  });

  it("a reset fails the client end with ECONNRESET after what was sent before it", async () => {
    const pair = new DuplexPair();
    const atClient: string[] = [];
    let error: (Error & { code?: string }) | undefined;
    let serverClosed = false;
    pair.client.on("data", (c: Buffer) => atClient.push(c.toString()));
    pair.client.on("error", (e: Error) => (error = e));
    pair.server.on("close", () => (serverClosed = true));
    pair.server.write("250 ok\r\n");
    pair.reset();
    await quiesce(() => pair.busy);
    expect(atClient).toEqual(["250 ok\r\n"]);
    expect(error?.code).toBe("ECONNRESET");
    expect(pair.client.destroyed).toBe(true);
    expect(serverClosed).toBe(true);
  });
});

describe("command reader", () => {
  function read(chunks: (string | Buffer)[], dataAfter: (line: string) => boolean = () => false): ReaderEvent[] {
    const events: ReaderEvent[] = [];
    const reader: CommandReader = new CommandReader((e) => {
      events.push(e);
      if (e.kind === "command" && dataAfter(e.line)) reader.startData();
    });
    for (const c of chunks) reader.push(typeof c === "string" ? Buffer.from(c, "latin1") : c);
    return events;
  }

  it("splits pipelined commands arriving in one chunk", () => {
    const events = read(["MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\nDATA\r\n"]);
    expect(events.map((e) => (e.kind === "command" ? e.line : e.kind))).toEqual(["MAIL FROM:<a@b>", "RCPT TO:<c@d>", "RCPT TO:<e@f>", "DATA"]);
    expect(events.map((e) => e.end)).toEqual([17, 32, 47, 53]);
  });

  it("joins a command split over many chunks", () => {
    const events = read(["MA", "IL FROM:<a@b>\r", "\nQU", "IT\r\n"]);
    expect(events).toEqual([
      { kind: "command", line: "MAIL FROM:<a@b>", end: 17 },
      { kind: "command", line: "QUIT", end: 23 },
    ]);
  });

  it("collects DATA lines up to the dot and undoes dot-stuffing", () => {
    const events = read(["DATA\r\nSubject: x\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n"], (l) => l === "DATA");
    expect(events.map((e) => e.kind)).toEqual(["command", "data-progress", "data-end", "command"]);
    const end = events[2] as Extract<ReaderEvent, { kind: "data-end" }>;
    expect(end.body.toString()).toBe("Subject: x\r\n\r\n.dot\r\nbody\r\n");
  });

  it("reads exactly n binary bytes after BDAT, whatever they contain", () => {
    const payload = Buffer.from([0x00, 0x0d, 0x0a, 0x2e, 0x0d, 0x0a, 0xff, 0x51, 0x55, 0x49, 0x54]);
    const events = read([Buffer.concat([Buffer.from(`BDAT ${payload.length} LAST\r\n`), payload.subarray(0, 3)]), Buffer.concat([payload.subarray(3), Buffer.from("QUIT\r\n")])]);
    expect(events.map((e) => e.kind)).toEqual(["data-progress", "bdat", "command"]);
    const bdat = events[1] as Extract<ReaderEvent, { kind: "bdat" }>;
    expect(bdat).toMatchObject({ line: `BDAT ${payload.length} LAST`, size: payload.length, last: true });
    expect(bdat.payload.equals(payload)).toBe(true);
    expect(events[2]).toMatchObject({ kind: "command", line: "QUIT" });
  });
});

describe("wire ledger", () => {
  function ledger(): { ledger: WireLedger; arrive(text: string): void } {
    let seq = 0;
    const l = new WireLedger({
      get now() {
        return seq;
      },
      next: () => ++seq,
    });
    return {
      ledger: l,
      arrive(text) {
        seq++;
        l.deliveredToClient(Buffer.byteLength(text, "latin1"));
      },
    };
  }

  it("matches replies to what the client wrote by position, and flags one too many", () => {
    const { ledger: l, arrive } = ledger();
    l.serverWrote("reply", "220 hi\r\n", 220);
    arrive("220 hi\r\n");
    l.clientWrote(Buffer.from("EHLO a\r\nMAIL FROM:<a@replay.test>\r\n"));
    l.serverWrote("reply", "250 a\r\n", 250);
    l.serverWrote("reply", "250 b\r\n", 250);
    l.serverWrote("reply", "250 stray\r\n", 250);
    arrive("250 a\r\n250 b\r\n250 stray\r\n");
    expect(l.units.map((u) => [u.kind, u.line, u.sender])).toEqual([
      ["greeting", "", undefined],
      ["command", "EHLO a", undefined],
      ["command", "MAIL FROM:<a@replay.test>", "a@replay.test"],
    ]);
    expect(l.replyTo(2)?.text).toBe("250 b\r\n");
    expect(l.poisons).toMatchObject([{ why: "unsolicited reply", text: "250 stray\r\n", clientBytes: 35 }]);
  });

  it("counts a garbled line as a poison, a half line as nothing, and an unasked 421 as a closing", () => {
    const { ledger: l, arrive } = ledger();
    l.serverWrote("garbled", "2x0 hi\r\n", undefined);
    l.serverWrote("partial", "25", undefined);
    arrive("2x0 hi\r\n25");
    expect(l.poisons.map((p) => p.why)).toEqual(["garbled reply"]);
    l.serverWrote("reply", "421 bye\r\n", 421);
    arrive("421 bye\r\n");
    expect(l.closings).toHaveLength(1);
    expect(l.poisons).toHaveLength(1);
  });

  it("reads message data after DATA only when the server said 354", () => {
    const { ledger: l } = ledger();
    l.clientWrote(Buffer.from("MAIL FROM:<a@replay.test>\r\nDATA\r\n"));
    l.decidedData(0, false);
    l.clientWrote(Buffer.from("RSET\r\nDATA\r\n"));
    l.decidedData(1, true);
    l.clientWrote(Buffer.from("Subject: x\r\n\r\nRSET\r\n.\r\nNOOP\r\n"));
    expect(l.units.map((u) => u.line)).toEqual(["", "MAIL FROM:<a@replay.test>", "DATA", "RSET", "DATA", ".", "NOOP"]);
    expect(l.messagesSent().map((u) => u.message?.toString())).toEqual(["Subject: x\r\n\r\nRSET\r\n"]);
  });
});

describe("output chunking", () => {
  it("cuts a burst whole, per line, or per byte", () => {
    const burst = Buffer.from("250 a\r\n250 b\r\n25");
    expect(splitOutput(burst, "whole").map(String)).toEqual(["250 a\r\n250 b\r\n25"]);
    expect(splitOutput(burst, "lines").map(String)).toEqual(["250 a\r\n", "250 b\r\n", "25"]);
    expect(splitOutput(burst, "bytes")).toHaveLength(burst.length);
  });
});

describe("replay server with the Smtp component", () => {
  beforeEach(() => useReplayClock());
  afterEach(() => restoreClock());

  itInEveryChunking("a clean send with DATA", async (chunking) => {
    const harness = harnessFor(chunking, "250 replay.test", [
      ...envelopeSteps,
      { expect: /^DATA$/, reply: "354 end with <CRLF>.<CRLF>" },
      { expect: END_OF_DATA, reply: "250 2.0.0 queued as A1" },
      QUIT,
    ]);
    await sendThrough(harness);
    expectTranscriptFollowed(harness);
    expect(harness.connections[0]?.commands).toEqual([...ENVELOPE_COMMANDS, "DATA", "QUIT"]);
    keptMessage(harness);
    // Without PIPELINING every command waits for its reply: one write each.
    const writes = (harness.connections[0]?.clientWrites ?? []).map((w) => w.toString("latin1"));
    expect(writes.slice(0, 5)).toEqual(["EHLO client.test\r\n", `MAIL FROM:<${SENDER}>\r\n`, `RCPT TO:<${RECIPIENTS[0]}>\r\n`, `RCPT TO:<${RECIPIENTS[1]}>\r\n`, "DATA\r\n"]);
    // The body went dot-stuffed.
    expect(writes.join("")).toContain(`\r\n.${BODY_LINES[5]}\r\n`);
  });

  itInEveryChunking("a clean send with DATA and PIPELINING", async (chunking) => {
    const ehlo = lines("250-replay.test", "250 PIPELINING");
    const harness = harnessFor(chunking, ehlo, [
      ...envelopeSteps,
      { expect: /^DATA$/, reply: "354 go ahead" },
      { expect: END_OF_DATA, reply: "250 2.0.0 queued as A2" },
      QUIT,
    ]);
    await sendThrough(harness);
    expectTranscriptFollowed(harness);
    expect(commandsWithoutNoop(harness)).toEqual([...ENVELOPE_COMMANDS, "DATA", "QUIT"]);
    keptMessage(harness);
    // The envelope and DATA went as one group.
    const writes = (harness.connections[0]?.clientWrites ?? []).map((w) => w.toString("latin1"));
    expect(writes).toContain(`MAIL FROM:<${SENDER}>\r\nRCPT TO:<${RECIPIENTS[0]}>\r\nRCPT TO:<${RECIPIENTS[1]}>\r\nDATA\r\n`);
  });

  itInEveryChunking("a clean send with BDAT in several chunks", async (chunking) => {
    const ehlo = lines("250-replay.test", "250 CHUNKING");
    const harness = harnessFor(chunking, ehlo, [
      ...envelopeSteps,
      { expect: /^BDAT 512$/, reply: "250 2.0.0 512 octets received", repeat: true },
      { expect: /^BDAT \d+ LAST$/, reply: "250 2.0.0 queued as A3" },
      QUIT,
    ]);
    await sendThrough(harness, { ChunkSize: 512 });
    expectTranscriptFollowed(harness);
    const message = keptMessage(harness);
    const commands = commandsWithoutNoop(harness);
    const chunks = commands.filter((c) => c.startsWith("BDAT "));
    expect(commands).toEqual([...ENVELOPE_COMMANDS, ...chunks, "QUIT"]);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.slice(0, -1).every((c) => c === "BDAT 512")).toBe(true);
    expect(chunks[chunks.length - 1]).toMatch(/^BDAT \d+ LAST$/);
    // The chunk sizes add up to the message the server kept, and BDAT carried it unstuffed.
    expect(chunks.reduce((n, c) => n + Number(c.split(" ")[1]), 0)).toBe(message.length);
    expect(message.toString("latin1")).not.toContain(`\r\n.${BODY_LINES[5]}`);
  });

  itInEveryChunking("a clean one-flight BDAT send (PIPELINING + CHUNKING, small message)", async (chunking) => {
    const ehlo = lines("250-replay.test", "250-PIPELINING", "250 CHUNKING");
    const harness = harnessFor(chunking, ehlo, [...envelopeSteps, { expect: /^BDAT \d+ LAST$/, reply: "250 2.0.0 queued as A4" }, QUIT]);
    // With two recipients, one flight needs refused recipients not to stop the send.
    await sendThrough(harness, { StopOnToErrors: false });
    expectTranscriptFollowed(harness);
    const message = keptMessage(harness);
    expect(commandsWithoutNoop(harness)).toEqual([...ENVELOPE_COMMANDS, `BDAT ${message.length} LAST`, "QUIT"]);
    // MAIL, both RCPTs, BDAT n LAST and the whole message: one write.
    const writes = harness.connections[0]?.clientWrites ?? [];
    const flight = Buffer.concat([Buffer.from(`MAIL FROM:<${SENDER}>\r\nRCPT TO:<${RECIPIENTS[0]}>\r\nRCPT TO:<${RECIPIENTS[1]}>\r\nBDAT ${message.length} LAST\r\n`), message]);
    const one = writes.find((w) => w.subarray(0, flight.length).equals(flight));
    expect(one, writes.map((w) => JSON.stringify(w.toString("latin1").slice(0, 120))).join("\n")).toBeDefined();
    // Possibly followed, in the same write, by the NOOP that checks the verdict is read in step.
    expect(["", "NOOP\r\n"]).toContain(one?.subarray(flight.length).toString("latin1"));
  });

  itInEveryChunking("the transcript of a Postfix-like session", async (chunking) => {
    const ehlo = lines(
      "250-mail.example.net",
      "250-PIPELINING",
      "250-SIZE 10240000",
      "250-VRFY",
      "250-ETRN",
      "250-ENHANCEDSTATUSCODES",
      "250-8BITMIME",
      "250-DSN",
      "250-SMTPUTF8",
      "250 CHUNKING",
    );
    const transcript: Transcript = {
      greeting: { reply: "220 mail.example.net ESMTP Postfix (Debian/GNU)" },
      steps: [
        { expect: /^EHLO client\.test$/, reply: ehlo },
        { expect: /^MAIL FROM:<sender@replay\.test> SIZE=\d+$/, reply: "250 2.1.0 Ok" },
        { expect: /^RCPT TO:<one@replay\.test>$/, reply: "250 2.1.5 Ok" },
        { expect: /^RCPT TO:<two@replay\.test>$/, reply: "250 2.1.5 Ok" },
        { expect: /^BDAT \d+ LAST$/, reply: "250 2.0.0 Ok: queued as 4XqYz21Lm3z9tT" },
        { expect: /^QUIT$/, reply: "221 2.0.0 Bye", closeAfter: true },
      ],
    };
    const harness = new ReplayHarness({ chunking, ehlo, transcripts: [transcript] });
    const smtp = replaySmtp(harness, { from: SENDER, sendTo: RECIPIENTS.join(", "), subject: "replay harness", messageText: MESSAGE_TEXT });
    const result = await settle(smtp.send(), () => harness.busy);
    expect(result).toMatchObject({ replyCode: 250, enhancedStatus: "2.0.0", reply: "250 2.0.0 Ok: queued as 4XqYz21Lm3z9tT" });
    expectTranscriptFollowed(harness);
    const message = keptMessage(harness);
    // SIZE announces exactly the bytes that BDAT then carried.
    expect(commandsWithoutNoop(harness)).toEqual([
      "EHLO client.test",
      `MAIL FROM:<${SENDER}> SIZE=${message.length}`,
      ...RECIPIENTS.map((r) => `RCPT TO:<${r}>`),
      `BDAT ${message.length} LAST`,
      "QUIT",
    ]);
    // The message's final reply, not the 221 of the QUIT that closed the connection opened for it.
    expect(smtp.lastReply).toBe("250 2.0.0 Ok: queued as 4XqYz21Lm3z9tT");
  });

  itInEveryChunking("a silent server times the client out on fake time", async (chunking) => {
    const harness = harnessFor(chunking, "250 replay.test", [{ expect: /^MAIL /, fault: "silence" }]);
    const smtp = replaySmtp(harness);
    const sending = smtp.send();
    const failure = settle(sending, () => harness.busy).then(
      () => undefined,
      (e: unknown) => e,
    );
    const error = await failure;
    expect(error).toBeInstanceOf(SmtpError);
    expect((error as SmtpError).code).toBe(ErrorCode.TimedOut);
    expect((error as SmtpError).deliveryUnknown).toBe(false);
    expect(harness.kept).toEqual([]);
    expect(harness.connections[0]?.faults).toMatchObject([{ kind: "silence", at: "MAIL FROM:<sender@replay.test>" }]);
    expect(REPLAY_TIMEOUT_S).toBeGreaterThan(0);
  });

  itInEveryChunking("a stalled reply (half a line) times out too", async (chunking) => {
    const harness = harnessFor(chunking, "250 replay.test", [{ expect: /^MAIL /, reply: "250 2.1.0 sender ok", fault: "stall" }]);
    const smtp = replaySmtp(harness);
    const error = await settle(smtp.send(), () => harness.busy).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as SmtpError).code).toBe(ErrorCode.TimedOut);
    const partial = harness.connections[0]?.ledger.output.find((o) => o.kind === "partial");
    expect(partial?.text).toBe("250 2.1.0");
    expect(partial?.delivered).toBeDefined();
  });

  itInEveryChunking("a reset instead of a reply is ECONNRESET at the client", async (chunking) => {
    const harness = harnessFor(chunking, "250 replay.test", [{ expect: /^MAIL /, fault: "reset" }]);
    const smtp = replaySmtp(harness);
    const error = await settle(smtp.send(), () => harness.busy).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as SmtpError).code).toBe(ErrorCode.ConnectionReset);
    await quiesce(() => harness.busy);
    expect(harness.allClosed).toBe(true);
  });

  itInEveryChunking("a command the transcript did not expect is answered 503 and recorded", async (chunking) => {
    const harness = harnessFor(chunking, "250 replay.test", [{ expect: /^MAIL FROM:<someone-else@replay\.test>$/, reply: "250 ok" }]);
    const smtp = replaySmtp(harness);
    const error = await settle(smtp.send(), () => harness.busy).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as SmtpError).replyCode).toBe(503);
    expect(harness.mismatches[0]).toBe(`connection 0: expected /^MAIL FROM:<someone-else@replay\\.test>$/, got "MAIL FROM:<sender@replay.test>"`);
  });

  itInEveryChunking("connections past the transcripts get the generic server", async (chunking) => {
    const harness = new ReplayHarness({ chunking, ehlo: lines("250-replay.test", "250 PIPELINING"), transcripts: [] });
    const smtp = replaySmtp(harness);
    await settle(smtp.send(), () => harness.busy);
    await settle(smtp.send(), () => harness.busy);
    expect(harness.connectorCalls).toBe(2);
    expect(harness.kept.map((k) => k.connection)).toEqual([0, 1]);
  });
});

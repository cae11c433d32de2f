/**
 * ESMTP extensions end to end: PIPELINING (round trips per message, refusals
 * inside a group, servers that answer a group badly), CHUNKING / BDAT,
 * BINARYMIME, SIZE, 8BITMIME, SMTPUTF8, DSN, REQUIRETLS, per-recipient
 * results and getServerCapabilities(). Most tests run against the recording
 * ESMTP server (esmtpServer, spec/support/tcp-server.ts), which counts the "flights" (round
 * trips) of each transaction; the last block sends through a real Postfix.
 */
import { createHash } from "node:crypto";
import { createConnection } from "node:net";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, Smtp, SmtpError, type RecipientStatusEvent } from "../../src/index.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";
import { record, rejectsWith, waitFor } from "../support/client.js";
import { esmtpFixture } from "../support/fixture.js";
import { param, type RecordedMessage, type TcpServer } from "../support/tcp-server.js";
import { readFixture } from "../support/tls-fixtures.js";
import { startPostfixSasl, type PostfixSaslPeer } from "../support/peers/postfix-sasl.js";


const { serve, smtp } = esmtpFixture();

/** The only message the server received. */
function only(s: TcpServer): RecordedMessage {
  expect(s.messages, "exactly one message delivered").toHaveLength(1);
  return s.messages[0] as RecordedMessage;
}

/** The bytes after the header block. */
function body(raw: Buffer): Buffer {
  const at = raw.indexOf("\r\n\r\n");
  expect(at).toBeGreaterThan(0);
  return raw.subarray(at + 4);
}

const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

const NO_STOP = { StopOnToErrors: false, StopOnCcErrors: false, StopOnBccErrors: false };
const PIPE_CHUNK = ["PIPELINING", "CHUNKING", "SIZE 10485760", "8BITMIME", "ENHANCEDSTATUSCODES"];
const PIPE_ONLY = ["PIPELINING", "SIZE 10485760", "8BITMIME", "ENHANCEDSTATUSCODES"];
const PLAIN_ESMTP = ["8BITMIME", "ENHANCEDSTATUSCODES"];
const THREE = "one@example.com, two@example.com, three@example.com";

describe("the recording server itself", () => {
  it("parses several commands in one packet and a BDAT payload split across packets, byte-exact", async () => {
    const s = await serve({ extensions: PIPE_CHUNK });
    const sock = createConnection({ host: "127.0.0.1", port: s.port });
    sock.on("error", () => undefined);
    let received = "";
    sock.setEncoding("utf8").on("data", (c: string) => (received += c));
    const replies = (n: number): Promise<void> => waitFor(() => (received.match(/^\d{3} /gm) ?? []).length >= n, 5_000, `${n} replies`);
    await replies(1); // greeting
    const pieces = ["EHLO me\r\nMAIL FROM:<a@example.com> SIZE=8\r\nRCPT TO:<b@example.com>\r\nBDAT 5\r\nab", "c\r", "\nBDAT 3 LAST\r\nx", "yz", "NOOP\r\nQUIT\r\n"];
    for (const p of pieces) {
      sock.write(p);
      await new Promise((r) => setTimeout(r, 20));
    }
    await replies(8);
    sock.destroy();
    const msg = only(s);
    expect(msg.raw.toString("latin1")).toBe("abc\r\nxyz");
    expect(msg.chunks).toEqual([{ size: 5, last: false }, { size: 3, last: true }]);
    expect(msg.mailParams).toEqual(["SIZE=8"]);
    expect(s.lines).toEqual(["EHLO me", "MAIL FROM:<a@example.com> SIZE=8", "RCPT TO:<b@example.com>", "BDAT 5", "BDAT 3 LAST", "NOOP", "QUIT"]);
    expect(received).toMatch(/^250 2\.0\.0 Ok: 5 octets received\r$/m);
    expect(received).toMatch(/^250 2\.0\.0 Ok: 8 bytes queued as Q1\r$/m);
  });
});

describe("round trips per message (flights)", () => {
  it("PIPELINING + CHUNKING, small message, one recipient: MAIL, RCPT and BDAT LAST in ONE flight", async () => {
    const s = await serve({ extensions: PIPE_CHUNK });
    const result = await smtp(s.port).send();
    const msg = only(s);
    expect(msg.flights, JSON.stringify(msg.flightLog)).toBe(1);
    const [flight] = msg.flightLog;
    expect(flight?.[0]).toMatch(/^MAIL FROM:<sender@example\.com>/);
    expect(flight?.[1]).toBe("RCPT TO:<rcpt@example.com>");
    expect(flight?.[2]).toBe(`BDAT ${msg.raw.length} LAST`);
    expect(flight?.[3]).toBe(`<payload ${msg.raw.length}>`);
    expect(msg.via).toBe("BDAT");
    expect(msg.chunks).toEqual([{ size: msg.raw.length, last: true }]);
    expect(result.replyCode).toBe(250);
    expect(result.reply).toBe(msg.reply);
    expect(result.messageBytes).toBe(msg.raw.length);
  });

  it("PIPELINING + CHUNKING with three recipients and StopOn...=false: still one flight", async () => {
    const s = await serve({ extensions: PIPE_CHUNK });
    await smtp(s.port, { sendTo: THREE, settings: NO_STOP }).send();
    const msg = only(s);
    expect(msg.flights, JSON.stringify(msg.flightLog)).toBe(1);
    expect(msg.recipients).toEqual(["one@example.com", "two@example.com", "three@example.com"]);
  });

  it("PIPELINING + CHUNKING with three recipients and StopOnToErrors=true: the message waits for the RCPT replies (2 flights)", async () => {
    const s = await serve({ extensions: PIPE_CHUNK });
    await smtp(s.port, { sendTo: THREE }).send();
    const msg = only(s);
    expect(msg.flights, JSON.stringify(msg.flightLog)).toBe(2);
    expect(msg.flightLog[0]?.filter((l) => l.startsWith("RCPT"))).toHaveLength(3);
    expect(msg.flightLog[0]?.some((l) => l.startsWith("BDAT"))).toBe(false);
    expect(msg.flightLog[1]?.[0]).toMatch(/^BDAT \d+ LAST$/);
  });

  it("PIPELINING without CHUNKING: 2 flights (MAIL, RCPTs, DATA; then the message and the NOOP that vouches for its verdict)", async () => {
    for (const sendTo of ["rcpt@example.com", THREE]) {
      const s = await serve({ extensions: PIPE_ONLY });
      await smtp(s.port, { sendTo }).send();
      const msg = only(s);
      expect(msg.via).toBe("DATA");
      expect(msg.flights, JSON.stringify(msg.flightLog)).toBe(2);
      expect(msg.flightLog[0]?.at(-1)).toBe("DATA");
      expect(msg.flightLog[1]).toEqual([`<data ${msg.wire?.length}>`, "NOOP"]);
    }
  });

  it("no PIPELINING: N+3 flights (MAIL, each RCPT, DATA, the message)", async () => {
    for (const [sendTo, n] of [["rcpt@example.com", 1], [THREE, 3]] as const) {
      const s = await serve({ extensions: PLAIN_ESMTP });
      await smtp(s.port, { sendTo }).send();
      const msg = only(s);
      expect(msg.flights, JSON.stringify(msg.flightLog)).toBe(n + 3);
      for (const f of msg.flightLog.slice(0, -1)) expect(f).toHaveLength(1);
    }
  });

  it("UsePipelining=false on a server offering PIPELINING: N+3 flights with DATA, N+2 with BDAT", async () => {
    const data = await serve({ extensions: PIPE_ONLY });
    await smtp(data.port, { sendTo: THREE, settings: { UsePipelining: false } }).send();
    expect(only(data).flights, JSON.stringify(only(data).flightLog)).toBe(6);

    const bdat = await serve({ extensions: PIPE_CHUNK });
    await smtp(bdat.port, { sendTo: THREE, settings: { UsePipelining: false } }).send();
    const msg = only(bdat);
    expect(msg.via).toBe("BDAT");
    expect(msg.flights, JSON.stringify(msg.flightLog)).toBe(5);
  });

  it("a reused connection (connect, send, send): the RSET rides in the next group (1 flight with CHUNKING, 2 with DATA)", async () => {
    for (const [extensions, flights] of [[PIPE_CHUNK, 1], [PIPE_ONLY, 2]] as const) {
      const s = await serve({ extensions });
      const m = smtp(s.port);
      await m.connect();
      await m.send();
      m.setSubject("second");
      await m.send();
      await m.disconnect();
      expect(s.connections).toHaveLength(1);
      expect(s.messages).toHaveLength(2);
      const second = s.messages[1] as RecordedMessage;
      expect(second.flights, JSON.stringify(second.flightLog)).toBe(flights);
      expect(second.flightLog[0]?.[0]).toBe("RSET");
      expect(second.flightLog[0]?.[1]).toMatch(/^MAIL FROM:/);
      expect((s.messages[0] as RecordedMessage).flights).toBe(flights);
    }
  });
});

describe("PIPELINING: refusals inside a group", () => {
  it("a refused recipient among several with StopOnToErrors=true (DATA): 161 naming it, the 354 is answered by closing, nothing delivered", async () => {
    const s = await serve({ extensions: PIPE_ONLY, recipients: { "two@example.com": "550 5.1.1 no such user" } });
    const m = smtp(s.port, { sendTo: THREE });
    const err = await rejectsWith(m.send(), ErrorCode.Protocol);
    expect(err).toMatchObject({ recipient: "two@example.com", replyCode: 550, enhancedStatus: "5.1.1" });
    expect(err.message).toMatch(/two@example\.com/);
    expect(s.messages).toHaveLength(0);
    // The whole group went out at once and the server opened DATA ...
    expect(s.connections[0]?.flights[1]).toEqual([expect.stringMatching(/^MAIL FROM/), "RCPT TO:<one@example.com>", "RCPT TO:<two@example.com>", "RCPT TO:<three@example.com>", "DATA"]);
    // ... and the client dropped the connection instead of sending a message or "."
    await waitFor(() => s.connections[0]?.discarded === 1, 5_000, "the server to see the DATA phase abandoned");
    expect(m.getConnected()).toBe(false);
  });

  it("the same with CHUNKING: no BDAT is sent at all, RSET follows, nothing delivered", async () => {
    const s = await serve({ extensions: PIPE_CHUNK, recipients: { "two@example.com": "550 5.1.1 no such user" } });
    const err = await rejectsWith(smtp(s.port, { sendTo: THREE }).send(), ErrorCode.Protocol);
    expect(err.recipient).toBe("two@example.com");
    expect(s.messages).toHaveLength(0);
    expect(s.commands("BDAT")).toEqual([]);
    expect(s.lines).toContain("RSET");
  });

  it("every recipient refused with StopOn...=false: DATA is answered 554, the send fails with 165, never with success", async () => {
    const s = await serve({
      extensions: PIPE_ONLY,
      recipients: { "one@example.com": "550 5.1.1 no such user", "two@example.com": "550 5.1.1 no such user" },
    });
    const m = smtp(s.port, { sendTo: "one@example.com, two@example.com", settings: NO_STOP });
    const r = record(m);
    const err = await rejectsWith(m.send(), ErrorCode.NoRecipient);
    expect(err).toMatchObject({ replyCode: 550, enhancedStatus: "5.1.1", recipient: "two@example.com" });
    expect(r.trail.some((t) => t.direction === 1 && t.message.startsWith("554"))).toBe(true);
    expect(s.messages).toHaveLength(0);
    expect(s.commands("DATA")).toHaveLength(1);
    expect(m.getRecipientResults().map((x) => x.accepted)).toEqual([false, false]);
  });

  it("every recipient refused in the one-flight BDAT group: BDAT LAST answered 554, 165 (StopOn false) or 161 (default), nothing delivered", async () => {
    const s = await serve({ extensions: PIPE_CHUNK, recipients: { "rcpt@example.com": "550 5.1.1 no such user" } });
    const m = smtp(s.port, { settings: NO_STOP });
    const r = record(m);
    await rejectsWith(m.send(), ErrorCode.NoRecipient);
    expect(r.trail.some((t) => t.direction === 1 && t.message.startsWith("554 5.5.1"))).toBe(true);
    expect(s.commands("BDAT")).toHaveLength(1);

    const err = await rejectsWith(smtp(s.port).send(), ErrorCode.Protocol);
    expect(err).toMatchObject({ recipient: "rcpt@example.com", replyCode: 550 });
    expect(s.messages).toHaveLength(0);
  });

  it("a refused MAIL FROM with the RCPTs (and BDAT LAST) already pipelined: 161 about the sender, nothing delivered, the connection still usable", async () => {
    for (const extensions of [PIPE_CHUNK, PIPE_ONLY]) {
      const s = await serve({ extensions, senders: { "sender@example.com": "550 5.7.1 sender rejected" } });
      const m = smtp(s.port, { sendTo: "a@example.com, b@example.com", settings: NO_STOP });
      await m.connect();
      const err = await rejectsWith(m.send(), ErrorCode.Protocol);
      expect(err).toMatchObject({ replyCode: 550, enhancedStatus: "5.7.1", recipient: undefined });
      expect(err.command).toMatch(/^MAIL FROM:<sender@example\.com>/);
      expect(err.message).toMatch(/sender/);
      expect(s.messages).toHaveLength(0);
      // The RCPTs had gone out in the same group.
      expect(s.commands("RCPT")).toHaveLength(2);
      // Usable (or cleanly closed): the next send on the same object works.
      m.setFrom("other@example.com");
      const result = await m.send();
      expect(result.replyCode).toBe(250);
      expect(s.messages[0]).toMatchObject({ mailFrom: "other@example.com", recipients: ["a@example.com", "b@example.com"] });
      await m.disconnect();
    }
  });

  it("a server that sends one reply too many in a group (DATA): a typed error, no hang, nothing reported as sent", async () => {
    const s = await serve({ extensions: PIPE_ONLY, rewrite: (line, replies) => (line.startsWith("MAIL") ? [...replies, "250 2.0.0 one too many"] : replies) });
    const m = smtp(s.port, { timeout: 3 });
    let result: unknown;
    let caught: unknown;
    try {
      result = await m.send();
    } catch (e) {
      caught = e;
    }
    expect(result).toBeUndefined();
    expect(caught).toBeInstanceOf(SmtpError);
    // 161 "the server refused DATA: 250 2.1.5 Ok" today (the DATA waiter got the RCPT's reply); 605 would name the real cause.
    expect([ErrorCode.Protocol, ErrorCode.MalformedReply]).toContain((caught as SmtpError).code);
    expect(m.getConnected()).toBe(false);
    expect(s.messages).toHaveLength(0);
  });

  it("a server that sends one reply too many in a one-flight BDAT group: a typed error, never success", async () => {
    const s = await serve({ extensions: PIPE_CHUNK, rewrite: (line, replies) => (line.startsWith("MAIL") ? [...replies, "250 2.0.0 one too many"] : replies) });
    const m = smtp(s.port, { timeout: 3 });
    let result: unknown;
    let caught: unknown;
    try {
      result = await m.send();
    } catch (e) {
      caught = e;
    }
    // The BDAT LAST waiter got the RCPT's 250, the real end-of-message reply arrived for no command.
    expect(result, "success must not be reported when the replies are out of step").toBeUndefined();
    expect(caught).toBeInstanceOf(SmtpError);
  });

  it("a server that leaves out a reply in a group: the 354 cannot answer RCPT, out of step (605) at once, no success, nothing delivered", async () => {
    const s = await serve({ extensions: PIPE_ONLY, rewrite: (line, replies) => (line.startsWith("RCPT") ? [] : replies) });
    const m = smtp(s.port, { timeout: 2 });
    const err = await rejectsWith(m.send(), ErrorCode.MalformedReply);
    expect(err.message).toMatch(/out of step/);
    expect(err.deliveryUnknown).toBe(false);
    expect(s.messages).toHaveLength(0);
    expect(m.getConnected()).toBe(false);
  });
});

describe("CHUNKING (BDAT)", () => {
  it("the body arrives as given except CRLF line ends: no dot-stuffing, dot lines single-dotted", async () => {
    const s = await serve({ extensions: PIPE_CHUNK });
    await smtp(s.port, { messageText: "first line\n.one dot\n..two dots\r\n.\nlast line without newline" }).send();
    const msg = only(s);
    expect(msg.via).toBe("BDAT");
    expect(body(msg.raw).toString("utf8")).toBe("first line\r\n.one dot\r\n..two dots\r\n.\r\nlast line without newline\r\n");
  });

  it("ChunkSize 1024 with a 100 KB stream body: many BDAT chunks of 1024 bytes, the last one LAST, exact bytes (sha256)", async () => {
    const s = await serve({ extensions: PIPE_CHUNK });
    const lines: string[] = [];
    for (let i = 0; lines.join("").length < 100 * 1024; i++) lines.push(i % 7 === 0 ? `.line ${i} starts with a dot\r\n` : `line ${i} ${"x".repeat(i % 61)}\r\n`);
    const bodyBytes = Buffer.from(lines.join(""), "utf8");
    const m = smtp(s.port, { settings: { ChunkSize: 1024 } });
    m.setMessageStream(Readable.from([bodyBytes.subarray(0, 33_333), bodyBytes.subarray(33_333)]));
    const result = await m.send();
    const msg = only(s);
    expect(msg.chunks.length).toBeGreaterThan(100);
    expect(msg.chunks.slice(0, -1).every((c) => c.size === 1024 && !c.last)).toBe(true);
    expect(msg.chunks.at(-1)?.last).toBe(true);
    expect(s.commands("BDAT").at(-1)).toMatch(/^BDAT \d+ LAST$/);
    expect(sha256(body(msg.raw))).toBe(sha256(bodyBytes));
    expect(result.messageBytes).toBe(msg.raw.length);
  });

  it("UseChunking=false: DATA even when CHUNKING is offered", async () => {
    const s = await serve({ extensions: PIPE_CHUNK });
    await smtp(s.port, { messageText: ".dot\r\n", settings: { UseChunking: false } }).send();
    const msg = only(s);
    expect(msg.via).toBe("DATA");
    expect(s.commands("BDAT")).toEqual([]);
    expect(msg.wire?.toString("utf8")).toMatch(/\r\n\r\n\.\.dot\r\n$/);
    expect(body(msg.raw).toString("utf8")).toBe(".dot\r\n");
  });
});

describe("BINARYMIME", () => {
  const BINARY = "From: sender@example.com\r\nTo: rcpt@example.com\r\nSubject: bin\r\n\r\nabc\0def\nbare LF stays\r\nCRLF\0\0end";

  it("a Message with NUL bytes goes with BODY=BINARYMIME over BDAT, byte for byte (bare LF kept)", async () => {
    const s = await serve({ extensions: [...PIPE_CHUNK, "BINARYMIME"] });
    await smtp(s.port, { message: BINARY }).send();
    const msg = only(s);
    expect(param(msg.mailParams, "BODY")).toBe("BINARYMIME");
    expect(msg.via).toBe("BDAT");
    expect(msg.raw.equals(Buffer.from(BINARY, "utf8"))).toBe(true);
    expect(param(msg.mailParams, "SIZE")).toBe(String(Buffer.byteLength(BINARY)));
  });

  it("the same to a server without BINARYMIME (or without CHUNKING): 614 and no MAIL", async () => {
    for (const extensions of [PIPE_CHUNK, PIPE_ONLY]) {
      const s = await serve({ extensions });
      const err = await rejectsWith(smtp(s.port, { message: BINARY }).send(), ErrorCode.ExtensionRequired);
      expect(err.message).toMatch(/BINARYMIME/);
      expect(s.commands("MAIL")).toEqual([]);
      expect(s.commands("EHLO")).toHaveLength(1);
    }
  });
});

describe("SIZE", () => {
  it("SIZE 1000 and a 5 KB MessageText: 613 before MAIL", async () => {
    const s = await serve({ extensions: ["PIPELINING", "CHUNKING", "SIZE 1000"] });
    const err = await rejectsWith(smtp(s.port, { messageText: "x".repeat(5 * 1024) }).send(), ErrorCode.MessageTooLarge);
    expect(err.message).toMatch(/1000/);
    expect(s.commands("EHLO")).toHaveLength(1);
    expect(s.commands("MAIL")).toEqual([]);
  });

  it("SIZE=<n> in MAIL FROM is the CRLF-normalized size, equal to the bytes received (BDAT and DATA)", async () => {
    for (const extensions of [PIPE_CHUNK, PIPE_ONLY]) {
      const s = await serve({ extensions });
      await smtp(s.port, { messageText: "bare\nline ends\n.dot line\r\nmixed\rend" }).send();
      const msg = only(s);
      expect(param(msg.mailParams, "SIZE")).toBe(String(msg.raw.length));
      expect(body(msg.raw).toString("utf8")).toMatch(/^bare\r\nline ends\r\n\.dot line\r\n/);
    }
  });

  it("UseSize=false: no SIZE= even when offered", async () => {
    const s = await serve({ extensions: PIPE_CHUNK });
    await smtp(s.port, { settings: { UseSize: false } }).send();
    expect(param(only(s).mailParams, "SIZE")).toBeUndefined();
  });
});

describe("8BITMIME", () => {
  it("a non-ASCII body: BODY=8BITMIME when offered; absent with Use8BitMime=false or when not offered", async () => {
    const text = "Grüße aus Köln\r\n";
    const offered = await serve({ extensions: PIPE_CHUNK });
    await smtp(offered.port, { messageText: text }).send();
    expect(param(only(offered).mailParams, "BODY")).toBe("8BITMIME");
    expect(body(only(offered).raw).toString("utf8")).toBe(text);

    const off = await serve({ extensions: PIPE_CHUNK });
    await smtp(off.port, { messageText: text, settings: { Use8BitMime: false } }).send();
    expect(param(only(off).mailParams, "BODY")).toBeUndefined();

    const missing = await serve({ extensions: ["PIPELINING", "CHUNKING"] });
    await smtp(missing.port, { messageText: text }).send();
    expect(param(only(missing).mailParams, "BODY")).toBeUndefined();
  });

  it("a setMessageStream() body with 8-bit bytes is declared BODY=8BITMIME too (RFC 6152)", async () => {
    const s = await serve({ extensions: PIPE_CHUNK });
    const m = smtp(s.port);
    m.setMessageStream(Readable.from([Buffer.from("Grüße aus Köln\r\n", "utf8")]));
    await m.send();
    const msg = only(s);
    expect(body(msg.raw).toString("utf8")).toBe("Grüße aus Köln\r\n");
    expect(param(msg.mailParams, "BODY")).toBe("8BITMIME");
  });

  it("an ASCII body gets no BODY parameter", async () => {
    const s = await serve({ extensions: PIPE_CHUNK });
    await smtp(s.port).send();
    expect(param(only(s).mailParams, "BODY")).toBeUndefined();
  });
});

describe("SMTPUTF8", () => {
  it("a non-ASCII local part: SMTPUTF8 with MAIL FROM and the address as UTF-8 when offered", async () => {
    const s = await serve({ extensions: [...PIPE_CHUNK, "SMTPUTF8"] });
    await smtp(s.port, { sendTo: "jösé@exämple.test" }).send();
    const msg = only(s);
    expect(param(msg.mailParams, "SMTPUTF8")).toBe(true);
    expect(msg.recipients).toEqual(["jösé@exämple.test"]);
  });

  it("the same to a server without SMTPUTF8: 614 and no MAIL", async () => {
    const s = await serve({ extensions: PIPE_CHUNK });
    const err = await rejectsWith(smtp(s.port, { sendTo: "jösé@exämple.test" }).send(), ErrorCode.ExtensionRequired);
    expect(err.message).toMatch(/SMTPUTF8/);
    expect(s.commands("MAIL")).toEqual([]);
  });

  it("an ASCII local part with an IDN domain to a server without SMTPUTF8: punycode in RCPT TO, no SMTPUTF8", async () => {
    const s = await serve({ extensions: PIPE_CHUNK });
    await smtp(s.port, { sendTo: "user@exämple.test" }).send();
    expect(s.commands("RCPT")).toEqual(["RCPT TO:<user@xn--exmple-cua.test>"]);
    expect(param(only(s).mailParams, "SMTPUTF8")).toBeUndefined();
  });

  it("UseSMTPUTF8=false on a server offering it: punycode as well", async () => {
    const s = await serve({ extensions: [...PIPE_CHUNK, "SMTPUTF8"] });
    await smtp(s.port, { sendTo: "user@exämple.test", settings: { UseSMTPUTF8: false } }).send();
    expect(s.commands("RCPT")).toEqual(["RCPT TO:<user@xn--exmple-cua.test>"]);
  });
});

describe("DSN", () => {
  const DSN = { DSNNotify: "SUCCESS,FAILURE", DSNRet: "HDRS", DSNEnvelopeId: "batch 7+x", DSNOriginalRecipient: true } as const;

  it("NOTIFY, RET, ENVID (xtext) and ORCPT when the server offers DSN; a raw NOTIFY in MessageRecipientOptions is kept", async () => {
    const s = await serve({ extensions: [...PIPE_CHUNK, "DSN"] });
    const m = smtp(s.port, {
      sendTo: "a+tag@example.com",
      messageRecipients: [{ address: "quiet@example.com", type: 1, options: "NOTIFY=NEVER" }],
      settings: DSN,
    });
    await m.send();
    const msg = only(s);
    expect(param(msg.mailParams, "RET")).toBe("HDRS");
    expect(param(msg.mailParams, "ENVID")).toBe("batch+207+2Bx");
    const [a, quiet] = msg.rcpts;
    expect(a?.address).toBe("a+tag@example.com");
    expect(param(a?.params ?? [], "NOTIFY")).toBe("SUCCESS,FAILURE");
    expect(param(a?.params ?? [], "ORCPT")).toBe("rfc822;a+2Btag@example.com");
    expect(quiet?.address).toBe("quiet@example.com");
    expect(quiet?.params.filter((p) => p.toUpperCase().startsWith("NOTIFY="))).toEqual(["NOTIFY=NEVER"]);
    expect(param(quiet?.params ?? [], "ORCPT")).toBe("rfc822;quiet@example.com");
  });

  it("none of them when the server lacks DSN (UseDSN or not offered), with a PITrail info line", async () => {
    const s = await serve({ extensions: PIPE_CHUNK });
    const m = smtp(s.port, { settings: DSN });
    const r = record(m);
    await m.send();
    const msg = only(s);
    for (const name of ["RET", "ENVID"]) expect(param(msg.mailParams, name)).toBeUndefined();
    expect(msg.rcpts[0]?.params).toEqual([]);
    expect(r.trail.some((t) => t.direction === 2 && /DSN/.test(t.message))).toBe(true);

    const off = await serve({ extensions: [...PIPE_CHUNK, "DSN"] });
    await smtp(off.port, { settings: { ...DSN, UseDSN: false } }).send();
    expect(only(off).mailParams.filter((p) => /^(RET|ENVID)=/.test(p))).toEqual([]);
    expect(only(off).rcpts[0]?.params).toEqual([]);
  });
});

describe("REQUIRETLS", () => {
  it("RequireTLS=true on a plain connection: 614 and no MAIL", async () => {
    const s = await serve({ extensions: [...PIPE_CHUNK, "REQUIRETLS"] });
    const err = await rejectsWith(smtp(s.port, { settings: { RequireTLS: true } }).send(), ErrorCode.ExtensionRequired);
    expect(err.message).toMatch(/not encrypted|TLS/);
    expect(s.commands("MAIL")).toEqual([]);
  });
});

describe("per-recipient results", () => {
  it("250, 450 4.2.1 and 550 5.1.1 with StopOn...=false: getRecipientResults() and RecipientStatus events, delivered to the accepted one", async () => {
    const s = await serve({
      extensions: PIPE_CHUNK,
      recipients: { "busy@example.com": "450 4.2.1 mailbox busy", "gone@example.com": "550 5.1.1 no such user" },
    });
    const m = smtp(s.port, { sendTo: "ok@example.com, busy@example.com", bcc: "gone@example.com", settings: NO_STOP });
    const events: RecipientStatusEvent[] = [];
    m.on("RecipientStatus", (e) => events.push(e));
    const r = record(m);
    const result = await m.send();
    const expected = [
      { address: "ok@example.com", type: 0, accepted: true, transient: false, replyCode: 250, enhancedStatus: "2.1.5" },
      { address: "busy@example.com", type: 0, accepted: false, transient: true, replyCode: 450, enhancedStatus: "4.2.1" },
      { address: "gone@example.com", type: 2, accepted: false, transient: false, replyCode: 550, enhancedStatus: "5.1.1" },
    ];
    expect(m.getRecipientResults()).toMatchObject(expected);
    expect(events).toMatchObject(expected);
    expect(events[2]?.reply).toBe("550 5.1.1 no such user");
    expect(result.accepted).toEqual(["ok@example.com"]);
    expect(result.rejected.map((x) => x.address)).toEqual(["busy@example.com", "gone@example.com"]);
    expect(r.errors.map((e) => e.errorCode)).toEqual([ErrorCode.Protocol, ErrorCode.Protocol]);
    expect(only(s).recipients).toEqual(["ok@example.com"]);
  });
});

describe("getServerCapabilities()", () => {
  it("after connect(): the advertised extensions, the SIZE limit and the AUTH list", async () => {
    const s = await serve({ extensions: ["PIPELINING", "CHUNKING", "SIZE 35882577", "DSN", "SMTPUTF8", "AUTH PLAIN LOGIN CRAM-MD5", "ENHANCEDSTATUSCODES"] });
    const m = smtp(s.port);
    expect(m.getServerCapabilities()).toBeUndefined();
    await m.connect();
    const caps = m.getServerCapabilities();
    expect(caps?.esmtp).toBe(true);
    expect([...(caps?.extensions.keys() ?? [])]).toEqual(["PIPELINING", "CHUNKING", "SIZE", "DSN", "SMTPUTF8", "AUTH", "ENHANCEDSTATUSCODES"]);
    expect(caps?.has("chunking")).toBe(true);
    expect(caps?.has("BINARYMIME")).toBe(false);
    expect(caps?.sizeLimit).toBe(35882577);
    expect(caps?.authMechanisms).toEqual(["PLAIN", "LOGIN", "CRAM-MD5"]);
    await m.disconnect();
    expect(m.getServerCapabilities()).toBeUndefined();
  });
});

describe("real Postfix: PIPELINING, CHUNKING, SIZE", () => {
  const USER = "alice";
  const PASSWORD = "ext-test-pw";
  const CA = readFixture("ca.pem").toString("utf8");
  let peer: PostfixSaslPeer;

  beforeAll(async () => {
    peer = await startPostfixSasl({ user: USER, password: PASSWORD, mechanisms: ["PLAIN"], tls: true });
  }, 30_000);
  afterAll(async () => {
    await peer?.stop();
  });

  function postfixClient(options: SmtpOptions = {}): Smtp {
    return smtp(peer.port, {
      mailServer: "localhost",
      user: USER,
      password: PASSWORD,
      authMechanism: 4,
      sslStartMode: 2,
      timeout: 15,
      ...options,
      settings: { SSLCACerts: CA, ...options.settings },
    });
  }

  it("offers the extensions; a small message goes as SIZE= + BDAT LAST and is queued (250)", async () => {
    const m = postfixClient({ messageText: "through postfix\r\n.dot line\r\n" });
    const r = record(m);
    const trail: string[] = [];
    m.on("PITrail", (e) => trail.push(`${e.direction} ${e.message}`));
    const result = await m.send();
    const sent = r.sent();
    const mail = sent.find((l) => l.startsWith("MAIL FROM"));
    expect(mail, trail.join("\n")).toMatch(new RegExp(`SIZE=${result.messageBytes}`));
    expect(sent).toContain(`BDAT ${result.messageBytes} LAST`);
    expect(sent.some((l) => l === "DATA")).toBe(false);
    expect(result.replyCode).toBe(250);
    // Postfix's reply to BDAT LAST counts the bytes it took.
    expect(result.reply).toMatch(new RegExp(`^250 2\\.0\\.0 Ok: ${result.messageBytes} bytes queued as `));
    // After STARTTLS + AUTH: MAIL, RCPT and BDAT LAST went out together, before any of their replies.
    const mailAt = trail.findIndex((t) => t.startsWith("0 MAIL FROM"));
    expect(trail.slice(mailAt, mailAt + 3).map((t) => t.split(" ")[1])).toEqual(["MAIL", "RCPT", "BDAT"]);
    await peer.waitForLog(new RegExp(`size=\\d+, nrcpt=1`));
  });

  it("a send interrupted right after its one flight (MAIL, RCPT, BDAT LAST) is delivery unknown, never refused, whatever Postfix did with it", async () => {
    const outcomes: { id: string; error: SmtpError | undefined }[] = [];
    for (let i = 0; i < 8; i++) {
      const id = `<interrupted-${i}-${process.pid}@example.com>`;
      const m = postfixClient({ messageId: id, messageText: `interrupted ${i}\r\n` });
      await m.connect();
      // The group is written right after its trail lines; the interrupt comes once it is on the wire.
      m.on("PITrail", (e) => {
        if (e.direction === 0 && /^BDAT \d+ LAST$/.test(e.message)) setImmediate(() => void m.interrupt());
      });
      const error = await m.send().then(() => undefined, (e: unknown) => e as SmtpError);
      outcomes.push({ id, error });
      await m.disconnect().catch(() => undefined);
    }
    // Postfix logs message-id= once it has taken the message (cleanup), whether or not the client heard the 250.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const log = peer.log();
    for (const { id, error } of outcomes) {
      if (!error) {
        expect(log, `${id} reported sent`).toContain(`message-id=${id}`);
        continue;
      }
      expect(error).toBeInstanceOf(SmtpError);
      expect(error.code).toBe(ErrorCode.Interrupted);
      expect(error.deliveryUnknown, `${id}: ${error.message}`).toBe(true);
    }
  });

  it("a 2 MB stream body with ChunkSize 65536: every chunk acknowledged with its byte count, the message queued", async () => {
    const m = postfixClient({ settings: { ChunkSize: 65536 } });
    const line = Buffer.from(`${"0123456789abcdef".repeat(4)}\r\n`);
    const twoMb = Buffer.concat(Array.from({ length: Math.ceil((2 * 1024 * 1024) / line.length) }, () => line));
    m.setMessageStream(Readable.from([twoMb.subarray(0, 1_000_000), twoMb.subarray(1_000_000)]));
    const trail: string[] = [];
    m.on("PITrail", (e) => trail.push(`${e.direction} ${e.message}`));
    const result = await m.send();
    const bdats = trail.filter((t) => t.startsWith("0 BDAT "));
    expect(bdats.length).toBeGreaterThanOrEqual(32);
    expect(bdats.slice(0, -1).every((t) => t === "0 BDAT 65536")).toBe(true);
    expect(bdats.at(-1)).toMatch(/^0 BDAT \d+ LAST$/);
    const counted = trail.filter((t) => /^1 250 2\.0\.0 Ok: 65536 bytes$/.test(t));
    expect(counted).toHaveLength(bdats.length - 1);
    expect(result.reply).toMatch(new RegExp(`^250 2\\.0\\.0 Ok: ${result.messageBytes} bytes queued as `));
    expect(result.messageBytes).toBeGreaterThan(2 * 1024 * 1024);
    const lastSize = Number(/^0 BDAT (\d+) LAST$/.exec(bdats.at(-1) ?? "")?.[1]);
    expect(65536 * (bdats.length - 1) + lastSize).toBe(result.messageBytes);
  });
});

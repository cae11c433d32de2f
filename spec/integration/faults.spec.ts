/**
 * Fault suite: hostile servers (stepServer, spec/support/tcp-server.ts) that stall,
 * close, reset, garble, split, flood or answer out of step. Every case checks
 *
 *  - the typed SmtpError (code, replyCode / message where meaningful),
 *  - that it came within a bound ("does not hang": Timeout + a few seconds),
 *  - that the client closed the connection (the server sees it end),
 *  - that the object is idle and the SAME object then delivers to a good server.
 *
 * Cases already covered in failures.spec.ts are not repeated as such; where
 * the brief overlaps, the hostile variants here go further (byte-level
 * splitting, pipelined groups, resets, TLS, memory).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, Smtp, SmtpError } from "../../src/index.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";
import { bodyOf, startSmtpServer, type Harness } from "../support/smtp-server-harness.js";
import { client, record } from "../support/client.js";
import { liveBytes } from "../support/memory.js";
import { readFixture } from "../support/tls-fixtures.js";
import { ehloReply, goodDialogue, preamble, step, stepServer, type Connection, type Step, type TcpServer } from "../support/tcp-server.js";

const CA = readFixture("ca.pem").toString("utf8");
/** Slack on top of the configured Timeout for "does not hang" bounds. */
const SLACK_MS = 5_000;

let good: Harness;
const servers: TcpServer[] = [];

beforeAll(async () => {
  good = await startSmtpServer();
});
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await good?.close();
});

async function hostile(script: readonly Step[] | ((i: number) => readonly Step[]), opts: { tls?: boolean } = {}): Promise<TcpServer> {
  const s = await stepServer(script, opts);
  servers.push(s);
  return s;
}

/** A client for a hostile server: short Timeout unless told otherwise. */
function victim(port: number, options: SmtpOptions = {}): Smtp {
  return client(port, { timeout: 2, ...options });
}

/** Awaits the call, which must reject with an SmtpError within `boundMs`; returns it. */
async function failsWithin(p: Promise<unknown>, boundMs: number): Promise<SmtpError> {
  const started = Date.now();
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await p };
  } catch (e) {
    outcome = { ok: false, error: e };
  }
  const elapsed = Date.now() - started;
  expect(outcome.ok, `expected a rejection, got success: ${outcome.ok ? JSON.stringify(outcome.value) : ""}`).toBe(false);
  const err = (outcome as { error: unknown }).error;
  expect(err).toBeInstanceOf(SmtpError);
  expect(elapsed, `rejected after ${elapsed} ms`).toBeLessThan(boundMs);
  return err as SmtpError;
}

function expectCode(err: SmtpError, ...codes: number[]): void {
  expect(codes, `code ${err.code}: ${err.message}`).toContain(err.code);
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<T>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * After a failure: the server sees the connection end, the object is idle and
 * not connected, and the same object delivers to the good server.
 */
async function expectRecovered(m: Smtp, conns: readonly Connection[]): Promise<void> {
  for (const c of conns) await within(c.closed, 5_000, `the client to close connection #${c.index}`);
  expect(m.getIdle()).toBe(true);
  expect(m.getConnected()).toBe(false);
  m.setMailServer("127.0.0.1");
  m.setMailPort(good.port);
  m.setTimeout(10);
  m.config("AbsoluteTimeout=false");
  m.setSSLStartMode(0);
  m.setMessageText("recovered after a fault\r\n");
  m.setSendTo("recovered@example.com");
  const before = good.received.length;
  const result = await m.send();
  expect(result.replyCode).toBe(250);
  expect(good.received.length).toBe(before + 1);
  expect(bodyOf(good.received[before]).toString("utf8")).toBe("recovered after a fault\r\n");
  expect(m.getIdle()).toBe(true);
}

const PIPELINING = ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"];

// ---------------------------------------------------------------------------

describe("connection setup", () => {
  it("no greeting at all: 10060 within Timeout + 5 s, the client hangs up", async () => {
    const s = await hostile([step.stall()]);
    const m = victim(s.port, { timeout: 1 });
    const err = await failsWithin(m.send(), 1_000 + SLACK_MS);
    expectCode(err, ErrorCode.TimedOut);
    expect(err.message).toMatch(/greeting/);
    const c = await s.connection(0);
    expect(c.received).toEqual([]);
    await expectRecovered(m, [c]);
  });

  it("no greeting, ConnectionTimeout=1 with Timeout=60: 10060 within ConnectionTimeout + 5 s", async () => {
    const s = await hostile([step.stall()]);
    const m = victim(s.port, { timeout: 60 });
    m.config("ConnectionTimeout=1");
    const err = await failsWithin(m.send(), 1_000 + SLACK_MS);
    expectCode(err, ErrorCode.TimedOut);
    await expectRecovered(m, [await s.connection(0)]);
  });

  it("a greeting that starts and never ends (no CRLF): still 10060, the partial line is not a reply", async () => {
    const s = await hostile([step.send("220 half a greet"), step.stall()]);
    const m = victim(s.port, { timeout: 1 });
    const err = await failsWithin(m.send(), 1_000 + SLACK_MS);
    expectCode(err, ErrorCode.TimedOut);
    await expectRecovered(m, [await s.connection(0)]);
  });

  it("a greeting trickling in one byte per 120 ms restarts the inactivity Timeout and succeeds", async () => {
    // 13 bytes 120 ms apart: the greeting takes longer than Timeout (1 s), no gap does.
    const s = await hostile([step.send("220 slow ok\r\n", { bytewise: true, gapMs: 120 }), ...goodDialogue().slice(1)]);
    const m = victim(s.port, { timeout: 1 });
    const started = Date.now();
    const result = await m.send();
    expect(Date.now() - started).toBeGreaterThan(1_000);
    expect(result.replyCode).toBe(250);
  });

  it("greeting then close (FIN): 607 naming the step; object usable", async () => {
    const s = await hostile([step.reply("220 hostile.test ready"), step.close()]);
    const m = victim(s.port);
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expectCode(err, ErrorCode.ConnectionClosed);
    expect(err.message).toMatch(/EHLO|greeting/);
    expect(err.lastReply).toBe("220 hostile.test ready");
    expect(err.isTransient()).toBe(true);
    await expectRecovered(m, [await s.connection(0)]);
  });

  it("close (FIN) before any greeting: 607", async () => {
    const s = await hostile([step.close()]);
    const m = victim(s.port);
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expectCode(err, ErrorCode.ConnectionClosed);
    expect(err.message).toMatch(/greeting/);
    await expectRecovered(m, [await s.connection(0)]);
  });

  it("reset (RST) right after the EHLO arrives: 10054 or 607, no hang", async () => {
    const s = await hostile([step.reply("220 hostile.test"), step.expect(/^EHLO /), step.reset()]);
    const m = victim(s.port);
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expectCode(err, ErrorCode.ConnectionReset, ErrorCode.ConnectionClosed);
    expect(err.isNetwork()).toBe(true);
    await expectRecovered(m, [await s.connection(0)]);
  });

  it("421 at the greeting: 161 with replyCode 421, transient, no EHLO sent", async () => {
    const s = await hostile([step.reply("421 4.3.2 hostile.test too busy"), step.stall()]);
    const m = victim(s.port);
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expectCode(err, ErrorCode.Protocol);
    expect(err.replyCode).toBe(421);
    expect(err.enhancedStatus).toBe("4.3.2");
    expect(err.isTransient()).toBe(true);
    expect(err.message).toContain("too busy");
    const c = await s.connection(0);
    expect(c.text()).not.toMatch(/EHLO/);
    await expectRecovered(m, [c]);
  });

  it("421 in answer to EHLO: 161 / 421, no HELO fallback", async () => {
    const s = await hostile([step.reply("220 hostile.test"), step.expect(/^EHLO /), step.reply("421 4.7.0 go away"), step.close()]);
    const m = victim(s.port);
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expectCode(err, ErrorCode.Protocol);
    expect(err.replyCode).toBe(421);
    const c = await s.connection(0);
    await within(c.closed, 5_000, "close");
    expect(c.text()).not.toMatch(/HELO/);
    await expectRecovered(m, [c]);
  });
});

describe("421 and refusals mid-transaction", () => {
  it("421 to RCPT in a PIPELINING group (server closes, never answers DATA): 161 / 421, nothing sent", async () => {
    const s = await hostile([
      ...preamble(PIPELINING),
      step.expect(/^MAIL FROM:/),
      step.expect(/^RCPT TO:/),
      step.expect(/^DATA$/),
      step.reply("250 2.1.0 sender ok\r\n421 4.3.2 shutting down"),
      step.close(),
    ]);
    const m = victim(s.port);
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    // The reason is the 421, not "the server closed the connection": the close was announced.
    expect({ code: err.code, replyCode: err.replyCode }).toEqual({ code: ErrorCode.Protocol, replyCode: 421 });
    expect(err.message).toContain("shutting down");
    expect(err.deliveryUnknown).toBe(false);
    await expectRecovered(m, [await s.connection(0)]);
  });

  it("550 to RCPT in a PIPELINING group, then a close without answering DATA: the refusal (161 / 550), not 607", async () => {
    const s = await hostile([
      ...preamble(PIPELINING),
      step.expect(/^MAIL FROM:/),
      step.expect(/^RCPT TO:/),
      step.expect(/^DATA$/),
      step.reply("250 2.1.0 sender ok\r\n550 5.1.1 no such user"),
      step.close(),
    ]);
    const m = victim(s.port);
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expect({ code: err.code, replyCode: err.replyCode, recipient: err.recipient }).toEqual({ code: ErrorCode.Protocol, replyCode: 550, recipient: "rcpt@example.com" });
    await expectRecovered(m, [await s.connection(0)]);
  });

  it("421 to RCPT without PIPELINING, connection left open: 161 / 421, no DATA, no RSET after a 421", async () => {
    const s = await hostile([
      ...preamble(),
      step.expect(/^MAIL FROM:/),
      step.reply("250 2.1.0 ok"),
      step.expect(/^RCPT TO:/),
      step.reply("421 4.3.2 shutting down"),
    ]);
    const m = victim(s.port);
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expect({ code: err.code, replyCode: err.replyCode }).toEqual({ code: ErrorCode.Protocol, replyCode: 421 });
    const c = await s.connection(0);
    await within(c.closed, 5_000, "close");
    expect(c.text()).not.toMatch(/DATA|RSET/);
    await expectRecovered(m, [c]);
  });

  it("421 to DATA (no PIPELINING) then close: 161 / 421, no message data sent", async () => {
    const s = await hostile([
      ...preamble(),
      step.expect(/^MAIL FROM:/),
      step.reply("250 2.1.0 ok"),
      step.expect(/^RCPT TO:/),
      step.reply("250 2.1.5 ok"),
      step.expect(/^DATA$/),
      step.reply("421 4.4.5 system overloaded"),
      step.close(),
    ]);
    const m = victim(s.port);
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expect({ code: err.code, replyCode: err.replyCode }).toEqual({ code: ErrorCode.Protocol, replyCode: 421 });
    expect(err.deliveryUnknown).toBe(false);
    const c = await s.connection(0);
    await within(c.closed, 5_000, "close");
    expect(c.text()).not.toMatch(/Subject: test/);
    await expectRecovered(m, [c]);
  });

  it("421 to DATA in a PIPELINING group: 161 / 421", async () => {
    const s = await hostile([
      ...preamble(PIPELINING),
      step.expect(/^MAIL FROM:/),
      step.expect(/^RCPT TO:/),
      step.expect(/^DATA$/),
      step.reply("250 2.1.0 ok\r\n250 2.1.5 ok\r\n421 4.4.5 system overloaded"),
      step.close(),
    ]);
    const m = victim(s.port);
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expect({ code: err.code, replyCode: err.replyCode }).toEqual({ code: ErrorCode.Protocol, replyCode: 421 });
    await expectRecovered(m, [await s.connection(0)]);
  });

  it("421 to the end of data: 161 / 421, the message was refused (not 'delivery unknown')", async () => {
    const s = await hostile(goodDialogue({ endOfData: "421 4.3.0 try again later" }));
    const m = victim(s.port);
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expect({ code: err.code, replyCode: err.replyCode, deliveryUnknown: err.deliveryUnknown }).toEqual({ code: ErrorCode.Protocol, replyCode: 421, deliveryUnknown: false });
    expect(err.isTransient()).toBe(true);
    await expectRecovered(m, [await s.connection(0)]);
  });
});

describe("reply framing", () => {
  it("a whole session with every server byte in its own write (replies split at every byte): success", async () => {
    const s = await hostile(goodDialogue({ bytewise: true, extensions: ["8BITMIME", "ENHANCEDSTATUSCODES", "SIZE 1000000"] }));
    const m = victim(s.port, { messageText: "split test body\r\n.leading dot\r\n" });
    const result = await m.send();
    expect(result.replyCode).toBe(250);
    expect(result.enhancedStatus).toBe("2.0.0");
    expect(m.getLastReply()).toBe(result.reply);
    const c = await s.connection(0);
    await within(c.closed, 5_000, "close");
    expect(c.problems).toEqual([]);
    expect(c.data[0]?.toString("latin1")).toMatch(/split test body\r\n\.\.leading dot\r\n$/);
  });

  it("a multi-line reply whose codes disagree (250-/550 at RCPT): 605, never success", async () => {
    const s = await hostile([
      ...preamble(),
      step.expect(/^MAIL FROM:/),
      step.reply("250 2.1.0 ok"),
      step.expect(/^RCPT TO:/),
      step.reply("250-2.1.5 looks fine\r\n550 5.1.1 but is not"),
    ]);
    const m = victim(s.port);
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expectCode(err, ErrorCode.MalformedReply);
    expect(err.message).toMatch(/550/);
    await expectRecovered(m, [await s.connection(0)]);
  });

  it("a 10 MB reply line: 606 early, the line is not kept anywhere (live heap grows well under 10 MB)", async () => {
    const huge = Buffer.alloc(10 * 1024 * 1024, "x");
    huge.write("250-", 0, "latin1");
    huge.write("\r\n", huge.length - 2, "latin1");
    const s = await hostile([step.reply("220 hostile.test"), step.expect(/^EHLO /), step.send(huge, { chunkSize: 64 * 1024, gapMs: 0 }), step.stall()]);
    const m = victim(s.port);
    const before = liveBytes();
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    const after = liveBytes();
    expectCode(err, ErrorCode.ReplyTooLong);
    expect(err.message.length).toBeLessThan(1_000);
    expect(m.getLastReply().length).toBeLessThan(10_000);
    // The error, the object and the server buffer are all still referenced here.
    expect(after - before).toBeLessThan(3 * 1024 * 1024);
    const c = await s.connection(0);
    await expectRecovered(m, [c]);
    // The client hung up long before the server could push 10 MB through.
    expect(c.socket.bytesWritten).toBeLessThan(huge.length);
  });

  it("non-ASCII, NUL and control bytes in replies: no crash, the send succeeds, LastReply keeps them", async () => {
    const latin1Bytes = Buffer.from([0x32, 0x35, 0x30, 0x20, 0x6f, 0x6b, 0x20, 0x00, 0x01, 0x7f, 0xff, 0xfe, 0x80]); // "250 ok \0\x01\x7f\xff\xfe\x80"
    const utf8Line = Buffer.from("250 2.0.0 grüße aus 東京 😀", "utf8");
    const s = await hostile([
      step.reply(Buffer.from("220 hôte \x00 prêt", "latin1")),
      step.expect(/^EHLO /),
      step.reply(Buffer.concat([Buffer.from("250-h\x00stile\r\n250-8BITMIME\r\n250 ", "latin1"), Buffer.from("ÜNICODE", "utf8")])),
      step.expect(/^MAIL FROM:/),
      step.reply(latin1Bytes),
      step.expect(/^RCPT TO:/),
      step.reply(utf8Line),
      step.expect(/^DATA$/),
      step.reply("354 \x00\x1b[31m go"),
      step.expectData(),
      step.reply("250 2.0.0 queued \x00 \xff"),
      step.expect(/^NOOP$/),
      step.reply(Buffer.concat([Buffer.from("250 nul\x00here ", "latin1"), Buffer.from([0xc3, 0x28, 0xa0])])),
      step.expect(/^QUIT$/),
      step.reply("221 bye"),
      step.close(),
    ]);
    const m = victim(s.port);
    const r = record(m);
    await m.connect();
    const result = await m.send();
    expect(result.replyCode).toBe(250);
    expect(result.reply).toBe("250 2.0.0 queued \u0000 \u00ff");
    expect(r.trail.some((t) => t.direction === 1 && t.message.includes("東京"))).toBe(true);
    const noop = await m.sendCommand("NOOP");
    expect(noop.code).toBe(250);
    // Not valid UTF-8: decoded as latin1, every byte kept.
    expect(m.getLastReply()).toBe("250 nul\u0000here \u00c3(\u00a0");
    await m.disconnect();
    expect(m.getLastReply()).toBe("221 bye");
    const c = await s.connection(0);
    await within(c.closed, 5_000, "close");
    expect(c.problems).toEqual([]);
  });

  it("a reply to a command never sent (a second reply behind the greeting): 605, never success", async () => {
    const s = await hostile([step.reply("220 hostile.test\r\n250 2.0.0 nobody asked"), step.stall()]);
    const m = victim(s.port);
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expectCode(err, ErrorCode.MalformedReply);
    expect(err.message).toMatch(/nobody asked/);
    expect(err.replyCode).toBe(250);
    await expectRecovered(m, [await s.connection(0)]);
  });

  it("a reply to no command while idle after connect(): the connection is dropped with 605, the next send reconnects", async () => {
    const s = await hostile((i) =>
      i === 0
        ? [...preamble(), step.wait(100), step.reply("250 2.0.0 unsolicited"), step.stall()]
        : goodDialogue(),
    );
    const m = victim(s.port);
    const r = record(m);
    await m.connect();
    const c0 = await s.connection(0);
    await within(c0.closed, 5_000, "the client to drop the out-of-step connection");
    expect(m.getConnected()).toBe(false);
    const drop = r.status.find((e) => e.connectionEvent === "Remote host disconnected");
    expect(drop?.statusCode).toBe(ErrorCode.MalformedReply);
    expect(drop?.description).toMatch(/unsolicited/);
    // After connect() the send reopens the connection and keeps it, until disconnect().
    const result = await m.send();
    expect(result.replyCode).toBe(250);
    expect(s.connections).toHaveLength(2);
    expect(m.getConnected()).toBe(true);
    await m.disconnect();
    await expectRecovered(m, [c0, await s.connection(1)]);
  });

  it("garbage instead of a greeting: 605, no crash", async () => {
    const s = await hostile([step.garbage(4096, 7), step.stall()]);
    const m = victim(s.port);
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    // Random bytes are either malformed, or (no CRLF within MaxLineLength) too long.
    expectCode(err, ErrorCode.MalformedReply, ErrorCode.ReplyTooLong);
    await expectRecovered(m, [await s.connection(0)]);
  });
});

describe("the DATA phase", () => {
  // Far more than the socket buffers of both sides can hold (tcp_wmem max is typically 4 MB).
  const bigBody = "B".repeat(70) + "\r\n" + Array.from({ length: 200_000 }, (_, i) => `big line ${i} ${"c".repeat(70)}`).join("\r\n") + "\r\n";

  for (const how of ["close", "reset"] as const) {
    it(`${how} after ~50 % of the body: 607 / 10054 'not delivered', deliveryUnknown false`, async () => {
      const s = await hostile([
        ...preamble(),
        step.expect(/^MAIL FROM:/),
        step.reply("250 ok"),
        step.expect(/^RCPT TO:/),
        step.reply("250 ok"),
        step.expect(/^DATA$/),
        step.reply("354 go"),
        step.expectData({ stopAfter: Math.floor(bigBody.length / 2) }),
        how === "close" ? step.close() : step.reset(),
      ]);
      const m = victim(s.port, { messageText: bigBody });
      const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
      expectCode(err, ErrorCode.ConnectionClosed, ErrorCode.ConnectionReset);
      expect(err.message).toMatch(/not delivered/);
      expect(err.deliveryUnknown).toBe(false);
      const c = await s.connection(0);
      expect(c.dataBytes).toBeLessThan(bigBody.length);
      await expectRecovered(m, [c]);
    });
  }

  it("stall after the end of data (no final reply): Timeout → 10060 with deliveryUnknown true", async () => {
    const s = await hostile([...goodDialogue().slice(0, 10), step.stall()]);
    const m = victim(s.port, { timeout: 1 });
    const err = await failsWithin(m.send(), 1_000 + SLACK_MS);
    expectCode(err, ErrorCode.TimedOut);
    expect(err.deliveryUnknown).toBe(true);
    expect(err.message).toMatch(/delivery unknown/);
    const c = await s.connection(0);
    expect(c.data[0]?.toString("latin1")).toMatch(/\r\n\r\nhello\r\n$/);
    await expectRecovered(m, [c]);
  });

  it("stall after the end of data with AbsoluteTimeout: 10060 within Timeout + 5 s, and still deliveryUnknown true", async () => {
    const s = await hostile([...goodDialogue().slice(0, 10), step.stall()]);
    const m = victim(s.port, { timeout: 2 });
    m.config("AbsoluteTimeout=true");
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expectCode(err, ErrorCode.TimedOut);
    const c = await s.connection(0);
    expect(c.data[0]?.toString("latin1")).toMatch(/\r\n\r\nhello\r\n$/);
    // The whole message reached the server: a caller must not be told it is safe to resend.
    expect(err.deliveryUnknown, err.message).toBe(true);
    await expectRecovered(m, [c]);
  });

  it("interrupt() after the whole message was sent (waiting for the verdict): 301, and deliveryUnknown true", async () => {
    const s = await hostile([...goodDialogue().slice(0, 10), step.stall()]);
    const m = victim(s.port, { timeout: 30 });
    const sending = m.send();
    const c = await s.connection(0);
    await within(
      (async () => {
        while (c.data.length === 0) await new Promise((r) => setTimeout(r, 10));
      })(),
      5_000,
      "the end of data",
    );
    await m.interrupt();
    const err = await failsWithin(sending, SLACK_MS);
    expectCode(err, ErrorCode.Interrupted);
    expect(err.deliveryUnknown, err.message).toBe(true);
    await expectRecovered(m, [c]);
  });

  it("250 to the end of data and a close in the same write: success", async () => {
    const s = await hostile([...goodDialogue().slice(0, 10), step.run((c) => void c.io.end("250 2.0.0 queued as FIN\r\n"))]);
    const m = victim(s.port);
    const result = await m.send();
    expect(result.reply).toBe("250 2.0.0 queued as FIN");
    expect(m.getIdle()).toBe(true);
    expect(m.getConnected()).toBe(false);
    await within((await s.connection(0)).closed, 5_000, "close");
  });

  it("250 to the end of data, then RST instead of answering QUIT: success", async () => {
    const s = await hostile([...goodDialogue().slice(0, 11), step.wait(50), step.reset()]);
    const m = victim(s.port);
    const result = await m.send();
    expect(result.replyCode).toBe(250);
    expect(m.getIdle()).toBe(true);
    expect(m.getConnected()).toBe(false);
  });

  for (const how of ["close", "reset"] as const) {
    it(`${how} after the end of data, before the verdict: NOT success, deliveryUnknown true`, async () => {
      const s = await hostile([...goodDialogue().slice(0, 10), how === "close" ? step.close() : step.reset()]);
      const m = victim(s.port);
      const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
      expectCode(err, ErrorCode.ConnectionClosed, ErrorCode.ConnectionReset);
      expect(err.deliveryUnknown).toBe(true);
      expect(err.message).toMatch(/delivery unknown/);
      await expectRecovered(m, [await s.connection(0)]);
    });
  }

  it("a 250 sent while the body is still being written (before the end of data) is never taken as the verdict", async () => {
    // The premature 250 lands in the end-of-data waiter (queued before the first byte);
    // the server's real verdict, after the marker, is a refusal.
    const s = await hostile([
      ...preamble(PIPELINING),
      step.expect(/^MAIL FROM:/),
      step.expect(/^RCPT TO:/),
      step.expect(/^DATA$/),
      step.reply("250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go"),
      step.expectData({ stopAfter: 1 }),
      step.reply("250 2.0.0 premature, before the end of data"),
      // On its own packet, well before the verdict.
      step.wait(200),
      step.expectData(),
      step.reply("550 5.7.1 message refused"),
      step.expect(/^QUIT$/),
      step.reply("221 bye"),
      step.close(),
    ]);
    // Big enough that the client is still writing when the premature reply arrives.
    const m = victim(s.port, { messageText: bigBody });
    let outcome: string;
    try {
      const r = await m.send();
      outcome = `success: ${r.reply}`;
    } catch (e) {
      outcome = e instanceof SmtpError ? `error ${e.code}` : `non-SmtpError ${String(e)}`;
    }
    expect(outcome).toMatch(/^error (605|161)$/);
    await expectRecovered(m, [await s.connection(0)]);
  });
});

describe("BDAT (CHUNKING)", () => {
  const CHUNKING = ["PIPELINING", "CHUNKING", "8BITMIME", "ENHANCEDSTATUSCODES"];

  for (const how of ["close", "stall"] as const) {
    it(`whole message in the pipelined group (BDAT n LAST), then ${how} before its reply: NOT success, deliveryUnknown true`, async () => {
      const s = await hostile([
        ...preamble(CHUNKING),
        step.expect(/^MAIL FROM:/),
        step.expect(/^RCPT TO:/),
        step.expect(/^BDAT \d+ LAST$/),
        step.expectBytes("hello\r\n".length),
        step.reply("250 2.1.0 ok\r\n250 2.1.5 ok"),
        how === "close" ? step.close() : step.stall(),
      ]);
      const m = victim(s.port, { timeout: 1 });
      const err = await failsWithin(m.send(), 1_000 + SLACK_MS);
      expectCode(err, ErrorCode.ConnectionClosed, ErrorCode.TimedOut);
      expect(err.deliveryUnknown, err.message).toBe(true);
      await expectRecovered(m, [await s.connection(0)]);
    });
  }
});

describe("TLS", () => {
  const tlsOpts = (o: SmtpOptions = {}): SmtpOptions => ({ ...o, settings: { SSLCACerts: CA, ...(o.settings as object) } });
  const starttlsPreamble = (): Step[] => [...preamble(["STARTTLS", "8BITMIME"]), step.expect(/^STARTTLS$/)];

  it("control: STARTTLS on the hostile server completes and the session continues over TLS", async () => {
    const s = await hostile([
      ...starttlsPreamble(),
      step.startTls(),
      step.expect(/^EHLO /),
      step.reply(ehloReply(["8BITMIME"])),
      ...goodDialogue().slice(3),
    ]);
    const m = victim(s.port, tlsOpts({ sslStartMode: 2 }));
    const result = await m.send();
    expect(result.replyCode).toBe(250);
    const c = await s.connection(0);
    expect(c.secure).toBe(true);
    expect(c.problems).toEqual([]);
  });

  it("RST after the ClientHello (mid-STARTTLS): a TLS error (27x) or 10054 within Timeout + 5 s", async () => {
    const s = await hostile([...starttlsPreamble(), step.reply("220 2.0.0 go ahead"), step.expectBytes(5), step.reset()]);
    const m = victim(s.port, tlsOpts({ sslStartMode: 2 }));
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expect(err.isTls() || err.code === ErrorCode.ConnectionReset, `${err.code}: ${err.message}`).toBe(true);
    await expectRecovered(m, [await s.connection(0)]);
  });

  it("FIN after the ClientHello (mid-STARTTLS): a TLS error, 607 or 10054, no hang", async () => {
    const s = await hostile([...starttlsPreamble(), step.reply("220 2.0.0 go ahead"), step.expectBytes(5), step.close()]);
    const m = victim(s.port, tlsOpts({ sslStartMode: 2 }));
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expect(err.isTls() || err.code === ErrorCode.ConnectionReset || err.code === ErrorCode.ConnectionClosed, `${err.code}: ${err.message}`).toBe(true);
    await expectRecovered(m, [await s.connection(0)]);
  });

  it("STARTTLS accepted, then the TLS handshake never comes: 10060 within Timeout + 5 s", async () => {
    const s = await hostile([...starttlsPreamble(), step.reply("220 2.0.0 go ahead"), step.stall()]);
    const m = victim(s.port, tlsOpts({ sslStartMode: 2, timeout: 1 }));
    const err = await failsWithin(m.send(), 1_000 + SLACK_MS);
    expectCode(err, ErrorCode.TimedOut);
    await expectRecovered(m, [await s.connection(0)]);
  });

  it("garbage instead of a ServerHello after STARTTLS: a TLS error (270-299)", async () => {
    const s = await hostile([...starttlsPreamble(), step.reply("220 2.0.0 go ahead"), step.expectBytes(5), step.garbage(2048, 3), step.stall()]);
    const m = victim(s.port, tlsOpts({ sslStartMode: 2 }));
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expect(err.isTls(), `${err.code}: ${err.message}`).toBe(true);
    await expectRecovered(m, [await s.connection(0)]);
  });

  it("implicit TLS (SSLStartMode=1) against a server that answers the ClientHello with garbage: 270 family / 277", async () => {
    const s = await hostile([step.expectBytes(5), step.garbage(2048, 11), step.stall()]);
    const m = victim(s.port, tlsOpts({ sslStartMode: 1 }));
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expect(err.isTls(), `${err.code}: ${err.message}`).toBe(true);
    await expectRecovered(m, [await s.connection(0)]);
  });

  it("implicit TLS against a plain-text greeting: 277 (wrong mode)", async () => {
    const s = await hostile([step.reply("220 plain.hostile.test ESMTP"), step.stall()]);
    const m = victim(s.port, tlsOpts({ sslStartMode: 1 }));
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expectCode(err, ErrorCode.TlsWrongMode);
    await expectRecovered(m, [await s.connection(0)]);
  });

  it("an AbortSignal fired during a stalled TLS handshake: 301 at once", async () => {
    const s = await hostile([step.expectBytes(5), step.stall()]);
    const m = victim(s.port, tlsOpts({ sslStartMode: 1, timeout: 60 }));
    const ac = new AbortController();
    const sending = m.send({ signal: ac.signal });
    const c = await s.connection(0);
    await within(
      (async () => {
        while (c.received.length === 0) await new Promise((r) => setTimeout(r, 10));
      })(),
      5_000,
      "the ClientHello",
    );
    ac.abort();
    const err = await failsWithin(sending, SLACK_MS);
    expectCode(err, ErrorCode.Interrupted);
    await expectRecovered(m, [c]);
  });

  it("implicit TLS: a full session over the hostile TLS server succeeds (control)", async () => {
    const s = await hostile(goodDialogue(), { tls: true });
    const m = victim(s.port, tlsOpts({ sslStartMode: 1 }));
    const result = await m.send();
    expect(result.replyCode).toBe(250);
    expect((await s.connection(0)).secure).toBe(true);
  });
});

describe("PIPELINING servers that answer out of step", () => {
  const groupThen = (...after: Step[]): Step[] => [
    ...preamble(PIPELINING),
    step.expect(/^MAIL FROM:/),
    step.expect(/^RCPT TO:/),
    step.expect(/^DATA$/),
    ...after,
  ];

  it("a duplicated reply in the same burst (4 replies to 3 commands): 605, never success, nothing sent", async () => {
    const s = await hostile(groupThen(step.reply("250 2.1.0 ok\r\n250 2.1.0 ok (again)\r\n250 2.1.5 ok\r\n354 go"), step.stall()));
    const m = victim(s.port);
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expectCode(err, ErrorCode.MalformedReply);
    expect(err.message).toMatch(/out of step|no command/);
    const c = await s.connection(0);
    await within(c.closed, 5_000, "close");
    expect(c.text()).not.toMatch(/Subject: test/);
    await expectRecovered(m, [c]);
  });

  it("a duplicated reply in its own packet (every later reply shifted by one): never success, nothing sent", async () => {
    const s = await hostile(
      groupThen(
        step.reply("250 2.1.0 ok"),
        step.wait(30),
        step.reply("250 2.1.0 ok (duplicate)"),
        step.wait(30),
        step.reply("250 2.1.5 ok"),
        step.wait(30),
        step.reply("354 go"),
        step.stall(),
      ),
    );
    const m = victim(s.port, { timeout: 1 });
    const err = await failsWithin(m.send(), 1_000 + SLACK_MS);
    expectCode(err, ErrorCode.MalformedReply, ErrorCode.Protocol);
    const c = await s.connection(0);
    await within(c.closed, 5_000, "close");
    expect(c.text()).not.toMatch(/Subject: test/);
    await expectRecovered(m, [c]);
  });

  it("replies out of order (354 first): never success, nothing sent", async () => {
    const s = await hostile(groupThen(step.reply("354 go\r\n250 2.1.0 ok\r\n250 2.1.5 ok"), step.stall()));
    const m = victim(s.port, { timeout: 1 });
    const err = await failsWithin(m.send(), 1_000 + SLACK_MS);
    expectCode(err, ErrorCode.MalformedReply, ErrorCode.Protocol);
    const c = await s.connection(0);
    await within(c.closed, 5_000, "close");
    expect(c.text()).not.toMatch(/Subject: test/);
    await expectRecovered(m, [c]);
  });

  it("a stray 250 before a refusing verdict, in the same burst: the refusal lands on the NOOP behind the data, 605 delivery unknown, never success", async () => {
    const s = await hostile([...goodDialogue({ extensions: PIPELINING }).slice(0, 10), step.reply("250 2.0.0 stray\r\n554 5.7.1 rejected"), step.stall()]);
    const m = victim(s.port);
    const err = await failsWithin(m.send(), 2_000 + SLACK_MS);
    expectCode(err, ErrorCode.MalformedReply);
    expect(err.deliveryUnknown).toBe(true);
    await expectRecovered(m, [await s.connection(0)]);
  });
});

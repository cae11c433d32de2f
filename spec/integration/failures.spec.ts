/**
 * Everything that can go wrong on the network or in the server's answers, and
 * that the object stays usable afterwards.
 */
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, Smtp, SmtpError } from "../../src/index.js";
import { bodyOf, startSmtpServer, type Harness } from "../support/smtp-server-harness.js";
import { closedPort, scriptedSmtp, type TcpServer } from "../support/tcp-server.js";
import { client, record, rejectsWith, waitFor } from "../support/client.js";

let good: Harness;
/** Scripted servers of the current test, closed after it. */
const scripted: TcpServer[] = [];

beforeAll(async () => {
  good = await startSmtpServer();
});
afterAll(async () => {
  await good.close();
});
afterEach(async () => {
  await Promise.all(scripted.splice(0).map((s) => s.close()));
});

async function script(...args: Parameters<typeof scriptedSmtp>): Promise<TcpServer> {
  const s = await scriptedSmtp(...args);
  scripted.push(s);
  return s;
}

/** After a failure: idle, not connected, and able to deliver to the good server. */
async function expectUsableAfter(m: Smtp): Promise<void> {
  expect(m.getIdle()).toBe(true);
  expect(m.getConnected()).toBe(false);
  m.setMailServer("127.0.0.1");
  m.setMailPort(good.port);
  m.setMessageText("recovered\r\n");
  m.setSendTo("recovered@example.com");
  m.setCc("");
  m.setBCc("");
  const before = good.received.length;
  const result = await m.send();
  expect(result.replyCode).toBe(250);
  expect(good.received.length).toBe(before + 1);
  expect(bodyOf(good.received[before]).toString("utf8")).toBe("recovered\r\n");
}

/** A body stream that yields a 16 KiB chunk every `everyMs` and never ends by itself. */
function slowStream(everyMs = 20): Readable {
  let stopped = false;
  const chunk = Buffer.alloc(16 * 1024, "slow data line\n");
  return new Readable({
    read() {
      if (stopped) return;
      setTimeout(() => {
        if (!stopped) this.push(chunk);
      }, everyMs);
    },
    destroy(err, cb) {
      stopped = true;
      cb(err);
    },
  });
}

describe("refused recipients", () => {
  const cases = [
    { setting: "StopOnToErrors", prop: "sendTo", type: 0 },
    { setting: "StopOnCcErrors", prop: "cc", type: 1 },
    { setting: "StopOnBccErrors", prop: "bcc", type: 2 },
  ] as const;

  for (const c of cases) {
    it(`${c.setting}=true (default): a refused ${c.prop} recipient fails the send with 161 and nothing is delivered`, async () => {
      const before = good.received.length;
      const m = client(good.port, { sendTo: "ok-to@example.com" });
      m[c.prop] = c.prop === "sendTo" ? "ok-to@example.com, reject-me@example.com" : "reject-me@example.com";
      expect(m.config(c.setting)).toBe("true");
      const r = record(m);
      const err = await rejectsWith(m.send(), ErrorCode.Protocol);
      expect(err.replyCode).toBe(550);
      expect(err.enhancedStatus).toBe("5.1.1");
      expect(err.recipient).toBe("reject-me@example.com");
      expect(err.command).toBe("RCPT TO:<reject-me@example.com>");
      expect(err.lastReply).toMatch(/^550 /);
      expect(err.isPermanent()).toBe(true);
      expect(err.message).toContain("reject-me@example.com");
      expect(good.received.length).toBe(before);
      const sent = r.sent();
      // PIPELINING: DATA went out with the envelope and was answered 354; the
      // client then closes the connection instead of sending the message, so
      // the server drops the transaction.
      expect(sent.slice(sent.indexOf("RCPT TO:<reject-me@example.com>"))).toEqual(["RCPT TO:<reject-me@example.com>", "DATA"]);
      expect(err.message).toContain("connection was closed so that nothing is delivered");
      await expectUsableAfter(m);
    });

    it(`${c.setting}=true without PIPELINING: no DATA, the transaction is reset, then QUIT`, async () => {
      const before = good.received.length;
      const m = client(good.port, { sendTo: "ok-to@example.com", settings: { UsePipelining: false } });
      m[c.prop] = c.prop === "sendTo" ? "ok-to@example.com, reject-me@example.com" : "reject-me@example.com";
      const r = record(m);
      const err = await rejectsWith(m.send(), ErrorCode.Protocol);
      expect(err.replyCode).toBe(550);
      expect(err.recipient).toBe("reject-me@example.com");
      expect(good.received.length).toBe(before);
      const sent = r.sent();
      expect(sent).not.toContain("DATA");
      expect(sent.slice(sent.indexOf("RCPT TO:<reject-me@example.com>"))).toEqual(["RCPT TO:<reject-me@example.com>", "RSET", "QUIT"]);
      // The refusal, not the 221 of the QUIT that closed the connection opened for this send.
      expect(m.getLastReply()).toMatch(/^550 /);
      await expectUsableAfter(m);
    });

    it(`${c.setting}=false: the refusal fires Error and the message reaches the accepted recipients`, async () => {
      const before = good.received.length;
      const m = client(good.port, { sendTo: "ok-to@example.com" });
      m[c.prop] = c.prop === "sendTo" ? "ok-to@example.com, reject-me@example.com" : "reject-me@example.com, ok-other@example.com";
      m.config(`${c.setting}=false`);
      expect(m.config(c.setting)).toBe("false");
      const r = record(m);
      const result = await m.send();
      expect(good.received.length).toBe(before + 1);
      const got = good.received[before];
      expect(got?.rcptTo).not.toContain("reject-me@example.com");
      expect(got?.rcptTo).toContain("ok-to@example.com");
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]?.errorCode).toBe(ErrorCode.Protocol);
      expect(r.errors[0]?.description).toContain("reject-me@example.com");
      expect(r.errors[0]?.description).toContain("550");
      expect(result.rejected.map((x) => [x.address, x.type, x.replyCode, x.enhancedStatus])).toEqual([["reject-me@example.com", c.type, 550, "5.1.1"]]);
      expect(result.accepted).toEqual(got?.rcptTo);
    });
  }

  it("StopOnCcErrors=false does not relax the To rule", async () => {
    const before = good.received.length;
    const m = client(good.port, { sendTo: "reject-to@example.com", cc: "ok-cc@example.com" });
    m.config("StopOnCcErrors=false");
    m.config("StopOnBccErrors=false");
    const err = await rejectsWith(m.send(), ErrorCode.Protocol);
    expect(err.recipient).toBe("reject-to@example.com");
    expect(good.received.length).toBe(before);
  });

  it("every recipient refused (StopOn...=false) rejects with 165 and nothing is delivered", async () => {
    const before = good.received.length;
    const m = client(good.port, { sendTo: "reject-a@example.com", cc: "reject-b@example.com", bcc: "reject-c@example.com" });
    m.config("StopOnToErrors=false");
    m.config("StopOnCcErrors=false");
    m.config("StopOnBccErrors=false");
    const r = record(m);
    const err = await rejectsWith(m.send(), ErrorCode.NoRecipient);
    expect(err.replyCode).toBe(550);
    expect(r.errors.map((e) => e.errorCode)).toEqual([161, 161, 161]);
    // With PIPELINING, DATA rides in the group; the server refuses it (no valid recipients).
    expect(r.trail.some((t) => t.direction === 1 && /^(503|554)/.test(t.message))).toBe(true);
    expect(good.received.length).toBe(before);
    await expectUsableAfter(m);
  });

  it("a 4xx refusal is reported as transient", async () => {
    const m = client(good.port, { sendTo: "busy-box@example.com" });
    const err = await rejectsWith(m.send(), ErrorCode.Protocol);
    expect(err.replyCode).toBe(450);
    expect(err.isTransient()).toBe(true);
    expect(err.isPermanent()).toBe(false);
  });
});

describe("server replies refusing the transaction", () => {
  it("greeting 554: rejects with 161 and the reply", async () => {
    const s = await script({ greeting: "554 5.3.2 not accepting mail" });
    const m = client(s.port);
    const err = await rejectsWith(m.send(), ErrorCode.Protocol);
    expect(err.replyCode).toBe(554);
    expect(err.enhancedStatus).toBe("5.3.2");
    expect(s.lines).not.toContain("DATA");
    expect(m.getIdle()).toBe(true);
  });

  it("MAIL FROM refused: 161 with the reply; RSET then QUIT", async () => {
    const s = await script({ MAIL: "553 5.7.1 sender not allowed" });
    const m = client(s.port);
    const err = await rejectsWith(m.send(), ErrorCode.Protocol);
    expect(err.replyCode).toBe(553);
    expect(err.command).toBe("MAIL FROM:<sender@example.com>");
    expect(s.lines.filter((l) => !/^(EHLO|HELO) /.test(l))).toEqual(["MAIL FROM:<sender@example.com>", "RSET", "QUIT"]);
  });

  it("DATA refused: 161 and no data is sent", async () => {
    const s = await script({ DATA: "554 5.5.1 no valid recipients" });
    const m = client(s.port);
    const err = await rejectsWith(m.send(), ErrorCode.Protocol);
    expect(err.replyCode).toBe(554);
    expect(s.connections[0]?.dataBytes).toBe(0);
  });

  it("end of data answered 552: 161, message refused", async () => {
    const s = await script({ endOfData: "552 5.3.4 message too big" });
    const m = client(s.port);
    const r = record(m);
    const err = await rejectsWith(m.send(), ErrorCode.Protocol);
    expect(err.replyCode).toBe(552);
    expect(err.message).toMatch(/did not accept the message/);
    expect(r.endTransfer).toBe(1);
    await expectUsableAfter(m);
  });

  it("421 to RCPT: rejects with 161 / 421 and does not go on", async () => {
    const s = await script({
      RCPT: (conn) => {
        conn.reply("421 4.3.2 shutting down");
        conn.end();
      },
    });
    const m = client(s.port, { sendTo: "a@example.com, b@example.com" });
    const err = await rejectsWith(m.send(), ErrorCode.Protocol);
    expect(err.replyCode).toBe(421);
    expect(s.lines.filter((l) => l.startsWith("RCPT"))).toEqual(["RCPT TO:<a@example.com>"]);
    expect(err.isTransient()).toBe(true);
  });
});

describe("EHLO / HELO", () => {
  it("EHLO refused with 502: falls back to HELO and the send succeeds", async () => {
    const s = await script({ EHLO: "502 5.5.2 EHLO not implemented" });
    const m = client(s.port);
    m.config("Hello=client.test");
    const result = await m.send();
    expect(result.replyCode).toBe(250);
    expect(s.lines.slice(0, 2)).toEqual(["EHLO client.test", "HELO client.test"]);
    expect(s.lines).toContain("DATA");
    expect(s.connections[0]?.dataBytes).toBeGreaterThan(0);
  });

  it("after the HELO fallback no ESMTP parameter is used, even for an 8-bit body", async () => {
    const s = await script({ EHLO: "500 5.5.1 unrecognized command" });
    const m = client(s.port, { messageText: "8-bit body: äöü\r\n" });
    await m.send();
    expect(s.lines.find((l) => l.startsWith("MAIL FROM:"))).toBe("MAIL FROM:<sender@example.com>");
    expect(m.serverCapabilities).toBeUndefined();
  });

  it("AllowExtensions=false sends HELO only", async () => {
    const s = await script();
    const m = client(s.port, { allowExtensions: false });
    m.config("Hello=client.test");
    await m.send();
    expect(s.lines[0]).toBe("HELO client.test");
    expect(s.lines.some((l) => l.startsWith("EHLO"))).toBe(false);
  });

  it("AllowExtensions=false against smtp-server: no ESMTP parameters are used", async () => {
    const m = client(good.port, { allowExtensions: false, messageText: "8-bit: äöü\r\n" });
    const r = record(m);
    await m.send();
    expect(r.sent()[0]).toMatch(/^HELO /);
    expect(r.sent().find((l) => l.startsWith("MAIL FROM"))).toBe("MAIL FROM:<sender@example.com>");
    expect(good.received[good.received.length - 1]?.mailFromArgs).toEqual({});
  });

  it("HELO refused too: rejects with 161", async () => {
    const s = await script({ EHLO: "502 no", HELO: "550 go away" });
    const m = client(s.port);
    const err = await rejectsWith(m.send(), ErrorCode.Protocol);
    expect(err.replyCode).toBe(550);
  });
});

describe("connection lost during DATA", () => {
  const big = Array.from({ length: 80_000 }, (_, i) => `body line ${i} ${"z".repeat(40)}`).join("\r\n");

  for (const how of ["destroy", "end"] as const) {
    it(`server closes (${how}) mid-DATA: rejects with 607 / 10054 saying the message was not delivered; the object stays usable`, async () => {
      const s = await script({
        onData: (_chunk, conn) => {
          if (conn.dataBytes > 64 * 1024) conn[how]();
        },
      });
      const m = client(s.port, { messageText: big });
      const r = record(m);
      let caught: unknown;
      await m.send().catch((e: unknown) => {
        caught = e;
      });
      expect(caught).toBeInstanceOf(SmtpError);
      const err = caught as SmtpError;
      expect({ code: err.code, message: err.message }).toMatchObject({
        code: expect.toSatisfy((c: number) => c === ErrorCode.ConnectionClosed || c === ErrorCode.ConnectionReset),
        message: expect.stringMatching(/DATA/),
      });
      expect(err.message).toMatch(/not delivered/);
      expect(err.isNetwork()).toBe(true);
      expect(r.endTransfer).toBe(1);
      await expectUsableAfter(m);
    });
  }

  it("a body stream that fails mid-way: rejects with 611 and the server delivers nothing", async () => {
    const before = good.received.length;
    const m = client(good.port);
    let sent = 0;
    m.setMessageStream(
      new Readable({
        read() {
          if (sent++ < 4) this.push(Buffer.alloc(32 * 1024, "partial body\n"));
          else this.destroy(new Error("disk read failed"));
        },
      }),
    );
    const err = await rejectsWith(m.send(), ErrorCode.MessageStream);
    expect(err.message).toContain("disk read failed");
    expect(err.message).toMatch(/nothing was delivered/);
    // Give the server a moment: a partial message must never turn into a delivered one.
    await new Promise((res) => setTimeout(res, 200));
    expect(good.received.length).toBe(before);
    await expectUsableAfter(m);
  });

  it("server reads through the end-of-data marker and closes without replying: rejects, never success", async () => {
    const s = await script({ endOfData: (conn) => conn.destroy() });
    const m = client(s.port, { messageText: "short message\r\n" });
    const err = await rejectsWith(m.send(), ErrorCode.ConnectionClosed);
    // The whole message was sent: only the verdict is missing, so it may have been delivered.
    expect(err.message).toMatch(/delivery unknown/);
    expect(err.message).toMatch(/DATA/);
    expect(err.deliveryUnknown).toBe(true);
    // The whole message did reach the server: the failure is the missing confirmation.
    expect(Buffer.concat(s.connections[0]?.data ?? []).toString("utf8")).toMatch(/short message\r\n$/);
    await expectUsableAfter(m);
  });

  it("250 to the end of data followed by a close (no QUIT reply) is a success", async () => {
    const s = await script({
      endOfData: (conn) => {
        conn.reply("250 2.0.0 queued as X");
        conn.end();
      },
    });
    const m = client(s.port);
    const result = await m.send();
    expect(result.replyCode).toBe(250);
    expect(result.reply).toContain("queued as X");
    expect(m.getIdle()).toBe(true);
    expect(m.getConnected()).toBe(false);
  });

  it("250 to the end of data sent in the same packet as the close is a success", async () => {
    const s = await script({
      endOfData: (conn) => {
        conn.socket.end("250 2.0.0 queued as Y\r\n");
      },
    });
    const m = client(s.port);
    const result = await m.send();
    expect(result.reply).toContain("queued as Y");
  });
});

describe("timeouts", () => {
  it("a server that accepts TCP but never greets: 10060 within a bounded time", async () => {
    const s = await script({ greeting: () => undefined });
    const m = client(s.port, { timeout: 1 });
    const started = Date.now();
    const err = await rejectsWith(m.send(), ErrorCode.TimedOut);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err.isTimeout()).toBe(true);
    expect(err.isTransient()).toBe(true);
    expect(s.lines).toEqual([]);
    await expectUsableAfter(m);
  });

  it("ConnectionTimeout limits the wait for the greeting independently of Timeout", async () => {
    const s = await script({ greeting: () => undefined });
    const m = client(s.port, { timeout: 60 });
    m.config("ConnectionTimeout=1");
    const started = Date.now();
    const err = await rejectsWith(m.send(), ErrorCode.TimedOut);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err.isTimeout()).toBe(true);
  });

  it("a server that stalls after DATA (never answers the end of data): 10060", async () => {
    const s = await script({ endOfData: () => undefined });
    const m = client(s.port, { timeout: 1 });
    const started = Date.now();
    const err = await rejectsWith(m.send(), ErrorCode.TimedOut);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(err.isTimeout()).toBe(true);
    expect(s.connections[0]?.dataBytes).toBeGreaterThan(0);
    await expectUsableAfter(m);
  });

  it("a server that stops reading during DATA: 10060", async () => {
    const s = await script({
      onData: (_chunk, conn) => {
        conn.socket.pause();
      },
    });
    // Far more than the socket buffers on both sides can absorb.
    const m = client(s.port, { timeout: 1, messageText: "x".repeat(70) + "\r\n".repeat(1) + "y".repeat(32 * 1024 * 1024) });
    const started = Date.now();
    const err = await rejectsWith(m.send(), ErrorCode.TimedOut);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(err.isTimeout()).toBe(true);
    await expectUsableAfter(m);
  });

  it("a server that never answers MAIL FROM: 10060", async () => {
    const s = await script({ MAIL: () => undefined });
    const m = client(s.port, { timeout: 1 });
    const err = await rejectsWith(m.send(), ErrorCode.TimedOut);
    expect(err.message).toContain("MAIL FROM");
  });
});

describe("Timeout is per reply / per progress, not for the whole send", () => {
  it("a body stream with pauses shorter than Timeout succeeds even when the whole DATA phase takes longer", async () => {
    const s = await script();
    const m = client(s.port, { timeout: 1 });
    let n = 0;
    m.setMessageStream(
      new Readable({
        read() {
          setTimeout(() => this.push(n++ < 8 ? Buffer.from(`chunk ${n}\r\n`) : null), 250);
        },
      }),
    );
    const started = Date.now();
    const result = await m.send();
    expect(Date.now() - started).toBeGreaterThan(1500);
    expect(result.replyCode).toBe(250);
    expect(Buffer.concat(s.connections[0]?.data ?? []).toString("utf8")).toMatch(/chunk 1\r\n[\s\S]*chunk 8\r\n$/);
  });

  it("a timeout on a connection opened with connect() closes it; the next send reconnects", async () => {
    const s = await script({
      MAIL: (conn) => {
        // The first connection stalls; later ones behave.
        if (s.connections.indexOf(conn) === 0) return;
        conn.reply("250 ok");
      },
    });
    const m = client(s.port, { timeout: 1 });
    await m.connect();
    await rejectsWith(m.send(), ErrorCode.TimedOut);
    expect(m.getConnected()).toBe(false);
    expect(m.getIdle()).toBe(true);
    const result = await m.send();
    expect(result.replyCode).toBe(250);
    expect(s.connections).toHaveLength(2);
  });

  it("a server that never answers QUIT does not hold send() beyond the Timeout", async () => {
    const s = await script({ QUIT: () => undefined });
    const m = client(s.port, { timeout: 2 });
    const started = Date.now();
    const result = await m.send();
    expect(result.replyCode).toBe(250);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(m.getConnected()).toBe(false);
  });
});

describe("malformed replies", () => {
  it("a reply line longer than MaxLineLength: 606, connection closed, object usable", async () => {
    const s = await script({ EHLO: "250-" + "x".repeat(5000) + "\r\n250 OK" });
    const m = client(s.port);
    await rejectsWith(m.send(), ErrorCode.ReplyTooLong);
    await expectUsableAfter(m);
  });

  it("a greeting that is not an SMTP reply: 605", async () => {
    const s = await script({ greeting: "HTTP/1.1 400 Bad Request" });
    const m = client(s.port);
    const err = await rejectsWith(m.send(), ErrorCode.MalformedReply);
    expect(err.isNetwork()).toBe(true);
    await expectUsableAfter(m);
  });

  it("a multi-line reply with mismatched codes: 605", async () => {
    const s = await script({ EHLO: "250-first\r\n251 second" });
    const m = client(s.port);
    await rejectsWith(m.send(), ErrorCode.MalformedReply);
  });
});

describe("interrupt() and AbortSignal", () => {
  it("interrupt() during DATA (slow stream body): rejects with 301; idle and usable after", async () => {
    const s = await script();
    const m = client(s.port);
    m.setMessageStream(slowStream());
    const r = record(m);
    const sending = m.send();
    await waitFor(() => r.transfers.length >= 3, 10_000, "some Transfer events");
    expect(m.getIdle()).toBe(false);
    await m.interrupt();
    const err = await rejectsWith(sending, ErrorCode.Interrupted);
    expect(err.isTransient()).toBe(true);
    // The server never got an end-of-data marker.
    expect(s.lines.filter((l) => l === "DATA")).toHaveLength(1);
    await waitFor(() => s.connections[0]?.socket.destroyed === true || s.connections[0]?.socket.readableEnded === true, 5000, "the client to drop the connection");
    expect(s.connections[0]?.inData).toBe(true);
    await expectUsableAfter(m);
  });

  it("interrupt() while the server stops reading: rejects with 301", async () => {
    const s = await script({ onData: (_c, conn) => conn.socket.pause() });
    const m = client(s.port, { timeout: 60, messageText: "w".repeat(32 * 1024 * 1024) });
    const r = record(m);
    const sending = m.send();
    await waitFor(() => r.startTransfer === 1 && (s.connections[0]?.dataBytes ?? 0) > 0, 10_000, "DATA to start");
    await new Promise((res) => setTimeout(res, 200));
    await m.interrupt();
    await rejectsWith(sending, ErrorCode.Interrupted);
    await expectUsableAfter(m);
  });

  it("an AbortSignal passed to send() has the same effect", async () => {
    const s = await script();
    const m = client(s.port);
    m.setMessageStream(slowStream());
    const r = record(m);
    const ac = new AbortController();
    const sending = m.send({ signal: ac.signal });
    await waitFor(() => r.transfers.length >= 3, 10_000, "some Transfer events");
    ac.abort();
    const err = await rejectsWith(sending, ErrorCode.Interrupted);
    expect(err.message).toMatch(/abort/i);
    await expectUsableAfter(m);
  });

  it("an already aborted signal rejects at once without connecting", async () => {
    const s = await script();
    const m = client(s.port);
    const err = await rejectsWith(m.send({ signal: AbortSignal.abort() }), ErrorCode.Interrupted);
    expect(err).toBeInstanceOf(SmtpError);
    expect(s.connections).toHaveLength(0);
    expect(m.getIdle()).toBe(true);
  });

  it("interrupt() while waiting for the greeting: 301", async () => {
    const s = await script({ greeting: () => undefined });
    const m = client(s.port, { timeout: 60 });
    const sending = m.send();
    await waitFor(() => s.connections.length === 1, 10_000, "the connection");
    await m.interrupt();
    await rejectsWith(sending, ErrorCode.Interrupted);
    await expectUsableAfter(m);
  });

  it("interrupt() when nothing runs is harmless", async () => {
    const m = client(good.port);
    await m.interrupt();
    expect(m.getIdle()).toBe(true);
    await expectUsableAfter(m);
  });
});

describe("connection failures", () => {
  it("a closed port: 10061", async () => {
    const port = await closedPort();
    const m = client(port);
    const err = await rejectsWith(m.send(), ErrorCode.ConnectionRefused);
    expect(err.isNetwork()).toBe(true);
    expect(m.getIdle()).toBe(true);
    await expectUsableAfter(m);
  });

  it("connect() to a closed port: 10061, not connected afterwards", async () => {
    const port = await closedPort();
    const m = client(port);
    await rejectsWith(m.connect(), ErrorCode.ConnectionRefused);
    expect(m.getConnected()).toBe(false);
  });

  it("an empty MailServer: 163 without any network activity", async () => {
    const m = new Smtp({ from: "a@example.com", sendTo: "b@example.com" });
    await rejectsWith(m.send(), ErrorCode.NoMailServer);
  });
});

describe("Busy", () => {
  it("send() while another send() is in flight rejects with 166; the first one completes", async () => {
    const s = await script({ endOfData: (conn) => setTimeout(() => conn.reply("250 2.0.0 late ok"), 300) });
    const m = client(s.port);
    const first = m.send();
    const err = await rejectsWith(m.send(), ErrorCode.Busy);
    expect(err.isTransient()).toBe(true);
    await rejectsWith(m.connect(), ErrorCode.Busy);
    const result = await first;
    expect(result.reply).toContain("late ok");
    // Only one transaction reached the server.
    expect(s.lines.filter((l) => l === "DATA")).toHaveLength(1);
    expect(m.getIdle()).toBe(true);
  });
});

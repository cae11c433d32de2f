/**
 * Verdicts that never lie, over real sockets: once the whole message is on
 * the wire, a lost verdict is "delivery unknown" (and never retried); a stray
 * reply never becomes a verdict; a 421 or a server's close ends the session;
 * one reply is bounded in memory and in time.
 */
import { createServer, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, Smtp, SmtpError, SmtpPool } from "../../src/index.js";
import { SmtpConnection } from "../../src/engine/connection.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";
import { client, rejectsWith } from "../support/client.js";
import { ehloReply, esmtpServer, listenLocal, preamble, step, stepServer, type Step, type TcpServer } from "../support/tcp-server.js";
import { forceGc, liveBytes } from "../support/memory.js";

const ONE_FLIGHT = ["PIPELINING", "CHUNKING", "8BITMIME", "ENHANCEDSTATUSCODES"];
const PIPE_ONLY = ["PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"];
const PLAIN = ["8BITMIME", "ENHANCEDSTATUSCODES"];

const servers: TcpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function hostile(script: readonly Step[] | ((i: number) => readonly Step[])): Promise<TcpServer> {
  const s = await stepServer(script);
  servers.push(s);
  return s;
}

function victim(port: number, options: SmtpOptions = {}): Smtp {
  return client(port, { timeout: 2, ...options });
}

async function outcome(p: Promise<unknown>): Promise<SmtpError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e, "expected a failure").toBeInstanceOf(SmtpError);
  return e as SmtpError;
}

/** Sends one message per subject through a one-connection pool; each outcome as "sent", "refused" or "unknown". */
async function seriesOutcomes(port: number, subjects: readonly string[]): Promise<string[]> {
  const pool = new SmtpPool(new Smtp({ mailServer: "127.0.0.1", mailPort: port, timeout: 2 }), { maxConnections: 1 });
  const one = (subject: string): Promise<string> =>
    pool.send({ from: "a@example.com", sendTo: "b@example.com", subject, messageText: "hello\r\n" }).then(
      () => "sent",
      (e: SmtpError) => (e.deliveryUnknown ? "unknown" : "refused"),
    );
  const outcomes = await Promise.all(subjects.map(one));
  await pool.close();
  return outcomes;
}

/** The one-flight group of a single-recipient message: MAIL, RCPT, BDAT n LAST (+ its bytes) and the NOOP behind it. */
const oneFlight: Step[] = [step.expect(/^MAIL FROM:/), step.expect(/^RCPT TO:/), step.expectBdat(), step.expect(/^NOOP$/)];

describe("one-flight BDAT: the whole message went with the envelope", () => {
  const faults: [string, Step[]][] = [
    ["close", [step.close()]],
    ["reset", [step.reset()]],
    ["malformed reply", [step.reply("2x0 what")]],
    ["out-of-range reply", [step.reply("354 go ahead")]],
    ["silence", [step.stall()]],
  ];
  for (const [name, fault] of faults) {
    it(`${name} before any reply of the group: delivery unknown`, async () => {
      const s = await hostile([...preamble(ONE_FLIGHT), ...oneFlight, step.wait(20), ...fault]);
      const err = await outcome(victim(s.port, { timeout: 1 }).send());
      expect(err.deliveryUnknown, err.message).toBe(true);
    });
  }

  it("interrupt() right after the flight: 301, delivery unknown", async () => {
    const s = await hostile([...preamble(ONE_FLIGHT), ...oneFlight, step.stall()]);
    const m = victim(s.port);
    m.on("PITrail", (e) => {
      if (e.direction === 0 && e.message.startsWith("BDAT")) setImmediate(() => void m.interrupt());
    });
    const err = await outcome(m.send());
    expect(err.code).toBe(ErrorCode.Interrupted);
    expect(err.deliveryUnknown).toBe(true);
  });

  it("SmtpPool never sends such a message again (one connection, one copy)", async () => {
    const s = await hostile([...preamble(ONE_FLIGHT), ...oneFlight, step.wait(20), step.close()]);
    const pool = new SmtpPool(client(s.port, { timeout: 2 }), { maxConnections: 1 });
    const err = await outcome(pool.send({ from: "a@example.com", sendTo: "b@example.com", subject: "once", messageText: "once\r\n" }));
    await pool.close();
    expect(err.deliveryUnknown).toBe(true);
    expect(s.connections).toHaveLength(1);
  });
});

describe("a retried message keeps its Message-ID", () => {
  it("SmtpPool: dropped during DATA (not delivered), retried on a new connection with the same Message-ID", async () => {
    // Both connections take the headers and the start of the body, then reset: the message is never whole.
    const s = await hostile([...preamble(PLAIN), step.expect(/^MAIL/), step.reply("250 ok"), step.expect(/^RCPT/), step.reply("250 ok"), step.expect(/^DATA$/), step.reply("354 go"), step.wait(300), step.reset()]);
    // Throttled, so the data is still being written when the server resets.
    const pool = new SmtpPool(client(s.port, { timeout: 5, settings: { MaxTransferRate: 65536 } }), { maxConnections: 1 });
    const messageText = "line of the body\r\n".repeat(60_000);
    const err = await outcome(pool.send({ from: "a@example.com", sendTo: "b@example.com", subject: "twice", messageText }));
    await pool.close();
    expect(err.deliveryUnknown, err.message).toBe(false);
    expect(s.connections).toHaveLength(2);
    const ids = s.connections.map((c) => /^Message-ID: (.*)$/im.exec(c.text())?.[1]);
    expect(ids[0]).toMatch(/^<.+@.+>$/);
    expect(ids[1]).toBe(ids[0]);
  });
});

describe("a stray reply never becomes the verdict", () => {
  const strayThenRefusal = [step.reply("250 2.0.0 stray"), step.wait(100), step.reply("554 5.7.1 rejected")];

  it("DATA: a stray 250 before the server's 554 is caught by the reply to QUIT: delivery unknown, not sent", async () => {
    const s = await hostile([...preamble(PLAIN), step.expect(/^MAIL/), step.reply("250 ok"), step.expect(/^RCPT/), step.reply("250 ok"), step.expect(/^DATA$/), step.reply("354 go"), step.expectData(), ...strayThenRefusal, step.expect(/^QUIT$/), step.reply("221 bye"), step.close()]);
    const err = await outcome(victim(s.port).send());
    expect(err.code).toBe(ErrorCode.MalformedReply);
    expect(err.deliveryUnknown).toBe(true);
  });

  it("DATA + PIPELINING: the 554 lands on the NOOP behind the data: delivery unknown, not sent", async () => {
    const s = await hostile([...preamble(PIPE_ONLY), step.expect(/^MAIL/), step.expect(/^RCPT/), step.expect(/^DATA$/), step.reply("250 ok\r\n250 ok\r\n354 go"), step.expectData(), step.expect(/^NOOP$/), ...strayThenRefusal, step.stall()]);
    const err = await outcome(victim(s.port).send());
    expect(err.code).toBe(ErrorCode.MalformedReply);
    expect(err.deliveryUnknown).toBe(true);
  });

  it("BDAT in chunks: the same", async () => {
    const s = await hostile([...preamble(["PIPELINING", "CHUNKING"]), step.expect(/^MAIL/), step.reply("250 ok"), step.expect(/^RCPT/), step.reply("250 ok"), step.expectBdat(), step.expect(/^NOOP$/), step.wait(20), ...strayThenRefusal, step.stall()]);
    const m = victim(s.port, { settings: { ChunkSize: 1 << 20 } });
    // A stream body is not known in advance: it goes in chunks after the envelope, not in one flight.
    m.setMessageStream((await import("node:stream")).Readable.from([Buffer.from("streamed body\r\n")]));
    const err = await outcome(m.send());
    expect(err.code).toBe(ErrorCode.MalformedReply);
    expect(err.deliveryUnknown).toBe(true);
  });

  it("a reused connection, one flight: message 2 is never reported sent on a shifted reply; message 3 gets a fresh connection", async () => {
    const good: Step[] = [...oneFlight, step.wait(20), step.reply("250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n250 ok")];
    const s = await hostile((i) =>
      i === 0
        ? [...preamble(ONE_FLIGHT), ...good, step.expect(/^RSET$/), ...oneFlight, step.wait(20), step.reply("250 stray"), step.wait(50), step.reply("250 ok\r\n250 ok\r\n250 ok\r\n554 5.7.1 rejected\r\n250 ok"), step.stall()]
        : [...preamble(ONE_FLIGHT), ...good, step.expect(/^QUIT$/), step.reply("221 bye"), step.close()],
    );
    const m = victim(s.port);
    await m.connect();
    expect((await m.send()).replyCode).toBe(250);
    const err = await outcome(m.send());
    expect(err.deliveryUnknown, err.message).toBe(true);
    expect(m.connected).toBe(false);
    expect((await m.send()).replyCode).toBe(250);
    expect(s.connections).toHaveLength(2);
    expect((await s.connection(0)).problems).toEqual([]);
    await m.disconnect();
  });
});

describe("the NOOP behind the data must be answered for the verdict to count (found by bench/soak-faults.mjs)", () => {
  it("a dangling 250- line at the end of data, completed by the reply to the NOOP: delivery unknown, not sent", async () => {
    const s = await hostile([...preamble(PIPE_ONLY), step.expect(/^MAIL/), step.expect(/^RCPT/), step.expect(/^DATA$/), step.reply("250 ok\r\n250 ok\r\n354 go"), step.expectData(), step.expect(/^NOOP$/), step.send("250-a continuation that never ends\r\n"), step.wait(30), step.reply("250 2.0.0 ok"), step.stall()]);
    const err = await outcome(victim(s.port, { timeout: 1 }).send());
    expect(err.deliveryUnknown, err.message).toBe(true);
  });

  it("a stray 250 shifts a one-flight series by one, then the server drops message 2 unkept: never sent", async () => {
    // Replies paced 50 ms apart, as over a slow link; message 1 gets an extra 250 after its RCPT reply.
    const kept: string[] = [];
    const server = createServer((sock) => {
      let queue = Promise.resolve();
      const say = (text: string): void => {
        queue = queue.then(() => new Promise<void>((r) => setTimeout(() => {
          if (!sock.destroyed) sock.write(text);
          r();
        }, 50)));
      };
      sock.on("error", () => undefined);
      say("220 paced.test\r\n");
      let buf = Buffer.alloc(0);
      let left = 0;
      let n = 0;
      let body: Buffer[] = [];
      sock.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          if (left === 0) {
            const i = buf.indexOf("\n");
            if (i < 0) return;
            const line = buf.subarray(0, i).toString().trim();
            buf = buf.subarray(i + 1);
            const verb = line.slice(0, 4).toUpperCase();
            if (verb === "EHLO") say("250-paced.test\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n");
            else if (verb === "MAIL") {
              n++;
              body = [];
              say("250 2.1.0 sender ok\r\n");
            } else if (verb === "RCPT") {
              say("250 2.1.5 recipient ok\r\n");
              if (n === 1) say("250 2.0.0 stray\r\n");
            } else if (verb === "BDAT") left = Number(line.split(" ")[1]);
            else if (verb === "QUIT") {
              say("221 bye\r\n");
              void queue.then(() => sock.end());
            } else say("250 2.0.0 ok\r\n");
          } else {
            const k = Math.min(left, buf.length);
            body.push(buf.subarray(0, k));
            left -= k;
            buf = buf.subarray(k);
            if (left > 0) return;
            const subject = /Subject: (.*)/.exec(Buffer.concat(body).toString())?.[1]?.trim() ?? "";
            if (n === 1) {
              kept.push(subject);
              say("250 2.0.0 kept\r\n");
            } else {
              void queue.then(() => sock.destroy());
              return;
            }
          }
        }
      });
    });
    const port = await listenLocal(server);
    try {
      const outcomes = await seriesOutcomes(port, ["m1", "m2"]);
      // m1 was kept: sent or unknown are both true; m2 was never kept: never "sent".
      expect(["sent", "unknown"]).toContain(outcomes[0]);
      expect(outcomes[1]).not.toBe("sent");
      expect(kept).toEqual(["m1"]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("a pipelined series: the next message's replies vouch for the verdict before it", () => {
  it("a dangling 250- verdict swallows the NOOP's reply; the server then drops the next message's envelope: never sent", async () => {
    const kept: string[] = [];
    const server = createServer((sock) => {
      sock.on("error", () => undefined);
      sock.write("220 series.test\r\n");
      let buf = Buffer.alloc(0);
      let inData = false;
      let rcpts = 0;
      sock.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          if (!inData) {
            const i = buf.indexOf("\n");
            if (i < 0) return;
            const verb = buf.subarray(0, 4).toString().toUpperCase();
            buf = buf.subarray(i + 1);
            if (verb === "EHLO") sock.write("250-series.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
            else if (verb === "DATA") {
              sock.write("354 go\r\n");
              inData = true;
            } else if (verb === "QUIT") sock.end("221 bye\r\n");
            else if (verb === "RCPT" && ++rcpts === 3) {
              // The third message's envelope: the connection drops before its DATA reply.
              sock.destroy();
              return;
            } else sock.write("250 2.0.0 ok\r\n");
          } else {
            const end = buf.indexOf("\r\n.\r\n");
            if (end < 0) return;
            const subject = /Subject: (.*)/.exec(buf.subarray(0, end).toString())?.[1]?.trim() ?? "";
            buf = buf.subarray(end + 5);
            inData = false;
            if (subject === "m2") sock.write("250-a continuation that never ends\r\n");
            else {
              kept.push(subject);
              sock.write("250 2.0.0 kept\r\n");
            }
          }
        }
      });
    });
    const port = await listenLocal(server);
    try {
      const outcomes = await seriesOutcomes(port, ["m1", "m2", "m3"]);
      expect(kept).not.toContain("m2");
      expect(outcomes[1]).not.toBe("sent");
      // m1 and m3 (retried on a new connection) are sent only if kept.
      expect(outcomes[0] !== "sent" || kept.includes("m1")).toBe(true);
      expect(outcomes[2] !== "sent" || kept.includes("m3")).toBe(true);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("421 and a server that closed while idle", () => {
  const accepted: Step[] = [step.expect(/^MAIL/), step.reply("250 ok"), step.expect(/^RCPT/), step.reply("250 ok"), step.expect(/^DATA$/), step.reply("354 go"), step.expectData(), step.reply("250 2.0.0 queued")];
  const fresh: Step[] = [...preamble(PLAIN), ...accepted, step.expect(/^QUIT$/), step.reply("221 bye"), step.close()];

  it("a 421 to MAIL on a kept-open connection: Connected is false at once, the next send opens a new connection", async () => {
    const s = await hostile((i) => (i === 0 ? [...preamble(PLAIN), ...accepted, step.expect(/^RSET$/), step.reply("250 ok"), step.expect(/^MAIL/), step.reply("421 4.3.2 shutting down"), step.wait(500), step.close()] : fresh));
    const m = victim(s.port);
    await m.connect();
    await m.send();
    const err = await outcome(m.send());
    expect(err.replyCode).toBe(421);
    expect(err.deliveryUnknown).toBe(false);
    expect(m.connected).toBe(false);
    expect((await m.send()).replyCode).toBe(250);
    expect(s.connections).toHaveLength(2);
  });

  it("Exim-style: 421 to the 6th MAIL of a connection, then close: 6 fails (transient), 7 and 8 go on a new connection", async () => {
    const s = await esmtpServer({
      extensions: PLAIN,
      rewrite: (line, replies, conn) => {
        if (!line.startsWith("MAIL") || conn.lines.filter((l) => l.startsWith("MAIL")).length <= 5) return replies;
        setImmediate(() => conn.socket.end());
        return ["421 4.7.0 too many messages for this connection"];
      },
    });
    try {
      const m = victim(s.port);
      await m.connect();
      const outcomes: string[] = [];
      for (let i = 1; i <= 8; i++) {
        m.setSubject(`message ${i}`);
        outcomes.push(await m.send().then((r) => String(r.replyCode), (e: SmtpError) => `${e.replyCode ?? e.code}${e.deliveryUnknown ? "?" : ""}`));
      }
      await m.disconnect();
      expect(outcomes).toEqual(["250", "250", "250", "250", "250", "421", "250", "250"]);
      expect(s.messages).toHaveLength(7);
      expect(s.connections).toHaveLength(2);
    } finally {
      await s.close();
    }
  });

  it("a Gmail-style 421 while idle: the next send opens a new connection and writes nothing on the old one", async () => {
    const s = await hostile((i) => (i === 0 ? [...preamble(PLAIN), ...accepted, step.wait(50), step.reply("421 4.7.0 Try again later, closing connection."), step.wait(300), step.close()] : fresh));
    const m = victim(s.port);
    await m.connect();
    await m.send();
    await new Promise((r) => setTimeout(r, 150));
    expect(m.connected).toBe(false);
    expect((await m.send()).replyCode).toBe(250);
    const first = (await s.connection(0)).text();
    expect(first).not.toMatch(/RSET/);
    expect(s.connections).toHaveLength(2);
  });

  it("a server that closed an idle connection: send() opens a new one", async () => {
    const s = await hostile((i) => (i === 0 ? [...preamble(PLAIN), ...accepted, step.wait(30), step.close()] : fresh));
    const m = victim(s.port);
    await m.connect();
    await m.send();
    await (await s.connection(0)).closed;
    await new Promise((r) => setTimeout(r, 50));
    expect((await m.send()).replyCode).toBe(250);
    expect(s.connections).toHaveLength(2);
  });
});

describe("one reply is bounded", () => {
  it("an endless multi-line greeting: 606 at MaxReplyLength, memory flat", async () => {
    const line = Buffer.from(`220-${"x".repeat(500)}\r\n`);
    const s = await hostile([
      step.run(async (conn) => {
        // Writes until the client gives up (at most 200 MB), honouring backpressure.
        for (let sent = 0; sent < 200 * 1024 * 1024 && !conn.isClosed; sent += line.length * 64) {
          const burst = Buffer.concat(Array.from({ length: 64 }, () => line));
          if (!conn.io.write(burst)) await new Promise<void>((r) => conn.io.once("drain", () => r()).once("close", () => r()));
        }
      }),
    ]);
    forceGc();
    const before = liveBytes();
    const err = await rejectsWith(victim(s.port).connect(), ErrorCode.ReplyTooLong);
    forceGc();
    expect(err.message).toMatch(/65536 bytes/);
    expect(liveBytes() - before).toBeLessThan(32 * 1024 * 1024);
  });

  it("MaxReplyLines: 2000 short lines fail at the default 1000, pass when raised", async () => {
    const many = Array.from({ length: 1999 }, (_, i) => `220-line ${i}`).join("\r\n") + "\r\n220 ready";
    const s = await hostile([step.reply(many), step.expect(/^EHLO/), step.reply(ehloReply(PLAIN)), step.expect(/^QUIT/), step.reply("221 bye"), step.close()]);
    const err = await rejectsWith(victim(s.port).connect(), ErrorCode.ReplyTooLong);
    expect(err.message).toMatch(/1000 lines/);
    const m = victim(s.port, { settings: { MaxReplyLines: 5000, MaxReplyLength: 1 << 20 } });
    await m.connect();
    await m.disconnect();
  });

  it("a reply that trickles in forever still times out: one wait lasts at most MaxReplyTime (default four times Timeout)", async () => {
    const s = await hostile([
      step.run(async (conn) => {
        conn.io.write("220-");
        for (let i = 0; i < 200 && !conn.isClosed; i++) {
          await new Promise((r) => setTimeout(r, 100));
          if (!conn.isClosed) conn.io.write(i % 50 === 49 ? "\r\n220-" : "x");
        }
      }),
    ]);
    const started = performance.now();
    const err = await rejectsWith(victim(s.port, { timeout: 1 }).connect(), ErrorCode.TimedOut);
    expect(err.isTimeout()).toBe(true);
    // 4 s of trickle at most, plus generous slack for a loaded machine; the trickle itself lasts 20 s.
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});

describe("a pipelined group is validated before any waiter is queued", () => {
  it("a bad later line: 602, nothing queued or written, the next reply goes to the right command", async () => {
    const s = await hostile([step.reply("220 hi"), step.expect(/^NOOP$/), step.reply("250 2.0.0 noop ok"), step.expect(/^QUIT$/), step.reply("221 bye"), step.close()]);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const sock = new Socket();
      sock.once("error", reject).connect(s.port, "127.0.0.1", () => resolve(sock));
    });
    const conn = new SmtpConnection(socket, { maxLineLength: 2048, hooks: { trail: () => undefined, reply: () => undefined, closed: () => undefined } });
    expect((await conn.expectReply("greeting", 2000)).code).toBe(220);
    let caught: unknown;
    try {
      conn.pipeline([{ line: "RSET", timeoutMs: 2000 }, { line: "MAIL FROM:<a@b>\r\nRCPT TO:<evil@x>", timeoutMs: 2000 }]);
    } catch (e) {
      caught = e;
    }
    expect((caught as SmtpError).code).toBe(ErrorCode.LineBreakInjection);
    expect(conn.pendingReplies).toBe(0);
    const noop = await conn.command("NOOP", { timeoutMs: 2000 });
    expect(noop.raw).toBe("250 2.0.0 noop ok");
    await conn.command("QUIT", { timeoutMs: 2000 });
    await conn.end();
    expect((await s.connection(0)).text()).not.toMatch(/RSET|MAIL/);
  });
});

/**
 * The mail transaction's phases driven directly (SmtpSession + runTransaction)
 * against a small scripted TCP server in this file: the errors a failure
 * ends with keep every detail (recipient results, cause, one hint), and a
 * StartTransfer always gets its EndTransfer, in every body strategy.
 */
import { once } from "node:events";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorCode, SmtpError } from "../../src/errors.js";
import { SmtpSession, type SessionOptions } from "../../src/engine/session.js";
import { runTransaction, type Envelope, type RecipientResult, type TransactionHooks, type TransactionPlan } from "../../src/engine/transaction.js";

/** What the server answers to each command line; DATA's content and BDAT chunks are read, then answered by `endOfData`. */
interface Script {
  extensions: string[];
  reply(line: string): string;
  /** The reply to the end of the message, or no reply: hang up, or say nothing. */
  endOfData: string | typeof HANG_UP | typeof SILENCE;
}

const HANG_UP = Symbol("hang up");
const SILENCE = Symbol("silence");

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function serve(script: Script): Promise<{ port: number; lines: string[] }> {
  const lines: string[] = [];
  const server = createServer((socket: Socket) => {
    let buffer = Buffer.alloc(0);
    let inData = false;
    let inChunk = false;
    let chunk = 0;
    let lastChunk = false;
    socket.on("error", () => undefined);
    socket.write("220 test ESMTP\r\n");
    const endOfMessage = (): void => {
      if (script.endOfData === HANG_UP) socket.destroy();
      else if (script.endOfData !== SILENCE) socket.write(`${script.endOfData}\r\n`);
    };
    socket.on("data", (data: Buffer) => {
      buffer = Buffer.concat([buffer, data]);
      for (;;) {
        if (inChunk) {
          const take = Math.min(chunk, buffer.length);
          buffer = buffer.subarray(take);
          chunk -= take;
          if (chunk > 0) return;
          inChunk = false;
          if (lastChunk) {
            endOfMessage();
            if (socket.destroyed) return;
          } else socket.write("250 chunk ok\r\n");
          continue;
        }
        if (inData) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (end < 0) return;
          buffer = buffer.subarray(end + 5);
          inData = false;
          endOfMessage();
          if (socket.destroyed) return;
          continue;
        }
        const eol = buffer.indexOf("\r\n");
        if (eol < 0) return;
        const line = buffer.subarray(0, eol).toString("latin1");
        buffer = buffer.subarray(eol + 2);
        lines.push(line);
        const bdat = /^BDAT (\d+)( LAST)?$/.exec(line);
        if (bdat) {
          inChunk = true;
          chunk = Number(bdat[1]);
          lastChunk = bdat[2] !== undefined;
          continue;
        }
        if (/^EHLO /.test(line)) {
          const all = ["test", ...script.extensions];
          socket.write(all.map((e, i) => `250${i === all.length - 1 ? " " : "-"}${e}\r\n`).join(""));
          continue;
        }
        if (line === "QUIT") {
          socket.end("221 bye\r\n");
          return;
        }
        const answer = script.reply(line);
        socket.write(`${answer}\r\n`);
        if (line === "DATA" && answer.startsWith("354")) inData = true;
      }
    });
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as AddressInfo).port, lines };
}

function options(port: number, timeoutMs = 5000): SessionOptions {
  return {
    host: "127.0.0.1",
    port,
    localAddress: "",
    connectTimeoutMs: 5000,
    timeoutMs,
    maxLineLength: 2048,
    maxReplyLength: 65536,
    maxReplyLines: 1000,
    maxReplyMs: 0,
    hello: "client.example.com",
    allowExtensions: true,
    tlsMode: "none",
    tls: {
      host: "127.0.0.1",
      servername: "",
      extraCa: [],
      minVersion: "TLSv1.2",
      maxVersion: "TLSv1.3",
      ciphers: "",
      clientCert: undefined,
      pin: undefined,
      status: () => undefined,
      authorize: () => true,
    },
    socket: {},
    proxy: undefined,
    maxTransferRate: 0,
    linger: true,
    lingerMs: 500,
  };
}

const events = { trail: () => undefined, reply: () => undefined, connectionStatus: () => undefined, closed: () => undefined, secured: () => undefined };

interface Recorded {
  hooks: TransactionHooks;
  results: RecipientResult[];
  transfer: string[];
}

function recorder(stop = false): Recorded {
  const r: Recorded = {
    results: [],
    transfer: [],
    hooks: {
      stopOn: () => stop,
      recipientResult: (result) => r.results.push(result),
      recipientRefused: () => undefined,
      startTransfer: () => r.transfer.push("start"),
      transfer: () => undefined,
      endTransfer: () => r.transfer.push("end"),
    },
  };
  return r;
}

function plan(changes: Partial<TransactionPlan>): TransactionPlan {
  return { verb: "MAIL", rset: false, pipelining: false, chunking: false, chunkSize: 1 << 20, sizeLimit: undefined, announceSize: false, binary: false, ...changes };
}

const message = { parts: [Buffer.from("Subject: phases\r\n\r\nhello\r\n")] };

function envelope(...recipients: string[]): Envelope {
  return { sender: "a@example.com", mailParameters: [], recipients: recipients.map((address) => ({ address, type: 0, options: "" })) };
}

async function failure(p: Promise<unknown>): Promise<SmtpError> {
  const outcome = await p.then(() => undefined, (e: unknown) => e);
  expect(outcome).toBeInstanceOf(SmtpError);
  return outcome as SmtpError;
}

describe("transaction phases", () => {
  it("one flight: a refused sender ends the transfer it started (EndTransfer for StartTransfer) and is a refusal", async () => {
    const { port, lines } = await serve({
      extensions: ["PIPELINING", "CHUNKING"],
      reply: (line) => (line.startsWith("MAIL") ? "550 5.7.1 sender refused" : line.startsWith("RCPT") ? "503 5.5.1 no sender" : "250 ok"),
      endOfData: "503 5.5.1 no valid recipients",
    });
    const session = await SmtpSession.open(options(port), events);
    const r = recorder();
    const err = await failure(runTransaction(session, envelope("b@example.com"), message, plan({ pipelining: true, chunking: true }), r.hooks));
    expect(lines.some((l) => /^BDAT \d+ LAST$/.test(l))).toBe(true);
    expect(err.code).toBe(ErrorCode.Protocol);
    expect(err.replyCode).toBe(550);
    expect(err.command).toBe("MAIL FROM:<a@example.com>");
    expect(err.deliveryUnknown).toBe(false);
    expect(r.transfer).toEqual(["start", "end"]);
    await session.quit();
  });

  it("pipelined DATA with every recipient refused after a 354: the connection is closed and the error keeps each recipient's answer", async () => {
    const { port } = await serve({
      extensions: ["PIPELINING"],
      reply: (line) => (line.startsWith("RCPT") ? "550 5.1.1 unknown user" : line === "DATA" ? "354 go ahead" : "250 ok"),
      endOfData: "250 queued",
    });
    const session = await SmtpSession.open(options(port), events);
    const r = recorder();
    const err = await failure(runTransaction(session, envelope("b@example.com", "c@example.com"), message, plan({ pipelining: true }), r.hooks));
    expect(err.code).toBe(ErrorCode.NoRecipient);
    expect(err.message).toBe("the server refused every recipient; nothing was sent; the connection was closed so that nothing is delivered");
    expect(err.recipient).toBe("c@example.com");
    expect(err.recipientResults?.map((x) => [x.address, x.accepted, x.replyCode])).toEqual([["b@example.com", false, 550], ["c@example.com", false, 550]]);
    expect(session.isOpen).toBe(false);
    expect(r.transfer).toEqual([]);
  });

  it("the end of the message refused: the error names it and carries every recipient's answer", async () => {
    const { port } = await serve({ extensions: [], reply: (line) => (line === "DATA" ? "354 go ahead" : "250 ok"), endOfData: "554 5.7.1 content rejected" });
    const session = await SmtpSession.open(options(port), events);
    const r = recorder();
    const err = await failure(runTransaction(session, envelope("b@example.com"), message, plan({}), r.hooks));
    expect(err.message).toBe("the server did not accept the message: 554 5.7.1 content rejected");
    expect(err.command).toBe("end of data");
    expect(err.recipientResults?.map((x) => x.address)).toEqual(["b@example.com"]);
    expect(err.deliveryUnknown).toBe(false);
    expect(r.transfer).toEqual(["start", "end"]);
    await session.quit();
  });

  it.each([
    ["DATA", plan({})],
    ["DATA", plan({ pipelining: true })],
    ["BDAT", plan({ chunking: true, chunkSize: 8 })],
    ["BDAT", plan({ pipelining: true, chunking: true })],
  ] as const)("a hang-up after the whole message (%s) is delivery unknown, with its cause and one hint", async (phase, p) => {
    const { port } = await serve({
      extensions: [...(p.pipelining ? ["PIPELINING"] : []), ...(p.chunking ? ["CHUNKING"] : [])],
      reply: (line) => (line === "DATA" ? "354 go ahead" : "250 ok"),
      endOfData: HANG_UP,
    });
    const session = await SmtpSession.open(options(port), events);
    const r = recorder();
    const err = await failure(runTransaction(session, envelope("b@example.com"), message, p, r.hooks));
    expect(err.deliveryUnknown).toBe(true);
    // A close or, when the end of the message was still unread, a reset.
    expect([ErrorCode.ConnectionClosed, ErrorCode.ConnectionReset]).toContain(err.code);
    expect(err.command).toBe(phase);
    expect(err.cause).toBeInstanceOf(SmtpError);
    expect((err.cause as SmtpError).code).toBe(err.code);
    expect(err.reason).toBe(`${(err.cause as SmtpError).reason}: the whole message was sent (${phase}) but the server's verdict was lost; delivery unknown, it may or may not have been delivered`);
    expect(err.hint).toBe("check with the recipient or the server's logs before sending it again");
    expect(err.message).toBe(`${err.reason} (${err.hint})`);
    expect(r.transfer).toEqual(["start", "end"]);
  });

  it("no verdict within Timeout: delivery unknown, the timeout's own hint replaced by the one that fits (not both in the message)", async () => {
    const { port } = await serve({ extensions: [], reply: (line) => (line === "DATA" ? "354 go ahead" : "250 ok"), endOfData: SILENCE });
    const session = await SmtpSession.open(options(port, 300), events);
    const err = await failure(runTransaction(session, envelope("b@example.com"), message, plan({}), recorder().hooks));
    expect(err.code).toBe(ErrorCode.TimedOut);
    expect(err.deliveryUnknown).toBe(true);
    const cause = err.cause as SmtpError;
    expect(cause.hint).toMatch(/raise Timeout/);
    expect(err.message).toBe(`${cause.reason}: the whole message was sent (DATA) but the server's verdict was lost; delivery unknown, it may or may not have been delivered (check with the recipient or the server's logs before sending it again)`);
  });
});

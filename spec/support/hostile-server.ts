/**
 * A scriptable HOSTILE SMTP server on raw `net` (127.0.0.1, ephemeral port),
 * optionally implicit TLS, for the fault suite. Each connection runs a list
 * of steps, in order:
 *
 *   send(bytes, {bytewise, chunkSize, gapMs})  write bytes (optionally one byte per write)
 *   reply(text)                                send text + CRLF
 *   expect(/regex/)                            read one client line (CRLF) and check it
 *   expectData({stopAfter})                    read DATA body up to CRLF.CRLF (or stop after n bytes)
 *   expectBytes(n)                             read n raw bytes (e.g. a TLS ClientHello)
 *   wait(ms)                                   do nothing for a while
 *   stall()                                    never answer again (read until the client goes)
 *   close()                                    FIN (socket.end)
 *   reset()                                    RST (socket.resetAndDestroy)
 *   startTls(reply)                            write the 220 and do the server-side TLS handshake
 *   garbage(n, seed)                           n pseudo-random bytes
 *   run(fn)                                    anything else
 *
 * When the steps run out the server keeps reading (a stall) until the client
 * closes. Everything the client sends is recorded per connection (plain-text
 * layer: decrypted after STARTTLS), and `closed` resolves when the TCP
 * connection is gone, so a test can check that the client did close it.
 */
import { createServer, type Server, type Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { readFixture } from "./tls-fixtures.js";
import { mulberry32 } from "./seeded-random.js";
import { listenLocal } from "./listen.js";

export interface SendOptions {
  /** One byte per write (each awaited, with gapMs in between): replies split at every byte. */
  bytewise?: boolean;
  /** Split into writes of this many bytes. */
  chunkSize?: number;
  /** Pause between the pieces (default 1 ms when split). */
  gapMs?: number;
}

export type Step =
  | { kind: "send"; data: Buffer; opts: SendOptions }
  | { kind: "expect"; pattern: RegExp }
  | { kind: "expectData"; stopAfter: number | undefined }
  | { kind: "expectBytes"; count: number }
  | { kind: "expectBdat" }
  | { kind: "wait"; ms: number }
  | { kind: "stall" }
  | { kind: "close" }
  | { kind: "reset" }
  | { kind: "startTls"; reply: string }
  | { kind: "garbage"; length: number; seed: number }
  | { kind: "run"; fn: (conn: HostileConnection) => void | Promise<void> };

const toBuf = (d: string | Buffer): Buffer => (typeof d === "string" ? Buffer.from(d, "latin1") : d);

/** Step constructors. Strings are written as latin1 (one char = one byte); pass a Buffer for UTF-8. */
export const step = {
  send: (data: string | Buffer, opts: SendOptions = {}): Step => ({ kind: "send", data: toBuf(data), opts }),
  reply: (text: string | Buffer, opts: SendOptions = {}): Step => ({ kind: "send", data: Buffer.concat([toBuf(text), Buffer.from("\r\n")]), opts }),
  expect: (pattern: RegExp): Step => ({ kind: "expect", pattern }),
  expectData: (opts: { stopAfter?: number } = {}): Step => ({ kind: "expectData", stopAfter: opts.stopAfter }),
  expectBytes: (count: number): Step => ({ kind: "expectBytes", count }),
  /** A `BDAT n [LAST]` line and its n bytes of chunk data. */
  expectBdat: (): Step => ({ kind: "expectBdat" }),
  wait: (ms: number): Step => ({ kind: "wait", ms }),
  stall: (): Step => ({ kind: "stall" }),
  close: (): Step => ({ kind: "close" }),
  reset: (): Step => ({ kind: "reset" }),
  startTls: (reply = "220 2.0.0 ready to start TLS"): Step => ({ kind: "startTls", reply }),
  garbage: (length: number, seed = 1): Step => ({ kind: "garbage", length, seed }),
  run: (fn: (conn: HostileConnection) => void | Promise<void>): Step => ({ kind: "run", fn }),
};

/** Deterministic pseudo-random bytes (mulberry32). */
export function garbageBytes(length: number, seed = 1): Buffer {
  const next = mulberry32(seed);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = next() & 0xff;
  return out;
}

export interface HostileConnection {
  readonly index: number;
  /** The TCP socket. */
  readonly raw: Socket;
  /** The socket steps read and write (the TLS socket after startTls / with implicit TLS). */
  readonly io: Socket;
  /** Every chunk received, on the plain-text layer, in order. */
  readonly received: Buffer[];
  /** Client lines consumed by expect() steps. */
  readonly lines: string[];
  /** Message bodies consumed by expectData() (still dot-stuffed; a stopped one is partial). */
  readonly data: Buffer[];
  /** Body bytes seen by the current / last expectData(). */
  dataBytes: number;
  /** Steps that did not go as scripted (an expect() that saw another line, the client leaving early...). */
  readonly problems: string[];
  /** Kind of every step that ran. */
  readonly ran: string[];
  /** The server-side TLS handshake finished. */
  secure: boolean;
  /** The client sent FIN. */
  clientEnded: boolean;
  /** The client reset the connection (ECONNRESET on the server side). */
  clientReset: boolean;
  /** The TCP connection is fully closed. */
  isClosed: boolean;
  /** Resolves when the TCP connection is fully closed, whoever closed it. */
  readonly closed: Promise<void>;
  /** Resolves when the script has run out (or stopped early). */
  readonly done: Promise<void>;
  /** Everything received as one latin1 string. */
  text(): string;
}

export interface HostileServer {
  readonly port: number;
  readonly connections: HostileConnection[];
  /** Waits until connection `index` exists. */
  connection(index: number, timeoutMs?: number): Promise<HostileConnection>;
  close(): Promise<void>;
}

export interface HostileServerOptions {
  /** Implicit TLS with the test fixture certificate (server.pem, CN localhost / IP 127.0.0.1). */
  tls?: boolean;
}

const CRLF = Buffer.from("\r\n");
const END_OF_DATA = Buffer.from("\r\n.\r\n");

class Reader {
  buf: Buffer = Buffer.alloc(0);
  ended = false;
  private wake: (() => void) | undefined;

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** The next CRLF-terminated line (latin1), or undefined once the client has gone. */
  line(): Promise<string | undefined> {
    return this.until(() => {
      const at = this.buf.indexOf(CRLF);
      if (at < 0) return undefined;
      const l = this.buf.subarray(0, at).toString("latin1");
      this.buf = this.buf.subarray(at + 2);
      return l;
    });
  }

  /** Calls `take` until it returns something, or the client has gone (undefined). */
  async until<T>(take: () => T | undefined): Promise<T | undefined> {
    for (;;) {
      const v = take();
      if (v !== undefined) return v;
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function writeAwaited(sock: Socket, data: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    if (sock.destroyed || !sock.writable) {
      resolve(false);
      return;
    }
    sock.write(data, (err) => resolve(!err));
  });
}

/**
 * Starts a hostile server. `script` is the step list of every connection, or
 * a function giving the steps of connection n (0-based).
 */
export async function hostileServer(script: readonly Step[] | ((index: number) => readonly Step[]), opts: HostileServerOptions = {}): Promise<HostileServer> {
  const connections: HostileConnection[] = [];
  const sockets = new Set<Socket>();
  const { key, cert } = { key: readFixture("server.key"), cert: readFixture("server.pem") };
  const waiters: (() => void)[] = [];

  const onSocket = (raw: Socket, io0: Socket): void => {
    sockets.add(raw);
    raw.setNoDelay(true);
    raw.on("error", () => undefined);
    io0.on("error", () => undefined);
    const index = connections.length;
    const reader = new Reader();
    let io = io0;
    let resolveClosed!: () => void;
    let resolveDone!: () => void;
    const closed = new Promise<void>((r) => (resolveClosed = r));
    const done = new Promise<void>((r) => (resolveDone = r));

    const conn: HostileConnection = {
      index,
      raw,
      get io() {
        return io;
      },
      received: [],
      lines: [],
      data: [],
      dataBytes: 0,
      problems: [],
      ran: [],
      secure: false,
      clientEnded: false,
      clientReset: false,
      isClosed: false,
      closed,
      done,
      text: () => Buffer.concat(conn.received).toString("latin1"),
    };
    connections.push(conn);

    const onData = (chunk: Buffer): void => {
      conn.received.push(chunk);
      reader.push(chunk);
    };
    const onEnd = (): void => {
      conn.clientEnded = true;
      reader.end();
    };
    const bind = (s: Socket): void => {
      s.on("data", onData);
      s.on("end", onEnd);
    };
    const unbind = (s: Socket): void => {
      s.off("data", onData);
      s.off("end", onEnd);
    };
    bind(io);
    raw.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ECONNRESET") conn.clientReset = true;
    });
    raw.on("close", () => {
      conn.isClosed = true;
      sockets.delete(raw);
      reader.end();
      resolveClosed();
    });

    const runStep = async (s: Step): Promise<boolean> => {
      conn.ran.push(s.kind);
      switch (s.kind) {
        case "send": {
          const { bytewise, chunkSize, gapMs } = s.opts;
          const size = bytewise ? 1 : chunkSize ?? s.data.length;
          if (size >= s.data.length) {
            await writeAwaited(io, s.data);
            return true;
          }
          for (let i = 0; i < s.data.length; i += size) {
            if (!(await writeAwaited(io, s.data.subarray(i, i + size)))) return false;
            await delay(gapMs ?? 1);
          }
          return true;
        }
        case "garbage":
          await writeAwaited(io, garbageBytes(s.length, s.seed));
          return true;
        case "expect": {
          const line = await reader.line();
          if (line === undefined) {
            conn.problems.push(`the client went away while the server expected ${String(s.pattern)}`);
            return false;
          }
          conn.lines.push(line);
          if (!s.pattern.test(line)) {
            conn.problems.push(`expected ${String(s.pattern)}, got ${JSON.stringify(line)}`);
            return false;
          }
          return true;
        }
        case "expectData": {
          // The CRLF that ended the DATA line starts the search, for an empty body.
          let acc = Buffer.from(CRLF);
          let from = 0;
          conn.dataBytes = 0;
          const body = await reader.until(() => {
            if (reader.buf.length > 0) {
              acc = Buffer.concat([acc, reader.buf]);
              reader.buf = Buffer.alloc(0);
            }
            conn.dataBytes = acc.length - 2;
            const at = acc.indexOf(END_OF_DATA, from);
            if (at >= 0) {
              reader.buf = acc.subarray(at + END_OF_DATA.length);
              conn.dataBytes = at;
              return acc.subarray(2, at + 2);
            }
            from = Math.max(0, acc.length - END_OF_DATA.length + 1);
            if (s.stopAfter !== undefined && acc.length - 2 >= s.stopAfter) return acc.subarray(2);
            return undefined;
          });
          if (body === undefined) {
            conn.data.push(acc.subarray(2));
            conn.problems.push("the client went away during DATA");
            return false;
          }
          conn.data.push(body);
          return true;
        }
        case "expectBdat": {
          const line = await reader.line();
          const count = line === undefined ? undefined : /^BDAT (\d+)( LAST)?$/.exec(line)?.[1];
          if (line !== undefined) conn.lines.push(line);
          if (count === undefined) {
            conn.problems.push(`expected a BDAT line, got ${JSON.stringify(line)}`);
            return false;
          }
          const chunk = await reader.until(() => {
            if (reader.buf.length < Number(count)) return undefined;
            const b = reader.buf.subarray(0, Number(count));
            reader.buf = reader.buf.subarray(Number(count));
            return b;
          });
          if (chunk === undefined) {
            conn.problems.push(`the client went away before sending ${count} BDAT bytes`);
            return false;
          }
          conn.data.push(chunk);
          return true;
        }
        case "expectBytes": {
          const got = await reader.until(() => {
            if (reader.buf.length < s.count) return undefined;
            const b = reader.buf.subarray(0, s.count);
            reader.buf = reader.buf.subarray(s.count);
            return b;
          });
          if (got === undefined) {
            conn.problems.push(`the client went away before sending ${s.count} bytes`);
            return false;
          }
          return true;
        }
        case "wait":
          await delay(s.ms);
          return true;
        case "stall":
          await closed;
          return false;
        case "close":
          io.end();
          return true;
        case "reset":
          try {
            raw.resetAndDestroy();
          } catch {
            raw.destroy();
          }
          return false;
        case "startTls": {
          // Synchronously: write the 220 in clear text and wrap, so the ClientHello cannot be read as text.
          unbind(io);
          raw.write(s.reply + "\r\n");
          const tls = new TLSSocket(raw, { isServer: true, key, cert });
          tls.on("error", () => undefined);
          io = tls;
          bind(tls);
          const ok = await new Promise<boolean>((resolve) => {
            tls.once("secure", () => resolve(true));
            tls.once("error", () => resolve(false));
            tls.once("close", () => resolve(false));
          });
          conn.secure = ok;
          if (!ok) conn.problems.push("the TLS handshake did not complete");
          return ok;
        }
        case "run":
          await s.fn(conn);
          return true;
      }
    };

    const steps = typeof script === "function" ? script(index) : script;
    void (async () => {
      try {
        for (const s of steps) {
          if (conn.isClosed && s.kind !== "wait") break;
          if (!(await runStep(s))) break;
        }
      } catch (e) {
        conn.problems.push(`step failed: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        resolveDone();
      }
    })();
    for (const w of waiters.splice(0)) w();
  };

  const server: Server = createServer((sock) => {
    if (!opts.tls) {
      onSocket(sock, sock);
      return;
    }
    // Implicit TLS: wrapped at once; the steps' writes wait for the handshake inside TLSSocket.
    const tls = new TLSSocket(sock, { isServer: true, key, cert });
    tls.once("secure", () => {
      const c = connections.find((x) => x.raw === sock);
      if (c) c.secure = true;
    });
    onSocket(sock, tls);
  });
  const port = await listenLocal(server);

  return {
    port,
    connections,
    async connection(index: number, timeoutMs = 10_000): Promise<HostileConnection> {
      const deadline = Date.now() + timeoutMs;
      while (!connections[index]) {
        if (Date.now() > deadline) throw new Error(`hostile server: no connection #${index} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 50);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return connections[index] as HostileConnection;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------- canned dialogues

export interface DialogueOptions {
  greeting?: string;
  /** EHLO keywords after the first line. */
  extensions?: readonly string[];
  mail?: string;
  rcpt?: string;
  data?: string;
  endOfData?: string;
  /** Every write one byte at a time. */
  bytewise?: boolean;
}

/** The EHLO reply for `extensions`. */
export function ehloReply(extensions: readonly string[] = [], host = "hostile.test"): string {
  const lines = [`${host} greets you`, ...extensions];
  return lines.map((l, i) => `250${i === lines.length - 1 ? " " : "-"}${l}`).join("\r\n");
}

/** A well-behaved single-recipient session ending with QUIT; parts can be changed. */
export function goodDialogue(o: DialogueOptions = {}): Step[] {
  const so: SendOptions = o.bytewise ? { bytewise: true } : {};
  return [
    step.reply(o.greeting ?? "220 hostile.test ESMTP", so),
    step.expect(/^EHLO /),
    step.reply(ehloReply(o.extensions ?? ["8BITMIME", "ENHANCEDSTATUSCODES"]), so),
    step.expect(/^MAIL FROM:/),
    step.reply(o.mail ?? "250 2.1.0 sender ok", so),
    step.expect(/^RCPT TO:/),
    step.reply(o.rcpt ?? "250 2.1.5 recipient ok", so),
    step.expect(/^DATA$/),
    step.reply(o.data ?? "354 go ahead", so),
    step.expectData(),
    step.reply(o.endOfData ?? "250 2.0.0 queued", so),
    step.expect(/^QUIT$/),
    step.reply("221 2.0.0 bye", so),
    step.close(),
  ];
}

/** Greeting and EHLO only: what comes before the transaction. */
export function preamble(extensions: readonly string[] = ["8BITMIME", "ENHANCEDSTATUSCODES"], greeting = "220 hostile.test ESMTP"): Step[] {
  return [step.reply(greeting), step.expect(/^EHLO /), step.reply(ehloReply(extensions))];
}

/**
 * The one scriptable SMTP server on raw TCP for the specs: 127.0.0.1 and a
 * port the system picks unless told otherwise, plain or implicit TLS, with
 * STARTTLS on demand. It is for everything a real server will not do on
 * demand: exact EHLO keywords, counted round trips, replies that are wrong,
 * late, split, missing or never come.
 *
 * One server, one kind of connection, one reader. What a connection does is
 * its behaviour:
 *
 *   esmtpServer(options)   a well-behaved ESMTP server that records every
 *                          message (envelope, parameters, bytes, Message-ID,
 *                          round trips); EHLO keywords, RCPT / MAIL / VRFY /
 *                          EXPN answers, STARTTLS and reply rewriting chosen
 *                          by the test
 *   scriptedSmtp(script)   a good SMTP dialogue in which single replies are
 *                          replaced (a string, or a function that closes,
 *                          stays silent, answers late ...)
 *   lineServer(handler)    every command line goes to the test's handler;
 *                          conn.startData() turns what follows into message data
 *   stepServer(steps)      a list of steps per connection, run in order
 *                          (send split at every byte, expect a line, read the
 *                          data, stall, close, reset, STARTTLS, garbage ...)
 *   tcpServer(serve)       anything else, written on the Connection primitives
 *
 * Every connection records what it received (plain-text layer: decrypted
 * after STARTTLS), its command lines (the server keeps them all, with whether
 * they came over TLS), its message data, and how it ended (`closed`
 * resolves when the TCP connection is gone, whoever closed it).
 */
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { mulberry32 } from "./seeded-random.js";
import { serverCertPair, type ServerCertName } from "./tls-fixtures.js";

// ---------------------------------------------------------------- listening

/** Listens on host:port (0: the system picks); resolves with the port (rejects if listening fails). */
export function listenOn(server: Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Listens on 127.0.0.1 on a port the system picks; resolves with that port. */
export function listenLocal(server: Server): Promise<number> {
  return listenOn(server, 0, "127.0.0.1");
}

/** A port nothing listens on (a server was bound to it and closed again). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listenLocal(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------- reading

const CRLF = Buffer.from("\r\n");
const END_OF_DATA = Buffer.from("\r\n.\r\n");
const EMPTY = Buffer.alloc(0);

/** The bytes received and not read yet; reads wait for more until the client has gone. */
class Reader {
  private parts: Buffer[] = [];
  ended = false;
  /** Called when a read has to wait; `quiet`: everything received so far has been read and handled. */
  beforeWait: ((quiet: boolean) => void) | undefined;
  private wake: (() => void) | undefined;

  get buf(): Buffer {
    if (this.parts.length > 1) this.parts = [Buffer.concat(this.parts)];
    return this.parts[0] ?? EMPTY;
  }

  set buf(b: Buffer) {
    this.parts = b.length > 0 ? [b] : [];
  }

  push(chunk: Buffer): void {
    this.parts.push(chunk);
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

  /** Calls `take` until it returns something, or the client has gone (undefined). */
  async until<T>(take: () => T | undefined, quiet: () => boolean): Promise<T | undefined> {
    for (;;) {
      const v = take();
      if (v !== undefined) return v;
      if (this.ended) return undefined;
      this.beforeWait?.(quiet());
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}

// ---------------------------------------------------------------- connections

export interface LoggedLine {
  /** Index of the connection. */
  connection: number;
  line: string;
  /** Arrived over TLS. */
  secure: boolean;
}

/** One client connection and everything it sent. */
export class Connection {
  /** The socket reads and writes go through: the TLS socket after STARTTLS / with implicit TLS. */
  io: Socket;
  /** Every chunk received, on the plain-text layer, in order. */
  readonly received: Buffer[] = [];
  /** The command lines read (without CRLF); message data is not included. */
  readonly lines: string[] = [];
  /** Message data read: one buffer per message, still dot-stuffed, without the end-of-data marker (a broken-off one is partial). */
  readonly data: Buffer[] = [];
  /** Message data bytes so far in the current / last message. */
  dataBytes = 0;
  /** Reading message data (or about to: startData()). */
  inData = false;
  /** esmtp: every flight (burst of client data sent while the server had answered everything): its command lines and "<data n>" / "<payload n>" markers. */
  readonly flights: string[][] = [];
  /** esmtp: messages abandoned in the middle (connection closed during DATA or between BDAT chunks). */
  discarded = 0;
  /** Steps that did not go as scripted (an expected line that did not come, the client leaving early ...). */
  readonly problems: string[] = [];
  /** Kind of every step that ran. */
  readonly ran: string[] = [];
  /** The TLS handshake finished. */
  secure = false;
  /** The client sent FIN. */
  clientEnded = false;
  /** The client reset the connection (ECONNRESET on the server side). */
  clientReset = false;
  /** The TCP connection is fully closed. */
  isClosed = false;
  /** Resolves when the TCP connection is fully closed, whoever closed it. */
  readonly closed: Promise<void>;
  /** Resolves when the behaviour has finished (or failed: see problems). */
  readonly done: Promise<void>;
  /** Called with every chunk received, before it is read. */
  onReceive: ((chunk: Buffer) => void) | undefined;

  private readonly reader = new Reader();
  private readonly tlsPair: { key: Buffer; cert: Buffer };
  private resolveDone!: () => void;

  constructor(
    readonly index: number,
    /** The TCP socket. */
    readonly socket: Socket,
    io: Socket,
    private readonly server: { lines: string[]; log: LoggedLine[] },
    tlsPair: { key: Buffer; cert: Buffer },
  ) {
    this.io = io;
    this.tlsPair = tlsPair;
    let resolveClosed!: () => void;
    this.closed = new Promise<void>((r) => (resolveClosed = r));
    this.done = new Promise<void>((r) => (this.resolveDone = r));
    socket.setNoDelay(true);
    socket.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ECONNRESET") this.clientReset = true;
    });
    if (io !== socket) io.on("error", () => undefined);
    socket.on("close", () => {
      this.isClosed = true;
      this.reader.end();
      resolveClosed();
    });
    this.bind(io);
  }

  /** Set by a behaviour: called whenever a read has to wait (see Reader.beforeWait). */
  set beforeWait(hook: ((quiet: boolean) => void) | undefined) {
    this.reader.beforeWait = hook;
  }

  private readonly onData = (chunk: Buffer): void => {
    this.received.push(chunk);
    this.onReceive?.(chunk);
    this.reader.push(chunk);
  };

  private readonly onEnd = (): void => {
    this.clientEnded = true;
    this.reader.end();
  };

  private bind(s: Socket): void {
    s.on("data", this.onData);
    s.on("end", this.onEnd);
  }

  private unbind(s: Socket): void {
    s.off("data", this.onData);
    s.off("end", this.onEnd);
  }

  /** Everything received as one latin1 string. */
  text(): string {
    return Buffer.concat(this.received).toString("latin1");
  }

  /** The next command line (CRLF-terminated, UTF-8), recorded; undefined once the client has gone. */
  async line(): Promise<string | undefined> {
    return (await this.lineOrData(false)) ?? undefined;
  }

  /**
   * As line(), but with `stopForData` null as soon as startData() was called
   * while waiting (a handler that answers DATA late): what follows is message data.
   */
  async lineOrData(stopForData: boolean): Promise<string | null | undefined> {
    const r = this.reader;
    const line = await r.until<string | null>(
      () => {
        if (stopForData && this.inData) return null;
        const buf = r.buf;
        const at = buf.indexOf(CRLF);
        if (at < 0) return undefined;
        r.buf = buf.subarray(at + 2);
        return buf.subarray(0, at).toString("utf8");
      },
      () => r.buf.length === 0,
    );
    if (typeof line === "string") {
      this.lines.push(line);
      this.server.lines.push(line);
      this.server.log.push({ connection: this.index, line, secure: this.secure });
    }
    return line;
  }

  /**
   * Message data up to the end-of-data marker (CRLF.CRLF; the CRLF that ended
   * the DATA line counts, so an empty message ends at once), still
   * dot-stuffed and without the marker; recorded in `data`. `onChunk` sees
   * every piece as it arrives (dataBytes already counts it); `stopAfter`
   * returns once that many bytes are in. Undefined when the client went away
   * first (the partial message is recorded).
   */
  async readData(opts: { stopAfter?: number; onChunk?: (chunk: Buffer) => void } = {}): Promise<Buffer | undefined> {
    const r = this.reader;
    const parts: Buffer[] = [];
    let total = 0;
    // The last bytes of the stream so far, so the marker is found across chunks.
    let tail: Buffer = CRLF;
    let complete = false;
    this.inData = true;
    this.dataBytes = 0;
    const message = (): Buffer => Buffer.concat(parts).subarray(0, total);
    const body = await r.until(
      () => {
        if (r.buf.length > 0) {
          const chunk = r.buf;
          r.buf = EMPTY;
          const window = Buffer.concat([tail, chunk]);
          const at = window.indexOf(END_OF_DATA);
          if (at < 0) {
            parts.push(chunk);
            total += chunk.length;
            this.dataBytes = total;
            tail = window.subarray(Math.max(0, window.length - 4));
            opts.onChunk?.(chunk);
          } else {
            // Bytes of this chunk that belong to the message (the marker's leading CRLF does);
            // negative when bytes already counted were the start of the marker.
            const end = at + 2 - tail.length;
            if (end > 0) {
              parts.push(chunk.subarray(0, end));
              total += end;
            } else total += end;
            this.dataBytes = total;
            if (end > 0) opts.onChunk?.(chunk.subarray(0, end));
            r.buf = chunk.subarray(at + END_OF_DATA.length - tail.length);
            complete = true;
            return message();
          }
        }
        if (opts.stopAfter !== undefined && total >= opts.stopAfter) return message();
        return undefined;
      },
      () => total === 0,
    );
    // A message that never ended leaves the connection in data mode.
    if (complete) this.inData = false;
    this.data.push(body ?? message());
    return body;
  }

  /** Exactly `count` bytes (a BDAT chunk, a TLS ClientHello ...); undefined when the client went away first. */
  readBytes(count: number): Promise<Buffer | undefined> {
    const r = this.reader;
    const parts: Buffer[] = [];
    let got = 0;
    return r.until(
      () => {
        if (got < count && r.buf.length > 0) {
          const buf = r.buf;
          const take = Math.min(count - got, buf.length);
          parts.push(buf.subarray(0, take));
          r.buf = buf.subarray(take);
          got += take;
        }
        return got === count ? Buffer.concat(parts) : undefined;
      },
      () => false,
    );
  }

  /** For line handlers: the bytes after the current line are message data (until CRLF.CRLF). */
  startData(): void {
    this.inData = true;
    this.dataBytes = 0;
  }

  /** Writes at once; resolves when written (false: the socket is gone). */
  write(data: string | Buffer): Promise<boolean> {
    const sock = this.io;
    return new Promise((resolve) => {
      if (sock.destroyed || !sock.writable) {
        resolve(false);
        return;
      }
      sock.write(data, (err) => resolve(!err));
    });
  }

  /** Writes one reply (CRLF appended; a multi-line reply may contain CRLFs). */
  reply(text: string): void {
    void this.write(text + "\r\n");
  }

  /**
   * Writes `clearText` (the 220, and whatever a test injects behind it) in one
   * write in clear text, then does the server side of the TLS handshake.
   * Bytes the client sent in clear text behind STARTTLS are dropped.
   */
  async startTls(clearText: string): Promise<boolean> {
    this.unbind(this.io);
    this.reader.buf = EMPTY;
    this.socket.write(clearText);
    const tls = new TLSSocket(this.socket, { isServer: true, ...this.tlsPair });
    tls.on("error", () => undefined);
    this.io = tls;
    this.bind(tls);
    const ok = await new Promise<boolean>((resolve) => {
      tls.once("secure", () => resolve(true));
      tls.once("error", () => resolve(false));
      tls.once("close", () => resolve(false));
    });
    this.secure = ok;
    return ok;
  }

  /** Half-closes (FIN; close_notify first over TLS). */
  end(): void {
    this.io.end();
  }

  /** Closes at once. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Resets the connection (RST). */
  reset(): void {
    try {
      this.socket.resetAndDestroy();
    } catch {
      this.socket.destroy();
    }
  }

  /** @internal Runs the behaviour; `done` resolves when it returns. */
  run(serve: () => void | Promise<void>): void {
    void (async () => {
      try {
        await serve();
      } catch (e) {
        this.problems.push(`behaviour failed: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        this.resolveDone();
      }
    })();
  }
}

// ---------------------------------------------------------------- the server

export interface TcpServerOptions {
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 0: the system picks. */
  port?: number;
  /** Implicit TLS: the handshake first (the steps' writes wait for it). */
  tls?: boolean;
  /** Certificate for implicit TLS and STARTTLS (default "server": CA-signed, localhost / 127.0.0.1 / ::1). */
  cert?: ServerCertName;
}

export interface TcpServer {
  readonly host: string;
  readonly port: number;
  readonly connections: Connection[];
  /** Every command line of every connection, in arrival order. */
  readonly lines: string[];
  /** The same lines with their connection and whether they came over TLS. */
  readonly log: LoggedLine[];
  /** esmtp: every message it accepted. */
  readonly messages: RecordedMessage[];
  /** Connections whose TLS handshake finished. */
  readonly handshakes: number;
  /** Lines of a verb ("MAIL", "RCPT", "BDAT", ...) over all connections. */
  commands(verb: string): string[];
  /** How often each Message-ID was accepted (esmtp). */
  countById(): Map<string, number>;
  /** Waits until connection `index` exists. */
  connection(index: number, timeoutMs?: number): Promise<Connection>;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** What each connection does; it may read and write until the client goes. */
export type Serve = (conn: Connection, server: TcpServer) => void | Promise<void>;

const verbOf = (line: string): string => (line.split(/[ :]/, 1)[0] ?? "").toUpperCase();

/** A server whose every connection runs `serve`. */
export async function tcpServer(serve: Serve, opts: TcpServerOptions = {}): Promise<TcpServer> {
  const host = opts.host ?? "127.0.0.1";
  const tlsPair = serverCertPair(opts.cert ?? "server");
  const connections: Connection[] = [];
  const lines: string[] = [];
  const log: LoggedLine[] = [];
  const messages: RecordedMessage[] = [];
  const sockets = new Set<Socket>();
  const waiters: (() => void)[] = [];

  const accept = (sock: Socket, io: Socket): void => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    const conn = new Connection(connections.length, sock, io, { lines, log }, tlsPair);
    connections.push(conn);
    conn.run(() => serve(conn, self));
    for (const w of waiters.splice(0)) w();
  };

  const server: Server = createServer((sock) => {
    if (!opts.tls) {
      accept(sock, sock);
      return;
    }
    // Implicit TLS: wrapped at once; writes wait for the handshake inside TLSSocket.
    const tls = new TLSSocket(sock, { isServer: true, ...tlsPair });
    tls.once("secure", () => {
      const c = connections.find((x) => x.socket === sock);
      if (c) c.secure = true;
    });
    accept(sock, tls);
  });
  server.on("error", () => undefined);
  const port = await listenOn(server, opts.port ?? 0, host);

  const self: TcpServer = {
    host,
    port,
    connections,
    lines,
    log,
    messages,
    get handshakes() {
      return connections.filter((c) => c.secure).length;
    },
    commands: (verb) => lines.filter((l) => verbOf(l) === verb.toUpperCase()),
    countById: () => countById(messages),
    async connection(index, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!connections[index]) {
        if (Date.now() > deadline) throw new Error(`tcp server: no connection #${index} within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 50);
          waiters.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      return connections[index] as Connection;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return self;
}

// ---------------------------------------------------------------- Message-IDs

/** The Message-ID of a message (its header block, unfolded); "" without one. */
export function messageIdOf(message: Buffer): string {
  const end = message.indexOf("\r\n\r\n");
  const head = (end < 0 ? message : message.subarray(0, end)).toString("latin1").replace(/\r\n(?=[ \t])/g, "");
  return /^message-id:\s*(.+)$/im.exec(head)?.[1]?.trim() ?? "";
}

/** How often each Message-ID occurs in `messages`. */
export function countById(messages: readonly { messageId: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m.messageId, (counts.get(m.messageId) ?? 0) + 1);
  return counts;
}

// ---------------------------------------------------------------- steps

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
  | { kind: "run"; fn: (conn: Connection) => void | Promise<void> };

const toBuf = (d: string | Buffer): Buffer => (typeof d === "string" ? Buffer.from(d, "latin1") : d);

/** Step constructors. Strings are written as latin1 (one char = one byte); pass a Buffer for UTF-8. */
export const step = {
  /** Writes bytes as they are. */
  send: (data: string | Buffer, opts: SendOptions = {}): Step => ({ kind: "send", data: toBuf(data), opts }),
  /** Writes text + CRLF. */
  reply: (text: string | Buffer, opts: SendOptions = {}): Step => ({ kind: "send", data: Buffer.concat([toBuf(text), CRLF]), opts }),
  /** Reads one client line and checks it. */
  expect: (pattern: RegExp): Step => ({ kind: "expect", pattern }),
  /** Reads the message data up to CRLF.CRLF (or stops after n bytes). */
  expectData: (opts: { stopAfter?: number } = {}): Step => ({ kind: "expectData", stopAfter: opts.stopAfter }),
  /** Reads n raw bytes (e.g. a TLS ClientHello). */
  expectBytes: (count: number): Step => ({ kind: "expectBytes", count }),
  /** A `BDAT n [LAST]` line and its n bytes of chunk data. */
  expectBdat: (): Step => ({ kind: "expectBdat" }),
  /** Does nothing for a while. */
  wait: (ms: number): Step => ({ kind: "wait", ms }),
  /** Never answers again (reads until the client goes). */
  stall: (): Step => ({ kind: "stall" }),
  /** FIN. */
  close: (): Step => ({ kind: "close" }),
  /** RST. */
  reset: (): Step => ({ kind: "reset" }),
  /** Writes the 220 (+ CRLF) and does the server side of the TLS handshake. */
  startTls: (reply = "220 2.0.0 ready to start TLS"): Step => ({ kind: "startTls", reply }),
  /** n pseudo-random bytes. */
  garbage: (length: number, seed = 1): Step => ({ kind: "garbage", length, seed }),
  /** Anything else. */
  run: (fn: (conn: Connection) => void | Promise<void>): Step => ({ kind: "run", fn }),
};

/** Deterministic pseudo-random bytes (mulberry32). */
export function garbageBytes(length: number, seed = 1): Buffer {
  const next = mulberry32(seed);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = next() & 0xff;
  return out;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one step; false stops the list. */
async function runStep(conn: Connection, s: Step): Promise<boolean> {
  conn.ran.push(s.kind);
  switch (s.kind) {
    case "send": {
      const { bytewise, chunkSize, gapMs } = s.opts;
      const size = bytewise ? 1 : chunkSize ?? s.data.length;
      if (size >= s.data.length) {
        await conn.write(s.data);
        return true;
      }
      for (let i = 0; i < s.data.length; i += size) {
        if (!(await conn.write(s.data.subarray(i, i + size)))) return false;
        await delay(gapMs ?? 1);
      }
      return true;
    }
    case "garbage":
      await conn.write(garbageBytes(s.length, s.seed));
      return true;
    case "expect": {
      const line = await conn.line();
      if (line === undefined) {
        conn.problems.push(`the client went away while the server expected ${String(s.pattern)}`);
        return false;
      }
      if (!s.pattern.test(line)) {
        conn.problems.push(`expected ${String(s.pattern)}, got ${JSON.stringify(line)}`);
        return false;
      }
      return true;
    }
    case "expectData": {
      if ((await conn.readData({ ...(s.stopAfter === undefined ? {} : { stopAfter: s.stopAfter }) })) === undefined) {
        conn.problems.push("the client went away during DATA");
        return false;
      }
      return true;
    }
    case "expectBdat": {
      const line = await conn.line();
      const count = line === undefined ? undefined : /^BDAT (\d+)( LAST)?$/.exec(line)?.[1];
      if (count === undefined) {
        conn.problems.push(`expected a BDAT line, got ${JSON.stringify(line)}`);
        return false;
      }
      const chunk = await conn.readBytes(Number(count));
      if (chunk === undefined) {
        conn.problems.push(`the client went away before sending ${count} BDAT bytes`);
        return false;
      }
      conn.data.push(chunk);
      return true;
    }
    case "expectBytes":
      if ((await conn.readBytes(s.count)) === undefined) {
        conn.problems.push(`the client went away before sending ${s.count} bytes`);
        return false;
      }
      return true;
    case "wait":
      await delay(s.ms);
      return true;
    case "stall":
      await conn.closed;
      return false;
    case "close":
      conn.end();
      return true;
    case "reset":
      conn.reset();
      return false;
    case "startTls": {
      const ok = await conn.startTls(s.reply + "\r\n");
      if (!ok) conn.problems.push("the TLS handshake did not complete");
      return ok;
    }
    case "run":
      await s.fn(conn);
      return true;
  }
}

/**
 * A server whose connections run a list of steps, in order: `script` is the
 * list of every connection, or a function giving the list of connection n
 * (0-based). When the steps run out the server keeps reading (a stall) until
 * the client closes.
 */
export function stepServer(script: readonly Step[] | ((index: number) => readonly Step[]), opts: TcpServerOptions = {}): Promise<TcpServer> {
  return tcpServer(async (conn) => {
    for (const s of typeof script === "function" ? script(conn.index) : script) {
      if (conn.isClosed && s.kind !== "wait") break;
      if (!(await runStep(conn, s))) break;
    }
  }, opts);
}

/** The EHLO reply for `extensions`. */
export function ehloReply(extensions: readonly string[] = [], host = "hostile.test"): string {
  const lines = [`${host} hello`, ...extensions];
  return lines.map((l, i) => `250${i === lines.length - 1 ? " " : "-"}${l}`).join("\r\n");
}

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

/** The steps of a well-behaved single-recipient session ending with QUIT; parts can be changed. */
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

/** Greeting and EHLO only: the steps before the transaction. */
export function preamble(extensions: readonly string[] = ["8BITMIME", "ENHANCEDSTATUSCODES"], greeting = "220 hostile.test ESMTP"): Step[] {
  return [step.reply(greeting), step.expect(/^EHLO /), step.reply(ehloReply(extensions))];
}

// ---------------------------------------------------------------- line handlers

export interface LineHandler {
  onConnect?(conn: Connection): void;
  onLine?(line: string, conn: Connection): void;
  /** A piece of message data arrived (conn.dataBytes already counts it). */
  onData?(chunk: Buffer, conn: Connection): void;
  /** The end-of-data marker arrived. */
  onEndOfData?(conn: Connection): void;
}

/**
 * A server that hands each command line to `handler`; after
 * conn.startData() the bytes are message data until the end-of-data marker.
 */
export function lineServer(handler: LineHandler | ((line: string, conn: Connection) => void), opts: TcpServerOptions = {}): Promise<TcpServer> {
  const h: LineHandler = typeof handler === "function" ? { onLine: handler } : handler;
  return tcpServer(async (conn) => {
    h.onConnect?.(conn);
    for (;;) {
      if (conn.inData) {
        if ((await conn.readData({ onChunk: (chunk) => h.onData?.(chunk, conn) })) === undefined) return;
        h.onEndOfData?.(conn);
      } else {
        const line = await conn.lineOrData(true);
        if (line === undefined) return;
        if (line !== null) h.onLine?.(line, conn);
      }
    }
  }, opts);
}

/** A reply text, or a function that does something else (close, stay silent, answer late ...). */
export type Answer = string | ((conn: Connection, line: string) => void);

export interface SmtpScript {
  /** Sent on connect; a function may do anything instead (e.g. nothing). */
  greeting?: Answer;
  EHLO?: Answer;
  HELO?: Answer;
  MAIL?: Answer;
  RCPT?: Answer;
  /** The reply to DATA; the default "354" also switches to data mode. */
  DATA?: Answer;
  RSET?: Answer;
  QUIT?: Answer;
  NOOP?: Answer;
  /** The reply to the end-of-data marker. */
  endOfData?: Answer;
  /** Called for each piece of message data. */
  onData?(chunk: Buffer, conn: Connection): void;
}

const SCRIPT_DEFAULTS: Required<Omit<SmtpScript, "onData">> = {
  greeting: "220 scripted.test ESMTP ready",
  EHLO: "250-scripted.test greets you\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES",
  HELO: "250 scripted.test",
  MAIL: "250 2.1.0 sender ok",
  RCPT: "250 2.1.5 recipient ok",
  DATA: (conn) => {
    conn.reply("354 end data with <CR><LF>.<CR><LF>");
    conn.startData();
  },
  RSET: "250 2.0.0 reset",
  QUIT: (conn) => {
    conn.reply("221 2.0.0 bye");
    conn.end();
  },
  NOOP: "250 2.0.0 ok",
  endOfData: "250 2.0.0 queued",
};

function answer(a: Answer, conn: Connection, line: string): void {
  if (typeof a === "string") conn.reply(a);
  else a(conn, line);
}

/** An SMTP server following the script: each reply defaults to what a good server says. */
export function scriptedSmtp(script: SmtpScript = {}, opts: TcpServerOptions = {}): Promise<TcpServer> {
  const s = { ...SCRIPT_DEFAULTS, ...script };
  return lineServer(
    {
      onConnect: (conn) => answer(s.greeting, conn, ""),
      onLine: (line, conn) => {
        const verb = verbOf(line);
        switch (verb) {
          case "EHLO":
          case "HELO":
          case "MAIL":
          case "RCPT":
          case "DATA":
          case "RSET":
          case "QUIT":
          case "NOOP":
            answer(s[verb], conn, line);
            break;
          default:
            conn.reply("502 5.5.2 command not implemented");
        }
      },
      onData: (chunk, conn) => script.onData?.(chunk, conn),
      onEndOfData: (conn) => answer(s.endOfData, conn, ""),
    },
    opts,
  );
}

// ---------------------------------------------------------------- the recording ESMTP server

export const ALL_EXTENSIONS = ["PIPELINING", "CHUNKING", "BINARYMIME", "SIZE 10485760", "8BITMIME", "SMTPUTF8", "DSN", "ENHANCEDSTATUSCODES"] as const;

export interface EsmtpOptions extends TcpServerOptions {
  /** Host name in the greeting and the EHLO reply (default "esmtp.test"). */
  name?: string;
  /** EHLO keywords after the first line (default: ALL_EXTENSIONS). */
  extensions?: readonly string[];
  /** The whole greeting line (default "220 <name> ESMTP ready"). */
  greeting?: string;
  /** RCPT replies by address (case-insensitive); others get "250 2.1.5 Ok". */
  recipients?: Record<string, string>;
  /** MAIL (SEND / SOML / SAML) replies by reverse path (case-insensitive); others get "250 2.1.0 Ok". */
  senders?: Record<string, string>;
  /** VRFY replies by argument (case-insensitive); others get "550 5.1.1 unknown user". */
  vrfy?: Record<string, string>;
  /** EXPN lists by name (case-insensitive); unknown names get 550. false: EXPN answers 502. */
  expn?: Record<string, string[]> | false;
  /** SEND / SOML / SAML understood (default true; false: 502). */
  terminalCommands?: boolean;
  /**
   * Offer STARTTLS on a clear-text connection. true: answer "220 2.0.0 ready
   * to start TLS"; a string: the raw bytes written (in ONE write) in answer,
   * CRLFs included; the handshake follows when they start with "220".
   */
  starttls?: boolean | string;
  /**
   * Sees every reply the server is about to send for a command (BDAT: after
   * its payload) and returns what is actually sent: extra replies, none, other
   * ones. The server's state follows the original replies.
   */
  rewrite?: (line: string, replies: string[], conn: Connection) => string[];
}

export interface RecordedRecipient {
  address: string;
  params: string[];
  reply: string;
  accepted: boolean;
}

export interface RecordedMessage {
  /** Index of the connection in `server.connections`. */
  connection: number;
  verb: "MAIL" | "SEND" | "SOML" | "SAML";
  mailFrom: string;
  /** MAIL parameters as sent ("BODY=8BITMIME", "SIZE=123", ...). */
  mailParams: string[];
  /** Every RCPT of the transaction, accepted or not. */
  rcpts: RecordedRecipient[];
  /** The accepted recipients: the real envelope. */
  recipients: string[];
  via: "DATA" | "BDAT";
  /** BDAT chunk sizes as announced, in order. */
  chunks: { size: number; last: boolean }[];
  /** The message bytes (DATA: unstuffed, without the end marker). */
  raw: Buffer;
  /** DATA only: the bytes as they came over the wire (dot-stuffed), without the final ".\r\n". */
  wire: Buffer | undefined;
  /** The Message-ID header ("" without one). */
  messageId: string;
  /** Round trips of the transaction, from its MAIL (or the RSET right before it) to the end of the message. */
  flights: number;
  /** The command lines (and payload markers) of each of those flights. */
  flightLog: string[][];
  /** What the server answered to the end of the message. */
  reply: string;
}

/** The value of a parameter ("SIZE" -> "123"), true for a bare keyword, undefined when absent. */
export function param(params: readonly string[], name: string): string | true | undefined {
  for (const p of params) {
    const eq = p.indexOf("=");
    const key = eq < 0 ? p : p.slice(0, eq);
    if (key.toUpperCase() === name.toUpperCase()) return eq < 0 ? true : p.slice(eq + 1);
  }
  return undefined;
}

/** Undoes DATA dot-stuffing: a line starting with "." loses that dot. */
export function unstuff(wire: Buffer): Buffer {
  const out = Buffer.alloc(wire.length);
  let n = 0;
  let lineStart = true;
  for (let i = 0; i < wire.length; i++) {
    const b = wire[i] as number;
    if (lineStart && b === 0x2e) {
      lineStart = false;
      continue;
    }
    out[n++] = b;
    lineStart = b === 0x0a && i > 0 && wire[i - 1] === 0x0d;
  }
  return out.subarray(0, n);
}

const PATH = /^(MAIL|SEND|SOML|SAML) FROM:\s*<([^>]*)>(.*)$/i;
const RCPT = /^RCPT TO:\s*<([^>]*)>(.*)$/i;
const BDAT = /^BDAT +(\d+)( +LAST)? *$/i;

interface Transaction {
  verb: RecordedMessage["verb"];
  mailFrom: string;
  mailParams: string[];
  rcpts: RecordedRecipient[];
  chunks: { size: number; last: boolean }[];
  payload: Buffer[];
  startFlight: number;
}

interface EsmtpConfig {
  name: string;
  extensions: readonly string[];
  greeting: string;
  sizeLimit: number;
  recipients: Map<string, string>;
  senders: Map<string, string>;
  vrfy: Map<string, string>;
  expn: Map<string, string[]> | false;
  terminal: boolean;
  starttls: string | undefined;
  rewrite: EsmtpOptions["rewrite"];
}

/**
 * A recording ESMTP server: it advertises exactly the EHLO keywords a test
 * asks for, parses every command properly (BDAT reads exactly n payload
 * bytes; several commands and payloads may arrive in one packet or split
 * across packets) and records every command line and every delivered
 * message (`server.messages`), with the "flights" of each connection:
 * bursts of client data that arrive while the server has answered everything
 * it received (so the client was waiting for replies). One flight = one round
 * trip. Replies to one burst are written in one write, as pipelining servers do.
 */
export function esmtpServer(opts: EsmtpOptions = {}): Promise<TcpServer> {
  const extensions = opts.extensions ?? ALL_EXTENSIONS;
  const sizeLine = extensions.find((e) => /^SIZE\b/i.test(e));
  const lower = <T>(m: Record<string, T> | undefined): Map<string, T> => new Map(Object.entries(m ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const name = opts.name ?? "esmtp.test";
  const config: EsmtpConfig = {
    name,
    extensions,
    greeting: opts.greeting ?? `220 ${name} ESMTP ready`,
    sizeLimit: sizeLine ? Number(sizeLine.split(/\s+/)[1] ?? 0) : 0,
    recipients: lower(opts.recipients),
    senders: lower(opts.senders),
    vrfy: lower(opts.vrfy),
    expn: opts.expn === false ? false : lower(opts.expn),
    terminal: opts.terminalCommands ?? true,
    starttls: opts.starttls === true ? "220 2.0.0 ready to start TLS\r\n" : opts.starttls || undefined,
    rewrite: opts.rewrite,
  };
  return tcpServer((conn, server) => esmtpSession(conn, server.messages, config), opts);
}

async function esmtpSession(conn: Connection, messages: RecordedMessage[], c: EsmtpConfig): Promise<void> {
  let tx: Transaction | undefined;
  let out: string[] = [];
  let idle = true;
  let events = 0;
  let lastCommand = "";
  let rsetFlight = -1;

  const flightIndex = (): number => conn.flights.length - 1;
  const note = (item: string): void => {
    conn.flights[flightIndex()]?.push(item);
  };
  const flush = (): void => {
    if (out.length === 0) return;
    const text = out.join("");
    out = [];
    void conn.write(text);
  };
  // A burst that arrives while everything before it was answered starts a flight.
  conn.onReceive = () => {
    events++;
    if (idle) {
      conn.flights.push([]);
      idle = false;
    }
  };
  // Nothing more to read: the replies go out in one write; when everything received is
  // answered (and nothing is half-read) the client has to wait for us.
  conn.beforeWait = (quiet) => {
    flush();
    if (quiet) {
      const seen = events;
      setImmediate(() => {
        if (events === seen) idle = true;
      });
    }
  };
  const send = (line: string, replies: string[]): void => {
    for (const r of c.rewrite ? c.rewrite(line, replies, conn) : replies) out.push(r + "\r\n");
  };
  const finish = (t: Transaction, via: "DATA" | "BDAT", raw: Buffer, wire: Buffer | undefined): string => {
    const reply = `250 2.0.0 Ok: ${raw.length} bytes queued as Q${messages.length + 1}`;
    const first = t.startFlight;
    messages.push({
      connection: conn.index,
      verb: t.verb,
      mailFrom: t.mailFrom,
      mailParams: t.mailParams,
      rcpts: t.rcpts,
      recipients: t.rcpts.filter((r) => r.accepted).map((r) => r.address),
      via,
      chunks: t.chunks,
      raw,
      wire,
      messageId: messageIdOf(raw),
      flights: flightIndex() - first + 1,
      flightLog: conn.flights.slice(first, flightIndex() + 1),
      reply,
    });
    tx = undefined;
    return reply;
  };
  /** The whole payload of a BDAT is in. */
  const endChunk = (line: string, last: boolean, payload: Buffer[]): void => {
    const size = payload.reduce((n, b) => n + b.length, 0);
    if (!tx) return send(line, ["503 5.5.1 need MAIL command"]);
    tx.chunks.push({ size, last });
    tx.payload.push(...payload);
    if (!tx.rcpts.some((r) => r.accepted)) {
      tx = undefined;
      return send(line, ["554 5.5.1 no valid recipients"]);
    }
    if (!last) return send(line, [`250 2.0.0 Ok: ${size} octets received`]);
    send(line, [finish(tx, "BDAT", Buffer.concat(tx.payload), undefined)]);
  };

  void conn.write(c.greeting + "\r\n");
  for (;;) {
    const line = await conn.line();
    if (line === undefined) {
      if (tx && tx.chunks.length > 0) conn.discarded++;
      return;
    }
    note(line);
    const verb = verbOf(line);
    const previous = lastCommand;
    lastCommand = verb;
    switch (verb) {
      case "EHLO": {
        tx = undefined;
        const keywords = c.starttls !== undefined && !conn.secure ? ["STARTTLS", ...c.extensions] : c.extensions;
        send(line, [ehloReply(keywords, c.name)]);
        break;
      }
      case "HELO":
        tx = undefined;
        send(line, [`250 ${c.name}`]);
        break;
      case "MAIL":
      case "SEND":
      case "SOML":
      case "SAML": {
        if (verb !== "MAIL" && !c.terminal) {
          send(line, ["502 5.5.1 command not implemented"]);
          break;
        }
        if (tx) {
          send(line, ["503 5.5.1 nested MAIL command"]);
          break;
        }
        const m = PATH.exec(line);
        if (!m) {
          send(line, ["501 5.5.4 syntax: MAIL FROM:<address>"]);
          break;
        }
        const mailFrom = m[2] ?? "";
        const params = (m[3] ?? "").trim().split(/\s+/).filter((p) => p !== "");
        const size = param(params, "SIZE");
        if (c.sizeLimit > 0 && typeof size === "string" && Number(size) > c.sizeLimit) {
          send(line, [`552 5.3.4 message size exceeds fixed limit of ${c.sizeLimit}`]);
          break;
        }
        const reply = c.senders.get(mailFrom.toLowerCase()) ?? "250 2.1.0 Ok";
        if (reply.startsWith("2")) {
          tx = {
            verb: verb as Transaction["verb"],
            mailFrom,
            mailParams: params,
            rcpts: [],
            chunks: [],
            payload: [],
            startFlight: previous === "RSET" && rsetFlight >= 0 ? rsetFlight : flightIndex(),
          };
        }
        send(line, [reply]);
        break;
      }
      case "RCPT": {
        if (!tx) {
          send(line, ["503 5.5.1 need MAIL command"]);
          break;
        }
        const m = RCPT.exec(line);
        if (!m) {
          send(line, ["501 5.5.4 syntax: RCPT TO:<address>"]);
          break;
        }
        const address = m[1] ?? "";
        const reply = c.recipients.get(address.toLowerCase()) ?? "250 2.1.5 Ok";
        tx.rcpts.push({ address, params: (m[2] ?? "").trim().split(/\s+/).filter((p) => p !== ""), reply, accepted: /^25[01]/.test(reply) });
        send(line, [reply]);
        break;
      }
      case "DATA": {
        if (!tx) {
          send(line, ["503 5.5.1 need MAIL command"]);
          break;
        }
        if (!tx.rcpts.some((r) => r.accepted)) {
          send(line, ["554 5.5.1 no valid recipients"]);
          break;
        }
        if (tx.chunks.length > 0) {
          send(line, ["503 5.5.1 DATA after BDAT"]);
          break;
        }
        send(line, ["354 End data with <CR><LF>.<CR><LF>"]);
        const wire = await conn.readData();
        if (wire === undefined) {
          conn.discarded++;
          return;
        }
        note(`<data ${wire.length}>`);
        send(".", [finish(tx, "DATA", unstuff(wire), wire)]);
        break;
      }
      case "BDAT": {
        const m = BDAT.exec(line);
        if (!m) {
          send(line, ["501 5.5.4 syntax: BDAT size [LAST]"]);
          break;
        }
        const size = Number(m[1]);
        const last = m[2] !== undefined;
        if (size === 0) {
          endChunk(line, last, []);
          break;
        }
        const payload = await conn.readBytes(size);
        if (payload === undefined) {
          conn.discarded++;
          return;
        }
        note(`<payload ${size}>`);
        endChunk(line, last, [payload]);
        break;
      }
      case "STARTTLS": {
        if (c.starttls === undefined || conn.secure) {
          send(line, ["502 5.5.1 STARTTLS not available"]);
          break;
        }
        flush();
        if (!c.starttls.startsWith("220")) {
          void conn.write(c.starttls);
          break;
        }
        tx = undefined;
        await conn.startTls(c.starttls);
        break;
      }
      case "RSET":
        tx = undefined;
        rsetFlight = flightIndex();
        send(line, ["250 2.0.0 Ok"]);
        break;
      case "NOOP":
        send(line, ["250 2.0.0 Ok"]);
        break;
      case "HELP":
        send(line, ["214-2.0.0 Commands supported:\r\n214-2.0.0 EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY EXPN\r\n214 2.0.0 SEND SOML SAML"]);
        break;
      case "VRFY":
        send(line, [c.vrfy.get(line.slice(4).trim().toLowerCase()) ?? "550 5.1.1 unknown user"]);
        break;
      case "EXPN": {
        if (c.expn === false) {
          send(line, ["502 5.5.1 EXPN not available"]);
          break;
        }
        const list = c.expn.get(line.slice(4).trim().toLowerCase());
        send(line, [list ? list.map((a, i) => `250${i === list.length - 1 ? " " : "-"}${a}`).join("\r\n") : "550 5.1.1 no such list"]);
        break;
      }
      case "QUIT":
        send(line, ["221 2.0.0 Bye"]);
        flush();
        conn.end();
        return;
      default:
        send(line, ["502 5.5.2 command not recognized"]);
    }
  }
}

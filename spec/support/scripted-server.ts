/**
 * A raw TCP server on 127.0.0.1 (ephemeral port) whose every reply is written
 * by the test, for servers that misbehave in ways a real SMTP server will not:
 * never greeting, refusing EHLO, closing mid-DATA, stalling.
 *
 * `scriptedServer(handler)` hands each received command line to the handler;
 * after `conn.startData()` the bytes are message data until the end-of-data
 * marker. `scriptedSmtp(overrides)` is a well-behaved SMTP dialogue in which
 * individual steps can be replaced.
 */
import { createServer, type Socket } from "node:net";
import { listenLocal } from "./listen.js";

export interface ScriptedConnection {
  readonly socket: Socket;
  /** Command lines received on this connection (without CRLF); message data is not included. */
  readonly lines: string[];
  /** Message data received (still dot-stuffed, without the end-of-data marker). */
  readonly data: Buffer[];
  /** Message data bytes received so far in the current / last DATA phase. */
  dataBytes: number;
  /** Writes one reply (CRLF appended; a multi-line reply may contain CRLFs). */
  reply(text: string): void;
  /** From now on bytes are message data, until CRLF.CRLF. */
  startData(): void;
  readonly inData: boolean;
  /** Half-closes (FIN) from the server side. */
  end(): void;
  /** Closes at once. */
  destroy(): void;
}

export interface ScriptHandler {
  onConnect?(conn: ScriptedConnection): void;
  onLine?(line: string, conn: ScriptedConnection): void;
  /** A chunk of message data arrived (conn.dataBytes already counts it). */
  onData?(chunk: Buffer, conn: ScriptedConnection): void;
  /** The end-of-data marker arrived. */
  onEndOfData?(conn: ScriptedConnection): void;
}

export interface ScriptedServer {
  port: number;
  readonly connections: ScriptedConnection[];
  /** Every command line of every connection, in arrival order. */
  readonly lines: string[];
  close(): Promise<void>;
}

const END_MARK = Buffer.from("\r\n.\r\n");

export async function scriptedServer(handler: ScriptHandler | ((line: string, conn: ScriptedConnection) => void)): Promise<ScriptedServer> {
  const h: ScriptHandler = typeof handler === "function" ? { onLine: handler } : handler;
  const connections: ScriptedConnection[] = [];
  const allLines: string[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    // A client that resets the connection is part of several tests.
    socket.on("error", () => undefined);

    let lineBuf = Buffer.alloc(0);
    let inData = false;
    // The last bytes seen in data mode, so the marker is found across chunks.
    let tail = Buffer.alloc(0);

    const conn: ScriptedConnection = {
      socket,
      lines: [],
      data: [],
      dataBytes: 0,
      reply(text: string) {
        if (!socket.destroyed && socket.writable) socket.write(text + "\r\n");
      },
      startData() {
        inData = true;
        conn.dataBytes = 0;
        // The CRLF that ended the DATA command counts for an immediately empty message.
        tail = Buffer.from("\r\n");
      },
      get inData() {
        return inData;
      },
      end() {
        socket.end();
      },
      destroy() {
        socket.destroy();
      },
    };
    connections.push(conn);

    const handleBytes = (chunk: Buffer): void => {
      while (chunk.length > 0 && !socket.destroyed) {
        if (inData) {
          const window = Buffer.concat([tail, chunk]);
          const at = window.indexOf(END_MARK);
          if (at < 0) {
            conn.data.push(chunk);
            conn.dataBytes += chunk.length;
            tail = window.subarray(Math.max(0, window.length - 4));
            h.onData?.(chunk, conn);
            return;
          }
          // Bytes of the chunk that belong to the message (the marker's leading CRLF is message data).
          const endInChunk = at + 2 - tail.length;
          if (endInChunk > 0) {
            const part = chunk.subarray(0, endInChunk);
            conn.data.push(part);
            conn.dataBytes += part.length;
            h.onData?.(part, conn);
          }
          inData = false;
          chunk = chunk.subarray(at + END_MARK.length - tail.length);
          tail = Buffer.alloc(0);
          h.onEndOfData?.(conn);
          continue;
        }
        lineBuf = Buffer.concat([lineBuf, chunk]);
        chunk = Buffer.alloc(0);
        let nl: number;
        while (!inData && (nl = lineBuf.indexOf("\r\n")) >= 0) {
          const line = lineBuf.subarray(0, nl).toString("utf8");
          lineBuf = lineBuf.subarray(nl + 2);
          conn.lines.push(line);
          allLines.push(line);
          h.onLine?.(line, conn);
        }
        if (inData && lineBuf.length > 0) {
          // Pipelined data right behind the DATA command.
          chunk = lineBuf;
          lineBuf = Buffer.alloc(0);
        }
      }
    };
    socket.on("data", handleBytes);
    h.onConnect?.(conn);
  });

  const port = await listenLocal(server);

  return {
    port,
    connections,
    lines: allLines,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A reply text, or a function that does something else (close, stay silent, ...). */
export type Step = string | ((conn: ScriptedConnection, line: string) => void);

export interface SmtpScript {
  /** Sent on connect; a function may do anything instead (e.g. nothing). */
  greeting?: Step;
  EHLO?: Step;
  HELO?: Step;
  MAIL?: Step;
  RCPT?: Step;
  /** The reply to DATA; the default "354" also switches to data mode. */
  DATA?: Step;
  RSET?: Step;
  QUIT?: Step;
  NOOP?: Step;
  /** The reply to the end-of-data marker. */
  endOfData?: Step;
  /** Called for each chunk of message data. */
  onData?(chunk: Buffer, conn: ScriptedConnection): void;
}

const DEFAULTS: Required<Omit<SmtpScript, "onData">> = {
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

function run(step: Step, conn: ScriptedConnection, line: string): void {
  if (typeof step === "string") conn.reply(step);
  else step(conn, line);
}

/** An SMTP server following the script: each step defaults to what a good server does. */
export function scriptedSmtp(script: SmtpScript = {}): Promise<ScriptedServer> {
  const s = { ...DEFAULTS, ...script };
  return scriptedServer({
    onConnect: (conn) => run(s.greeting, conn, ""),
    onLine: (line, conn) => {
      const verb = line.split(/[ :]/, 1)[0]?.toUpperCase() ?? "";
      switch (verb) {
        case "EHLO":
        case "HELO":
        case "MAIL":
        case "RCPT":
        case "DATA":
        case "RSET":
        case "QUIT":
        case "NOOP":
          run(s[verb], conn, line);
          break;
        default:
          conn.reply("502 5.5.2 command not implemented");
      }
    },
    onData: (chunk, conn) => script.onData?.(chunk, conn),
    onEndOfData: (conn) => run(s.endOfData, conn, ""),
  });
}

/** A port nothing listens on (a server was bound to it and closed again). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listenLocal(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

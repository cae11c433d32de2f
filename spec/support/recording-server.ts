/**
 * A small recording ESMTP server on raw `net` (127.0.0.1, ephemeral port) for
 * the extension tests: it advertises exactly the EHLO keywords a test asks for
 * (PIPELINING, CHUNKING, BINARYMIME, SIZE n, 8BITMIME, SMTPUTF8, DSN,
 * REQUIRETLS, ENHANCEDSTATUSCODES, AUTH ...), parses every command properly
 * (BDAT reads exactly n payload bytes; several commands and payloads may
 * arrive in one packet or split across packets) and records:
 *
 *  - every command line, per connection and overall;
 *  - every delivered message: envelope, MAIL / RCPT parameters, raw bytes
 *    (DATA: with the dot-stuffing undone; BDAT: the chunks as received);
 *  - the "flights": bursts of client data that arrive while the server has
 *    answered everything it received (so the client was waiting for replies).
 *    One flight = one round trip. Each message records how many flights its
 *    transaction took, from its MAIL (or the RSET right before it) to the end
 *    of the message.
 *
 * Replies of one burst are written in one write, as pipelining servers do.
 * `rewrite` lets a test distort the replies (an extra reply, a missing one).
 */
import { createServer, type Socket } from "node:net";
import { listenLocal } from "./listen.js";

export const ALL_EXTENSIONS = [
  "PIPELINING",
  "CHUNKING",
  "BINARYMIME",
  "SIZE 10485760",
  "8BITMIME",
  "SMTPUTF8",
  "DSN",
  "ENHANCEDSTATUSCODES",
] as const;

export interface RecordingServerOptions {
  /** EHLO keywords after the first line (default: ALL_EXTENSIONS). */
  extensions?: readonly string[];
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
   * Sees every reply the server is about to send for a command (BDAT: after
   * its payload) and returns what is actually sent: extra replies, none, other
   * ones. The server's state follows the original replies.
   */
  rewrite?: (line: string, replies: string[], conn: RecordingConnection) => string[];
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
  /** Round trips of the transaction (see the file comment). */
  flights: number;
  /** The command lines (and payload markers) of each of those flights. */
  flightLog: string[][];
  /** What the server answered to the end of the message. */
  reply: string;
}

export interface RecordingConnection {
  readonly index: number;
  readonly socket: Socket;
  readonly lines: string[];
  /** Every flight of this connection: the command lines (and "<payload n>" / "<data n>" markers) it carried. */
  readonly flights: string[][];
  /** A message abandoned in the middle (connection closed during DATA or between BDAT chunks). */
  discarded: number;
}

export interface RecordingServer {
  port: number;
  readonly connections: RecordingConnection[];
  /** Every command line of every connection, in arrival order. */
  readonly lines: string[];
  readonly messages: RecordedMessage[];
  /** Lines of a verb ("MAIL", "RCPT", "BDAT", ...) over all connections. */
  commands(verb: string): string[];
  close(): Promise<void>;
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

const CRLF = Buffer.from("\r\n");
const END_MARK = Buffer.from("\r\n.\r\n");
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

export async function recordingServer(opts: RecordingServerOptions = {}): Promise<RecordingServer> {
  const extensions = opts.extensions ?? ALL_EXTENSIONS;
  const sizeLine = extensions.find((e) => /^SIZE\b/i.test(e));
  const sizeLimit = sizeLine ? Number(sizeLine.split(/\s+/)[1] ?? 0) : 0;
  const lower = (m: Record<string, string> | undefined): Map<string, string> => new Map(Object.entries(m ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const recipients = lower(opts.recipients);
  const senders = lower(opts.senders);
  const vrfy = lower(opts.vrfy);
  const expn = opts.expn === false ? false : new Map(Object.entries(opts.expn ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const terminal = opts.terminalCommands ?? true;

  const connections: RecordingConnection[] = [];
  const allLines: string[] = [];
  const messages: RecordedMessage[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined); // clients that reset are part of the tests

    const conn: RecordingConnection = { index: connections.length, socket, lines: [], flights: [], discarded: 0 };
    connections.push(conn);

    let input: Buffer = Buffer.alloc(0);
    let tx: Transaction | undefined;
    /** DATA mode: bytes so far, preceded by the CRLF that ended "DATA". */
    let data: Buffer | undefined;
    let bdatLeft = 0;
    let bdatLine = "";
    let bdatLast = false;
    let out: string[] = [];
    let closing = false;
    let idle = true;
    let events = 0;
    let lastCommand = "";
    let rsetFlight = -1;

    const flightIndex = (): number => conn.flights.length - 1;
    const note = (item: string): void => {
      conn.flights[flightIndex()]?.push(item);
    };
    const send = (line: string, replies: string[]): void => {
      const sent = opts.rewrite ? opts.rewrite(line, replies, conn) : replies;
      for (const r of sent) out.push(r + "\r\n");
    };
    const resetTx = (): void => {
      tx = undefined;
      bdatLeft = 0;
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
        flights: flightIndex() - first + 1,
        flightLog: conn.flights.slice(first, flightIndex() + 1),
        reply,
      });
      resetTx();
      return reply;
    };

    const onLine = (line: string): void => {
      conn.lines.push(line);
      allLines.push(line);
      note(line);
      const verb = (line.split(/[ :]/, 1)[0] ?? "").toUpperCase();
      const previous = lastCommand;
      lastCommand = verb;
      switch (verb) {
        case "EHLO":
          resetTx();
          send(line, [["250-recording.test greets you", ...extensions.map((e) => `250-${e}`)].join("\r\n").replace(/250-([^\r\n]*)$/, "250 $1")]);
          return;
        case "HELO":
          resetTx();
          send(line, ["250 recording.test"]);
          return;
        case "MAIL":
        case "SEND":
        case "SOML":
        case "SAML": {
          if (verb !== "MAIL" && !terminal) return send(line, ["502 5.5.1 command not implemented"]);
          if (tx) return send(line, ["503 5.5.1 nested MAIL command"]);
          const m = PATH.exec(line);
          if (!m) return send(line, ["501 5.5.4 syntax: MAIL FROM:<address>"]);
          const mailFrom = m[2] ?? "";
          const params = (m[3] ?? "").trim().split(/\s+/).filter((p) => p !== "");
          const size = param(params, "SIZE");
          if (sizeLimit > 0 && typeof size === "string" && Number(size) > sizeLimit) {
            return send(line, [`552 5.3.4 message size exceeds fixed limit of ${sizeLimit}`]);
          }
          const reply = senders.get(mailFrom.toLowerCase()) ?? "250 2.1.0 Ok";
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
          return send(line, [reply]);
        }
        case "RCPT": {
          if (!tx) return send(line, ["503 5.5.1 need MAIL command"]);
          const m = RCPT.exec(line);
          if (!m) return send(line, ["501 5.5.4 syntax: RCPT TO:<address>"]);
          const address = m[1] ?? "";
          const reply = recipients.get(address.toLowerCase()) ?? "250 2.1.5 Ok";
          const accepted = /^25[01]/.test(reply);
          tx.rcpts.push({ address, params: (m[2] ?? "").trim().split(/\s+/).filter((p) => p !== ""), reply, accepted });
          return send(line, [reply]);
        }
        case "DATA": {
          if (!tx) return send(line, ["503 5.5.1 need MAIL command"]);
          if (!tx.rcpts.some((r) => r.accepted)) return send(line, ["554 5.5.1 no valid recipients"]);
          if (tx.chunks.length > 0) return send(line, ["503 5.5.1 DATA after BDAT"]);
          data = Buffer.from(CRLF);
          return send(line, ["354 End data with <CR><LF>.<CR><LF>"]);
        }
        case "BDAT": {
          const m = BDAT.exec(line);
          if (!m) return send(line, ["501 5.5.4 syntax: BDAT size [LAST]"]);
          bdatLeft = Number(m[1]);
          bdatLine = line;
          bdatLast = m[2] !== undefined;
          if (bdatLeft === 0) endChunk([]);
          return;
        }
        case "RSET":
          resetTx();
          rsetFlight = flightIndex();
          return send(line, ["250 2.0.0 Ok"]);
        case "NOOP":
          return send(line, ["250 2.0.0 Ok"]);
        case "HELP":
          return send(line, ["214-2.0.0 Commands supported:\r\n214-2.0.0 EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY EXPN\r\n214 2.0.0 SEND SOML SAML"]);
        case "VRFY": {
          const arg = line.slice(4).trim().toLowerCase();
          return send(line, [vrfy.get(arg) ?? "550 5.1.1 unknown user"]);
        }
        case "EXPN": {
          if (expn === false) return send(line, ["502 5.5.1 EXPN not available"]);
          const list = expn.get(line.slice(4).trim().toLowerCase());
          if (!list) return send(line, ["550 5.1.1 no such list"]);
          return send(line, [list.map((a, i) => `250${i === list.length - 1 ? " " : "-"}${a}`).join("\r\n")]);
        }
        case "QUIT":
          send(line, ["221 2.0.0 Bye"]);
          closing = true;
          return;
        default:
          return send(line, ["502 5.5.2 command not recognized"]);
      }
    };

    /** The whole payload of the current BDAT is in. */
    const endChunk = (payload: Buffer[]): void => {
      const size = payload.reduce((n, b) => n + b.length, 0);
      if (!tx) return send(bdatLine, ["503 5.5.1 need MAIL command"]);
      tx.chunks.push({ size, last: bdatLast });
      tx.payload.push(...payload);
      if (!tx.rcpts.some((r) => r.accepted)) {
        resetTx();
        return send(bdatLine, ["554 5.5.1 no valid recipients"]);
      }
      if (!bdatLast) return send(bdatLine, [`250 2.0.0 Ok: ${size} octets received`]);
      const reply = finish(tx, "BDAT", Buffer.concat(tx.payload), undefined);
      send(bdatLine, [reply]);
    };

    let chunkParts: Buffer[] = [];
    const consume = (): void => {
      while (input.length > 0 && !closing) {
        if (bdatLeft > 0) {
          const take = Math.min(bdatLeft, input.length);
          chunkParts.push(input.subarray(0, take));
          input = input.subarray(take);
          bdatLeft -= take;
          if (bdatLeft === 0) {
            note(`<payload ${chunkParts.reduce((n, b) => n + b.length, 0)}>`);
            const parts = chunkParts;
            chunkParts = [];
            endChunk(parts);
          }
          continue;
        }
        if (data) {
          const from = Math.max(0, data.length - 4);
          data = Buffer.concat([data, input]);
          input = Buffer.alloc(0);
          const at = data.indexOf(END_MARK, from);
          if (at < 0) break;
          const wire = data.subarray(2, at + 2);
          input = data.subarray(at + END_MARK.length);
          data = undefined;
          note(`<data ${wire.length}>`);
          if (tx) send(".", [finish(tx, "DATA", unstuff(wire), wire)]);
          continue;
        }
        const nl = input.indexOf(CRLF);
        if (nl < 0) break;
        const line = input.subarray(0, nl).toString("utf8");
        input = input.subarray(nl + 2);
        onLine(line);
      }
    };

    socket.on("data", (chunk: Buffer) => {
      events++;
      if (idle) {
        conn.flights.push([]);
        idle = false;
      }
      input = input.length ? Buffer.concat([input, chunk]) : chunk;
      consume();
      if (out.length) {
        const text = out.join("");
        out = [];
        if (socket.writable) socket.write(text);
      }
      if (closing) {
        socket.end();
        return;
      }
      // Everything received is answered and nothing is half-read: the client has to wait for us.
      const quiet = input.length === 0 && bdatLeft === 0 && (data === undefined || data.length === 2);
      if (quiet) {
        const seen = events;
        setImmediate(() => {
          if (events === seen) idle = true;
        });
      }
    });
    socket.on("close", () => {
      if (data !== undefined || bdatLeft > 0 || (tx && tx.chunks.length > 0)) conn.discarded++;
    });
    socket.write((opts.greeting ?? "220 recording.test ESMTP ready") + "\r\n");
  });
  server.on("error", () => undefined);

  const port = await listenLocal(server);

  return {
    port,
    connections,
    lines: allLines,
    messages,
    commands: (verb) => allLines.filter((l) => (l.split(/[ :]/, 1)[0] ?? "").toUpperCase() === verb.toUpperCase()),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
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

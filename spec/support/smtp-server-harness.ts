/**
 * A real SMTP server (the `smtp-server` package) running in-process on
 * 127.0.0.1 and an ephemeral port, recording what it ACTUALLY received:
 * the envelope and the raw DATA bytes (smtp-server removes the dot-stuffing
 * and the end-of-data marker itself).
 *
 * Recipients whose address starts with "reject" are refused with 550 5.1.1;
 * "busy..." recipients get a 450 4.2.1.
 */
import { createHash } from "node:crypto";
import { SMTPServer, type SMTPServerAddress, type SMTPServerError } from "smtp-server";
import { listenLocal } from "./listen.js";

export interface ReceivedMessage {
  mailFrom: string;
  mailFromArgs: Record<string, string | true>;
  rcptTo: string[];
  rcptArgs: Record<string, string | true>[];
  /** The whole message as received (undefined when keepRaw is false). */
  raw: Buffer | undefined;
  /** The header block up to and including the empty line that ends it. */
  head: Buffer;
  /** Bytes after the header block. */
  bodyBytes: number;
  /** sha256 (hex) of the bytes after the header block, computed as they arrived. */
  bodySha256: string;
  totalBytes: number;
}

export interface HarnessOptions {
  /** Keep every message's raw bytes (default true). Large-message tests turn it off. */
  keepRaw?: boolean;
  /** Recipients refused with 550 start with this (case-insensitive). Default "reject". */
  rejectPrefix?: string;
}

export interface Harness {
  port: number;
  received: ReceivedMessage[];
  /** Every RCPT TO address the server saw, in order, duplicates included. */
  rcptCommands: string[];
  /** Every MAIL FROM address the server saw. */
  mailCommands: string[];
  /** Number of TCP sessions the server accepted. */
  connections: number;
  /** Stops the server; client sessions still open are closed. */
  close(): Promise<void>;
}

const HEAD_END = Buffer.from("\r\n\r\n");

export async function startSmtpServer(opts: HarnessOptions = {}): Promise<Harness> {
  const keepRaw = opts.keepRaw ?? true;
  const rejectPrefix = (opts.rejectPrefix ?? "reject").toLowerCase();
  const received: ReceivedMessage[] = [];
  const rcptCommands: string[] = [];
  const mailCommands: string[] = [];
  let connections = 0;

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    hideSTARTTLS: true,
    logger: false,
    closeTimeout: 500,
    disableReverseLookup: true,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onMailFrom(address: SMTPServerAddress, _session, callback) {
      mailCommands.push(address.address);
      callback();
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      rcptCommands.push(address.address);
      const lower = address.address.toLowerCase();
      if (lower.startsWith(rejectPrefix)) {
        const err: SMTPServerError = new Error("5.1.1 mailbox unavailable");
        err.responseCode = 550;
        callback(err);
        return;
      }
      if (lower.startsWith("busy")) {
        const err: SMTPServerError = new Error("4.2.1 mailbox busy, try later");
        err.responseCode = 450;
        callback(err);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const hash = createHash("sha256");
      const chunks: Buffer[] = [];
      // The header block is small: it is kept until its end is found; the
      // body after it is only hashed, never buffered (unless keepRaw).
      let headParts: Buffer[] = [];
      let headLen = 0;
      let head: Buffer | undefined;
      let bodyBytes = 0;
      let total = 0;
      stream.on("data", (chunk: Buffer) => {
        total += chunk.length;
        if (keepRaw) chunks.push(chunk);
        if (head) {
          hash.update(chunk);
          bodyBytes += chunk.length;
          return;
        }
        headParts.push(chunk);
        headLen += chunk.length;
        const joined = Buffer.concat(headParts, headLen);
        const at = joined.indexOf(HEAD_END);
        if (at >= 0) {
          head = joined.subarray(0, at + HEAD_END.length);
          const rest = joined.subarray(at + HEAD_END.length);
          hash.update(rest);
          bodyBytes += rest.length;
          headParts = [];
        } else {
          headParts = [joined];
          if (headLen > 1024 * 1024) {
            // No header/body boundary in the first MiB: treat it all as head.
            head = joined;
            headParts = [];
          }
        }
      });
      stream.on("end", () => {
        const envelope = session.envelope;
        const from = envelope.mailFrom;
        received.push({
          mailFrom: from ? from.address : "",
          mailFromArgs: from && from.args ? { ...from.args } : {},
          rcptTo: envelope.rcptTo.map((r) => r.address),
          rcptArgs: envelope.rcptTo.map((r) => (r.args ? { ...r.args } : {})),
          raw: keepRaw ? Buffer.concat(chunks, total) : undefined,
          head: head ?? Buffer.concat(headParts),
          bodyBytes,
          bodySha256: hash.digest("hex"),
          totalBytes: total,
        });
        callback(null, "OK: queued as test");
      });
      stream.on("error", (err: Error) => callback(err));
    },
  });

  const port = await listenLocal(server.server);
  // Errors of individual client sockets must not crash the test process.
  server.on("error", () => undefined);

  return {
    port,
    received,
    rcptCommands,
    mailCommands,
    get connections() {
      return connections;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The raw message as text (headers and body). */
export function rawText(m: ReceivedMessage | undefined): string {
  if (!m?.raw) throw new Error("no raw message recorded");
  return m.raw.toString("utf8");
}

/** The header block, unfolded, as lower-cased name -> values. */
export function headerMap(m: ReceivedMessage | undefined): Map<string, string[]> {
  if (!m) throw new Error("no message");
  const text = m.head.toString("utf8").replace(/\r\n(?=[ \t])/g, "");
  const map = new Map<string, string[]>();
  for (const line of text.split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    const list = map.get(name) ?? [];
    list.push(line.slice(colon + 1).trim());
    map.set(name, list);
  }
  return map;
}

/** The body of a kept raw message (after the empty line). */
export function bodyOf(m: ReceivedMessage | undefined): Buffer {
  if (!m?.raw) throw new Error("no raw message recorded");
  return m.raw.subarray(m.head.length);
}

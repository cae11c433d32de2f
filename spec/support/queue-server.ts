/**
 * A real SMTP server (`smtp-server`) on 127.0.0.1 and an ephemeral port for
 * the queue specs. Every step can be answered with an error by a hook the test
 * changes at run time (451 first and 250 later, 550 for one recipient, ...),
 * and it records what it accepted: one Delivery per message it said 250 to,
 * keyed by Message-ID, with a sha256 of the exact bytes received.
 *
 * A message whose connection broke during DATA (the client died) is counted in
 * `abortedData`, never as a delivery: the server never said 250 to it.
 */
import { createHash } from "node:crypto";
import { SMTPServer, type SMTPServerAddress, type SMTPServerError } from "smtp-server";
import { Smtp } from "../../src/smtp.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";
import type { QueueProgressEvent } from "../../src/events.js";
import { listenLocal } from "./listen.js";

/** undefined: accept; otherwise refuse with this code and text. */
export type Verdict = { code: number; text: string } | undefined;

export interface QueueServerHooks {
  mailFrom?(address: string): Verdict;
  rcptTo?(address: string): Verdict;
  /** The whole message arrived; a verdict refuses it (the message is then not recorded as delivered). */
  endOfData?(m: { messageId: string; rcptTo: string[] }): Verdict;
  /** The first bytes of a message arrived (the client is in DATA). */
  dataStarted?(): void;
  /**
   * The whole message arrived; true stalls: the end of data is never answered
   * (the client's verdict is lost). Asked before endOfData; counted in heldVerdicts.
   */
  holdVerdict?(m: { messageId: string; rcptTo: string[] }): boolean;
}

export interface Delivery {
  messageId: string;
  mailFrom: string;
  rcptTo: string[];
  rcptArgs: Record<string, string | true>[];
  /** Bytes of the whole message as received (dot-stuffing removed). */
  bytes: number;
  /** sha256 (hex) of the whole message. */
  sha256: string;
  /** sha256 (hex) of the bytes after the header block. */
  bodySha256: string;
  bodyBytes: number;
  /** The whole message, kept only up to `keepRawUpTo` bytes. */
  raw: Buffer | undefined;
}

export interface QueueServer {
  port: number;
  hooks: QueueServerHooks;
  deliveries: Delivery[];
  /** Every MAIL FROM / RCPT TO address seen, in order (refused ones too). */
  mailCommands: string[];
  rcptCommands: string[];
  /** Messages whose end-of-data was refused by the endOfData hook. */
  refusedData: number;
  /** Whole messages left without a verdict by the holdVerdict hook. */
  heldVerdicts: number;
  /** Message transfers that broke off before the end-of-data marker. */
  abortedData: number;
  /** Transfers in progress (data started, not ended). */
  inData: number;
  /** How often each Message-ID was accepted. */
  countById(): Map<string, number>;
  close(): Promise<void>;
}

const HEAD_END = Buffer.from("\r\n\r\n");

function smtpError(v: NonNullable<Verdict>): SMTPServerError {
  const err: SMTPServerError = new Error(v.text);
  err.responseCode = v.code;
  return err;
}

export function messageIdOf(head: Buffer): string {
  const text = head.toString("latin1").replace(/\r\n(?=[ \t])/g, "");
  const m = /^message-id:\s*(.+)$/im.exec(text);
  return m?.[1]?.trim() ?? "";
}

export async function startQueueServer(opts: { keepRawUpTo?: number; hooks?: QueueServerHooks } = {}): Promise<QueueServer> {
  const keepRawUpTo = opts.keepRawUpTo ?? 256 * 1024;
  const state: QueueServer = {
    port: 0,
    hooks: opts.hooks ?? {},
    deliveries: [],
    mailCommands: [],
    rcptCommands: [],
    refusedData: 0,
    heldVerdicts: 0,
    abortedData: 0,
    inData: 0,
    countById() {
      const counts = new Map<string, number>();
      for (const d of state.deliveries) counts.set(d.messageId, (counts.get(d.messageId) ?? 0) + 1);
      return counts;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    hideSTARTTLS: true,
    logger: false,
    closeTimeout: 300,
    disableReverseLookup: true,
    onMailFrom(address: SMTPServerAddress, _session, callback) {
      state.mailCommands.push(address.address);
      const v = state.hooks.mailFrom?.(address.address);
      callback(v ? smtpError(v) : undefined);
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      state.rcptCommands.push(address.address);
      const v = state.hooks.rcptTo?.(address.address);
      callback(v ? smtpError(v) : undefined);
    },
    onData(stream, session, callback) {
      const whole = createHash("sha256");
      const body = createHash("sha256");
      const kept: Buffer[] = [];
      let total = 0;
      let bodyBytes = 0;
      let headParts: Buffer[] = [];
      let head: Buffer | undefined;
      let started = false;
      state.inData++;
      stream.on("data", (chunk: Buffer) => {
        if (!started) {
          started = true;
          state.hooks.dataStarted?.();
        }
        whole.update(chunk);
        total += chunk.length;
        if (total <= keepRawUpTo) kept.push(chunk);
        if (head) {
          body.update(chunk);
          bodyBytes += chunk.length;
          return;
        }
        headParts.push(chunk);
        const joined = Buffer.concat(headParts);
        const at = joined.indexOf(HEAD_END);
        if (at >= 0) {
          head = joined.subarray(0, at + HEAD_END.length);
          const rest = joined.subarray(at + HEAD_END.length);
          body.update(rest);
          bodyBytes += rest.length;
          headParts = [];
        } else {
          headParts = [joined];
        }
      });
      stream.on("end", () => {
        state.inData--;
        const h = head ?? Buffer.concat(headParts);
        const rcptTo = session.envelope.rcptTo.map((r) => r.address);
        const messageId = messageIdOf(h);
        if (state.hooks.holdVerdict?.({ messageId, rcptTo })) {
          // No callback: the client waits for a verdict that never comes.
          state.heldVerdicts++;
          return;
        }
        const v = state.hooks.endOfData?.({ messageId, rcptTo });
        if (v) {
          state.refusedData++;
          callback(smtpError(v));
          return;
        }
        const from = session.envelope.mailFrom;
        state.deliveries.push({
          messageId,
          mailFrom: from ? from.address : "",
          rcptTo,
          rcptArgs: session.envelope.rcptTo.map((r) => (r.args ? { ...(r.args as Record<string, string | true>) } : {})),
          bytes: total,
          sha256: whole.digest("hex"),
          bodySha256: body.digest("hex"),
          bodyBytes,
          raw: total <= keepRawUpTo ? Buffer.concat(kept) : undefined,
        });
        callback(null, "2.0.0 OK: queued");
      });
      stream.on("error", () => {
        // The client went away mid-message: nothing was accepted.
        state.inData--;
        state.abortedData++;
      });
    },
  });
  // Errors of single client connections (a killed worker) must not crash the test process.
  server.on("error", () => undefined);

  state.port = await listenLocal(server.server);
  return state;
}

/** A client for the queue specs: sender, one recipient, a body; `settings` applied with config(). */
export function queueClient(port: number, options: SmtpOptions = {}, settings: Record<string, string | number | boolean> = {}): Smtp {
  const m = new Smtp({
    mailServer: "127.0.0.1",
    mailPort: port,
    timeout: 15,
    from: "Queue Sender <sender@example.com>",
    sendTo: "rcpt@example.com",
    subject: "queued",
    messageText: "hello from the queue\r\n",
    ...options,
  });
  for (const [name, value] of Object.entries(settings)) m.config(`${name}=${value}`);
  return m;
}

/** processQueue(dir) with a fresh queueClient and `settings`; the result and every QueueProgress event. */
export async function processWith(port: number, dir: string, settings: Record<string, string | number | boolean>): Promise<{ result: Awaited<ReturnType<Smtp["processQueue"]>>; progress: QueueProgressEvent[] }> {
  const m = queueClient(port, {}, settings);
  const progress: QueueProgressEvent[] = [];
  m.on("QueueProgress", (e) => progress.push(e));
  const result = await m.processQueue(dir);
  return { result, progress };
}

/** Small helpers for building a client (a plain one, one for the queue specs) and recording what it reports. */
import { expect } from "vitest";
import { Smtp } from "../../src/smtp.js";
import { SmtpError } from "../../src/errors.js";
import type { ConnectionStatusEvent, ErrorEvent, PITrailEvent, QueueProgressEvent, TransferEvent } from "../../src/events.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";

/** A client for 127.0.0.1:port with a sender, one recipient, a subject and a body. */
export function client(port: number, options: SmtpOptions = {}): Smtp {
  return new Smtp({
    mailServer: "127.0.0.1",
    mailPort: port,
    timeout: 10,
    from: "Sender <sender@example.com>",
    sendTo: "rcpt@example.com",
    subject: "test",
    messageText: "hello\r\n",
    ...options,
  });
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

export interface Recorder {
  trail: PITrailEvent[];
  status: ConnectionStatusEvent[];
  errors: ErrorEvent[];
  transfers: { bytesTransferred: number; percentDone: number; textBytes: number }[];
  startTransfer: number;
  endTransfer: number;
  /** Client -> server lines (direction 0). */
  sent(): string[];
}

/** Records every event of `smtp`. */
export function record(smtp: Smtp): Recorder {
  const r: Recorder = {
    trail: [],
    status: [],
    errors: [],
    transfers: [],
    startTransfer: 0,
    endTransfer: 0,
    sent: () => r.trail.filter((t) => t.direction === 0).map((t) => t.message),
  };
  smtp.on("PITrail", (e) => r.trail.push(e));
  smtp.on("ConnectionStatus", (e) => r.status.push(e));
  smtp.on("Error", (e) => r.errors.push(e));
  smtp.on("Transfer", (e: TransferEvent) => r.transfers.push({ bytesTransferred: e.bytesTransferred, percentDone: e.percentDone, textBytes: Buffer.byteLength(e.text, "utf8") }));
  smtp.on("StartTransfer", () => r.startTransfer++);
  smtp.on("EndTransfer", () => r.endTransfer++);
  return r;
}

/** Awaits a rejection and checks it is an SmtpError with `code`; returns it. */
export async function rejectsWith(p: Promise<unknown>, code: number): Promise<SmtpError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught, "expected the call to reject").toBeInstanceOf(SmtpError);
  const err = caught as SmtpError;
  expect({ code: err.code, message: err.message }).toMatchObject({ code });
  return err;
}

/** Calls `fn` and checks it throws an SmtpError with `code` synchronously. */
export function throwsWith(fn: () => unknown, code: number): SmtpError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, "expected the call to throw").toBeInstanceOf(SmtpError);
  const err = caught as SmtpError;
  expect({ code: err.code, message: err.message }).toMatchObject({ code });
  return err;
}

/** Waits until `cond()` is true (polling), failing after `ms`. */
export async function waitFor(cond: () => boolean, ms = 10_000, what = "condition"): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

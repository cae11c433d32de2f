/**
 * SmtpPool: many connections to one server, built from an Smtp used as a
 * template. Messages go to the next free connection; a shared rate limit is
 * checked before each send; stale, old or over-used connections are replaced
 * without failing the message they were chosen for.
 */
import type { Readable } from "node:stream";
import { TypedEmitter } from "tiny-typed-emitter";
import type { RawRecipient } from "../component/compose.js";
import type { SendResult } from "../engine/transaction.js";
import { ErrorCode, SmtpError } from "../errors.js";
import type { SmtpEvents } from "../events.js";
import type { SmtpOptions } from "../schema/accessor-types.js";
import { PROPERTIES } from "../schema/properties.js";
import { HEADER_PROPERTIES, lowerFirst } from "../schema/property-store.js";
import { copyConfiguration, Smtp } from "../smtp.js";
import { RateLimiter } from "./rate-limiter.js";

export interface SmtpPoolOptions {
  /** Connections open at most at once (default 5). */
  maxConnections?: number;
  /** Messages sent on one connection before it is replaced (default 100; 0 = no limit). */
  maxMessagesPerConnection?: number;
  /** A connection older than this (ms) is replaced before its next message (0 = no limit). */
  maxConnectionAge?: number;
  /** An unused connection is closed after this long (ms, default 30000; 0 = never). */
  idleTimeout?: number;
  /** A connection unused for longer than this (ms, default 5000) is checked with NOOP before reuse. */
  idleCheckAfter?: number;
  /** At most `messages` sends start in any window of `intervalMs`, across all connections. */
  rateLimit?: { messages: number; intervalMs: number };
}

type MessageKey = "attachedFile" | "messageHTML" | "bcc" | "cc" | "deliveryNotificationTo" | "from" | "importance" | "message" | "messageDate" | "messageId" | "messageText"
  | "otherHeaders" | "priority" | "readReceiptTo" | "replyTo" | "returnPath" | "sendTo" | "sensitivity" | "subject";

/** One message: the message properties of Smtp by their camelCase names, and optionally a body stream. */
export type PoolMessage = Pick<SmtpOptions, MessageKey | "messageRecipients"> & {
  /** Body read as it is sent (setMessageStream); such a message is never retried. */
  messageStream?: Readable;
};

type Tagged<E> = E & { readonly connectionId: number };
type TaggedEvents = { [K in keyof SmtpEvents]: (e: Tagged<Parameters<SmtpEvents[K]>[0]>) => void };

export interface PoolEvents extends TaggedEvents {
  /** Capacity is free and nothing is queued: feed the next message (pull style). */
  Idle: () => void;
  ConnectionOpened: (e: { connectionId: number }) => void;
  ConnectionClosed: (e: { connectionId: number; reason: string }) => void;
}

/** sendMessage(): a complete message with its own envelope. */
interface RawMessage {
  from: string;
  recipients: readonly RawRecipient[];
  body: string | Buffer | Readable;
}

interface Task {
  message: PoolMessage;
  raw?: RawMessage;
  resolve(result: SendResult): void;
  reject(err: unknown): void;
  attempts: number;
}

interface Worker {
  id: number;
  smtp: Smtp;
  busy: boolean;
  openedAt: number;
  sent: number;
  lastUsed: number;
  idleTimer: NodeJS.Timeout | undefined;
}

/** camelCase name -> IP*Works name for the message properties a PoolMessage may set. */
const MESSAGE_KEYS: ReadonlyMap<string, string> = new Map(
  PROPERTIES.filter((p) => (HEADER_PROPERTIES as readonly string[]).includes(p.name)).map((p) => [("js" in p ? p.js : lowerFirst(p.name)) as string, p.name]),
);

const EVENT_NAMES: readonly (keyof SmtpEvents)[] = [
  "PITrail", "ConnectionStatus", "StartTransfer", "Transfer", "EndTransfer", "Error", "Expand", "SSLServerAuthentication", "SSLStatus", "RecipientStatus",
];

export class SmtpPool extends TypedEmitter<PoolEvents> {
  readonly options: Required<Omit<SmtpPoolOptions, "rateLimit">> & Pick<SmtpPoolOptions, "rateLimit">;
  private readonly template: Smtp;
  private readonly queue: Task[] = [];
  private readonly workers = new Set<Worker>();
  private readonly limiter: RateLimiter | undefined;
  private readonly closeSignal = new AbortController();
  private nextId = 1;
  private closing = false;
  private drained: (() => void) | undefined;
  private draining: Promise<void> | undefined;

  constructor(template: Smtp | SmtpOptions = {}, options: SmtpPoolOptions = {}) {
    super();
    // A snapshot: later changes to the caller's template do not leak into the pool.
    this.template = new Smtp();
    copyConfiguration(template instanceof Smtp ? template : new Smtp(template), this.template);
    this.options = {
      maxConnections: positive("maxConnections", options.maxConnections ?? 5, 1),
      maxMessagesPerConnection: positive("maxMessagesPerConnection", options.maxMessagesPerConnection ?? 100, 0),
      maxConnectionAge: positive("maxConnectionAge", options.maxConnectionAge ?? 0, 0),
      idleTimeout: positive("idleTimeout", options.idleTimeout ?? 30000, 0),
      idleCheckAfter: positive("idleCheckAfter", options.idleCheckAfter ?? 5000, 0),
      rateLimit: options.rateLimit,
    };
    if (options.rateLimit) {
      const { messages, intervalMs } = options.rateLimit;
      positive("rateLimit.messages", messages, 1);
      positive("rateLimit.intervalMs", intervalMs, 1);
      this.limiter = new RateLimiter(messages, intervalMs);
    }
  }

  /** Messages waiting for a connection. */
  get pending(): number {
    return this.queue.length;
  }

  /** Connections open or being opened. */
  get connectionCount(): number {
    return this.workers.size;
  }

  /** Queues a message; resolves with its per-recipient result once the server took it. */
  send(message: PoolMessage): Promise<SendResult> {
    if (this.closing) return Promise.reject(new SmtpError(ErrorCode.Interrupted, "the pool is closing; no new messages are taken"));
    for (const key of Object.keys(message)) {
      if (key !== "messageStream" && key !== "messageRecipients" && !MESSAGE_KEYS.has(key)) {
        return Promise.reject(new SmtpError(ErrorCode.InvalidValue, `"${key}" is not a message property; connection settings belong to the pool's template`));
      }
    }
    return new Promise<SendResult>((resolve, reject) => {
      this.queue.push({ message, resolve, reject, attempts: 0 });
      this.pump();
    });
  }

  /** Queues a complete message with its own envelope (Smtp.sendMessage() on the next free connection). */
  sendMessage(from: string, recipients: string | readonly RawRecipient[], body: string | Buffer | Readable): Promise<SendResult> {
    if (this.closing) return Promise.reject(new SmtpError(ErrorCode.Interrupted, "the pool is closing; no new messages are taken"));
    const list = typeof recipients === "string" ? [recipients] : recipients;
    return new Promise<SendResult>((resolve, reject) => {
      this.queue.push({ message: {}, raw: { from, recipients: list, body }, resolve, reject, attempts: 0 });
      this.pump();
    });
  }

  /**
   * Drains: waits for queued and in-flight messages, then QUIT on every
   * connection. With `force`, queued messages are rejected (301) and
   * connections in flight are interrupted.
   */
  async close(opts: { force?: boolean } = {}): Promise<void> {
    this.closing = true;
    if (opts.force) {
      this.closeSignal.abort(new SmtpError(ErrorCode.Interrupted, "the pool was closed"));
      for (const task of this.queue.splice(0)) task.reject(new SmtpError(ErrorCode.Interrupted, "the pool was closed before this message was sent"));
      await Promise.all([...this.workers].map((w) => (w.busy ? w.smtp.interrupt() : undefined)));
    } else if (this.queue.length || [...this.workers].some((w) => w.busy)) {
      // Every caller of close() waits for the same drain.
      await (this.draining ??= new Promise<void>((resolve) => (this.drained = resolve)));
    }
    await Promise.all([...this.workers].map((w) => this.retire(w, "pool closed")));
  }

  private pump(): void {
    while (this.queue.length) {
      const worker = this.freeWorker();
      if (!worker) return;
      const task = this.queue.shift() as Task;
      worker.busy = true;
      if (worker.idleTimer) clearTimeout(worker.idleTimer);
      void this.run(worker, task).finally(() => this.release(worker));
    }
  }

  private freeWorker(): Worker | undefined {
    for (const w of this.workers) if (!w.busy) return w;
    if (this.workers.size >= this.options.maxConnections) return undefined;
    const smtp = new Smtp();
    copyConfiguration(this.template, smtp);
    const worker: Worker = { id: this.nextId++, smtp, busy: false, openedAt: 0, sent: 0, lastUsed: 0, idleTimer: undefined };
    for (const name of EVENT_NAMES) {
      smtp.on(name, (e: object) => {
        // The same object, so SSLServerAuthentication listeners can still set accept.
        (this.emit as (event: string, arg: object) => boolean)(name, Object.assign(e, { connectionId: worker.id }));
      });
    }
    this.workers.add(worker);
    return worker;
  }

  private release(worker: Worker): void {
    worker.busy = false;
    worker.lastUsed = performance.now();
    if (this.queue.length) {
      this.pump();
      return;
    }
    if (this.closing) {
      if (![...this.workers].some((w) => w.busy)) this.drained?.();
      return;
    }
    if (this.options.idleTimeout > 0 && this.workers.has(worker)) {
      worker.idleTimer = setTimeout(() => {
        if (!worker.busy) void this.retire(worker, "idle timeout");
      }, this.options.idleTimeout);
      worker.idleTimer.unref();
    }
    this.emit("Idle");
  }

  private async run(worker: Worker, task: Task): Promise<void> {
    let release: (() => void) | undefined;
    const signal = this.closeSignal.signal;
    try {
      // Connection set-up first: its time must not eat into the rate window.
      await this.ready(worker);
      release = await this.limiter?.acquire(signal);
      let result: SendResult;
      if (task.raw) result = await worker.smtp.sendMessage(task.raw.from, task.raw.recipients, task.raw.body, { signal });
      else {
        apply(worker.smtp, task.message);
        result = await worker.smtp.send({ signal });
      }
      worker.sent++;
      task.resolve(result);
    } catch (e) {
      const err = e instanceof SmtpError ? e : new SmtpError(ErrorCode.Communication, String(e), { cause: e });
      const streamed = task.message.messageStream !== undefined || (task.raw !== undefined && typeof task.raw.body !== "string" && !Buffer.isBuffer(task.raw.body));
      if (!this.closeSignal.signal.aborted && task.attempts === 0 && retryable(err) && !streamed) {
        // The server cannot have taken it: once more, on a fresh connection.
        task.attempts++;
        await this.disconnect(worker, `retrying after: ${err.message}`);
        this.queue.unshift(task);
        return;
      }
      if (!worker.smtp.getConnected()) await this.disconnect(worker, err.message);
      task.reject(err);
    } finally {
      release?.();
    }
  }

  /** Opens, replaces or checks the worker's connection before a message. */
  private async ready(worker: Worker): Promise<void> {
    const { maxMessagesPerConnection: maxMessages, maxConnectionAge: maxAge, idleCheckAfter } = this.options;
    const now = performance.now();
    if (worker.smtp.getConnected()) {
      if ((maxMessages > 0 && worker.sent >= maxMessages) || (maxAge > 0 && now - worker.openedAt >= maxAge)) {
        await this.disconnect(worker, maxMessages > 0 && worker.sent >= maxMessages ? "message limit reached" : "maximum age reached");
      } else if (idleCheckAfter > 0 && now - worker.lastUsed >= idleCheckAfter) {
        // Idle connections die silently (server timeouts, NAT): check before trusting one with a message.
        const alive = await worker.smtp.sendCommand("NOOP", { signal: this.closeSignal.signal }).then((r) => r.code === 250, () => false);
        if (!alive) await this.disconnect(worker, "failed the idle check (NOOP)");
      }
    }
    // The server closed it while idle: report the close before opening anew.
    if (!worker.smtp.getConnected() && worker.openedAt > 0) await this.disconnect(worker, "closed by the server");
    if (!worker.smtp.getConnected()) {
      await worker.smtp.connect({ signal: this.closeSignal.signal });
      worker.openedAt = performance.now();
      worker.sent = 0;
      this.emit("ConnectionOpened", { connectionId: worker.id });
    }
  }

  private async disconnect(worker: Worker, reason: string): Promise<void> {
    const was = worker.smtp.getConnected() || worker.openedAt > 0;
    await worker.smtp.disconnect().catch(() => undefined);
    if (was) this.emit("ConnectionClosed", { connectionId: worker.id, reason });
    worker.openedAt = 0;
  }

  private async retire(worker: Worker, reason: string): Promise<void> {
    if (worker.idleTimer) clearTimeout(worker.idleTimer);
    this.workers.delete(worker);
    await this.disconnect(worker, reason);
  }
}

/** Sets the message on the worker's Smtp (headers reset first: nothing leaks from the last message). */
function apply(smtp: Smtp, message: PoolMessage): void {
  smtp.resetHeaders();
  for (const [key, value] of Object.entries(message)) {
    if (value === undefined) continue;
    if (key === "messageStream") smtp.setMessageStream(value as Readable);
    else if (key === "messageRecipients") smtp.messageRecipients = value as NonNullable<PoolMessage["messageRecipients"]>;
    else (smtp as unknown as Record<string, unknown>)[key] = value;
  }
}

/** A failure the server cannot have turned into a delivery: a 421, or a connection lost before the end of the message. */
function retryable(err: SmtpError): boolean {
  if (err.deliveryUnknown) return false;
  if (err.replyCode === 421) return true;
  return err.isNetwork() && err.replyCode === undefined;
}

function positive(name: string, value: number, min: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new SmtpError(ErrorCode.InvalidValue, `SmtpPool option ${name} must be a number >= ${min}; got ${String(value)}`);
  }
  return value;
}

/**
 * SmtpPool: many connections to one server, built from an Smtp used as a
 * template. Messages go to the next free connection; a shared rate limit is
 * checked before each send; stale, old or over-used connections are replaced
 * without failing the message they were chosen for.
 */
import type { EventEmitter } from "node:events";
import type { Readable } from "node:stream";
import { TypedEmitter } from "tiny-typed-emitter";
import { rawMessage, type RawRecipient } from "../component/compose.js";
import type { SendResult } from "../engine/transaction.js";
import { ErrorCode, SmtpError } from "../errors.js";
import { EVENT_NAMES, type SmtpEvents } from "../events.js";
import { clientOf, SmtpClient } from "../client/smtp-client.js";
import type { SeriesMessage } from "../client/series.js";
import type { SmtpOptions } from "../schema/accessor-types.js";
import { applyOptions } from "../schema/apply-options.js";
import { checkMessageKeys, type MessageObject } from "../component/mail-message.js";
import { RateLimiter } from "./rate-limiter.js";
import { TaskQueue } from "./task-queue.js";

/** The limits of an SmtpPool: connections, their lifetime and idle handling, and the rate limit. */
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

/** One message: a message object ({ from, to, subject, text, ... }) or the message properties of Smtp by their camelCase names, and optionally a body stream. */
export type PoolMessage = MessageObject;

type Tagged<E> = E & { readonly connectionId: number };
type TaggedEvents = { [K in keyof SmtpEvents]: (e: Tagged<Parameters<SmtpEvents[K]>[0]>) => void };

/** The events of an SmtpPool: every Smtp event with the `connectionId` of the connection it came from, and the pool's own. */
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
  /** The Message-ID it was first composed with: every retry keeps it, so receivers can de-duplicate. */
  messageId?: string;
}

/** A pool is built from an Smtp (its configuration is copied) or from Smtp's constructor options. */
export type PoolTemplate = SmtpOptions | { config(configurationString: string): string };

interface Worker {
  id: number;
  client: SmtpClient;
  busy: boolean;
  openedAt: number;
  /** Messages started on the current connection. */
  started: number;
  lastUsed: number;
  idleTimer: NodeJS.Timeout | undefined;
  /** Events relayed from this worker's client. */
  forwarded: Set<keyof SmtpEvents>;
}


/**
 * Many connections to one server, built from an `Smtp` (or its options) used as a template:
 * `send()` queues a message and resolves with its `SendResult`; up to `maxConnections` sessions
 * send in parallel under a shared rate limit, and a failed send is retried only when it is safe
 * (see docs/pool.md). `close()` ends every connection.
 */
export class SmtpPool extends TypedEmitter<PoolEvents> {
  /** The pool's options with their defaults filled in. */
  readonly options: Required<Omit<SmtpPoolOptions, "rateLimit">> & Pick<SmtpPoolOptions, "rateLimit">;
  private readonly template: SmtpClient;
  private readonly queue = new TaskQueue<Task>();
  private readonly workers = new Set<Worker>();
  private readonly limiter: RateLimiter | undefined;
  private readonly closeSignal = new AbortController();
  private nextId = 1;
  private closing = false;
  private drained: (() => void) | undefined;
  private draining: Promise<void> | undefined;

  /**
   * @param template An `Smtp` (its connection, TLS, AUTH and config settings are copied now) or `SmtpOptions`.
   * @param options Connections, message and age limits, idle handling and the rate limit.
   */
  constructor(template: PoolTemplate | SmtpClient = {}, options: SmtpPoolOptions = {}) {
    super();
    // A snapshot: later changes to the caller's template do not leak into the pool.
    const source = template instanceof SmtpClient ? template : clientOf(template);
    if (source) this.template = source.derived();
    else {
      this.template = new SmtpClient();
      applyOptions(this.template.store, template as SmtpOptions);
    }
    this.options = {
      maxConnections: positive("maxConnections", options.maxConnections ?? 5, 1),
      maxMessagesPerConnection: positive("maxMessagesPerConnection", options.maxMessagesPerConnection ?? 100, 0),
      maxConnectionAge: positive("maxConnectionAge", options.maxConnectionAge ?? 0, 0),
      idleTimeout: positive("idleTimeout", options.idleTimeout ?? 30000, 0),
      idleCheckAfter: positive("idleCheckAfter", options.idleCheckAfter ?? 5000, 0),
      rateLimit: options.rateLimit,
    };
    // A listener added later is served by the connections already open too.
    (this as EventEmitter).on("newListener", (name: string | symbol) => {
      if (!(EVENT_NAMES as readonly (string | symbol)[]).includes(name)) return;
      for (const w of this.workers) this.forward(w, name as keyof SmtpEvents);
    });
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
    try {
      checkMessageKeys(message);
    } catch (e) {
      return Promise.reject(e);
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
      for (const task of this.queue.takeAll()) task.reject(new SmtpError(ErrorCode.Interrupted, "the pool was closed before this message was sent"));
      await Promise.all([...this.workers].map((w) => (w.busy ? w.client.interrupt() : undefined)));
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
      void this.work(worker, task).finally(() => this.release(worker));
    }
  }

  private freeWorker(): Worker | undefined {
    for (const w of this.workers) if (!w.busy) return w;
    if (this.workers.size >= this.options.maxConnections) return undefined;
    const worker: Worker = { id: this.nextId++, client: this.template.derived(), busy: false, openedAt: 0, started: 0, lastUsed: 0, idleTimer: undefined, forwarded: new Set() };
    this.workers.add(worker);
    for (const name of EVENT_NAMES) if (this.listenerCount(name)) this.forward(worker, name);
    return worker;
  }

  /**
   * Relays one event of a worker's client, tagged with the connection id. Only
   * events the pool has listeners for are relayed: with none, the client builds
   * no event objects at all.
   */
  private forward(worker: Worker, name: keyof SmtpEvents): void {
    if (worker.forwarded.has(name)) return;
    worker.forwarded.add(name);
    worker.client.events.on(name, (e: object) => {
      // The same object, so SSLServerAuthentication listeners can still set accept.
      (this.emit as (event: string, arg: object) => boolean)(name, Object.assign(e, { connectionId: worker.id }));
    });
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

  /**
   * One turn of a worker: readies its connection for `first`, then sends
   * `first` and whatever else is queued on it as one pipelined series, until
   * the queue is empty, a per-connection limit is reached or the connection
   * fails. Messages the server cannot have taken are queued again once the
   * connection is closed, so their retry happens on a new one.
   */
  private async work(worker: Worker, first: Task): Promise<void> {
    const signal = this.closeSignal.signal;
    try {
      // Connection set-up first: its time must not eat into the rate window.
      await this.ready(worker);
    } catch (e) {
      const err = SmtpError.from(e);
      if (this.retries(first, err)) {
        first.attempts++;
        await this.disconnect(worker, `retrying after: ${err.message}`);
        this.queue.unshift(first);
        return;
      }
      if (!worker.client.connected) await this.disconnect(worker, err.message);
      first.reject(err);
      return;
    }
    let pending: Task | undefined = first;
    const retry: Task[] = [];
    let stop: string | undefined;
    const next = async (): Promise<SeriesMessage<SmtpClient> | undefined> => {
      const task = pending ?? (stop === undefined ? this.continueOn(worker) : undefined);
      pending = undefined;
      if (!task) return undefined;
      let release: (() => void) | undefined;
      try {
        release = await this.limiter?.acquire(signal);
      } catch (e) {
        task.reject(SmtpError.from(e));
        return undefined;
      }
      worker.started++;
      return {
        prepare: (client) => {
          if (task.raw) return rawMessage(task.raw.from, task.raw.recipients, task.raw.body);
          // Headers reset first: nothing leaks from the last message.
          client.setMessage(task.message);
          if (task.messageId !== undefined && task.message.messageId === undefined) client.store.set("MessageId", task.messageId);
          return undefined;
        },
        composed: (messageId) => {
          task.messageId ??= messageId;
        },
        settle: (result, error, turnMissed) => {
          if (result) task.resolve(result);
          else {
            const err = error ?? new SmtpError(ErrorCode.Communication, "the message failed");
            if (turnMissed && !signal.aborted) {
              // The connection died under the message before: this one goes again as it is, using no attempt.
              retry.push(task);
              stop ??= err.message;
            } else if (this.retries(task, err)) {
              // The server cannot have taken it: once more, on a fresh connection.
              task.attempts++;
              retry.push(task);
              stop ??= `retrying after: ${err.message}`;
            } else {
              if (!worker.client.connected) stop ??= err.message;
              task.reject(err);
            }
          }
          release?.();
        },
      };
    };
    try {
      await worker.client.series(next, { signal });
    } catch (e) {
      // The series could not start (the pool was closed with force): the first message was never taken.
      if (pending) pending.reject(SmtpError.from(e));
    }
    if (stop !== undefined || !worker.client.connected) await this.disconnect(worker, stop ?? "closed by the server");
    this.queue.unshift(...retry);
  }

  /** The next queued message for a worker whose connection may carry on, if any. */
  private continueOn(worker: Worker): Task | undefined {
    const { maxMessagesPerConnection: maxMessages, maxConnectionAge: maxAge } = this.options;
    if (this.closeSignal.signal.aborted || !worker.client.connected) return undefined;
    if (maxMessages > 0 && worker.started >= maxMessages) return undefined;
    if (maxAge > 0 && performance.now() - worker.openedAt >= maxAge) return undefined;
    return this.queue.shift();
  }

  /** A message may be retried once, unless the pool was closed with force or its body was a stream. */
  private retries(task: Task, err: SmtpError): boolean {
    const streamed = task.message.messageStream !== undefined || (task.raw !== undefined && typeof task.raw.body !== "string" && !Buffer.isBuffer(task.raw.body));
    return !this.closeSignal.signal.aborted && task.attempts === 0 && retryable(err) && !streamed;
  }

  /** Opens, replaces or checks the worker's connection before a message. */
  private async ready(worker: Worker): Promise<void> {
    const { maxMessagesPerConnection: maxMessages, maxConnectionAge: maxAge, idleCheckAfter } = this.options;
    const now = performance.now();
    if (worker.client.connected) {
      if ((maxMessages > 0 && worker.started >= maxMessages) || (maxAge > 0 && now - worker.openedAt >= maxAge)) {
        await this.disconnect(worker, maxMessages > 0 && worker.started >= maxMessages ? "message limit reached" : "maximum age reached");
      } else if (idleCheckAfter > 0 && now - worker.lastUsed >= idleCheckAfter) {
        // Idle connections die silently (server timeouts, NAT): check before trusting one with a message.
        const alive = await worker.client.sendCommand("NOOP", { signal: this.closeSignal.signal }).then((r) => r.code === 250, () => false);
        if (!alive) await this.disconnect(worker, "failed the idle check (NOOP)");
      }
    }
    // The server closed it while idle: report the close before opening anew.
    if (!worker.client.connected && worker.openedAt > 0) await this.disconnect(worker, "closed by the server");
    if (!worker.client.connected) {
      await worker.client.connect({ signal: this.closeSignal.signal });
      worker.openedAt = performance.now();
      worker.started = 0;
      this.emit("ConnectionOpened", { connectionId: worker.id });
    }
  }

  private async disconnect(worker: Worker, reason: string): Promise<void> {
    const was = worker.client.connected || worker.openedAt > 0;
    await worker.client.disconnect().catch(() => undefined);
    if (was) this.emit("ConnectionClosed", { connectionId: worker.id, reason });
    worker.openedAt = 0;
  }

  private async retire(worker: Worker, reason: string): Promise<void> {
    if (worker.idleTimer) clearTimeout(worker.idleTimer);
    this.workers.delete(worker);
    await this.disconnect(worker, reason);
  }
}

/**
 * A failure the server cannot have turned into a delivery: a 421, a
 * connection lost before the end of the message, or replies out of step
 * (the connection is closed; a fresh one may do better).
 */
function retryable(err: SmtpError): boolean {
  if (err.deliveryUnknown) return false;
  if (err.replyCode === 421 || err.code === ErrorCode.MalformedReply) return true;
  return err.isNetwork() && err.replyCode === undefined;
}


function positive(name: string, value: number, min: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new SmtpError(ErrorCode.InvalidValue, `SmtpPool option ${name} must be a number >= ${min}; got ${String(value)}`);
  }
  return value;
}

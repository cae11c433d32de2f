/**
 * The Smtp component: IP*Works-style properties, methods and events over the
 * shared engine. It holds state (properties, the open session) and turns
 * engine callbacks into events; the protocol lives in engine/.
 */
import { promises as fsp } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { TypedEmitter } from "tiny-typed-emitter";
import type { X509Certificate } from "node:crypto";
import { composeMessage, mimeEntity, rawMessage, type ComposedMessage, type ComposeExtras, type PreparedEntity, type RawRecipient } from "./component/compose.js";
import type { EncryptOptions, SignOptions, SmimeCredentials } from "./smime/index.js";
import { argument, expand as expandList, rawCommand, verify as verifyAddress } from "./engine/commands.js";
import { authOptions, sessionOptions, type TlsHooks } from "./component/session-options.js";
import { deliverDirect } from "./component/direct-delivery.js";
import { dkimOptions, signComposed } from "./component/dkim-signing.js";
import { newQueueId } from "./queue/queue-claims.js";
import { fileError, QUEUE_FORMAT_VERSION, writeQueueFile } from "./queue/queue-file.js";
import { processQueueDirectory, type QueueResult } from "./queue/queue-processor.js";
import { SmtpPool } from "./pool/smtp-pool.js";
import { authenticate, type TokenRefreshRequest } from "./engine/authenticator.js";
import { readPemOrPath } from "./transport/pem-source.js";
import type { ServerCertificateCheck } from "./transport/tls-upgrade.js";
import type { Connector } from "./transport/connector.js";
import type { ServerCapabilities } from "./engine/capabilities.js";
import type { SmtpReply } from "./engine/reply.js";
import { interrupted, SmtpSession, type SessionEvents } from "./engine/session.js";
import type { TransferProgress } from "./engine/data-transfer.js";
import { deliveryUnknown, runTransaction, type RecipientResult, type SendResult, type TransactionHooks, type TransactionPlan } from "./engine/transaction.js";
import { messageForServer, planTransaction } from "./component/transaction-plan.js";
import { ErrorCode, SmtpError } from "./errors.js";
import type { SmtpEvents, TransferEvent } from "./events.js";
import type { GeneratedAccessors, SmtpOptions } from "./schema/accessor-types.js";
import { installAccessors } from "./schema/install-accessors.js";
import { PropertyStore } from "./schema/property-store.js";

/** Options every async method accepts. */
export interface CallOptions {
  /** Aborting it has the effect of interrupt(): the call rejects with code 301. */
  signal?: AbortSignal;
}

const stores = new WeakMap<object, PropertyStore>();

function storeOf(self: object): PropertyStore {
  const store = stores.get(self);
  if (!store) throw new TypeError("not an Smtp object");
  return store;
}

// The generated accessors (getMailServer, setMailServer, mailServer, ...) are
// declared here for the compiler and installed on the prototype below.
export interface Smtp extends GeneratedAccessors {}

export class Smtp extends TypedEmitter<SmtpEvents> {
  #session: SmtpSession | undefined;
  /** connect() was called (and not disconnect()): sends keep their connection open, reopening it if the server closed it. */
  #kept = false;
  #operation: AbortController | undefined;
  #controller: AbortController | undefined;
  #stream: Readable | undefined;
  #serverCert: X509Certificate | undefined;
  #lastRecipients: readonly RecipientResult[] = [];
  /** Buffer / stream sources of Attachments entries, keyed by the entry. */
  #attachmentSources = new WeakMap<object, Buffer | Readable>();
  /** The S/MIME entity made by sign() / encrypt(). */
  #prepared: PreparedEntity | undefined;

  /**
   * Called when the server refuses an XOAUTH2 / OAUTHBEARER token: return a
   * fresh token (or a Promise of one) and AUTH is tried once more; return
   * undefined to give up.
   */
  tokenRefresher: ((request: TokenRefreshRequest) => Promise<string | undefined> | string | undefined) | undefined;

  /**
   * Opens the stream sessions run on instead of TCP to MailServer (a Unix
   * socket, a tunnel, a test harness). TLS and everything else run on top.
   */
  connector: Connector | undefined;

  constructor(options: SmtpOptions = {}) {
    super();
    stores.set(this, new PropertyStore({ isConnected: () => this.#session?.isOpen === true }));
    seriesRunners.set(this, (next, opts) => this.#series(next, opts));
    this.#applyOptions(options);
  }

  // ---- Connected (custom: its setter connects or disconnects) ----

  getConnected(): boolean {
    return this.#session?.isOpen === true;
  }

  /** setConnected(true) is connect(), setConnected(false) is disconnect(). */
  setConnected(value: boolean): Promise<void> {
    if (typeof value !== "boolean") return Promise.reject(new SmtpError(ErrorCode.InvalidValue, "Connected must be true or false"));
    return value ? this.connect() : this.disconnect();
  }

  get connected(): boolean {
    return this.getConnected();
  }

  /** Assignment cannot be awaited: a failure is reported through the Error event. */
  set connected(value: boolean) {
    this.setConnected(value).catch((e: unknown) => {
      const err = toSmtpError(e);
      this.#emitError(err.code, err.message);
    });
  }

  /** The server's certificate from the last TLS handshake (undefined before one). */
  getSSLServerCert(): X509Certificate | undefined {
    return this.#serverCert;
  }

  get sslServerCert(): X509Certificate | undefined {
    return this.#serverCert;
  }

  /**
   * Logs in on the open connection (SocketTools' Authenticate): for when
   * User was set after connect(). connect() does this itself when User is set.
   */
  authenticate(opts: CallOptions = {}): Promise<void> {
    return this.#run(opts, async () => {
      const session = this.#session;
      if (!session?.isOpen) throw new SmtpError(ErrorCode.NotConnected, "authenticate() needs an open connection: call connect() first");
      if (session.authenticated) return;
      const login = authOptions(storeOf(this), this.tokenRefresher);
      if (!login) throw new SmtpError(ErrorCode.InvalidValue, "User is empty: set User (and Password) before authenticate()");
      await authenticate(session, login);
    });
  }

  /** What the server announced in its EHLO reply (undefined when not connected). */
  get serverCapabilities(): ServerCapabilities | undefined {
    return this.#session?.capabilities;
  }

  // ---- methods ----

  /** config("Name=Value") sets a setting; config("Name") returns its current value. */
  config(configurationString: string): string {
    return storeOf(this).config(configurationString);
  }

  /** Opens the connection and greets the server (EHLO / HELO). */
  connect(opts: CallOptions = {}): Promise<void> {
    return this.#run(opts, async (signal) => {
      await this.#ensureSession(signal);
      this.#kept = true;
    });
  }

  /** QUIT and close. Not an error when not connected. */
  disconnect(opts: CallOptions = {}): Promise<void> {
    return this.#run(opts, async () => {
      const session = this.#session;
      this.#session = undefined;
      this.#kept = false;
      if (session) await session.quit();
    });
  }

  /**
   * Sends the message. Connects first when not connected, and then closes
   * the connection again afterwards; on a connection opened with connect()
   * the connection stays open (and one the server closed meanwhile is
   * opened again, and kept, until disconnect()).
   */
  send(opts: CallOptions = {}): Promise<SendResult> {
    return this.#run(opts, (signal) => this.#send("MAIL", signal));
  }

  /** Like send(), with SEND FROM (RFC 821: deliver to the user's terminal only). */
  sendToTerminalOnly(opts: CallOptions = {}): Promise<SendResult> {
    return this.#run(opts, (signal) => this.#send("SEND", signal));
  }

  /** Like send(), with SOML FROM (RFC 821: the terminal if the user is logged in, else the mailbox). */
  sendToTerminalOrEmail(opts: CallOptions = {}): Promise<SendResult> {
    return this.#run(opts, (signal) => this.#send("SOML", signal));
  }

  /** Like send(), with SAML FROM (RFC 821: the terminal and the mailbox). */
  sendToTerminalAndEmail(opts: CallOptions = {}): Promise<SendResult> {
    return this.#run(opts, (signal) => this.#send("SAML", signal));
  }

  /** The per-recipient outcome of the last send (empty before one). */
  getRecipientResults(): readonly RecipientResult[] {
    return this.#lastRecipients;
  }

  get recipientResults(): readonly RecipientResult[] {
    return this.#lastRecipients;
  }

  async #send(verb: TransactionPlan["verb"], signal: AbortSignal, raw?: ComposedMessage): Promise<SendResult> {
    this.#lastRecipients = [];
    // Everything that can be refused locally is refused before connecting.
    const composed = await this.#compose(raw);
    return this.#sendComposed(verb, signal, composed, raw !== undefined);
  }

  /** The message as it will be sent (DKIM-signed when the settings ask for it); `raw` is a complete one from sendMessage(). */
  async #compose(raw?: ComposedMessage): Promise<ComposedMessage> {
    return this.#dkim(raw ?? (await composeMessage(storeOf(this), this.#stream, this.#composeExtras())));
  }

  async #sendComposed(verb: TransactionPlan["verb"], signal: AbortSignal, composed: ComposedMessage, raw: boolean, series?: SeriesStep): Promise<SendResult> {
    this.#lastRecipients = [];
    try {
      return await this.#deliver(verb, signal, composed, raw, series);
    } finally {
      await composed.cleanup?.();
    }
  }

  /**
   * SmtpPool's send loop on this object's open connection: one method call,
   * many messages. Each message's envelope is written together with the end
   * of the previous one (RFC 2920), and each message is composed while the
   * previous one waits for its replies, so a steady stream costs one write
   * and one round trip per message. Only the open connection is used: once it
   * is gone the series ends, and the pool decides what to do next.
   */
  #series(next: () => Promise<SeriesMessage | undefined>, opts: CallOptions): Promise<void> {
    return this.#run(opts, async (signal) => {
      const store = storeOf(this);
      // AbsoluteTimeout bounds one method call, meant as one send: with it, a series is one message.
      const overlap = !(store.bool("AbsoluteTimeout") && store.number("Timeout") > 0);
      const inFlight = new Set<Promise<void>>();
      let previous: Promise<unknown> | undefined;
      while (this.#session?.isOpen && !signal.aborted) {
        const item = await next();
        if (!item) break;
        let composed: ComposedMessage;
        let raw: boolean;
        try {
          const complete = item.prepare(this);
          raw = complete !== undefined;
          composed = await this.#compose(complete);
          item.composed?.(composed.headers.find((h) => h.field.toLowerCase() === "message-id")?.value);
        } catch (e) {
          item.settle(undefined, failureOf(e, signal), false);
          continue;
        }
        // The message before has written its end of data, or is over.
        if (previous) await previous;
        let handedOver: () => void = () => undefined;
        const handover = new Promise<void>((resolve) => (handedOver = resolve));
        const step: SeriesStep = { session: this.#session, handover: overlap ? handedOver : undefined, started: false };
        const done = this.#sendComposed("MAIL", signal, composed, raw, step).then(
          (result) => item.settle(result, undefined, false),
          (e: unknown) => item.settle(undefined, failureOf(e, signal), !step.started),
        );
        inFlight.add(done);
        void done.finally(() => inFlight.delete(done));
        if (!overlap) break;
        previous = Promise.race([handover, done]);
        // Compose the next message once this one's commands are on the wire, not before.
        await flushed();
      }
      await Promise.all(inFlight);
    });
  }

  /** Adds the DKIM signature when the DKIM settings are set. */
  async #dkim(composed: ComposedMessage): Promise<ComposedMessage> {
    // A streamed complete message (sendMessage(stream), processQueue) is sent as it is: queue() signed it already.
    if (composed.prebuilt && !composed.parts.every((p) => Buffer.isBuffer(p))) return composed;
    const options = dkimOptions(storeOf(this));
    return options ? signComposed(composed, options, storeOf(this).int("MaxHeaderLength")) : composed;
  }

  async #deliver(verb: TransactionPlan["verb"], signal: AbortSignal, composed: ComposedMessage, raw: boolean, series?: SeriesStep): Promise<SendResult> {
    const store = storeOf(this);
    this.#publishHeaders(composed.headers.map((h) => ({ Field: h.field, Value: h.value })), composed.headersString);
    if (store.string("MailServer").trim() === "" && store.bool("DirectDelivery") && !this.getConnected()) {
      if (!raw) this.#stream = undefined;
      return deliverDirect(store, composed, {
        open: (address, name, sig) => SmtpSession.open(
          sessionOptions(store, this.#tlsHooks(), { address, port: store.int("DirectDeliveryPort"), name }),
          this.#sessionEvents(),
          sig,
        ),
        hooks: this.#transactionHooks(),
        sign: (message) => this.#dkim(message),
        failed: (err) => this.#emitError(err.code, err.message),
        trail: (message) => this.emit("PITrail", { direction: 2, message }),
      }, signal);
    }
    const transact = (session: SmtpSession, message: ComposedMessage = composed): Promise<SendResult> => {
      // As this server takes it: 7-bit (DKIM-signed again) without 8BITMIME; streams sent as they are get checked.
      const ready = messageForServer(store, session, message, (m) => this.#dkim(m));
      if (ready instanceof Promise) return ready.then((m) => transact(session, m));
      const { envelope, plan, notes } = planTransaction(store, session, ready, verb);
      for (const note of notes) this.emit("PITrail", { direction: 2, message: note });
      // The stream is spent from here on; before this a failed connect leaves it for a retry.
      if (!raw) this.#stream = undefined;
      const hooks = this.#transactionHooks();
      if (series?.handover) hooks.handover = series.handover;
      return runTransaction(session, envelope, { parts: ready.parts }, plan, hooks, signal);
    };
    if (!series) return this.#withSession(signal, transact, (err) => deliveryUnknown(err));
    // A series never opens a connection of its own: a lost one ends it (retryable, nothing was sent).
    const session = series.session;
    if (!session?.isOpen || this.#session !== session) {
      throw session?.connection.failedWith ?? new SmtpError(ErrorCode.ConnectionClosed, "the connection closed before this message was started; it was not sent");
    }
    series.started = true;
    return transact(session);
  }

  /**
   * SocketTools' SendMessage: sends a complete RFC 5322 message (string,
   * Buffer or stream) to the given recipients in one call, without touching
   * the message properties. Connection, TLS and AUTH come from the properties.
   */
  sendMessage(from: string, recipients: string | readonly RawRecipient[], message: string | Buffer | Readable, opts: CallOptions = {}): Promise<SendResult> {
    return this.#run(opts, (signal) => this.#send("MAIL", signal, rawMessage(from, recipients, message)));
  }

  /** VRFY: resolves with the server's reply (also in LastReply) when it knows or will accept the address. */
  verify(address: string, opts: CallOptions = {}): Promise<string> {
    return this.#run(opts, (signal) => this.#withSession(signal, async (session) => (await verifyAddress(session, address)).raw));
  }

  /** EXPN: fires Expand for each member of the list and resolves with all of them. */
  expand(name: string, opts: CallOptions = {}): Promise<string[]> {
    return this.#run(opts, (signal) => this.#withSession(signal, async (session) => {
      const members = await expandList(session, name);
      for (const address of members) this.emit("Expand", { address });
      return members;
    }));
  }

  /**
   * Sends one command line and resolves with the reply, whatever its code
   * (also in LastReply). Connects first if needed; the connection stays open.
   */
  sendCommand(line: string, opts: CallOptions = {}): Promise<SmtpReply> {
    return this.#run(opts, async (signal) => {
      const checked = argument("the command", line);
      return rawCommand(await this.#ensureSession(signal), checked);
    });
  }

  /** IP*Works' write-only Command property: sends the line; the reply lands in LastReply and PITrail, a failure in Error. */
  setCommand(line: string): void {
    // A bad line is refused now, like any other property value.
    argument("Command", line);
    this.sendCommand(line).catch((e: unknown) => {
      const err = toSmtpError(e);
      this.#emitError(err.code, err.message);
    });
  }

  set command(line: string) {
    this.setCommand(line);
  }

  /**
   * IP*Works Queue(): writes the current message with its envelope to a new
   * `.queued` file in `dir` (which must exist) and returns its path. The file
   * appears complete or not at all; a message stream is copied, not buffered.
   */
  async queue(dir: string): Promise<string> {
    const store = storeOf(this);
    const stat = await fsp.stat(dir).catch((e: unknown) => {
      throw fileError(`the queue directory ${dir} does not exist`, e);
    });
    if (!stat.isDirectory()) throw new SmtpError(ErrorCode.CannotOpenFile, `${dir} is not a directory`);
    const composed = await this.#dkim(await composeMessage(store, this.#stream, this.#composeExtras()));
    this.#stream = undefined;
    const path = join(dir, `${newQueueId()}.queued`);
    await writeQueueFile(path, {
      version: QUEUE_FORMAT_VERSION,
      created: new Date(),
      sender: composed.envelope.sender,
      recipients: composed.envelope.recipients.map((r) => ({ address: r.address, options: r.options })),
      attempts: 0,
      nextAttempt: undefined,
      delivered: [],
      failed: [],
    }, composed.parts).finally(() => composed.cleanup?.());
    return path;
  }

  /**
   * IP*Works ProcessQueue(): sends every due file in `dir` through an
   * SmtpPool built from this object (QueueConnections, QueueRateLimit) and
   * files each outcome (see docs/queue.md). Fires QueueProgress per file.
   */
  processQueue(dir: string, opts: CallOptions = {}): Promise<QueueResult> {
    return this.#run(opts, async (signal) => {
      const store = storeOf(this);
      const template = new Smtp();
      copyConfiguration(this, template);
      // Partial delivery is normal for a queue: each recipient's outcome is recorded.
      for (const s of ["StopOnToErrors", "StopOnCcErrors", "StopOnBccErrors"]) template.config(`${s}=false`);
      const rate = store.int("QueueRateLimit");
      const pool = new SmtpPool(template, {
        maxConnections: store.int("QueueConnections"),
        maxMessagesPerConnection: 0,
        ...(rate > 0 ? { rateLimit: { messages: rate, intervalMs: 1000 } } : {}),
      });
      pool.on("PITrail", (e) => this.emit("PITrail", { direction: e.direction, message: e.message }));
      const onAbort = (): void => void pool.close({ force: true });
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        return await processQueueDirectory(dir, pool, {
          keepQueue: store.bool("KeepQueue"),
          maxAttempts: store.int("QueueMaxAttempts"),
          retryDelayMs: store.int("QueueRetryDelay") * 1000,
          claimTimeoutMs: store.int("QueueClaimTimeout") * 1000,
          concurrency: store.int("QueueConnections") * 2,
        }, (e) => this.emit("QueueProgress", e), signal);
      } finally {
        signal.removeEventListener("abort", onAbort);
        await pool.close();
      }
    });
  }

  /** The server's EHLO capabilities (undefined when not connected). */
  getServerCapabilities(): ServerCapabilities | undefined {
    return this.#session?.capabilities;
  }

  /** Clears the message properties (SendTo, Cc, Subject, MessageText, MessageRecipients, ...); the connection stays. */
  resetHeaders(): void {
    storeOf(this).resetHeaders();
    this.#stream = undefined;
    this.#prepared = undefined;
  }

  /** Returns every property and setting to its default and closes any connection. */
  reset(opts: CallOptions = {}): Promise<void> {
    return this.#run(opts, async () => {
      const session = this.#session;
      this.#session = undefined;
      if (session) await session.quit();
      storeOf(this).resetAll();
      this.#stream = undefined;
      this.#prepared = undefined;
    });
  }

  /** Aborts the method in progress: it rejects with code 301 and this object stays usable. */
  async interrupt(): Promise<void> {
    const op = this.#operation;
    if (op && !op.signal.aborted) op.abort(interrupted());
  }

  /**
   * The body of the next send() is read from this stream instead of
   * MessageText, as it is sent: it is never held in memory whole. It is
   * consumed by one send().
   */
  setMessageStream(stream: Readable): void {
    if (!stream || typeof (stream as Partial<Readable>).pipe !== "function") {
      throw new SmtpError(ErrorCode.InvalidValue, "setMessageStream() needs a readable stream");
    }
    this.#stream = stream;
  }

  // ---- internals ----

  #applyOptions(options: SmtpOptions): void {
    const store = storeOf(this);
    for (const [key, value] of Object.entries(options)) {
      if (value === undefined) continue;
      if (key === "settings") {
        for (const [name, v] of Object.entries(value as Record<string, unknown>)) store.setSetting(name, v);
      } else if (key === "messageRecipients") {
        store.setItems("MessageRecipients", value as Record<string, unknown>[]);
      } else {
        const descriptor = findAccessor(this, key);
        if (!descriptor?.set) throw new SmtpError(ErrorCode.InvalidValue, `unknown or read-only option "${key}"`);
        descriptor.set.call(this, value);
      }
    }
  }

  /** Runs one method: one at a time, Idle maintained, interrupt() and signals wired in. */
  async #run<T>(opts: CallOptions, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.#operation) throw new SmtpError(ErrorCode.Busy, "busy: another method of this object is still running", { hint: "await it, or call interrupt()" });
    const op = this.#abortController();
    this.#operation = op;
    const store = storeOf(this);
    store.setInternal("Idle", false);
    const onUserAbort = (): void => op.abort(interrupted("aborted by the caller's AbortSignal"));
    if (opts.signal?.aborted) onUserAbort();
    opts.signal?.addEventListener("abort", onUserAbort, { once: true });
    // AbsoluteTimeout: Timeout bounds the whole method, not each wait.
    const timeout = store.number("Timeout");
    const absolute = store.bool("AbsoluteTimeout") && timeout > 0
      ? setTimeout(() => op.abort(new SmtpError(ErrorCode.TimedOut, `the operation did not finish within Timeout (${timeout} s, AbsoluteTimeout)`)), timeout * 1000)
      : undefined;
    try {
      if (op.signal.aborted) throw op.signal.reason;
      return await body(op.signal);
    } catch (e) {
      if (this.#session && !this.#session.isOpen) this.#session = undefined;
      throw failureOf(e, op.signal);
    } finally {
      if (absolute) clearTimeout(absolute);
      opts.signal?.removeEventListener("abort", onUserAbort);
      this.#operation = undefined;
      store.setInternal("Idle", true);
    }
  }

  /**
   * The controller behind the running method's signal. One serves call after
   * call until it is aborted (creating one costs more than a small send): every
   * listener the engine adds to the signal is removed when its wait ends.
   */
  #abortController(): AbortController {
    if (this.#controller && !this.#controller.signal.aborted) return this.#controller;
    const op = new AbortController();
    op.signal.addEventListener("abort", () => {
      const reason = op.signal.reason instanceof SmtpError ? op.signal.reason : interrupted();
      this.#session?.abort(reason);
    }, { once: true });
    this.#controller = op;
    return op;
  }

  async #ensureSession(signal: AbortSignal): Promise<SmtpSession> {
    if (this.#session?.isOpen) return this.#session;
    this.#session = undefined;
    const store = storeOf(this);
    const options = { ...sessionOptions(store, this.#tlsHooks()), connector: this.connector };
    const login = authOptions(store, this.tokenRefresher);
    const session = await SmtpSession.open(options, this.#sessionEvents(), signal);
    this.#session = session;
    if (login) {
      try {
        await authenticate(session, login);
      } catch (e) {
        // A session that failed to log in is of no use to the caller.
        this.#session = undefined;
        await session.quit();
        throw e;
      }
    }
    return session;
  }

  /**
   * Attaches a file (path), bytes or a stream (IP*Works SSMTP's Attachments,
   * plus Buffer / stream sources). Content is read and encoded while the
   * message is sent; a stream can be sent once.
   */
  addAttachment(source: string | Buffer | Readable, opts: { name?: string; contentType?: string; contentId?: string; inline?: boolean } = {}): void {
    const store = storeOf(this);
    const isStream = typeof source === "object" && source !== null && typeof (source as Partial<Readable>).pipe === "function";
    if (typeof source !== "string" && !Buffer.isBuffer(source) && !isStream) {
      throw new SmtpError(ErrorCode.InvalidValue, "addAttachment() takes a file path, a Buffer or a readable stream");
    }
    const index = store.count("Attachments");
    store.setCount("Attachments", index + 1);
    try {
      if (typeof source === "string") store.setField("Attachments", index, "File", source);
      else this.#attachmentSources.set(store.items("Attachments")[index] as object, source as Buffer | Readable);
      if (opts.name !== undefined) store.setField("Attachments", index, "Name", opts.name);
      if (opts.contentType !== undefined) store.setField("Attachments", index, "ContentType", opts.contentType);
      if (opts.contentId !== undefined) store.setField("Attachments", index, "ContentId", opts.contentId);
      if (opts.inline !== undefined) store.setField("Attachments", index, "Inline", opts.inline);
    } catch (e) {
      store.setCount("Attachments", index);
      throw e;
    }
  }

  /** Adds an S/MIME recipient certificate (PEM text or a path to a PEM file) for encrypt(). */
  addRecipientCert(certificate: string): void {
    const store = storeOf(this);
    const index = store.count("RecipientCerts");
    store.setCount("RecipientCerts", index + 1);
    try {
      store.setField("RecipientCerts", index, "Encoded", certificate);
    } catch (e) {
      store.setCount("RecipientCerts", index);
      throw e;
    }
  }

  /**
   * IP*Works SSMTP Sign(): signs the current content (MessageText,
   * MessageHTML, attachments) with the CertStore certificate. As in SSMTP
   * the result replaces the content: MessageText holds the signed entity.
   */
  async sign(): Promise<void> {
    const { smimeSign } = await smime();
    const entity = await this.#currentEntity();
    this.#setPrepared(await smimeSign(entity, await this.#signer(), this.#signOptions()));
  }

  /** IP*Works SSMTP Encrypt(): encrypts the current content for the RecipientCerts. */
  async encrypt(): Promise<void> {
    const { smimeEncrypt } = await smime();
    const entity = await this.#currentEntity();
    this.#setPrepared(await smimeEncrypt(entity, this.#recipientCerts(), { algorithm: String(storeOf(this).setting("EncryptingAlgorithm")) as EncryptOptions["algorithm"] }));
  }

  /** IP*Works SSMTP SignAndEncrypt(): signs, then encrypts the signed entity. */
  async signAndEncrypt(): Promise<void> {
    const { smimeSign, smimeEncrypt, serializeEntity } = await smime();
    const entity = await this.#currentEntity();
    const signed = await smimeSign(entity, await this.#signer(), this.#signOptions());
    this.#setPrepared(await smimeEncrypt(serializeEntity(signed.headers, signed.body), this.#recipientCerts(), { algorithm: String(storeOf(this).setting("EncryptingAlgorithm")) as EncryptOptions["algorithm"] }));
  }

  /** The content as one canonical MIME entity in memory (S/MIME signs and encrypts whole entities). */
  async #currentEntity(): Promise<Buffer> {
    const { serializeEntity } = await smime();
    const store = storeOf(this);
    const prepared = this.#prepared && this.#prepared.text === store.string("MessageText") ? this.#prepared : undefined;
    if (prepared) return serializeEntity(prepared.headers, prepared.body);
    const entity = await mimeEntity(store, this.#composeExtras(), true);
    if (!entity) throw new SmtpError(ErrorCode.InvalidValue, "there is no content to sign or encrypt");
    const chunks: Buffer[] = [];
    for await (const c of entity.body()) chunks.push(c as Buffer);
    return serializeEntity(entity.headers, Buffer.concat(chunks));
  }

  #setPrepared(result: { headers: { field: string; value: string }[]; body: Buffer }): void {
    const store = storeOf(this);
    const text = result.body.toString("latin1");
    this.#prepared = { headers: result.headers, body: result.body, text };
    // As IP*Works SSMTP: the result is the message text; what it contains is inside it now.
    store.set("MessageText", text);
    store.set("MessageHTML", "");
    store.set("AttachedFile", "");
    store.setItems("Attachments", []);
  }

  async #signer(): Promise<SmimeCredentials> {
    const { loadSigner } = await smime();
    const store = storeOf(this);
    if (store.string("CertStore").trim() === "") throw new SmtpError(ErrorCode.InvalidValue, "CertStore is empty: set the signer's certificate and key (PEM or PKCS#12)");
    return loadSigner({ storeType: store.number("CertStoreType"), store: store.string("CertStore"), password: store.string("CertStorePassword") });
  }

  #signOptions(): SignOptions {
    const store = storeOf(this);
    return {
      algorithm: String(store.setting("SigningAlgorithm")) as SignOptions["algorithm"],
      detached: store.bool("DetachedSignature"),
      includeCertificate: store.bool("IncludeCertificate"),
      includeChain: store.bool("IncludeChain"),
    };
  }

  #recipientCerts(): string[] {
    const items = storeOf(this).items("RecipientCerts");
    if (items.length === 0) throw new SmtpError(ErrorCode.InvalidValue, "no recipient certificate: addRecipientCert() first");
    return items.map((item, i) => readPemOrPath(String(item["Encoded"] ?? ""), `RecipientCertEncoded(${i})`));
  }

  #composeExtras(): ComposeExtras {
    return { attachmentSource: (item) => this.#attachmentSources.get(item), prepared: this.#prepared };
  }

  /** Runs `body` on a session; one opened just for it is closed afterwards. */
  async #withSession<T>(signal: AbortSignal, body: (session: SmtpSession) => Promise<T>, untrusted: (err: SmtpError) => SmtpError = (err) => err): Promise<T> {
    const own = !this.getConnected() && !this.#kept;
    const session = await this.#ensureSession(signal);
    let result: T;
    try {
      result = await body(session);
    } finally {
      if (own && this.#session === session) {
        this.#session = undefined;
        await session.quit();
      }
    }
    // The goodbye answered in step vouches for the replies before it; one
    // answered out of step (a late refusal read as the reply to QUIT) does not.
    const broken = own ? session.connection.outOfStep : undefined;
    if (broken) throw untrusted(broken);
    return result;
  }

  #tlsHooks(): TlsHooks {
    return {
      status: (message) => this.emit("SSLStatus", { message }),
      authorize: (check) => this.#authorizeServer(check),
    };
  }

  /** Fires SSLServerAuthentication and returns the listeners' verdict. */
  #authorizeServer(check: ServerCertificateCheck): boolean {
    const event = { certEncoded: check.certEncoded, certSubject: check.certSubject, certIssuer: check.certIssuer, status: check.status, accept: check.accept };
    this.emit("SSLServerAuthentication", event);
    return event.accept === true;
  }

  #sessionEvents(): SessionEvents {
    const store = storeOf(this);
    return {
      trail: (direction, message) => this.listenerCount("PITrail") && this.emit("PITrail", { direction, message }),
      reply: (reply: SmtpReply) => store.setInternal("LastReply", reply.raw),
      connectionStatus: (connectionEvent, statusCode, description) => this.emit("ConnectionStatus", { connectionEvent, statusCode, description }),
      closed: () => {
        // The session object is dropped lazily (next call) so a method in flight still sees it.
        store.setSettingInternal("SSLNegotiatedVersion", "");
        store.setSettingInternal("SSLNegotiatedCipher", "");
      },
      secured: (tls) => {
        this.#serverCert = tls.certificate;
        store.setSettingInternal("SSLNegotiatedVersion", tls.protocol);
        store.setSettingInternal("SSLNegotiatedCipher", tls.cipher);
        this.emit("ConnectionStatus", { connectionEvent: "SSL handshake complete", statusCode: 0, description: `${tls.protocol} ${tls.cipher}` });
      },
    };
  }

  #transactionHooks(): TransactionHooks {
    const store = storeOf(this);
    const stopOn = [store.bool("StopOnToErrors"), store.bool("StopOnCcErrors"), store.bool("StopOnBccErrors")];
    return {
      stopOn: (type) => stopOn[type] === true,
      recipientResult: (r) => {
        this.#lastRecipients = [...this.#lastRecipients, r];
        // Event objects are only built for someone: at volume they are most of the garbage.
        if (this.listenerCount("RecipientStatus")) this.emit("RecipientStatus", { ...r });
      },
      recipientRefused: (err) => this.#emitError(err.code, err.message),
      startTransfer: () => this.listenerCount("StartTransfer") && this.emit("StartTransfer", { direction: 0 }),
      transfer: (p: TransferProgress) => this.listenerCount("Transfer") && this.emit("Transfer", transferEvent(p)),
      endTransfer: () => this.listenerCount("EndTransfer") && this.emit("EndTransfer", { direction: 0 }),
    };
  }

  #publishHeaders(headers: { Field: string; Value: string }[], text: string): void {
    const store = storeOf(this);
    store.setItemsInternal("MessageHeaders", headers);
    store.setInternal("MessageHeadersString", text);
  }

  #emitError(errorCode: number, description: string): void {
    // Error is informational here; with no listener it must not throw like Node's "error".
    this.emit("Error", { errorCode, description });
  }
}

installAccessors(Smtp.prototype, storeOf);

/** S/MIME (PKI.js) is loaded on first use: most programs never sign, and it is the heaviest import. */
function smime(): Promise<typeof import("./smime/index.js")> {
  return import("./smime/index.js");
}

/** Internal (pool): one message of a series (see sendSeries). */
export interface SeriesMessage {
  /** Puts the message on the object, or returns a complete message to send as it is (sendMessage). */
  prepare(smtp: Smtp): ComposedMessage | undefined;
  /** The message was composed with this Message-ID: a retry must keep it. */
  composed?(messageId: string | undefined): void;
  /**
   * Called once with the outcome. `turnMissed`: the connection was gone
   * before this message's turn, so nothing of it was sent and it can go
   * again as it is.
   */
  settle(result: SendResult | undefined, error: SmtpError | undefined, turnMissed: boolean): void;
}

/** Where a message of a series runs, and how it says the next one may start. */
interface SeriesStep {
  session: SmtpSession | undefined;
  handover: (() => void) | undefined;
  /** Set once the message's transaction begins on the connection. */
  started: boolean;
}

const seriesRunners = new WeakMap<Smtp, (next: () => Promise<SeriesMessage | undefined>, opts: CallOptions) => Promise<void>>();

/**
 * Internal (pool): sends the messages `next()` hands out, back to back, on
 * `smtp`'s open connection, pipelined; stops when `next()` returns undefined
 * or the connection is gone. Every message taken is settled.
 */
export function sendSeries(smtp: Smtp, next: () => Promise<SeriesMessage | undefined>, opts: CallOptions = {}): Promise<void> {
  return (seriesRunners.get(smtp) as NonNullable<ReturnType<typeof seriesRunners.get>>)(next, opts);
}

/** Internal (pool): gives `target` every property and setting of `template`. */
export function copyConfiguration(template: Smtp, target: Smtp): void {
  const store = storeOf(target);
  store.copyFrom(storeOf(template));
  store.setInternal("Idle", true);
  store.setInternal("LastReply", "");
  target.tokenRefresher = template.tokenRefresher;
  target.connector = template.connector;
}

/** IP*Works spells the class in lower case: `new ipworks.smtp()`. */
export const smtp = Smtp;
export type smtp = Smtp;

function findAccessor(obj: object, key: string): PropertyDescriptor | undefined {
  for (let p: object | null = obj; p; p = Object.getPrototypeOf(p) as object | null) {
    const d = Object.getOwnPropertyDescriptor(p, key);
    if (d) return d;
  }
  return undefined;
}

function transferEvent({ bytes, total, chunk }: TransferProgress): TransferEvent {
  const percentDone = total === undefined ? -1 : total === 0 ? 100 : Math.min(100, Math.floor((bytes * 100) / total));
  let text: string | undefined;
  return {
    direction: 0,
    bytesTransferred: bytes,
    percentDone,
    get text() {
      text ??= chunk.toString("utf8");
      return text;
    },
  };
}

/** Resolves after the writes held back by SmtpConnection.coalesce() in this burst went out (both use nextTick). */
function flushed(): Promise<void> {
  return new Promise((resolve) => process.nextTick(resolve));
}

/** What a method reports for `e`: once aborted, whatever broke next is a consequence, so the abort (301) is the reason. */
function failureOf(e: unknown, signal: AbortSignal): SmtpError {
  const caught = toSmtpError(e);
  const reason = signal.aborted && signal.reason instanceof SmtpError ? signal.reason : undefined;
  // The abort is the reason, but a message that was sent in full may have been delivered: keep saying so.
  return reason && caught.deliveryUnknown
    ? new SmtpError(reason.code, `${reason.message}: the whole message was sent but the server's verdict was not received; delivery unknown`, { deliveryUnknown: true, cause: caught, command: caught.command, hint: caught.hint })
    : reason ?? caught;
}

function toSmtpError(e: unknown): SmtpError {
  if (e instanceof SmtpError) return e;
  return new SmtpError(ErrorCode.Communication, e instanceof Error ? e.message : String(e), { cause: e });
}


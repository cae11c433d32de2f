/**
 * SmtpClient: the engine-level client every face sends through (Smtp, each
 * connection of SmtpPool, processQueue). It owns the configuration (a
 * PropertyStore), the session's lifecycle, the one-call-at-a-time runner,
 * compose -> plan -> transaction, and the pipelined series. Events go to the
 * emitter it is given (the Smtp itself, or its own for a pool connection).
 */
import type { X509Certificate } from "node:crypto";
import type { Readable } from "node:stream";
import { TypedEmitter } from "tiny-typed-emitter";
import { composeMessage, newStamp, previewHeaders, rawMessage, withEnvelope, type ComposedMessage, type ComposeExtras, type EnvelopeOverride, type MessageStamp, type PreparedEntity, type RawRecipient } from "../component/compose.js";
import { applyMessage, type MessageObject } from "../component/mail-message.js";
import type { AttachmentSource } from "../mime/index.js";
import { logFailure, type SmtpLogger } from "./logger.js";
import { deliverDirect } from "../component/direct-delivery.js";
import { dkimOptions, signComposed } from "../component/dkim-signing.js";
import { authOptions, sessionOptions } from "../component/session-options.js";
import { messageForServer, planTransaction } from "../component/transaction-plan.js";
import { authenticate, type TokenRefreshRequest } from "../engine/authenticator.js";
import type { ServerCapabilities } from "../engine/capabilities.js";
import { argument, expand as expandList, rawCommand, verify as verifyAddress } from "../engine/commands.js";
import type { SmtpReply } from "../engine/reply.js";
import { SmtpSession } from "../engine/session.js";
import { deliveryUnknown, runTransaction, type RecipientResult, type SendResult, type TransactionPlan } from "../engine/transaction.js";
import { ErrorCode, SmtpError } from "../errors.js";
import type { SmtpEvents } from "../events.js";
import type { Header } from "../message/header-block.js";
import { MESSAGE_PROPERTIES } from "../schema/message-properties.js";
import { PropertyStore, type MessageHeadersView } from "../schema/property-store.js";
import type { Connector } from "../transport/connector.js";
import { emitError, sessionEvents, tlsHooks, transactionHooks, type ClientState } from "./client-events.js";
import { MethodRunner, type CallOptions } from "./method-runner.js";
import { runSeries, type SeriesMessage, type SeriesStep } from "./series.js";

export type { CallOptions } from "./method-runner.js";

/** How addAttachment() describes a part: the MIME layer's attachment fields without the source. */
export type AttachmentOptions = Omit<AttachmentSource, "source">;
export type TokenRefresher = (request: TokenRefreshRequest) => Promise<string | undefined> | string | undefined;

/** The client behind each component object (Smtp), so a pool built from one can copy its configuration. */
const clients = new WeakMap<object, SmtpClient>();

/** The client `holder` (an Smtp) sends through, if it is one. */
export function clientOf(holder: object): SmtpClient | undefined {
  return clients.get(holder);
}

export class SmtpClient {
  readonly store: PropertyStore;
  readonly events: TypedEmitter<SmtpEvents>;
  /** Called when the server refuses an XOAUTH2 / OAUTHBEARER token (see Smtp.tokenRefresher). */
  tokenRefresher: TokenRefresher | undefined;
  /** Opens the stream sessions run on instead of TCP to MailServer. */
  connector: Connector | undefined;
  /** The S/MIME entity sign() / encrypt() made, from the face that owns this client. */
  prepared: () => PreparedEntity | undefined = () => undefined;
  /** Gets each method's failure as an error record (the `logger` option); the events reach it from the face. */
  logger: SmtpLogger | undefined;
  /** MAIL FROM / RCPT TO given apart from the headers (a message object's `envelope`); a message property like the others. */
  envelope: EnvelopeOverride | undefined;
  /** The Buffer / stream behind an Attachments entry added with addAttachment(), by the entry. */
  readonly #attachmentSources = new WeakMap<object, Buffer | Readable>();

  #session: SmtpSession | undefined;
  /** connect() was called (and not disconnect()): sends keep their connection open, reopening it if the server closed it. */
  #kept = false;
  #stream: Readable | undefined;
  #serverCert: X509Certificate | undefined;
  #lastRecipients: readonly RecipientResult[] = [];
  readonly #runner: MethodRunner;
  /** The Message-ID, Date and boundary seed of the next message, from when a preview or compose first needed them. */
  #stamp: MessageStamp | undefined;
  /** The headers of the last message sent (or tried), shown while the inputs it was composed from stay the same. */
  #sent: { inputs: readonly unknown[]; view: MessageHeadersView } | undefined;
  /** The last preview, reused while its inputs and stamp stay the same (the getters are read item by item). */
  #preview: { inputs: readonly unknown[]; stamp: MessageStamp; streamed: boolean; view: MessageHeadersView } | undefined;
  /** Set when a failed send gave its stamp back: the inputs of that message, the only one the stamp is for. */
  #stampFor: readonly unknown[] | undefined;
  /**
   * Whether MessageHeaders / MessageHeadersString are shown (a user's component): only then is it
   * recorded what each message was composed from, which costs a few µs per message.
   */
  #showsHeaders = true;
  /** The inputs each composed message came from (what #sent compares with). */
  readonly #origins = new WeakMap<ComposedMessage, readonly unknown[]>();
  readonly #state: ClientState = {
    serverCert: (cert) => (this.#serverCert = cert),
    recipient: (r) => (this.#lastRecipients = [...this.#lastRecipients, r]),
  };

  constructor(events: TypedEmitter<SmtpEvents> = new TypedEmitter<SmtpEvents>(), holder?: object) {
    this.events = events;
    this.store = new PropertyStore({ isConnected: () => this.connected, messageHeaders: () => this.#messageHeaders() });
    this.#runner = new MethodRunner({
      store: this.store,
      abortSession: (reason) => this.#session?.abort(reason),
      failed: (error) => {
        if (this.#session && !this.#session.isOpen) this.#session = undefined;
        if (this.logger) logFailure(this.logger, error);
      },
    });
    if (holder) clients.set(holder, this);
  }

  get connected(): boolean {
    return this.#session?.isOpen === true;
  }

  /** The server's certificate from the last TLS handshake. */
  get serverCert(): X509Certificate | undefined {
    return this.#serverCert;
  }

  get capabilities(): ServerCapabilities | undefined {
    return this.#session?.capabilities;
  }

  /** The per-recipient outcome of the last send. */
  get recipientResults(): readonly RecipientResult[] {
    return this.#lastRecipients;
  }

  /** Takes every property, setting and hook of `template`; the state of a connection is not copied. */
  copyConfiguration(template: SmtpClient): void {
    this.store.copyFrom(template.store);
    this.store.setInternal("Idle", true);
    this.store.setInternal("LastReply", "");
    this.tokenRefresher = template.tokenRefresher;
    this.connector = template.connector;
  }

  /** A new client with this one's configuration (a pool's template, a pool connection). */
  derived(): SmtpClient {
    const client = new SmtpClient();
    client.copyConfiguration(this);
    // Nobody reads a pool connection's MessageHeaders, nor retries its send with the same stamp.
    client.#showsHeaders = false;
    return client;
  }

  /** Runs one method call (one at a time; interrupt() and AbortSignal apply). */
  run<T>(opts: CallOptions, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
    // Settings accepted with no effect on Node.js say so once, in PITrail, when they could matter.
    for (const message of this.store.takeNotices()) this.events.emit("PITrail", { direction: 2, message });
    return this.#runner.run(opts, body);
  }

  interrupt(): void {
    this.#runner.interrupt();
  }

  connect(opts: CallOptions = {}): Promise<void> {
    return this.run(opts, async (signal) => {
      await this.#ensureSession(signal);
      this.#kept = true;
    });
  }

  disconnect(opts: CallOptions = {}): Promise<void> {
    return this.run(opts, async () => {
      const session = this.#session;
      this.#session = undefined;
      this.#kept = false;
      if (session) await session.quit();
    });
  }

  /** Logs in on the open connection (for User set after connect()). */
  authenticate(opts: CallOptions = {}): Promise<void> {
    return this.run(opts, async () => {
      const session = this.#session;
      if (!session?.isOpen) throw new SmtpError(ErrorCode.NotConnected, "authenticate() needs an open connection: call connect() first");
      if (session.authenticated) return;
      const login = authOptions(this.store, this.tokenRefresher);
      if (!login) throw new SmtpError(ErrorCode.InvalidValue, "User is empty: set User (and Password) before authenticate()");
      await authenticate(session, login);
    });
  }

  /** Sends the message the properties describe (or `raw`, a complete one) with MAIL / SEND / SOML / SAML FROM. */
  send(verb: TransactionPlan["verb"], opts: CallOptions = {}, raw?: ComposedMessage): Promise<SendResult> {
    return this.run(opts, async (signal) => {
      this.#lastRecipients = [];
      const taken = raw ? undefined : this.#takeStamp();
      try {
        // Everything that can be refused locally is refused before connecting.
        const composed = taken ? await this.#composeWith(taken) : await this.compose(raw);
        return await this.#sendComposed(verb, signal, composed, raw !== undefined);
      } catch (e) {
        // Not sent (or not known to be): tried again unchanged it is the same message, with the same Message-ID.
        if (taken && taken.inputs !== NO_INPUTS) {
          this.#stamp = taken.stamp;
          this.#stampFor = taken.inputs;
        }
        throw e;
      }
    });
  }

  /** SocketTools' SendMessage: a complete message with its own envelope. */
  sendMessage(from: string, recipients: string | readonly RawRecipient[], message: string | Buffer | Readable, opts: CallOptions = {}): Promise<SendResult> {
    return this.send("MAIL", opts, rawMessage(from, recipients, message));
  }

  verify(address: string, opts: CallOptions = {}): Promise<string> {
    return this.run(opts, (signal) => this.#withSession(signal, async (session) => (await verifyAddress(session, address)).raw));
  }

  expand(name: string, opts: CallOptions = {}): Promise<string[]> {
    return this.run(opts, (signal) => this.#withSession(signal, async (session) => {
      const members = await expandList(session, name);
      for (const address of members) this.events.emit("Expand", { address });
      return members;
    }));
  }

  /** One command line; resolves with the reply whatever its code. Connects first if needed; the connection stays open. */
  sendCommand(line: string, opts: CallOptions = {}): Promise<SmtpReply> {
    return this.run(opts, async (signal) => {
      const checked = argument("the command", line);
      return rawCommand(await this.#ensureSession(signal), checked);
    });
  }

  /** Closes any connection and returns every property and setting to its default. */
  reset(opts: CallOptions = {}): Promise<void> {
    return this.run(opts, async () => {
      const session = this.#session;
      this.#session = undefined;
      if (session) await session.quit();
      this.store.resetAll();
      this.#stream = undefined;
      this.#forgetMessage();
    });
  }

  /** Clears the message properties and the message stream; the connection stays. */
  resetHeaders(): void {
    this.store.resetHeaders();
    this.#stream = undefined;
    this.#forgetMessage();
  }

  /** A file path, Buffer or stream as a new Attachments entry; Buffers and streams are kept by the entry. */
  addAttachment(source: string | Buffer | Readable, opts: AttachmentOptions = {}): void {
    const store = this.store;
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

  attachmentSource(item: object): Buffer | Readable | undefined {
    return this.#attachmentSources.get(item);
  }

  /** What compose needs beyond the properties: the attachment sources and the S/MIME entity. */
  composeExtras(): ComposeExtras {
    return { attachmentSource: (item) => this.attachmentSource(item), prepared: this.prepared() };
  }

  /** Sets a message object (smtp.send(message), pool.send(message)): the message properties are reset first. */
  setMessage(message: MessageObject): void {
    this.envelope = applyMessage(this, message, () => this.resetHeaders());
  }

  /**
   * The message exactly as the next send() would transmit it (its Message-ID,
   * Date, boundaries and DKIM signature), composed without sending and without
   * using up anything: the next send uses the same stamp.
   */
  preview(opts: CallOptions = {}): Promise<ComposedMessage> {
    return this.run(opts, async () => {
      if (this.#stream) throw new SmtpError(ErrorCode.InvalidValue, "the message body is a stream (setMessageStream()), which can be read only once: it cannot be previewed and then sent");
      for (const item of this.store.items("Attachments")) {
        const source = this.attachmentSource(item);
        if (source && !Buffer.isBuffer(source)) throw new SmtpError(ErrorCode.InvalidValue, "an attachment is a stream, which can be read only once: it cannot be previewed and then sent (give a Buffer or a file path)");
      }
      return this.#build(this.#nextStamp(this.#inputs()));
    });
  }

  #forgetMessage(): void {
    this.envelope = undefined;
    this.#stamp = undefined;
    this.#stampFor = undefined;
    this.#sent = undefined;
    this.#preview = undefined;
  }

  /** The body of the next send() is read from this stream as it is sent. */
  setMessageStream(stream: Readable): void {
    if (!stream || typeof (stream as Partial<Readable>).pipe !== "function") {
      throw new SmtpError(ErrorCode.InvalidValue, "setMessageStream() needs a readable stream");
    }
    this.#stream = stream;
  }

  /** Takes the message stream (a stream is sent once). */
  takeStream(): Readable | undefined {
    const stream = this.#stream;
    this.#stream = undefined;
    return stream;
  }

  /** The message as it will be sent (DKIM-signed when the settings ask for it); `raw` is a complete one from sendMessage(). */
  async compose(raw?: ComposedMessage): Promise<ComposedMessage> {
    return raw ? this.#dkim(raw) : this.#composeWith(this.#takeStamp());
  }

  /** The stamp for a compose of the current properties, taken: the message after it gets a new Message-ID. */
  #takeStamp(): TakenStamp {
    const inputs = this.#showsHeaders ? this.#inputs() : NO_INPUTS;
    const stamp = this.#nextStamp(inputs);
    this.#stamp = undefined;
    this.#stampFor = undefined;
    return { stamp, inputs };
  }

  async #composeWith(taken: TakenStamp): Promise<ComposedMessage> {
    const composed = await this.#build(taken.stamp);
    if (this.#showsHeaders) this.#origins.set(composed, taken.inputs);
    return composed;
  }

  /** The properties composed with `stamp`, the envelope override applied, DKIM-signed: what a send or a preview gets. */
  async #build(stamp: MessageStamp): Promise<ComposedMessage> {
    const built = await composeMessage(this.store, this.#stream, this.composeExtras(), stamp);
    // DKIM's t= is the stamp's time, so a preview and the send it shows sign alike.
    return this.#dkim(this.envelope ? withEnvelope(built, this.envelope) : built, stamp.date);
  }

  #nextStamp(inputs: readonly unknown[]): MessageStamp {
    // A stamp given back by a failed send is that message's: another message must not reuse its Message-ID.
    if (this.#stampFor && !sameInputs(this.#stampFor, inputs)) {
      this.#stamp = undefined;
      this.#stampFor = undefined;
    }
    return (this.#stamp ??= newStamp());
  }

  /**
   * MessageHeadersString / MessageHeaders: what was sent while the message
   * properties are those it was composed from; otherwise the next message's
   * headers, with the stamp its compose will use.
   */
  #messageHeaders(): MessageHeadersView {
    const inputs = this.#inputs();
    if (this.#sent && sameInputs(this.#sent.inputs, inputs)) return this.#sent.view;
    const stamp = this.#nextStamp(inputs);
    const streamed = this.#stream !== undefined;
    const last = this.#preview;
    if (last && last.stamp === stamp && last.streamed === streamed && sameInputs(last.inputs, inputs)) return last.view;
    const preview = previewHeaders(this.store, streamed, this.composeExtras(), stamp);
    const view = preview ? headersView(preview.headers, preview.headersString) : { text: "", items: [] };
    this.#preview = { inputs, stamp, streamed, view };
    return view;
  }

  /**
   * What a message's headers are made from, compared by identity (sources
   * are Buffers / streams). Not the message stream: a send consumes it, and
   * the headers sent stay shown after that.
   */
  #inputs(): unknown[] {
    const store = this.store;
    const extras = this.composeExtras();
    const inputs: unknown[] = MESSAGE_PROPERTIES.map((name) => store.get(name));
    inputs.push(store.setting("Charset"), store.setting("MaxHeaderLength"), extras.prepared);
    for (const coll of ["MessageRecipients", "Attachments"] as const) {
      const items = store.items(coll);
      inputs.push(items.length);
      for (const item of items) inputs.push(...Object.values(item), extras.attachmentSource(item));
    }
    return inputs;
  }

  /**
   * The pool's send loop on this client's open connection: one method call,
   * many messages, pipelined (see series.ts).
   */
  series(next: () => Promise<SeriesMessage<SmtpClient> | undefined>, opts: CallOptions = {}): Promise<void> {
    return this.run(opts, (signal) => {
      const client = this;
      return runSeries<SmtpClient>({
        client,
        get session() {
          return client.#session;
        },
        // AbsoluteTimeout bounds one method call, meant as one send: with it, a series is one message.
        overlap: !(this.store.bool("AbsoluteTimeout") && this.store.number("Timeout") > 0),
        compose: (complete) => this.compose(complete),
        sendComposed: (composed, raw, sig, step) => this.#sendComposed("MAIL", sig, composed, raw, step),
      }, next, signal);
    });
  }

  async #sendComposed(verb: TransactionPlan["verb"], signal: AbortSignal, composed: ComposedMessage, raw: boolean, series?: SeriesStep): Promise<SendResult> {
    this.#lastRecipients = [];
    try {
      const result = await this.#deliver(verb, signal, composed, raw, series);
      // The message's final reply, not the NOOP behind it nor a QUIT after it.
      this.store.setInternal("LastReply", result.reply);
      return result;
    } catch (e) {
      if (e instanceof SmtpError && e.lastReply !== undefined) this.store.setInternal("LastReply", e.lastReply);
      throw e;
    } finally {
      await composed.cleanup?.();
    }
  }

  /** Adds the DKIM signature when the DKIM settings are set. */
  async #dkim(composed: ComposedMessage, signedAt?: Date): Promise<ComposedMessage> {
    // A streamed complete message (sendMessage(stream), processQueue) is sent as it is: queue() signed it already.
    if (composed.prebuilt && !composed.parts.every((p) => Buffer.isBuffer(p))) return composed;
    const options = dkimOptions(this.store);
    return options ? signComposed(composed, options, this.store.int("MaxHeaderLength"), signedAt) : composed;
  }

  async #deliver(verb: TransactionPlan["verb"], signal: AbortSignal, composed: ComposedMessage, raw: boolean, series?: SeriesStep): Promise<SendResult> {
    const store = this.store;
    // A complete message (sendMessage()) shows too, until a message property changes.
    if (this.#showsHeaders) this.#sent = { inputs: this.#origins.get(composed) ?? this.#inputs(), view: headersView(composed.headers, composed.headersString) };
    if (store.string("MailServer").trim() === "" && store.bool("DirectDelivery") && !this.connected) {
      if (!raw) this.#stream = undefined;
      return deliverDirect(store, composed, {
        open: (address, name, sig) => SmtpSession.open(
          sessionOptions(store, tlsHooks(this.events), { address, port: store.int("DirectDeliveryPort"), name }),
          sessionEvents(store, this.events, this.#state),
          sig,
        ),
        hooks: transactionHooks(store, this.events, this.#state),
        sign: (message) => this.#dkim(message),
        failed: (err) => emitError(this.events, err.code, err.message),
        trail: (message) => this.events.emit("PITrail", { direction: 2, message }),
      }, signal);
    }
    const transact = (session: SmtpSession, message: ComposedMessage = composed): Promise<SendResult> => {
      // As this server takes it: 7-bit (DKIM-signed again) without 8BITMIME; streams sent as they are get checked.
      const ready = messageForServer(store, session, message, (m) => this.#dkim(m));
      if (ready instanceof Promise) return ready.then((m) => transact(session, m));
      const { envelope, plan, notes } = planTransaction(store, session, ready, verb);
      for (const note of notes) this.events.emit("PITrail", { direction: 2, message: note });
      // The stream is spent from here on; before this a failed connect leaves it for a retry.
      if (!raw) this.#stream = undefined;
      const hooks = transactionHooks(store, this.events, this.#state);
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

  async #ensureSession(signal: AbortSignal): Promise<SmtpSession> {
    if (this.#session?.isOpen) return this.#session;
    this.#session = undefined;
    const store = this.store;
    const options = { ...sessionOptions(store, tlsHooks(this.events)), connector: this.connector };
    const login = authOptions(store, this.tokenRefresher);
    const session = await SmtpSession.open(options, sessionEvents(store, this.events, this.#state), signal);
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

  /** Runs `body` on a session; one opened just for it is closed afterwards. */
  async #withSession<T>(signal: AbortSignal, body: (session: SmtpSession) => Promise<T>, untrusted: (err: SmtpError) => SmtpError = (err) => err): Promise<T> {
    const own = !this.connected && !this.#kept;
    const session = await this.#ensureSession(signal);
    let result: T;
    try {
      result = await body(session);
    } finally {
      if (own && this.#session === session) {
        this.#session = undefined;
        // LastReply keeps the answer to the work, not the 221 of the QUIT that closed a connection
        // opened for it (a send then puts its own verdict there, see #sendComposed).
        const answer = this.store.get("LastReply");
        await session.quit();
        this.store.setInternal("LastReply", answer);
      }
    }
    // The goodbye answered in step vouches for the replies before it; one
    // answered out of step (a late refusal read as the reply to QUIT) does not.
    const broken = own ? session.connection.outOfStep : undefined;
    if (broken) throw untrusted(broken);
    return result;
  }
}

interface TakenStamp {
  stamp: MessageStamp;
  /** The inputs (see #inputs) the message was composed from. */
  inputs: readonly unknown[];
}

function headersView(headers: readonly Header[], text: string): MessageHeadersView {
  return { text, items: headers.map((h) => ({ Field: h.field, Value: h.value })) };
}

/** A pool connection's messages are not compared: they get a fresh stamp each, never one given back. */
const NO_INPUTS: readonly unknown[] = [];

function sameInputs(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

/**
 * The Smtp component: IP*Works-style properties, methods and events. It is a
 * facade: the properties live in its SmtpClient's store and every method that
 * talks to a server runs on that client (client/smtp-client.ts); here are the
 * accessors, the events, attachments, S/MIME and queue().
 */
import type { X509Certificate } from "node:crypto";
import type { Readable } from "node:stream";
import { TypedEmitter } from "tiny-typed-emitter";
import { partChunks } from "./message/message-parts.js";
import type { MessageObject } from "./component/mail-message.js";
import { writeAtomically } from "./queue/queue-no-follow.js";
import { clientOf, SmtpClient, type AttachmentOptions, type CallOptions, type TokenRefresher } from "./client/smtp-client.js";
import { emitError } from "./client/client-events.js";
import { mimeEntity, type PreparedEntity, type RawRecipient } from "./component/compose.js";
import type { ServerCapabilities } from "./engine/capabilities.js";
import { argument } from "./engine/commands.js";
import type { SmtpReply } from "./engine/reply.js";
import type { RecipientResult, SendResult } from "./engine/transaction.js";
import { ErrorCode, SmtpError } from "./errors.js";
import type { SmtpEvents } from "./events.js";
import { enqueue } from "./queue/enqueue.js";
import { processQueue } from "./queue/process-queue.js";
import type { QueueResult } from "./queue/queue-processor.js";
import type { QueueWorker } from "./queue/redis/queue-worker.js";
import { startQueueWorker } from "./queue/redis/redis-worker.js";
import { applyOptions } from "./schema/apply-options.js";
import type { ConfigString, GeneratedAccessors, ItemListOf, SmtpOptions } from "./schema/accessor-types.js";
import type { ItemCodec, ItemRecord } from "./schema/item-views.js";
import { installAccessors } from "./schema/install-accessors.js";
import type { PropertyStore } from "./schema/property-store.js";
import type { EncryptOptions, SignOptions, SmimeCredentials } from "./smime/index.js";
import { Certificate } from "./smime/certificate.js";
import { certificatePem, type EncodedCertificate } from "./smime/cert-encoding.js";
import type { Connector } from "./transport/connector.js";
import { AuthMechanism } from "./schema/constants.generated.js";
import { oauth2, type OAuth2Options } from "./auth/oauth2-provider.js";
import { attachLogger, checkLogger, type SmtpLogger } from "./client/logger.js";

export type { CallOptions } from "./client/smtp-client.js";

/** Constructor options that are not properties: how to get OAuth tokens, where to log, how to connect. */
export interface SmtpHooks {
  /** As the tokenRefresher field: asked for a first token when none is set, and for a new one after a refusal. */
  tokenRefresher?: TokenRefresher;
  /** A built-in OAuth2 token provider (refresh token grant); also sets AuthMechanism to XOAUTH2 unless given. */
  oauth2?: OAuth2Options;
  /** Receives the trace (debug), connection and recipient news (info / warn) and failures (error) as records. */
  logger?: SmtpLogger;
  /** As the connector field. */
  connector?: Connector;
}

function clientFor(self: object): SmtpClient {
  const client = clientOf(self);
  if (!client) throw new TypeError("not an Smtp object");
  return client;
}

function storeOf(self: object): PropertyStore {
  return clientFor(self).store;
}

// The generated accessors (getMailServer, setMailServer, mailServer, ...) are
// declared here for the compiler and installed on the prototype below.
export interface Smtp extends GeneratedAccessors {}

/**
 * An SMTP client with the IP*Works SMTP / SSMTP object model: set properties (`mailServer`,
 * `from`, `sendTo`, ... or `setMailServer(v)`, ...), call methods (`connect()`, `send()`,
 * `disconnect()`), listen to events (`PITrail`, `Error`, ...) and tune it with
 * `config("Name=Value")`. Methods that talk to the server return Promises and fail with an
 * `SmtpError`. The accessors of every property are generated from the schema tables.
 *
 * @example
 * ```ts
 * const smtp = new Smtp({ mailServer: "smtp.example.com", mailPort: 587, from: "me@example.com", sendTo: "you@example.org", subject: "Hi", messageText: "Hello" });
 * const result = await smtp.send();
 * ```
 */
export class Smtp extends TypedEmitter<SmtpEvents> {
  readonly #client: SmtpClient;
  /** The S/MIME entity made by sign() / encrypt(). */
  #prepared: PreparedEntity | undefined;
  /** The signer set by setCertificate(), while CertStore* still say what it set. */
  #certificate: Certificate | undefined;

  constructor(options: SmtpOptions & SmtpHooks = {}) {
    super();
    this.#client = new SmtpClient(this, this);
    this.#client.prepared = () => this.#prepared;
    // Plain fields to the user (own, enumerable), kept on the client that uses them.
    const client = this.#client;
    Object.defineProperties(this, {
      tokenRefresher: { enumerable: true, get: () => client.tokenRefresher, set: (v: TokenRefresher | undefined) => (client.tokenRefresher = v) },
      connector: { enumerable: true, get: () => client.connector, set: (v: Connector | undefined) => (client.connector = v) },
    });
    const { tokenRefresher, oauth2: oauth2Options, logger, connector, ...properties } = options ?? {};
    if (tokenRefresher !== undefined && oauth2Options !== undefined) throw new SmtpError(ErrorCode.InvalidValue, "give tokenRefresher or oauth2, not both: oauth2 makes the tokenRefresher");
    if (tokenRefresher !== undefined) {
      if (typeof tokenRefresher !== "function") throw new SmtpError(ErrorCode.InvalidValue, "tokenRefresher must be a function");
      client.tokenRefresher = tokenRefresher;
    }
    if (oauth2Options !== undefined) client.tokenRefresher = oauth2(oauth2Options);
    if (connector !== undefined) client.connector = connector;
    if (logger !== undefined) {
      client.logger = checkLogger(logger);
      attachLogger(this, client.logger);
    }
    applyOptions(client.store, properties);
    // An OAuth2 provider and a user: XOAUTH2 unless a mechanism was chosen.
    if (oauth2Options !== undefined && properties.authMechanism === undefined) client.store.set("AuthMechanism", AuthMechanism.XOAuth2);
  }

  /**
   * Called when the server refuses an XOAUTH2 / OAUTHBEARER token: return a
   * fresh token (or a Promise of one) and AUTH is tried once more; return
   * undefined to give up.
   */
  declare tokenRefresher: TokenRefresher | undefined;

  /**
   * Opens the stream sessions run on instead of TCP to MailServer (a Unix
   * socket, a tunnel, a test harness). TLS and everything else run on top.
   */
  declare connector: Connector | undefined;

  // ---- Connected (custom: its setter connects or disconnects) ----

  /** Whether a connection to the server is open. */
  getConnected(): boolean {
    return this.#client.connected;
  }

  /** setConnected(true) is connect(), setConnected(false) is disconnect(). */
  setConnected(value: boolean): Promise<void> {
    if (typeof value !== "boolean") return Promise.reject(new SmtpError(ErrorCode.InvalidValue, "Connected must be true or false"));
    return value ? this.connect() : this.disconnect();
  }

  /** Whether a connection is open; assigning true connects, false disconnects (see setConnected()). */
  get connected(): boolean {
    return this.getConnected();
  }

  /** Assignment cannot be awaited: a failure is reported through the Error event. */
  set connected(value: boolean) {
    this.setConnected(value).catch((e: unknown) => this.#reportError(e));
  }

  /** The server's certificate from the last TLS handshake (undefined before one). */
  getSSLServerCert(): X509Certificate | undefined {
    return this.#client.serverCert;
  }

  /** The server's certificate from the last TLS handshake (undefined before one). */
  get sslServerCert(): X509Certificate | undefined {
    return this.#client.serverCert;
  }

  /**
   * IP*Works' DoEvents(): there is no message queue to pump on Node.js (events fire from the event
   * loop), so it resolves at once; `await smtp.doEvents()` in a ported loop yields to it.
   */
  doEvents(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Logs in on the open connection (SocketTools' Authenticate): for when
   * User was set after connect(). connect() does this itself when User is set.
   */
  authenticate(opts: CallOptions = {}): Promise<void> {
    return this.#client.authenticate(opts);
  }

  /** What the server announced in its EHLO reply (undefined when not connected). */
  get serverCapabilities(): ServerCapabilities | undefined {
    return this.#client.capabilities;
  }

  /** The server's EHLO capabilities (undefined when not connected). */
  getServerCapabilities(): ServerCapabilities | undefined {
    return this.#client.capabilities;
  }

  // ---- methods ----

  /**
   * config("Name=Value") sets a setting; config("Name") returns its current value. Names are the
   * SETTINGS table's (docs/api.md, Settings), case-insensitive as in IP*Works; an editor completes
   * them, any string is accepted (see ConfigString) and an unknown name fails with 603.
   */
  config(configurationString: ConfigString): string {
    return this.#client.store.config(configurationString);
  }

  /** Opens the connection and greets the server (EHLO / HELO). */
  connect(opts: CallOptions = {}): Promise<void> {
    return this.#client.connect(opts);
  }

  /** QUIT and close. Not an error when not connected. */
  disconnect(opts: CallOptions = {}): Promise<void> {
    return this.#client.disconnect(opts);
  }

  /**
   * Sends the message. Connects first when not connected, and then closes
   * the connection again afterwards; on a connection opened with connect()
   * the connection stays open (and one the server closed meanwhile is
   * opened again, and kept, until disconnect()).
   */
  send(opts?: CallOptions): Promise<SendResult>;
  /**
   * Sends `message` ({ from, to, cc, bcc, replyTo, subject, text, html,
   * attachments, headers, envelope, priority, date, messageId }, or the
   * camelCase message properties): the message properties are reset and set
   * from it first, and keep its values afterwards.
   */
  send(message: MessageObject, opts?: CallOptions): Promise<SendResult>;
  send(first: CallOptions | MessageObject = {}, second: CallOptions = {}): Promise<SendResult> {
    // Only { signal } is options: any other key makes the argument a message.
    const isOptions = first !== null && typeof first === "object" && Object.keys(first).every((k) => k === "signal");
    if (isOptions) return this.#client.send("MAIL", first as CallOptions);
    try {
      this.#client.setMessage(first as MessageObject);
      this.#prepared = undefined;
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#client.send("MAIL", second);
  }

  /**
   * The message as send() would transmit it next, without sending: its
   * headers and body after DKIM and S/MIME, with the Message-ID, Date and
   * boundaries the next send() uses (that send is byte for byte the same;
   * a server without 8BITMIME gets it converted to 7 bit, and SMTP's
   * dot-stuffing is not part of it). A stream body or attachment cannot be
   * previewed: it could not be read again to send.
   */
  async toEml(opts: CallOptions = {}): Promise<Buffer> {
    const composed = await this.#client.preview(opts);
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of partChunks(composed.parts)) chunks.push(chunk);
      return Buffer.concat(chunks);
    } finally {
      await composed.cleanup?.();
    }
  }

  /**
   * toEml() written to a file as it is composed (attachments are streamed,
   * never held whole): written to a new name and renamed over `path`, so a
   * symbolic link there is replaced, never followed.
   */
  async saveEml(path: string, opts: CallOptions = {}): Promise<void> {
    if (typeof path !== "string" || path === "") throw new SmtpError(ErrorCode.InvalidValue, "saveEml() needs a file path");
    const composed = await this.#client.preview(opts);
    try {
      await writeAtomically(path, partChunks(composed.parts));
    } catch (e) {
      throw SmtpError.from(e, ErrorCode.CannotOpenFile, `saveEml(): cannot write ${path}`);
    } finally {
      await composed.cleanup?.();
    }
  }

  /** Like send(), with SEND FROM (RFC 821: deliver to the user's terminal only). */
  sendToTerminalOnly(opts: CallOptions = {}): Promise<SendResult> {
    return this.#client.send("SEND", opts);
  }

  /** Like send(), with SOML FROM (RFC 821: the terminal if the user is logged in, else the mailbox). */
  sendToTerminalOrEmail(opts: CallOptions = {}): Promise<SendResult> {
    return this.#client.send("SOML", opts);
  }

  /** Like send(), with SAML FROM (RFC 821: the terminal and the mailbox). */
  sendToTerminalAndEmail(opts: CallOptions = {}): Promise<SendResult> {
    return this.#client.send("SAML", opts);
  }

  /** The per-recipient outcome of the last send (empty before one). */
  getRecipientResults(): readonly RecipientResult[] {
    return this.#client.recipientResults;
  }

  /** The per-recipient outcome of the last send (empty before one). */
  get recipientResults(): readonly RecipientResult[] {
    return this.#client.recipientResults;
  }

  /**
   * SocketTools' SendMessage: sends a complete RFC 5322 message (string,
   * Buffer or stream) to the given recipients in one call, without touching
   * the message properties. Connection, TLS and AUTH come from the properties.
   */
  sendMessage(from: string, recipients: string | readonly RawRecipient[], message: string | Buffer | Readable, opts: CallOptions = {}): Promise<SendResult> {
    return this.#client.sendMessage(from, recipients, message, opts);
  }

  /** VRFY: resolves with the server's reply (also in LastReply) when it knows or will accept the address. */
  verify(address: string, opts: CallOptions = {}): Promise<string> {
    return this.#client.verify(address, opts);
  }

  /** EXPN: fires Expand for each member of the list and resolves with all of them. */
  expand(name: string, opts: CallOptions = {}): Promise<string[]> {
    return this.#client.expand(name, opts);
  }

  /**
   * Sends one command line and resolves with the reply, whatever its code
   * (also in LastReply). Connects first if needed; the connection stays open.
   */
  sendCommand(line: string, opts: CallOptions = {}): Promise<SmtpReply> {
    return this.#client.sendCommand(line, opts);
  }

  /** IP*Works' write-only Command property: sends the line; the reply lands in LastReply and PITrail, a failure in Error. */
  setCommand(line: string): void {
    // A bad line is refused now, like any other property value.
    argument("Command", line);
    this.sendCommand(line).catch((e: unknown) => this.#reportError(e));
  }

  /** IP*Works' write-only Command property: assigning a line sends it (as setCommand()). */
  set command(line: string) {
    this.setCommand(line);
  }

  /**
   * IP*Works Queue(): writes the current message with its envelope to a new
   * `.queued` file in `dir` (which must exist) and returns its path. The file
   * appears complete or not at all; a message stream is copied, not buffered.
   * Given a Redis URL (`redis://[[user]:password@]host[:port][/db][?queue=name]`,
   * `rediss://` for TLS), it stores the message in a new BullMQ job of that
   * queue instead and returns the job's id (needs the optional peers bullmq
   * and ioredis; see docs/queue.md).
   */
  queue(dir: string): Promise<string> {
    return enqueue(this.#client, dir);
  }

  /**
   * IP*Works ProcessQueue(): sends every due file in `dir` (or every due job
   * of a Redis queue, given its URL) through an SmtpPool built from this
   * object (QueueConnections, QueueRateLimit) and files each outcome (see
   * docs/queue.md). Fires QueueProgress per file or job.
   */
  processQueue(dir: string, opts: CallOptions = {}): Promise<QueueResult> {
    return this.#client.run(opts, (signal) => processQueue(this.#client, dir, signal));
  }

  /**
   * A long-running worker on a Redis queue: sends jobs as they arrive, with
   * this object's configuration as it is now, until `close()` on the handle
   * (which lets the jobs in flight finish). Resolves once Redis answered;
   * fires QueueProgress per job. The object stays free for other calls.
   */
  startQueueWorker(url: string): Promise<QueueWorker> {
    return startQueueWorker(this.#client, url);
  }

  /** Clears the message properties (SendTo, Cc, Subject, MessageText, MessageRecipients, ...); the connection stays. */
  resetHeaders(): void {
    this.#client.resetHeaders();
    this.#prepared = undefined;
  }

  /** Returns every property and setting to its default and closes any connection. */
  async reset(opts: CallOptions = {}): Promise<void> {
    await this.#client.reset(opts);
    this.#prepared = undefined;
  }

  /** Aborts the method in progress: it rejects with code 301 and this object stays usable. */
  async interrupt(): Promise<void> {
    this.#client.interrupt();
  }

  /**
   * The body of the next send() is read from this stream instead of
   * MessageText, as it is sent: it is never held in memory whole. It is
   * consumed by one send().
   */
  setMessageStream(stream: Readable): void {
    this.#client.setMessageStream(stream);
  }

  // ---- attachments and S/MIME ----

  /**
   * Attaches a file (path), bytes or a stream (IP*Works SSMTP's Attachments,
   * plus Buffer / stream sources). Content is read and encoded while the
   * message is sent; a stream can be sent once.
   */
  addAttachment(source: string | Buffer | Readable, opts: AttachmentOptions = {}): void {
    this.#client.addAttachment(source, opts);
  }

  /**
   * Adds an S/MIME recipient certificate for encrypt(): DER bytes, base64 DER,
   * PEM text (string or bytes), a Certificate, or a path to a file holding
   * one of those (read at encrypt()). Decided by content.
   */
  addRecipientCert(certificate: EncodedCertificate | Certificate): void {
    const items: ItemRecord[] = storeOf(this).items("RecipientCerts");
    items.push(RECIPIENT_CERTS.record(certificate, "addRecipientCert"));
  }

  /** IP*Works SSMTP's RecipientCerts: a live list of Certificate objects (add() takes what addRecipientCert() takes). */
  declare getRecipientCerts: () => ItemListOf<Certificate, EncodedCertificate | Certificate>;
  /** Replaces the recipient certificates; each is checked before any changes. */
  declare setRecipientCerts: (certificates: Iterable<EncodedCertificate | Certificate>) => void;

  /**
   * IP*Works SSMTP Certificate: the S/MIME signer. Sets CertStoreType,
   * CertStore and CertStorePassword from the certificate's store; the
   * certificate it selected (by subject) signs while they stay so.
   */
  setCertificate(cert: Certificate): void {
    if (!(cert instanceof Certificate)) throw new SmtpError(ErrorCode.InvalidValue, "setCertificate: expected a Certificate (new Certificate(storeType, store, password, subject))");
    const store = storeOf(this);
    store.set("CertStoreType", cert.storeType);
    store.set("CertStore", cert.store);
    store.set("CertStorePassword", cert.storePassword);
    this.#certificate = cert;
  }

  /** The Certificate given to setCertificate(), or one read from CertStore* (undefined when CertStore is empty). */
  getCertificate(): Certificate | undefined {
    const cert = this.#currentCertificate();
    if (cert) return cert;
    const store = storeOf(this);
    if (store.string("CertStore").trim() === "") return undefined;
    return new Certificate(store.number("CertStoreType"), store.string("CertStore"), store.string("CertStorePassword"), "*");
  }

  /** The setCertificate() signer, unless CertStore* were changed since. */
  #currentCertificate(): Certificate | undefined {
    const cert = this.#certificate;
    const store = storeOf(this);
    if (!cert) return undefined;
    const same = store.number("CertStoreType") === cert.storeType && store.string("CertStore") === cert.store && store.string("CertStorePassword") === cert.storePassword;
    return same ? cert : undefined;
  }

  /**
   * IP*Works SSMTP Sign(): signs the current content (MessageText,
   * MessageHTML, attachments) with the CertStore certificate. As in SSMTP
   * the result replaces the content: MessageText holds the signed entity.
   */
  async sign(): Promise<void> {
    const { smimeSign } = await smime();
    const entity = await this.#currentEntity();
    this.#setPrepared(await smimeSign(entity, await this.#signer(), await this.#signOptions()));
  }

  /** IP*Works SSMTP Encrypt(): encrypts the current content for the RecipientCerts. */
  async encrypt(): Promise<void> {
    const { smimeEncrypt } = await smime();
    const entity = await this.#currentEntity();
    this.#setPrepared(await smimeEncrypt(entity, this.#recipientCerts(), await this.#encryptOptions()));
  }

  /** IP*Works SSMTP SignAndEncrypt(): signs, then encrypts the signed entity. */
  async signAndEncrypt(): Promise<void> {
    const { smimeSign, smimeEncrypt, serializeEntity } = await smime();
    const entity = await this.#currentEntity();
    const signed = await smimeSign(entity, await this.#signer(), await this.#signOptions());
    this.#setPrepared(await smimeEncrypt(serializeEntity(signed.headers, signed.body), this.#recipientCerts(), await this.#encryptOptions()));
  }

  /** The content as one canonical MIME entity in memory (S/MIME signs and encrypts whole entities). */
  async #currentEntity(): Promise<Buffer> {
    const { serializeEntity } = await smime();
    const store = storeOf(this);
    const prepared = this.#prepared && this.#prepared.text === store.string("MessageText") ? this.#prepared : undefined;
    if (prepared) return serializeEntity(prepared.headers, prepared.body);
    const entity = await mimeEntity(store, this.#client.composeExtras(), true);
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
    const { loadSigner, certificateSigner } = await smime();
    const cert = this.#currentCertificate();
    if (cert) return certificateSigner(cert);
    const store = storeOf(this);
    if (store.string("CertStore").trim() === "") throw new SmtpError(ErrorCode.InvalidValue, "CertStore is empty: set the signer's certificate and key (PEM or PKCS#12)");
    return loadSigner({ storeType: store.number("CertStoreType"), store: store.string("CertStore"), password: store.string("CertStorePassword") });
  }

  /** EncryptingAlgorithm in IP*Works' spellings too ("AES256", "3DES"). */
  async #encryptOptions(): Promise<EncryptOptions> {
    const { normalizeEncryptingAlgorithm } = await smime();
    return { algorithm: normalizeEncryptingAlgorithm(storeOf(this).string("EncryptingAlgorithm")) };
  }

  /** SigningAlgorithm in IP*Works' spellings too ("SHA256", "sha-256"). */
  async #signOptions(): Promise<SignOptions> {
    const { normalizeSigningAlgorithm } = await smime();
    const store = storeOf(this);
    return {
      algorithm: normalizeSigningAlgorithm(store.string("SigningAlgorithm")),
      detached: store.bool("DetachedSignature"),
      includeCertificate: store.get("IncludeCertificate"),
      includeChain: store.get("IncludeChain"),
    };
  }

  #recipientCerts(): string[] {
    const items = storeOf(this).items("RecipientCerts");
    if (items.length === 0) throw new SmtpError(ErrorCode.InvalidValue, "no recipient certificate: addRecipientCert() first");
    return items.map((item, i) => certificatePem(String(item["Encoded"] ?? ""), `RecipientCertEncoded(${i})`));
  }

  #reportError(e: unknown): void {
    const err = SmtpError.from(e);
    emitError(this, err.code, err.message);
  }
}

/** RecipientCerts items are Certificates: a PEM (or a path, read when it is looked at) in the store. */
const RECIPIENT_CERTS: ItemCodec<Certificate> = {
  view: (record) => new Certificate(certificatePem(String(record["Encoded"] ?? ""), "RecipientCerts item")),
  record: (input, label) => ({ Encoded: input instanceof Certificate ? input.pem : certificatePem(input as EncodedCertificate, label, false) }),
};

installAccessors(Smtp.prototype, storeOf, { RecipientCerts: RECIPIENT_CERTS });

/** S/MIME (PKI.js) is loaded on first use: most programs never sign, and it is the heaviest import. */
function smime(): Promise<typeof import("./smime/index.js")> {
  return import("./smime/index.js");
}

/** IP*Works spells the class in lower case: `new ipworks.smtp()`. */
export const smtp = Smtp;
export type smtp = Smtp;

/** IP*Works S/MIME's SSMTP is this same component (sign(), encrypt(), signAndEncrypt(), Certificate): `new ipworkssmime.ssmtp()`. */
export const ssmtp = Smtp;
export type ssmtp = Smtp;

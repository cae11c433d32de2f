/**
 * Turns the component's properties into what the engine sends: the envelope
 * (sender, recipients) and the message parts (header block, body). Nothing
 * here touches the network.
 */
import { isAscii } from "node:buffer";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Readable } from "node:stream";
import iconv from "iconv-lite";
import { ErrorCode, SmtpError } from "../errors.js";
import type { MessagePart } from "../engine/data-transfer.js";
import type { Envelope, EnvelopeRecipient, RecipientType } from "../engine/transaction.js";
import { parseAddressList, type Mailbox } from "../message/address-list.js";
import { assertNoLineBreak, parseHeaderBlock, type Header } from "../message/header-block.js";
import { buildHeaders, serializeHeaders, withoutBlockEnd } from "../message/header-builder.js";
import { dotStuff } from "../message/dot-stuffer.js";
import { buildMimeEntity, planMimeEntity, seededRandom, type AttachmentSource, type MimeContent, type MimeEntity } from "../mime/index.js";
import { hasLongLine } from "../mime/line-length.js";
import { encodeBodyText, mustEncodeBody, withTransferEncoding } from "../mime/plain-body.js";
import type { PropertyStore } from "../schema/property-store.js";
import type { ComposedMessage } from "./composed-message.js";
import { sevenBitConverter } from "./seven-bit.js";

export type { ComposedMessage };

const ENVELOPE_FORBIDDEN = /[<>\s\x00-\x1f\x7f]/;

/** What compose needs beyond the properties: the attachment sources and an S/MIME result. */
export interface ComposeExtras {
  /** The Buffer / stream behind an Attachments entry added with addAttachment(); undefined for file entries. */
  attachmentSource(item: object): Buffer | Readable | undefined;
  /** sign() / encrypt() output, used while MessageText still holds its body. */
  prepared: PreparedEntity | undefined;
}

/** A finished MIME entity (S/MIME): its Content-* headers and body. */
export interface PreparedEntity {
  headers: Header[];
  body: Buffer;
  /** MessageText as sign() / encrypt() left it: the entity applies while it is unchanged. */
  text: string;
}

const NO_EXTRAS: ComposeExtras = { attachmentSource: () => undefined, prepared: undefined };

/**
 * What a message generates: fixed when first needed (a header preview or a
 * compose) so the headers shown before send() are the ones sent.
 */
export interface MessageStamp {
  /** The local part of a generated Message-ID. */
  readonly id: string;
  /** The time a generated Date header shows. */
  readonly date: Date;
  /** Seeds the multipart boundaries. */
  readonly seed: Buffer;
}

export function newStamp(): MessageStamp {
  // The seed is made when a multipart first needs it (most messages have none), from a second UUID:
  // 122 random bits are plenty for boundaries, and randomUUID() draws from a batched entropy cache
  // where randomBytes() asks the system each time (about 14 µs per message).
  let seed: Buffer | undefined;
  return {
    id: randomUUID(),
    date: new Date(),
    get seed(): Buffer {
      return (seed ??= Buffer.from(randomUUID().replaceAll("-", ""), "hex"));
    },
  };
}

/** The header block of a message and how its body will be had; no I/O has been done for it. */
type Draft =
  | { kind: "prebuilt"; headers: Header[]; headersString: string; bytes: Buffer }
  | {
      kind: "built";
      headers: Header[];
      /** Folded, with the empty line that ends the block. */
      headersString: string;
      /** The MIME body (S/MIME's or one to build), read by compose; undefined for plain text. */
      mime: (() => Promise<Buffer | Readable>) | undefined;
      /** The plain text body as it goes (undefined with a stream or MIME). */
      text: Buffer | undefined;
      framed: boolean;
      longLines: boolean;
      charset: string;
    };

export async function composeMessage(store: PropertyStore, stream: Readable | undefined, extras: ComposeExtras = NO_EXTRAS, stamp: MessageStamp = newStamp()): Promise<ComposedMessage> {
  const envelope = composeEnvelope(store);
  const draft = draftMessage(store, stream !== undefined, extras, stamp);
  if (draft.kind === "prebuilt") {
    return { envelope, headers: draft.headers, headersString: draft.headersString, ...completeMessage(draft.bytes), utf8Addresses: envelopeIsUtf8(envelope) };
  }
  const { headers, headersString, framed, longLines } = draft;
  const mime = draft.mime ? await draft.mime() : undefined;
  const head = Buffer.from(headersString, "utf8");
  const parts: MessagePart[] = [head];
  const bodyPart = mime ?? stream ?? (draft.text && draft.text.length > 0 ? draft.text : undefined);
  if (bodyPart) parts.push(bodyPart);
  const composed: ComposedMessage = {
    envelope,
    headers,
    headersString: withoutBlockEnd(headersString),
    parts,
    // A stream's content is unknown: declare 8BITMIME (allowed for 7-bit content too).
    eightBit: (stream !== undefined && !mime) || hasEightBit(head) || (Buffer.isBuffer(bodyPart) && hasEightBit(bodyPart)),
    utf8Addresses: envelopeIsUtf8(envelope),
    longLines,
    unscanned: stream !== undefined && !mime,
  };
  // Kept 8-bit for servers that take it; converted only for one that does not (RFC 6152 §3).
  if (composed.eightBit) {
    composed.sevenBit = sevenBitConverter(composed, { headers, charset: draft.charset, maxHeaderLength: store.int("MaxHeaderLength"), body: mime || framed ? "keep" : "text" });
  }
  return composed;
}

/**
 * The header block composeMessage() gives for the same properties and
 * stamp, worked out without I/O (a missing attachment file is found by
 * send()); undefined when the properties cannot be composed.
 */
export function previewHeaders(store: PropertyStore, streamed: boolean, extras: ComposeExtras | undefined, stamp: MessageStamp): { headers: Header[]; headersString: string } | undefined {
  try {
    const draft = draftMessage(store, streamed, extras ?? NO_EXTRAS, stamp);
    return { headers: draft.headers, headersString: draft.kind === "built" ? withoutBlockEnd(draft.headersString) : draft.headersString };
  } catch (e) {
    // What send() would refuse shows as no headers; anything else is a bug and surfaces.
    if (e instanceof SmtpError) return undefined;
    throw e;
  }
}

/** Everything about the message that needs no I/O: the one place its headers are decided. */
function draftMessage(store: PropertyStore, streamed: boolean, extras: ComposeExtras, stamp: MessageStamp): Draft {
  const charset = String(store.setting("Charset"));
  const prebuilt = store.string("Message");
  if (prebuilt !== "") return { kind: "prebuilt", headers: parseHeaderBlock(prebuilt), headersString: headerText(prebuilt), bytes: Buffer.from(prebuilt, "utf8") };

  // ReturnPath covers the envelope only: a built message always needs its From header (RFC 5322 §3.6).
  if (store.string("From").trim() === "") throw new SmtpError(ErrorCode.NoFrom, "From is empty: set the sender address before sending");
  const prepared = extras.prepared && extras.prepared.text === store.string("MessageText") ? extras.prepared : undefined;
  if (prepared && (store.string("MessageHTML") || store.string("AttachedFile") || store.count("Attachments") > 0)) {
    throw new SmtpError(ErrorCode.InvalidValue, "content was added after sign() / encrypt(): it would not be part of the signed or encrypted message; call sign() / encrypt() again after setting all content");
  }
  const content = prepared ? undefined : mimeContent(store, extras);
  if (content && streamed) throw new SmtpError(ErrorCode.InvalidValue, "setMessageStream() cannot be combined with MessageHTML or attachments: attach the stream with addAttachment() instead");
  const plan = content ? planMimeEntity(content, seededRandom(stamp.seed)) : undefined;
  const mime = prepared ? { headers: prepared.headers, body: (): Promise<Buffer> => Promise.resolve(prepared.body) } : plan ? { headers: plan.headers, body: async () => mimeBytes(await plan.finish()) } : undefined;
  const text = store.string("MessageText");
  const raw = mime ? undefined : streamed ? undefined : encodeText(text, charset);
  const bodyIsNonAscii = raw !== undefined && hasEightBit(raw);
  // OtherHeaders may declare the body's MIME framing itself; such a body is the caller's and goes as it is.
  const framed = declaresFraming(store.string("OtherHeaders"));
  // RFC 5322 §2.1.1: lines over 998 octets (or NUL) cannot go as they are, so the text is encoded as a MIME part would be.
  const encoded = raw && !framed && mustEncodeBody(raw) ? encodeBodyText(raw) : undefined;
  // Only a framed body can still have them: it goes with BINARYMIME or is refused (planTransaction).
  const longLines = framed && raw !== undefined && hasLongLine(raw);
  const body = encoded ? encoded.body : longLines && raw ? dotStuff(raw, { stuff: false, terminate: false }) : raw;
  const { to, cc } = headerRecipients(store);
  const domain = messageIdDomain(store);
  let headers = buildHeaders({
    from: store.string("From"),
    sendTo: store.string("SendTo"),
    cc: store.string("Cc"),
    replyTo: store.string("ReplyTo"),
    subject: store.string("Subject"),
    messageDate: store.string("MessageDate"),
    // The stamp's: a preview and the send after it (and its retries) show one Message-ID.
    messageId: store.string("MessageId") || `<${stamp.id}@${domain}>`,
    importance: store.number("Importance"),
    priority: store.number("Priority"),
    sensitivity: store.number("Sensitivity"),
    readReceiptTo: store.string("ReadReceiptTo"),
    deliveryNotificationTo: store.string("DeliveryNotificationTo"),
    otherHeaders: store.string("OtherHeaders"),
    extraTo: to,
    extraCc: cc,
    charset,
    messageIdDomain: domain,
    bodyNeedsCharset: bodyIsNonAscii ? charset || "UTF-8" : undefined,
    now: stamp.date,
  });
  if (mime) {
    // The entity's own Content-* headers describe the body: they replace any in OtherHeaders.
    headers = [...headers.filter((h) => !/^(mime-version|content-type|content-transfer-encoding)$/i.test(h.field)), { field: "MIME-Version", value: "1.0" }, ...mime.headers];
  }
  if (encoded) headers = withTransferEncoding(headers, encoded.encoding);
  const headersString = serializeHeaders(headers, store.int("MaxHeaderLength"));
  return { kind: "built", headers, headersString, mime: mime?.body, text: body, framed, longLines, charset };
}

/** OtherHeaders sets Content-Transfer-Encoding, or a multipart / message type, which no re-encoding of ours may contradict. */
function declaresFraming(otherHeaders: string): boolean {
  return parseHeaderBlock(otherHeaders).some((h) => /^content-transfer-encoding$/i.test(h.field) || (/^content-type$/i.test(h.field) && /^\s*(multipart|message)\//i.test(h.value)));
}

/** Largest MIME body collected into memory, so small messages keep the one-write / one-flight paths. */
const IN_MEMORY_MIME = 1024 * 1024;

/** In-memory content comes back as a Buffer, files and streams as a stream read while sending. */
async function mimeBytes(entity: MimeEntity): Promise<Buffer | Readable> {
  if (entity.size !== undefined && entity.size <= IN_MEMORY_MIME) {
    const chunks: Buffer[] = [];
    for await (const c of entity.body()) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
  return entity.body();
}

/** The MIME entity for MessageText / MessageHTML / attachments, or undefined for plain text only. */
export async function mimeEntity(store: PropertyStore, extras: ComposeExtras, force = false): Promise<MimeEntity | undefined> {
  const content = mimeContent(store, extras, force);
  return content ? buildMimeEntity(content) : undefined;
}

/** What MIME entity the properties describe, or undefined for plain text only. */
function mimeContent(store: PropertyStore, extras: ComposeExtras, force = false): MimeContent | undefined {
  const attachments: AttachmentSource[] = [];
  const attached = store.string("AttachedFile").trim();
  if (attached) attachments.push({ source: attached });
  store.items("Attachments").forEach((item, i) => {
    const source = extras.attachmentSource(item) ?? (String(item["File"] ?? "").trim() || undefined);
    if (!source) throw new SmtpError(ErrorCode.InvalidValue, `Attachment ${i} has no file: set AttachmentFile(${i}) or use addAttachment()`);
    const str = (k: "Name" | "ContentType" | "ContentId"): string | undefined => String(item[k] ?? "") || undefined;
    attachments.push({ source, name: str("Name"), contentType: str("ContentType"), contentId: str("ContentId"), inline: item["Inline"] === true ? true : undefined });
  });
  const html = store.string("MessageHTML");
  if (!force && !html && attachments.length === 0) return undefined;
  const text = store.string("MessageText");
  return { text: text || undefined, html: html || undefined, attachments, charset: String(store.setting("Charset")) };
}

/**
 * sendMessage(): a complete message with its own envelope, independent of
 * the message properties.
 */
/**
 * A recipient of sendMessage(): an address (list), or an address with raw
 * RCPT parameters (DSN) and its MessageRecipientType (0 To, the default;
 * 1 Cc; 2 BCc), which decides the StopOn setting its refusal answers to.
 */
export type RawRecipient = string | { address: string; options?: string; type?: RecipientType };

export function rawMessage(from: string, recipients: string | readonly RawRecipient[], message: string | Buffer | Readable): ComposedMessage {
  const envelope: Envelope = { sender: envelopeSender("sendMessage() from", from), mailParameters: [], recipients: envelopeRecipients("sendMessage() recipients", recipients) };
  if (typeof message === "string" || Buffer.isBuffer(message)) {
    const bytes = typeof message === "string" ? Buffer.from(message, "utf8") : message;
    const text = bytes.subarray(0, 65536).toString("utf8");
    return { envelope, headers: parseHeaderBlock(text), headersString: headerText(text), ...completeMessage(bytes), utf8Addresses: envelopeIsUtf8(envelope) };
  }
  if (!message || typeof (message as Partial<Readable>).pipe !== "function") {
    throw new SmtpError(ErrorCode.InvalidValue, "sendMessage() takes the message as a string, a Buffer or a readable stream");
  }
  // A stream's content is unknown: declare 8BITMIME (allowed for 7-bit content too).
  return { envelope, headers: [], headersString: "", parts: [message], eightBit: true, utf8Addresses: envelopeIsUtf8(envelope), prebuilt: true, unscanned: true };
}

/** A sender given for the envelope alone: one address, or "<>" for the null sender (bounces). */
function envelopeSender(what: string, from: string): string {
  return from.trim() === "<>" ? "" : singleAddress(what, from);
}

function envelopeRecipients(what: string, recipients: string | readonly RawRecipient[]): EnvelopeRecipient[] {
  const list = (typeof recipients === "string" ? [recipients] : recipients).flatMap((r) =>
    typeof r === "string" ? parseAddressList(r).map((m) => ({ address: m.address, options: "", type: 0 as RecipientType })) : [{ address: r.address, options: r.options ?? "", type: r.type ?? 0 }],
  );
  const collected: EnvelopeRecipient[] = [];
  const add = recipientCollector(collected);
  for (const m of list) {
    assertNoLineBreak(`${what} options`, m.options);
    if (m.type !== 0 && m.type !== 1 && m.type !== 2) throw new SmtpError(ErrorCode.InvalidValue, `a ${what.replace(/s$/, "")} type is 0 (To), 1 (Cc) or 2 (BCc); got ${String(m.type)}`);
    add(m.address, m.type, m.options, what);
  }
  if (collected.length === 0) throw new SmtpError(ErrorCode.NoRecipient, `${what}: at least one recipient is needed`);
  return collected;
}

/** An envelope given apart from the headers (a message object's `envelope`): MAIL FROM and / or the RCPT TO list. */
export interface EnvelopeOverride {
  from?: string;
  to?: string | readonly RawRecipient[];
}

/** The composed message with the envelope replaced where `override` says; the headers stay as composed. */
export function withEnvelope(composed: ComposedMessage, override: EnvelopeOverride): ComposedMessage {
  const envelope: Envelope = {
    ...composed.envelope,
    sender: override.from !== undefined ? envelopeSender("envelope from", override.from) : composed.envelope.sender,
    recipients: override.to !== undefined ? envelopeRecipients("envelope recipients", override.to) : composed.envelope.recipients,
  };
  return { ...composed, envelope, utf8Addresses: envelopeIsUtf8(envelope) };
}

/**
 * A complete message in memory is sent as it is, never re-encoded: what it
 * needs of the server (BINARYMIME, 8BITMIME) is worked out from its bytes.
 */
function completeMessage(bytes: Buffer): Pick<ComposedMessage, "parts" | "eightBit" | "binary" | "longLines" | "prebuilt"> {
  const binary = bytes.includes(0);
  const longLines = hasLongLine(bytes);
  // BINARYMIME sends the bytes untouched, so the line breaks of text are made CRLF here, as DATA would make them.
  const parts = [longLines && !binary ? dotStuff(bytes, { stuff: false, terminate: false }) : bytes];
  return { parts, eightBit: hasEightBit(bytes), binary, longLines, prebuilt: true };
}

/** The envelope only: sender and recipients, checked and de-duplicated. */
export function composeEnvelope(store: PropertyStore): Envelope {
  const returnPath = store.string("ReturnPath").trim();
  let sender: string;
  if (returnPath === "<>") sender = "";
  else if (returnPath !== "") sender = singleAddress("ReturnPath", returnPath);
  else {
    const from = store.string("From").trim();
    if (from === "") throw new SmtpError(ErrorCode.NoFrom, "From is empty: set the sender address before sending");
    sender = singleAddress("From", from);
  }

  const recipients: EnvelopeRecipient[] = [];
  const add = recipientCollector(recipients);
  const lists: ["SendTo" | "Cc" | "BCc", RecipientType][] = [["SendTo", 0], ["Cc", 1], ["BCc", 2]];
  for (const [prop, type] of lists) {
    for (const m of parseAddressList(store.string(prop))) add(m.address, type, "", prop);
  }
  store.items("MessageRecipients").forEach((item, i) => {
    const address = String(item["Address"] ?? "").trim();
    if (address === "") return;
    const parsed = parseAddressList(address);
    if (parsed.length !== 1 || !parsed[0]) {
      throw new SmtpError(ErrorCode.InvalidAddress, `MessageRecipientAddress(${i}) must hold exactly one address; got "${address}"`);
    }
    add(parsed[0].address, Number(item["Type"] ?? 0) as RecipientType, String(item["Options"] ?? ""), `MessageRecipientAddress(${i})`);
  });

  if (recipients.length === 0) {
    throw new SmtpError(ErrorCode.NoRecipient, "no recipient: set SendTo, Cc, BCc or MessageRecipients");
  }
  if (!recipients.some((r) => r.type === 0) && !store.bool("AllowEmptyTo")) {
    throw new SmtpError(ErrorCode.NoRecipient, "SendTo is empty", { hint: "set SendTo, or config(\"AllowEmptyTo=true\") to send to Cc / BCc only" });
  }
  return { sender, mailParameters: [], recipients };
}

function singleAddress(prop: string, value: string): string {
  const list = parseAddressList(value);
  const first = list[0];
  if (!first) throw new SmtpError(ErrorCode.InvalidAddress, `${prop} holds no address: "${value}"`);
  checkEnvelopeAddress(prop, first.address);
  return first.address;
}

/** Adds checked envelope recipients to `into`, each address once (case-insensitive). */
function recipientCollector(into: EnvelopeRecipient[]): (address: string, type: RecipientType, options: string, source: string) => void {
  const seen = new Set<string>();
  return (address, type, options, source) => {
    checkEnvelopeAddress(source, address);
    const key = address.toLowerCase();
    if (seen.has(key)) return;
    seen.add(key);
    into.push({ address, type, options });
  };
}

function checkEnvelopeAddress(source: string, address: string): void {
  if (ENVELOPE_FORBIDDEN.test(address)) {
    throw new SmtpError(ErrorCode.InvalidAddress, `${source}: "${address}" cannot be used as an envelope address (it contains spaces, control characters or angle brackets)`);
  }
}

/** To / Cc entries of MessageRecipients, for the headers. */
function headerRecipients(store: PropertyStore): { to: Mailbox[]; cc: Mailbox[] } {
  const to: Mailbox[] = [];
  const cc: Mailbox[] = [];
  // An address already in SendTo / Cc is not listed in the headers a second time.
  const listed = new Set([...parseAddressList(store.string("SendTo")), ...parseAddressList(store.string("Cc"))].map((m) => m.address.toLowerCase()));
  for (const item of store.items("MessageRecipients")) {
    const address = String(item["Address"] ?? "").trim();
    if (address === "") continue;
    const parsed = parseAddressList(address)[0];
    if (!parsed) continue;
    if (listed.has(parsed.address.toLowerCase())) continue;
    listed.add(parsed.address.toLowerCase());
    const box: Mailbox = { name: String(item["Name"] ?? "") || parsed.name, address: parsed.address };
    const type = Number(item["Type"] ?? 0);
    if (type === 0) to.push(box);
    else if (type === 1) cc.push(box);
  }
  return { to, cc };
}

function messageIdDomain(store: PropertyStore): string {
  const from = parseAddressList(store.string("From"))[0]?.address ?? "";
  const at = from.lastIndexOf("@");
  const domain = at >= 0 ? from.slice(at + 1) : "";
  return /^[A-Za-z0-9.-]+$/.test(domain) ? domain : hostname() || "localhost";
}

function encodeText(text: string, charset: string): Buffer {
  if (charset === "" || /^utf-?8$/i.test(charset)) return Buffer.from(text, "utf8");
  if (!iconv.encodingExists(charset)) throw new SmtpError(ErrorCode.InvalidValue, `Charset "${charset}" is not known`);
  return iconv.encode(text, charset);
}

function hasEightBit(buf: Buffer): boolean {
  return !isAscii(buf);
}

function envelopeIsUtf8(env: Envelope): boolean {
  const nonAscii = /[^\x00-\x7f]/;
  return nonAscii.test(env.sender) || env.recipients.some((r) => nonAscii.test(r.address));
}

/** The header block of a prebuilt message (up to the first empty line). */
function headerText(message: string): string {
  const m = /\r?\n\r?\n/.exec(message);
  return (m ? message.slice(0, m.index) : message).replace(/\r?\n/g, "\r\n") + "\r\n";
}

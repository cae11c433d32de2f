/**
 * The message object Node developers know ({ from, to, subject, text, html,
 * attachments, ... }) mapped onto the component's message properties, so
 * `smtp.send(message)` and `pool.send(message)` compose exactly as the
 * IP*Works properties do. The camelCase property names (sendTo, messageText,
 * otherHeaders, ...) are accepted as well, which keeps every existing pool
 * message valid. Unknown keys fail with the nearest known one.
 */
import type { Readable } from "node:stream";
import type { RecipientType } from "../engine/transaction.js";
import { ErrorCode, SmtpError } from "../errors.js";
import { formatMailbox } from "../message/address-list.js";
import { assertNoLineBreak } from "../message/header-block.js";
import { formatDate } from "../message/header-builder.js";
import type { SmtpOptions } from "../schema/accessor-types.js";
import { MESSAGE_PROPERTY_BY_KEY, type MessagePropertyKey } from "../schema/message-properties.js";
import type { PropertyStore } from "../schema/property-store.js";
import type { AttachmentSource } from "../mime/index.js";
import type { EnvelopeOverride, RawRecipient } from "./compose.js";

/** An address: "a@example.com", "Ann <a@example.com>", or { name, address }. */
export type AddressInput = string | { name?: string; address: string };
/** One address or an array of them (a string may list several, comma-separated, as SendTo does). */
export type AddressListInput = AddressInput | readonly AddressInput[];

/** An attachment of a message object: content, a path or a stream, with its name and type. */
export interface MailAttachment {
  /** The name shown to the recipient (default: the path's file name). */
  filename?: string;
  /** The content: text (sent as UTF-8), bytes, or a stream read once while sending. */
  content?: string | Buffer | Uint8Array | Readable;
  /** A file read while sending. */
  path?: string;
  /** A stream read once while sending (as content). */
  stream?: Readable;
  /** The MIME type (default: from the file name's extension, else application/octet-stream). */
  contentType?: string;
  /** Content-ID for an inline image referenced from html as cid:<cid>. */
  cid?: string;
  /** Content-Disposition inline (default: inline when cid is set). */
  inline?: boolean;
}

/** A message as one object (Nodemailer-style keys), for `send(message)` and `SmtpPool.send()`. */
export interface MailMessage {
  from?: AddressInput;
  to?: AddressListInput;
  cc?: AddressListInput;
  bcc?: AddressListInput;
  replyTo?: AddressListInput;
  subject?: string;
  text?: string;
  html?: string;
  attachments?: readonly MailAttachment[];
  /** Extra header fields: { "X-Tag": "a" } (an array value repeats the field) or [["X-Tag", "a"]]. */
  headers?: Readonly<Record<string, string | readonly string[]>> | readonly (readonly [string, string])[];
  /** The SMTP envelope when it differs from the headers: MAIL FROM and the RCPT TO list. */
  envelope?: { from?: string; to?: string | readonly string[] };
  /** "high" | "normal" | "low" (Importance and Priority headers), or an IP*Works Priority value. */
  priority?: "high" | "normal" | "low" | number;
  /** The Date header (default: the time of sending). */
  date?: Date | string;
  messageId?: string;
}

/** What a message object may hold besides the mapped keys: every camelCase message property and the recipients collection. */
export type MessageObject = MailMessage & Omit<Pick<SmtpOptions, MessagePropertyKey | "messageRecipients">, keyof MailMessage> & {
  /** The body read as it is sent (setMessageStream()): such a message is sent once, never retried. */
  messageStream?: Readable;
};

/** Where a message object is applied: the properties, and attachments with their sources. */
export interface MessageTarget {
  readonly store: PropertyStore;
  addAttachment(source: AttachmentSource["source"], opts: Omit<AttachmentSource, "source">): void;
  setMessageStream(stream: Readable): void;
}


/** Keys with a mapping of their own; every other accepted key is a camelCase message property. */
const MAPPED = ["from", "to", "cc", "bcc", "replyTo", "subject", "text", "html", "attachments", "headers", "envelope", "priority", "date", "messageId"] as const;
type MappedKey = (typeof MAPPED)[number];
/** Pairs that say the same thing twice (both ways, so one pass over the keys finds either). */
const PAIRS = [["to", "sendTo"], ["text", "messageText"], ["html", "messageHTML"], ["headers", "otherHeaders"], ["date", "messageDate"]] as const;
const SAME_AS: ReadonlyMap<string, string> = new Map(PAIRS.flatMap(([a, b]) => [[a, b], [b, a]]));

const PRIORITIES = { high: { Importance: 1, Priority: 2 }, normal: { Importance: 2, Priority: 1 }, low: { Importance: 3, Priority: 3 } } as const;

/** Every field a message object may have (checked for each message a pool sends: a Set). */
const KNOWN_KEYS: ReadonlySet<string> = new Set<string>([...MAPPED, ...MESSAGE_PROPERTY_BY_KEY.keys(), "messageRecipients", "messageStream"]);

/** Refuses an unknown key naming the nearest known one. */
export function checkMessageKeys(message: object): void {
  if (message === null || typeof message !== "object" || Array.isArray(message)) {
    throw new SmtpError(ErrorCode.InvalidValue, "a message is an object such as { from, to, subject, text }");
  }
  for (const key of Object.keys(message)) {
    if (KNOWN_KEYS.has(key)) {
      const same = SAME_AS.get(key);
      if (same !== undefined && Reflect.get(message, key) !== undefined && Reflect.get(message, same) !== undefined) {
        throw new SmtpError(ErrorCode.InvalidValue, `the message gives both "${key}" and "${same}", which are the same field: keep one`);
      }
      continue;
    }
    const near = nearest(key, [...KNOWN_KEYS]);
    throw new SmtpError(ErrorCode.InvalidValue, `"${key}" is not a message field${near ? `: did you mean "${near}"?` : ""}`, {
      hint: `message fields: ${MAPPED.join(", ")} (or the camelCase message properties); connection settings belong to the component or the pool's template`,
    });
  }
}

/**
 * Sets the message on `target` (resetHeaders() first: nothing leaks from the
 * last message) and returns the envelope it asks for, if any.
 */
export function applyMessage(target: MessageTarget, message: MessageObject, reset: () => void): EnvelopeOverride | undefined {
  checkMessageKeys(message);
  reset();
  const store = target.store;
  let envelope: EnvelopeOverride | undefined;
  for (const [key, value] of Object.entries(message)) {
    if (value === undefined) continue;
    switch (key as MappedKey | "messageRecipients" | "messageStream") {
      case "from":
        store.set("From", addressList("from", value, true));
        break;
      case "to":
        store.set("SendTo", addressList("to", value));
        break;
      case "cc":
        store.set("Cc", addressList("cc", value));
        break;
      case "bcc":
        store.set("BCc", addressList("bcc", value));
        break;
      case "replyTo":
        store.set("ReplyTo", addressList("replyTo", value));
        break;
      case "text":
        store.set("MessageText", value);
        break;
      case "html":
        store.set("MessageHTML", value);
        break;
      case "headers":
        store.set("OtherHeaders", headerLines(value));
        break;
      case "date":
        store.set("MessageDate", value instanceof Date ? dateText(value) : value);
        break;
      case "priority":
        setPriority(store, value);
        break;
      case "attachments":
        addAttachments(target, value);
        break;
      case "envelope":
        envelope = envelopeOf(value);
        break;
      case "messageRecipients":
        store.setItems("MessageRecipients", value as readonly Record<string, unknown>[]);
        break;
      case "messageStream":
        target.setMessageStream(value as Readable);
        break;
      default: {
        const name = MESSAGE_PROPERTY_BY_KEY.get(key as MessagePropertyKey);
        if (name) store.set(name, value);
      }
    }
  }
  return envelope;
}

function addressList(field: string, value: unknown, single = false): string {
  if (typeof value === "string") return value;
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  if (single && list.length !== 1) throw new SmtpError(ErrorCode.InvalidValue, `message ${field} is one address`);
  return list.map((a, i) => formatAddress(`message ${field}${Array.isArray(value) ? `[${i}]` : ""}`, a)).join(", ");
}

/** One address in the form the address properties parse. */
function formatAddress(label: string, a: unknown): string {
  if (typeof a === "string") {
    assertNoLineBreak(label, a);
    return a;
  }
  if (a === null || typeof a !== "object" || typeof (a as { address?: unknown }).address !== "string") {
    throw new SmtpError(ErrorCode.InvalidValue, `${label} must be an address string or { name, address }`);
  }
  const { name = "", address } = a as { name?: unknown; address: string };
  if (typeof name !== "string") throw new SmtpError(ErrorCode.InvalidValue, `${label}.name must be a string`);
  assertNoLineBreak(`${label}.address`, address);
  assertNoLineBreak(`${label}.name`, name);
  // The header form the address properties parse back (the name is encoded again with Charset when sent).
  return formatMailbox({ name, address: address.trim() }, "UTF-8");
}

function headerLines(value: unknown): string {
  const pairs: [string, string][] = [];
  if (Array.isArray(value)) {
    for (const pair of value as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2) throw new SmtpError(ErrorCode.InvalidValue, "message headers as an array are [name, value] pairs");
      pairs.push([String(pair[0]), String(pair[1])]);
    }
  } else if (value !== null && typeof value === "object") {
    for (const [name, v] of Object.entries(value)) {
      for (const one of Array.isArray(v) ? (v as unknown[]) : [v]) pairs.push([name, String(one)]);
    }
  } else if (typeof value === "string") {
    return value;
  } else {
    throw new SmtpError(ErrorCode.InvalidValue, "message headers are an object { Name: value } or [name, value] pairs");
  }
  for (const [name, v] of pairs) {
    if (!/^[!-9;-~]+$/.test(name)) throw new SmtpError(ErrorCode.InvalidValue, `message header name ${JSON.stringify(name)} is not a field name (printable ASCII, no colon)`);
    assertNoLineBreak(`message header ${name}`, v);
  }
  // OtherHeaders validates the block again (and refuses what it always refuses).
  return pairs.map(([name, v]) => `${name}: ${v}`).join("\r\n");
}

function dateText(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new SmtpError(ErrorCode.InvalidValue, "message date is an invalid Date");
  return formatDate(d);
}

function setPriority(store: PropertyStore, value: unknown): void {
  if (typeof value === "number") {
    store.set("Priority", value);
    return;
  }
  const row = typeof value === "string" ? PRIORITIES[value.toLowerCase() as keyof typeof PRIORITIES] : undefined;
  if (!row) throw new SmtpError(ErrorCode.InvalidValue, `message priority is "high", "normal" or "low" (or a Priority value); got ${JSON.stringify(value)}`);
  store.set("Importance", row.Importance);
  store.set("Priority", row.Priority);
}

function addAttachments(target: MessageTarget, value: unknown): void {
  if (!Array.isArray(value)) throw new SmtpError(ErrorCode.InvalidValue, "message attachments is an array of { filename, content | path | stream, contentType, cid }");
  (value as unknown[]).forEach((a, i) => {
    if (a === null || typeof a !== "object") throw new SmtpError(ErrorCode.InvalidValue, `message attachments[${i}] is not an object`);
    const { filename, content, path, stream, contentType, cid, inline, ...rest } = a as MailAttachment;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) {
      const near = nearest(unknown, ["filename", "content", "path", "stream", "contentType", "cid", "inline"]);
      throw new SmtpError(ErrorCode.InvalidValue, `message attachments[${i}] has no field "${unknown}"${near ? `: did you mean "${near}"?` : ""}`);
    }
    const sources = [content, path, stream].filter((s) => s !== undefined);
    if (sources.length !== 1) throw new SmtpError(ErrorCode.InvalidValue, `message attachments[${i}] needs exactly one of content, path, stream`);
    const source = typeof content === "string" ? Buffer.from(content, "utf8") : content instanceof Uint8Array && !Buffer.isBuffer(content) ? Buffer.from(content) : (sources[0] as string | Buffer | Readable);
    // A Buffer or stream has no file name: "attachment-1" rather than a nameless part.
    const name = filename ?? (typeof source === "string" ? undefined : `attachment-${i + 1}`);
    target.addAttachment(source, { name, contentType, contentId: cid, inline });
  });
}

function envelopeOf(value: unknown): EnvelopeOverride {
  if (value === null || typeof value !== "object") throw new SmtpError(ErrorCode.InvalidValue, "message envelope is { from, to }");
  const { from, to, ...rest } = value as { from?: unknown; to?: unknown };
  if (Object.keys(rest).length > 0) throw new SmtpError(ErrorCode.InvalidValue, `message envelope has only from and to; got ${Object.keys(rest).join(", ")}`);
  if (from !== undefined && typeof from !== "string") throw new SmtpError(ErrorCode.InvalidValue, "message envelope.from is an address string (\"<>\" for the null sender)");
  let recipients: RawRecipient[] | undefined;
  if (to !== undefined) {
    const list = typeof to === "string" ? [to] : Array.isArray(to) ? (to as unknown[]) : undefined;
    if (!list || list.some((r) => typeof r !== "string")) throw new SmtpError(ErrorCode.InvalidValue, "message envelope.to is an address string or an array of them");
    // Every envelope recipient counts as To for the StopOn settings.
    recipients = (list as string[]).map((address): RawRecipient => ({ address, type: 0 as RecipientType }));
  }
  return { ...(from !== undefined ? { from } : {}), ...(recipients ? { to: recipients } : {}) };
}

/** The known name within edit distance 2 (or a case-insensitive match), if there is one. */
function nearest(key: string, known: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const d = name.toLowerCase() === key.toLowerCase() ? 0 : distance(key.toLowerCase(), name.toLowerCase());
    if (d <= 2 && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min(cur + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}

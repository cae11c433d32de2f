/**
 * Builds the header block of a plain message from the component's properties.
 * Values are kept in wire form (encoded, unfolded); folding happens on serialize.
 */
import { randomUUID } from "node:crypto";
import { SmtpError, ErrorCode } from "../errors.js";
import { formatAddressList, parseAddressList, type Mailbox } from "./address-list.js";
import { assertNoLineBreak, parseHeaderBlock, validateOtherHeaders, type Header } from "./header-block.js";
import { encodeWords } from "./header-encoding.js";
import { foldHeader } from "./header-folding.js";

export interface HeaderInput {
  from: string;
  sendTo: string;
  cc: string;
  replyTo: string;
  subject: string;
  /** "" = now. */
  messageDate: string;
  /** "" = generated "<random@messageIdDomain>". */
  messageId: string;
  /** 0 none, 1 high, 2 normal, 3 low. */
  importance: number;
  /** 0 none, 1 normal, 2 urgent, 3 non-urgent. */
  priority: number;
  /** 0 none, 1 Personal, 2 Private, 3 Company-Confidential. */
  sensitivity: number;
  readReceiptTo: string;
  deliveryNotificationTo: string;
  otherHeaders: string;
  extraTo: Mailbox[];
  extraCc: Mailbox[];
  /** "" = UTF-8 where encoding is needed. */
  charset: string;
  messageIdDomain: string;
  /** When set and OtherHeaders has no Content-Type: MIME headers for an 8bit text/plain body. */
  bodyNeedsCharset?: string;
  now?: Date;
}

const IMPORTANCE = ["", "high", "normal", "low"];
const PRIORITY = ["", "normal", "urgent", "non-urgent"];
const SENSITIVITY = ["", "Personal", "Private", "Company-Confidential"];
const MIME_TOKEN = /^[A-Za-z0-9!#$%&'*+\-.^_`{|}~]+$/;

function enumValue(what: string, table: string[], value: number): string {
  const v = Number.isInteger(value) ? table[value] : undefined;
  if (v === undefined) {
    throw new SmtpError(ErrorCode.InvalidValue, `${what} must be 0..${table.length - 1}, got ${value}`);
  }
  return v;
}

/** RFC 5322 date-time in the local zone, e.g. "Tue, 24 Nov 2026 22:37:35 +0100". */
let lastSecond = NaN;
let lastDate = "";

export function formatDate(d: Date): string {
  // Messages sent in bulk share the same second: format it once.
  const second = Math.floor(d.getTime() / 1000);
  if (second === lastSecond) return lastDate;
  lastDate = formatDateUncached(d);
  lastSecond = second;
  return lastDate;
}

function formatDateUncached(d: Date): string {
  const offset = -d.getTimezoneOffset();
  // toUTCString has a fixed format; shifting by the offset makes it show local time.
  const local = new Date(d.getTime() + offset * 60_000).toUTCString().replace(/ GMT$/, "");
  const abs = Math.abs(offset);
  const zone = `${offset < 0 ? "-" : "+"}${String(Math.floor(abs / 60)).padStart(2, "0")}${String(abs % 60).padStart(2, "0")}`;
  return `${local} ${zone}`;
}

function messageId(input: HeaderInput, from: Mailbox[]): string {
  if (input.messageId !== "") {
    return input.messageId.startsWith("<") ? input.messageId : `<${input.messageId}>`;
  }
  const first = from[0]?.address ?? "";
  const fromDomain = first.slice(first.lastIndexOf("@") + 1);
  const domain = input.messageIdDomain || fromDomain || "localhost";
  // randomUUID draws from a cached entropy pool: one syscall per many messages.
  return `<${randomUUID()}@${domain}>`;
}

function addressHeader(list: Mailbox[], charset: string): string {
  return list.length > 0 ? formatAddressList(list, charset) : "";
}

/** The headers in their final order; empty values are left out. */
export function buildHeaders(input: HeaderInput): Header[] {
  const strings: Array<[string, string]> = [
    ["Subject", input.subject],
    ["MessageDate", input.messageDate],
    ["MessageId", input.messageId],
    ["MessageIdDomain", input.messageIdDomain],
    ["Charset", input.charset],
    ["BodyCharset", input.bodyNeedsCharset ?? ""],
  ];
  for (const [what, value] of strings) assertNoLineBreak(what, value);
  validateOtherHeaders(input.otherHeaders);
  const other = parseHeaderBlock(input.otherHeaders);

  const cs = input.charset;
  const from = parseAddressList(input.from);
  const generated: Header[] = [
    { field: "Date", value: input.messageDate || formatDate(input.now ?? new Date()) },
    { field: "From", value: addressHeader(from, cs) },
    // RFC 5322 §3.6.2: a From with several mailboxes needs a Sender; the first one sends.
    { field: "Sender", value: from.length > 1 ? addressHeader(from.slice(0, 1), cs) : "" },
    { field: "Reply-To", value: addressHeader(parseAddressList(input.replyTo), cs) },
    { field: "To", value: addressHeader([...parseAddressList(input.sendTo), ...input.extraTo], cs) },
    { field: "Cc", value: addressHeader([...parseAddressList(input.cc), ...input.extraCc], cs) },
    { field: "Subject", value: encodeWords(input.subject, cs) },
    { field: "Message-ID", value: messageId(input, from) },
    { field: "Importance", value: enumValue("Importance", IMPORTANCE, input.importance) },
    { field: "Priority", value: enumValue("Priority", PRIORITY, input.priority) },
    { field: "Sensitivity", value: enumValue("Sensitivity", SENSITIVITY, input.sensitivity) },
    { field: "Disposition-Notification-To", value: addressHeader(parseAddressList(input.readReceiptTo), cs) },
    { field: "Return-Receipt-To", value: addressHeader(parseAddressList(input.deliveryNotificationTo), cs) },
  ];

  const bodyCharset = input.bodyNeedsCharset ?? "";
  const hasContentType = other.some((h) => h.field.toLowerCase() === "content-type");
  if (bodyCharset !== "" && !hasContentType) {
    if (!MIME_TOKEN.test(bodyCharset)) {
      throw new SmtpError(ErrorCode.InvalidValue, `Invalid body charset ${JSON.stringify(bodyCharset)}`);
    }
    generated.push(
      { field: "MIME-Version", value: "1.0" },
      { field: "Content-Type", value: `text/plain; charset=${bodyCharset}` },
      { field: "Content-Transfer-Encoding", value: "8bit" },
    );
  }

  // What OtherHeaders sets wins over what we would generate.
  const overridden = new Set(other.map((h) => h.field.toLowerCase()));
  const kept = generated.filter((h) => h.value !== "" && !overridden.has(h.field.toLowerCase()));
  // Bcc recipients must never show up in the message, even via OtherHeaders.
  return [...kept, ...other.filter((h) => h.field.toLowerCase() !== "bcc")];
}

/** Folded header lines, each ending CRLF, plus the empty line that ends the block. */
export function serializeHeaders(headers: Header[], maxLength: number): string {
  return headers.map((h) => foldHeader(h.field, h.value, maxLength) + "\r\n").join("") + "\r\n";
}

/** A serialized block as MessageHeadersString shows it: without the empty line that ends it. */
export function withoutBlockEnd(serialized: string): string {
  return serialized.replace(/\r\n\r\n$/, "\r\n");
}

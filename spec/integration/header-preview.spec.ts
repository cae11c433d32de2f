/**
 * MessageHeadersString / MessageHeaders before send(): the header block the
 * next send() transmits, byte for byte (generated Message-ID, Date and
 * multipart boundaries included), checked against what a real `smtp-server`
 * received; after the send they show what was sent until the message changes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, type Smtp } from "../../src/index.js";
import { client, rejectsWith } from "../support/client.js";
import { smimeFixture } from "../support/cms.js";
import { startSmtpServer, type Harness, type ReceivedMessage } from "../support/smtp-server-harness.js";

const SIGNER_PEM_TEXT = readFileSync(smimeFixture("signer.pem"), "utf8") + readFileSync(smimeFixture("signer.key"), "utf8");

const work = mkdtempSync(join(tmpdir(), "smtpkit-header-preview-spec-"));
let server: Harness;

beforeAll(async () => {
  server = await startSmtpServer();
});
afterEach(() => {
  server.hooks = {};
});
afterAll(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

function last(): ReceivedMessage {
  const m = server.received[server.received.length - 1];
  if (!m?.rawKept) throw new Error("the server received nothing");
  return m;
}

/** The received bytes up to and including the first empty line, as latin1 (one char per byte). */
function receivedHead(m: ReceivedMessage = last()): string {
  const end = m.raw.indexOf("\r\n\r\n");
  expect(end).toBeGreaterThan(0);
  return m.raw.subarray(0, end + 4).toString("latin1");
}

function file(name: string, content: string | Buffer): string {
  const path = join(work, name);
  writeFileSync(path, content);
  return path;
}

interface Shown {
  text: string;
  count: number;
  pairs: [string, string][];
  array: { field: string; value: string }[];
}

/** Everything the component shows of the headers, through each accessor. */
function shown(m: Smtp): Shown {
  const count = m.getMessageHeaderCount();
  return {
    text: m.getMessageHeadersString(),
    count,
    pairs: Array.from({ length: count }, (_, i): [string, string] => [m.getMessageHeaderField(i), m.getMessageHeaderValue(i)]),
    array: m.messageHeaders.map((h) => ({ field: h.field, value: h.value })),
  };
}

function messageId(s: Shown): string | undefined {
  return s.pairs.find(([f]) => f.toLowerCase() === "message-id")?.[1];
}

/**
 * The preview before send() is the header block the server got (bytes up to
 * the first empty line) and what the properties show after the send.
 */
async function expectPreviewSent(m: Smtp): Promise<{ before: Shown; got: ReceivedMessage }> {
  const before = shown(m);
  expect(before.text).not.toBe("");
  expect(before.count).toBeGreaterThan(0);
  // The accessors agree with each other: the pairs are the unfolded lines of the block.
  const unfolded = before.text.replace(/\r\n(?=[ \t])/g, "").split("\r\n").filter((l) => l !== "");
  expect(before.pairs.map(([f, v]) => `${f}: ${v}`)).toEqual(unfolded);
  expect(before.array.map((h) => [h.field, h.value])).toEqual(before.pairs);
  // Reading again changes nothing (the generated values are remembered).
  expect(shown(m)).toEqual(before);

  const count = server.received.length;
  await m.send();
  expect(server.received.length).toBe(count + 1);
  const got = last();
  expect(Buffer.from(before.text + "\r\n", "utf8").toString("latin1")).toBe(receivedHead(got));
  expect(shown(m)).toEqual(before);
  return { before, got };
}

describe("the preview before send() is the header block sent", () => {
  it("a plain text message, with a generated Message-ID and Date", async () => {
    const m = client(server.port, { subject: "plain preview", messageText: "just text\r\n" });
    const { before, got } = await expectPreviewSent(m);
    expect(messageId(before)).toBe(got.messageId);
    expect(before.pairs.some(([f]) => f === "Date")).toBe(true);
  });

  it("non-ASCII Subject and display names (RFC 2047)", async () => {
    const m = client(server.port, {
      from: "Jürgen Groß <juergen@example.com>",
      sendTo: "Zoë Ørsted <zoe@example.org>",
      cc: "Ünal <unal@example.org>",
      subject: "Grüße aus Köln ✓ — a subject long enough to be folded over more than one header line, surely",
      messageText: "Grüße\r\n",
    });
    const { before } = await expectPreviewSent(m);
    expect(before.text).toMatch(/^Subject: =\?UTF-8\?/m);
    // 8-bit text body: the MIME headers for it are in the preview too.
    expect(before.text).toContain("Content-Transfer-Encoding: 8bit\r\n");
    const mail = await simpleParser(last().raw);
    expect(mail.subject).toBe("Grüße aus Köln ✓ — a subject long enough to be folded over more than one header line, surely");
    expect(mail.from?.value[0]?.name).toBe("Jürgen Groß");
  });

  it("HTML with text (multipart/alternative): the boundary shown is the one sent; mailparser reads it", async () => {
    const m = client(server.port, { subject: "alternative", messageText: "plain part\r\n", messageHTML: "<p>html <b>part</b></p>" });
    const { before, got } = await expectPreviewSent(m);
    const type = before.pairs.find(([f]) => f === "Content-Type")?.[1] ?? "";
    expect(type).toMatch(/^multipart\/alternative; boundary="?----=_smtpkit_[0-9a-f]+"?$/);
    const mail = await simpleParser(got.raw);
    expect(mail.messageId).toBe(messageId(before));
    expect(mail.text?.trim()).toBe("plain part");
    expect(mail.html).toBe("<p>html <b>part</b></p>");
    expect(mail.headers.get("content-type")).toMatchObject({ value: "multipart/alternative" });
  });

  it("attachments from files (AttachedFile, addAttachment(path)) and from Buffers", async () => {
    const m = client(server.port, { subject: "attachments", messageText: "see attached\r\n", messageHTML: "<p>logo: <img src=\"cid:logo@x\"></p>" });
    m.setAttachedFile(file("notes.txt", "some notes\n"));
    m.addAttachment(file("report.csv", "a,b\r\n1,2\r\n"), { name: "Bericht für 2026.csv" });
    m.addAttachment(Buffer.from("binary payload"), { name: "payload.bin" });
    m.addAttachment(Buffer.from("\x89PNG fake"), { name: "logo.png", contentId: "logo@x" });
    const { before, got } = await expectPreviewSent(m);
    expect(before.pairs.find(([f]) => f === "Content-Type")?.[1]).toMatch(/^multipart\/mixed;/);
    const mail = await simpleParser(got.raw);
    expect(mail.attachments.map((a) => a.filename).sort()).toEqual(["Bericht für 2026.csv", "logo.png", "notes.txt", "payload.bin"]);
  });

  it("a prebuilt Message property", async () => {
    const prebuilt = "From: Someone <someone@example.com>\r\nTo: shown@example.com\r\nSubject: prebuilt preview\r\nX-Prebuilt: yes\r\n\r\nbody\r\n";
    const m = client(server.port, { message: prebuilt });
    const { before } = await expectPreviewSent(m);
    expect(before.text).toBe("From: Someone <someone@example.com>\r\nTo: shown@example.com\r\nSubject: prebuilt preview\r\nX-Prebuilt: yes\r\n");
    expect(before.count).toBe(4);
  });

  it("after sign(): the S/MIME entity's headers", async () => {
    const m = client(server.port, { subject: "signed preview", messageText: "signed text\r\n" });
    m.addAttachment(Buffer.from("signed attachment"), { name: "s.bin" });
    m.setCertStoreType(7);
    m.setCertStore(SIGNER_PEM_TEXT);
    await m.sign();
    const { before } = await expectPreviewSent(m);
    expect(before.pairs.find(([f]) => f === "Content-Type")?.[1]).toMatch(/^multipart\/signed;/);
  });

  it("after encrypt(): the enveloped entity's headers", async () => {
    const m = client(server.port, { subject: "encrypted preview", messageText: "secret\r\n" });
    m.addRecipientCert(smimeFixture("recipient.pem"));
    await m.encrypt();
    const { before } = await expectPreviewSent(m);
    expect(before.pairs.find(([f]) => f === "Content-Type")?.[1]).toMatch(/^application\/(x-)?pkcs7-mime;/);
  });
});

describe("the generated values are the next message's", () => {
  it("a retry after a refused attempt sends the Message-ID, Date and boundary shown", async () => {
    const m = client(server.port, { subject: "retry", messageHTML: "<p>retry</p>" });
    const before = shown(m);
    server.hooks = { mailFrom: () => ({ code: 451, text: "4.3.0 try again later" }) };
    await expect(m.send()).rejects.toMatchObject({ replyCode: 451 });
    // What was tried is shown, and it is what the retry sends.
    expect(shown(m)).toEqual(before);
    server.hooks = {};
    await m.send();
    expect(Buffer.from(before.text + "\r\n", "utf8").toString("latin1")).toBe(receivedHead());
    expect(last().messageId).toBe(messageId(before));
  });

  it("a retry after a failed connect keeps the Message-ID", async () => {
    const m = client(server.port, { subject: "retry connect", mailPort: 1 });
    const id = messageId(shown(m));
    await rejectsWith(m.send(), ErrorCode.ConnectionRefused);
    m.setMailPort(server.port);
    await m.send();
    expect(last().messageId).toBe(id);
  });

  it("a message changed after a failed attempt gets a Message-ID of its own", async () => {
    const m = client(server.port, { subject: "first try", mailPort: 1 });
    const id = messageId(shown(m));
    await rejectsWith(m.send(), ErrorCode.ConnectionRefused);
    m.setMailPort(server.port);
    m.setSubject("another message");
    const { before } = await expectPreviewSent(m);
    expect(messageId(before)).not.toBe(id);
  });

  it("changing Subject after a preview changes the preview, and the new one is sent", async () => {
    const m = client(server.port, { subject: "before the change" });
    const first = shown(m);
    m.setSubject("after the change");
    const second = shown(m);
    expect(second.text).not.toBe(first.text);
    expect(second.pairs.find(([f]) => f === "Subject")?.[1]).toBe("after the change");
    await expectPreviewSent(m);
  });

  it("after a send the headers sent stay until a message property changes; the next message has a new Message-ID", async () => {
    const m = client(server.port, { subject: "one" });
    const { before } = await expectPreviewSent(m);
    expect(shown(m)).toEqual(before);
    m.setSubject("two");
    const next = shown(m);
    expect(messageId(next)).not.toBe(messageId(before));
    await expectPreviewSent(m);
  });

  it("queue() takes the shown Message-ID for the queued message; the next message gets another", async () => {
    const dir = mkdtempSync(join(work, "queue-"));
    const m = client(server.port, { subject: "queued preview" });
    const id = messageId(shown(m)) ?? "";
    const path = await m.queue(dir);
    expect(readFileSync(path).includes(`Message-ID: ${id}\r\n`)).toBe(true);
    expect(messageId(shown(m))).not.toBe(id);
  });
});

describe("empty previews and limits", () => {
  it("resetHeaders() empties them, before and after a send", async () => {
    const m = client(server.port, { subject: "reset" });
    expect(m.getMessageHeaderCount()).toBeGreaterThan(0);
    m.resetHeaders();
    expect(m.getMessageHeadersString()).toBe("");
    expect(m.getMessageHeaderCount()).toBe(0);
    m.setFrom("sender@example.com");
    m.setSendTo("rcpt@example.com");
    await m.send();
    expect(m.getMessageHeaderCount()).toBeGreaterThan(0);
    m.resetHeaders();
    expect(m.getMessageHeadersString()).toBe("");
    expect(m.getMessageHeaderCount()).toBe(0);
    expect(m.messageHeaders).toEqual([]);
  });

  it("with From empty the preview is empty, not an error", () => {
    const m = client(server.port, { from: "" });
    expect(m.getMessageHeadersString()).toBe("");
    expect(m.getMessageHeaderCount()).toBe(0);
    expect(m.messageHeaders).toEqual([]);
    expect(m.getMessageHeaders().size()).toBe(0);
  });

  it("DKIM-Signature is added at send time, in front of the headers shown", async () => {
    const m = client(server.port, { subject: "dkim preview" });
    m.config("DKIMDomain=example.com");
    m.config("DKIMSelector=s1");
    m.config(`DKIMPrivateKey=${smimeFixture("signer.key")}`);
    const before = shown(m);
    expect(before.text).not.toMatch(/DKIM-Signature/i);
    await m.send();
    const head = receivedHead();
    expect(head).toMatch(/^DKIM-Signature: /);
    expect(head.endsWith(before.text + "\r\n")).toBe(true);
    // After the send: what was sent, the signature included.
    expect(m.getMessageHeadersString() + "\r\n").toBe(head);
  });

  it("a missing attachment file is found by send(), not by the preview", async () => {
    const m = client(server.port, { subject: "missing file" });
    m.addAttachment(join(work, "does-not-exist.bin"));
    expect(m.getMessageHeadersString()).toMatch(/^Content-Type: multipart\/mixed;/m);
    await rejectsWith(m.send(), ErrorCode.CannotOpenFile);
  });
});

/**
 * MIME composition through the Smtp component: MessageText, MessageHTML,
 * the Attachments collection, addAttachment() (paths, Buffers, streams) and
 * AttachedFile, sent with Smtp.send() to a real `smtp-server` on 127.0.0.1
 * and read back with mailparser's simpleParser. The 30 MB attachment goes to
 * a server that writes DATA straight to a file, so that neither side of the
 * in-process connection holds it while memory is sampled.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync, writeSync, openSync, closeSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { simpleParser, type Attachment, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, Smtp, SmtpPool } from "../../src/index.js";
import { client, rejectsWith } from "../support/client.js";
import { liveBytes } from "../support/memory.js";
import { headerMap, startSmtpServer, type Harness, type ReceivedMessage } from "../support/smtp-server-harness.js";

// A 1x1 PNG.
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");
const BIG_SIZE = 30 * 1024 * 1024;

const work = mkdtempSync(join(tmpdir(), "smtpkit-compose-spec-"));
let server: Harness;
/** Writes each message's DATA to a file in `work` as it arrives (nothing kept in memory). */
let fileServer: SMTPServer;
let fileServerPort = 0;
const filed: string[] = [];

beforeAll(async () => {
  server = await startSmtpServer();
  fileServer = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    hideSTARTTLS: true,
    logger: false,
    closeTimeout: 500,
    disableReverseLookup: true,
    onData(stream, _session, callback) {
      const path = join(work, `received-${filed.length + 1}.eml`);
      pipeline(stream, createWriteStream(path)).then(
        () => {
          filed.push(path);
          callback(null, "OK: filed");
        },
        (err: Error) => callback(err),
      );
    },
  });
  fileServer.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    fileServer.server.once("error", reject);
    fileServer.listen(0, "127.0.0.1", () => resolve());
  });
  fileServerPort = (fileServer.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await server?.close();
  await new Promise<void>((resolve) => (fileServer ? fileServer.close(() => resolve()) : resolve()));
  rmSync(work, { recursive: true, force: true });
});

function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

function last(): ReceivedMessage {
  const m = server.received[server.received.length - 1];
  if (!m) throw new Error("the server received nothing");
  return m;
}

async function parsed(m: ReceivedMessage = last()): Promise<ParsedMail> {
  if (!m.raw) throw new Error("no raw message");
  return simpleParser(m.raw, { keepCidLinks: true });
}

function file(name: string, data: Buffer | string): string {
  const path = join(work, name);
  writeFileSync(path, data);
  return path;
}

function byName(mail: ParsedMail, name: string): Attachment {
  const found = mail.attachments.find((a) => a.filename === name);
  if (!found) throw new Error(`no attachment named ${name}; got ${mail.attachments.map((a) => a.filename).join(", ")}`);
  return found;
}

function contentType(m: ReceivedMessage): string {
  return headerMap(m).get("content-type")?.[0] ?? "";
}

describe("text and HTML", () => {
  it("MessageText + MessageHTML become multipart/alternative and both read back", async () => {
    const m = client(server.port, { messageText: "Plain wörld\r\nsecond line\r\n", messageHTML: "<p>HTML <b>wörld</b></p>" });
    await m.send();
    expect(contentType(last())).toMatch(/^multipart\/alternative; boundary=/);
    const mail = await parsed();
    expect(mail.text?.trim()).toBe("Plain wörld\nsecond line");
    expect(mail.html).toBe("<p>HTML <b>wörld</b></p>");
    expect(mail.attachments).toHaveLength(0);
    expect(headerMap(last()).get("mime-version")).toEqual(["1.0"]);
  });

  it("an inline image is related to the HTML: the html keeps cid:logo and the part has Content-ID <logo>", async () => {
    const m = client(server.port, { messageText: "", messageHTML: '<p>Logo:</p><img src="cid:logo" alt="logo">' });
    m.addAttachment(PNG, { contentId: "logo", name: "logo.png" });
    await m.send();
    expect(contentType(last())).toMatch(/^multipart\/related;/);
    const mail = await parsed();
    expect(mail.html).toContain('src="cid:logo"');
    expect(mail.attachments).toHaveLength(1);
    const logo = mail.attachments[0] as Attachment;
    expect(logo.contentId).toBe("<logo>");
    expect(logo.cid).toBe("logo");
    expect(logo.related).toBe(true);
    expect(logo.contentType).toBe("image/png");
    expect(logo.contentDisposition).toBe("inline");
    expect(logo.filename).toBe("logo.png");
    expect(sha256(logo.content)).toBe(sha256(PNG));
  });
});

describe("attachments", () => {
  it("a file (setAttachmentCount / setAttachmentFile), a Buffer and a Readable with non-ASCII names arrive byte-exact", async () => {
    const pdf = randomBytes(150_000);
    const bin = randomBytes(70_001);
    const csv = Buffer.from("id;name\r\n1;Zoë\n2;Ægir\r\n3;trailing blank  \n".repeat(500), "utf8");
    const pdfPath = file("report.pdf", pdf);

    const m = client(server.port, { messageText: "Three attachments.\r\n" });
    m.setAttachmentCount(1);
    m.setAttachmentFile(0, pdfPath);
    m.setAttachmentName(0, "Résumé – 東京.pdf");
    m.addAttachment(bin, { name: "données été.bin" });
    m.addAttachment(Readable.from([csv.subarray(0, 1000), csv.subarray(1000)]), { name: "Ægir naïve list.csv", contentType: "text/csv; charset=utf-8" });
    expect(m.getAttachmentCount()).toBe(3);
    expect(m.getAttachmentFile(0)).toBe(pdfPath);
    expect(m.getAttachmentFile(1)).toBe("");
    await m.send();

    expect(contentType(last())).toMatch(/^multipart\/mixed;/);
    // Every header line is ASCII: the names went out as RFC 2231 / 2047.
    expect(last().head.every((b) => b < 0x80)).toBe(true);
    const mail = await parsed();
    expect(mail.text?.trim()).toBe("Three attachments.");
    expect(mail.attachments).toHaveLength(3);
    const a = byName(mail, "Résumé – 東京.pdf");
    const b = byName(mail, "données été.bin");
    const c = byName(mail, "Ægir naïve list.csv");
    expect(a.contentType).toBe("application/pdf");
    expect(b.contentType).toBe("application/octet-stream");
    expect(c.contentType).toBe("text/csv");
    for (const x of [a, b, c]) expect(x.contentDisposition).toBe("attachment");
    expect(sha256(a.content)).toBe(sha256(pdf));
    expect(sha256(b.content)).toBe(sha256(bin));
    // Text attachments are base64 too, so bare LFs and trailing blanks survive.
    expect(sha256(c.content)).toBe(sha256(csv));
  });

  it("the AttachedFile property alone makes the message multipart/mixed", async () => {
    const data = Buffer.from("col1,col2\r\n1,2\r\n", "latin1");
    const path = file("figures.csv", data);
    const m = client(server.port, { messageText: "See the file.\r\n", attachedFile: path });
    await m.send();
    expect(contentType(last())).toMatch(/^multipart\/mixed; boundary=/);
    const mail = await parsed();
    expect(mail.text?.trim()).toBe("See the file.");
    expect(mail.attachments).toHaveLength(1);
    const att = mail.attachments[0] as Attachment;
    expect(att.filename).toBe("figures.csv");
    expect(att.contentType).toBe("text/csv");
    expect(att.content.equals(data)).toBe(true);
  });

  it("a 30 MB file attachment is streamed with flat memory and arrives byte-exact", { timeout: 60_000 }, async () => {
    const path = join(work, "big.bin");
    const hash = createHash("sha256");
    const fd = openSync(path, "w");
    for (let done = 0; done < BIG_SIZE; done += 1024 * 1024) {
      const chunk = randomBytes(Math.min(1024 * 1024, BIG_SIZE - done));
      hash.update(chunk);
      writeSync(fd, chunk);
    }
    closeSync(fd);
    const expected = hash.digest("hex");
    expect(statSync(path).size).toBe(BIG_SIZE);

    const m = client(fileServerPort, { timeout: 30, messageText: "The big one.\r\n" });
    m.addAttachment(path, { name: "gross.bin" });
    liveBytes();
    const baseline = liveBytes();
    const samples: number[] = [];
    let events = 0;
    m.on("Transfer", () => {
      if (++events % 32 === 0) {
        // Two collections: buffers freed by the first are sometimes still counted until the
        // second (seen as one-off ~13 MB readings), which is garbage, not data held.
        liveBytes();
        samples.push(liveBytes() - baseline);
      }
    });
    const before = filed.length;
    await m.send();

    expect(filed.length).toBe(before + 1);
    // base64 makes 30 MB about 40.5 MB on the wire.
    expect(statSync(filed[filed.length - 1] as string).size).toBeGreaterThan(BIG_SIZE * 1.3);
    // The file is 30 MB (40 MB encoded); client and server together (both in this
    // process) stay far below it: typically ~2 MB.
    expect(samples.length).toBeGreaterThan(8);
    expect(Math.max(...samples)).toBeLessThan(10 * 1024 * 1024);

    const received = filed[filed.length - 1] as string;
    const mail = await simpleParser(createReadStream(received));
    expect(mail.text?.trim()).toBe("The big one.");
    expect(mail.attachments).toHaveLength(1);
    const att = mail.attachments[0] as Attachment;
    expect(att.filename).toBe("gross.bin");
    expect(att.size).toBe(BIG_SIZE);
    expect(sha256(att.content)).toBe(expected);
    rmSync(path);
    rmSync(received);
  });

  it("resetHeaders() clears the attachments and MessageHTML", async () => {
    const m = client(server.port, { messageHTML: "<p>old</p>", attachedFile: file("old.txt", "old") });
    m.addAttachment(Buffer.from("old buffer"), { name: "old.bin" });
    m.resetHeaders();
    expect(m.getAttachmentCount()).toBe(0);
    expect(m.getMessageHTML()).toBe("");
    expect(m.getAttachedFile()).toBe("");
    m.setFrom("sender@example.com");
    m.setSendTo("rcpt@example.com");
    m.setSubject("after reset");
    m.setMessageText("just text\r\n");
    await m.send();
    // A plain ASCII text message: no MIME structure at all.
    expect(contentType(last())).not.toMatch(/multipart/);
    expect(last().raw?.toString("latin1")).not.toContain("old");
    const mail = await parsed();
    expect(mail.attachments).toHaveLength(0);
    expect(mail.html || undefined).toBeUndefined();
    expect(mail.text).toBe("just text\n");
  });

  it("a non-ASCII subject stays an RFC 2047 encoded word in a MIME message", async () => {
    const subject = "Grüße – 東京の報告 📎";
    const m = client(server.port, { subject, messageText: "text\r\n", messageHTML: "<p>html</p>" });
    m.addAttachment(Buffer.from("x"), { name: "x.txt" });
    await m.send();
    const head = last().head;
    expect(head.every((b) => b < 0x80)).toBe(true);
    expect(headerMap(last()).get("subject")?.[0]).toMatch(/^=\?utf-8\?[bq]\?/i);
    // Nothing 8-bit anywhere, so no BODY=8BITMIME was asked for.
    expect(last().mailFromArgs["BODY"]).toBeUndefined();
    expect((await parsed()).subject).toBe(subject);
  });
});

describe("refused before connecting", () => {
  it("an Attachments entry with neither a file nor a source rejects with 601", async () => {
    const mails = server.mailCommands.length;
    const m = client(server.port);
    m.setAttachmentCount(1);
    m.setAttachmentName(0, "nothing.txt");
    await rejectsWith(m.send(), ErrorCode.InvalidValue);
    expect(server.mailCommands.length).toBe(mails);
  });

  it("a missing attachment file rejects with 302 and the server sees no MAIL", async () => {
    const mails = server.mailCommands.length;
    const connections = server.connections;
    const m = client(server.port);
    m.addAttachment(join(work, "does-not-exist.pdf"));
    const err = await rejectsWith(m.send(), ErrorCode.CannotOpenFile);
    expect(err.message).toContain("does-not-exist.pdf");
    expect(server.mailCommands.length).toBe(mails);
    expect(server.connections).toBe(connections);
    expect(m.getConnected()).toBe(false);
  });

  it("setMessageStream() together with attachments rejects with 601", async () => {
    const mails = server.mailCommands.length;
    const m = client(server.port);
    m.addAttachment(Buffer.from("a"), { name: "a.txt" });
    m.setMessageStream(Readable.from([Buffer.from("streamed body\r\n")]));
    await rejectsWith(m.send(), ErrorCode.InvalidValue);
    expect(server.mailCommands.length).toBe(mails);
  });
});

describe("stream attachments are read once", () => {
  // BUG (src/smtp.ts addAttachment / #composeExtras + src/mime/attachment-source.ts
  // streamSource): the Readable stays in #attachmentSources after the first send, and every
  // send builds a new entity, so the "read only once" guard of buildMimeEntity() never
  // fires: the second send() silently delivers the attachment with 0 bytes.
  it("a second send() with an already-sent Readable attachment rejects with 601 instead of sending it empty", async () => {
    const m = client(server.port, { messageText: "with a stream\r\n" });
    m.addAttachment(Readable.from([Buffer.from("stream content")]), { name: "s.txt" });
    await m.send();
    expect((await parsed()).attachments.map((a) => a.content.toString("utf8"))).toEqual(["stream content"]);
    const count = server.received.length;
    await rejectsWith(m.send(), ErrorCode.InvalidValue);
    expect(server.received.length).toBe(count);
  });

  it("a Readable attachment survives a failed connect and is sent whole on the retry", async () => {
    const m = client(server.port, { messageText: "retry\r\n", mailServer: "127.0.0.1", mailPort: 1 });
    m.addAttachment(Readable.from([Buffer.from("still here")]), { name: "r.txt" });
    await rejectsWith(m.send(), ErrorCode.ConnectionRefused);
    m.setMailPort(server.port);
    await m.send();
    expect((await parsed()).attachments.map((a) => [a.filename, a.content.toString("utf8")])).toEqual([["r.txt", "still here"]]);
  });
});

describe("MessageHeaders and the pool", () => {
  it("MessageHeaders show MIME-Version and the multipart Content-Type that were sent", async () => {
    const m = client(server.port, { messageText: "t\r\n" });
    m.addAttachment(Buffer.from("payload"), { name: "p.bin" });
    await m.send();
    const headers = Array.from({ length: m.getMessageHeaderCount() }, (_, i) => ({ field: m.getMessageHeaderField(i), value: m.getMessageHeaderValue(i) }));
    expect(headers.find((h) => h.field === "MIME-Version")?.value).toBe("1.0");
    const ct = headers.find((h) => h.field === "Content-Type")?.value ?? "";
    expect(ct).toMatch(/^multipart\/mixed; boundary="?----=_smtpkit_[0-9a-f]+"?$/);
    // The same boundary as on the wire.
    expect(contentType(last())).toBe(ct);
    expect(m.getMessageHeadersString()).toContain("MIME-Version: 1.0\r\n");
    expect(m.getMessageHeadersString()).toContain("Content-Type: multipart/mixed;");
  });

  it("SmtpPool.send() takes messageHTML and attachedFile too", async () => {
    const pool = new SmtpPool(new Smtp({ mailServer: "127.0.0.1", mailPort: server.port, timeout: 10 }), { maxConnections: 1 });
    try {
      const path = file("pool.txt", "pooled attachment\n");
      const result = await pool.send({
        from: "pool@example.com",
        sendTo: "rcpt@example.com",
        subject: "pooled",
        messageText: "pool text\r\n",
        messageHTML: "<p>pool <i>html</i></p>",
        attachedFile: path,
      });
      expect(result.reply).toMatch(/^250/);
    } finally {
      await pool.close();
    }
    expect(contentType(last())).toMatch(/^multipart\/mixed;/);
    const mail = await parsed();
    expect(mail.text?.trim()).toBe("pool text");
    expect(mail.html).toBe("<p>pool <i>html</i></p>");
    expect(mail.attachments.map((a) => [a.filename, a.content.toString("utf8")])).toEqual([["pool.txt", "pooled attachment\n"]]);
  });
});

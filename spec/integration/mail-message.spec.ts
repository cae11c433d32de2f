/**
 * The Node face: smtp.send(message) and pool.send(message) with the message
 * object Node developers know, and toEml() / saveEml(), which must give the
 * bytes the next send() transmits (checked against what a real smtp-server
 * received, with attachments, DKIM and S/MIME).
 */
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { simpleParser, type AddressObject } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, Smtp, SmtpPool } from "../../src/index.js";
import { client, rejectsWith } from "../support/client.js";
import { smimeFixture } from "../support/cms.js";
import { headerMap, startSmtpServer, type Harness } from "../support/smtp-server-harness.js";

let server: Harness;
const work = mkdtempSync(join(tmpdir(), "smtpkit-mail-message-"));

beforeAll(async () => {
  server = await startSmtpServer();
});

afterAll(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

function last() {
  const m = server.received[server.received.length - 1];
  if (!m?.raw) throw new Error("the server received nothing");
  return m;
}

const mailer = (): Smtp => new Smtp({ mailServer: "127.0.0.1", mailPort: server.port, timeout: 10 });
const addresses = (a: AddressObject | AddressObject[] | undefined): string[] => (Array.isArray(a) ? a : a ? [a] : []).flatMap((o) => o.value.map((v) => `${v.name}|${v.address}`));

describe("smtp.send(message)", () => {
  it("sends every field of a message object; mailparser reads them back", async () => {
    const file = join(work, "notes.txt");
    writeFileSync(file, "from a file\n");
    const m = mailer();
    const result = await m.send({
      from: { name: "Doe, Jane", address: "jane@example.com" },
      to: ["ann@example.org", { name: "Bob \"B\" Brown", address: "bob@example.org" }],
      cc: "carol@example.org",
      bcc: [{ address: "hidden@example.org" }],
      replyTo: { name: "Desk", address: "desk@example.com" },
      subject: "Grüße",
      text: "Plain body\n",
      html: "<p>HTML body <img src=\"cid:logo@x\"></p>",
      attachments: [
        { filename: "hello.txt", content: "hello attachment" },
        { path: file },
        { filename: "logo.png", content: Buffer.from([0x89, 0x50, 0x4e, 0x47]), contentType: "image/png", cid: "logo@x" },
        { filename: "streamed.bin", stream: Readable.from([Buffer.from("stream bytes")]) },
      ],
      headers: { "X-Campaign": "q4", "X-Multi": ["a", "b"] },
      priority: "high",
      date: new Date("2026-01-02T03:04:05Z"),
      messageId: "<fixed-id@example.com>",
    });
    const got = last();
    expect(got.mailFrom).toBe("jane@example.com");
    expect(got.rcptTo).toEqual(["ann@example.org", "bob@example.org", "carol@example.org", "hidden@example.org"]);
    expect(result.accepted).toHaveLength(4);
    const parsed = await simpleParser(got.raw as Buffer);
    expect(addresses(parsed.from)).toEqual(["Doe, Jane|jane@example.com"]);
    expect(addresses(parsed.to)).toEqual(["|ann@example.org", "Bob \"B\" Brown|bob@example.org"]);
    expect(addresses(parsed.cc)).toEqual(["|carol@example.org"]);
    expect(addresses(parsed.replyTo)).toEqual(["Desk|desk@example.com"]);
    expect(parsed.bcc).toBeUndefined();
    expect(got.raw?.toString("latin1")).not.toContain("hidden@example.org");
    expect(parsed.subject).toBe("Grüße");
    expect(parsed.text).toBe("Plain body\n");
    expect(parsed.html).toContain("HTML body");
    expect(parsed.messageId).toBe("<fixed-id@example.com>");
    expect(parsed.date?.toISOString()).toBe("2026-01-02T03:04:05.000Z");
    const h = headerMap(got);
    expect(h.get("x-campaign")).toEqual(["q4"]);
    expect(h.get("x-multi")).toEqual(["a", "b"]);
    expect(h.get("importance")).toEqual(["high"]);
    // The inline image sits with the HTML (multipart/related), so it comes first.
    expect(parsed.attachments.map((a) => [a.filename, a.content.toString("latin1")])).toEqual([
      ["logo.png", "\x89PNG"],
      ["hello.txt", "hello attachment"],
      ["notes.txt", "from a file\n"],
      ["streamed.bin", "stream bytes"],
    ]);
    expect(parsed.attachments.find((a) => a.filename === "logo.png")?.cid).toBe("logo@x");
    // The message stays on the component, as its properties.
    expect(m.getSubject()).toBe("Grüße");
    expect(m.getSendTo()).toContain("bob@example.org");
  });

  it("a second message starts from scratch: nothing of the first (its bcc, its attachments) leaks into it", async () => {
    const m = mailer();
    await m.send({ from: "a@example.com", to: "b@example.org", bcc: "secret@example.org", subject: "one", text: "1", attachments: [{ filename: "x.txt", content: "x" }] });
    await m.send({ from: "a@example.com", to: "c@example.org", subject: "two", text: "2" });
    const got = last();
    expect(got.rcptTo).toEqual(["c@example.org"]);
    const parsed = await simpleParser(got.raw as Buffer);
    expect(parsed.attachments).toHaveLength(0);
    expect(parsed.subject).toBe("two");
  });

  it("envelope: MAIL FROM and RCPT TO apart from the headers", async () => {
    await mailer().send({
      from: "news@example.com",
      to: "list@example.org",
      subject: "envelope",
      text: "x",
      envelope: { from: "bounces+42@example.com", to: ["member1@example.org", "member2@example.org"] },
    });
    const got = last();
    expect(got.mailFrom).toBe("bounces+42@example.com");
    expect(got.rcptTo).toEqual(["member1@example.org", "member2@example.org"]);
    expect(headerMap(got).get("to")).toEqual(["list@example.org"]);
  });

  it("the IP*Works camelCase names work in a message too, and send({ signal }) is still options", async () => {
    const m = mailer();
    await m.send({ from: "a@example.com", sendTo: "d@example.org", subject: "camel", messageText: "body\r\n" });
    expect(last().rcptTo).toEqual(["d@example.org"]);
    m.setSubject("properties, then send with options");
    await m.send({ signal: new AbortController().signal });
    expect(headerMap(last()).get("subject")).toEqual(["properties, then send with options"]);
  });

  it("mistakes are refused before connecting, naming the field", async () => {
    const m = mailer();
    const sessions = server.sessions.length;
    const typo = await rejectsWith(m.send({ from: "a@example.com", to: "b@example.org", subjet: "x" } as never), ErrorCode.InvalidValue);
    expect(typo.message).toContain('"subjet" is not a message field: did you mean "subject"?');
    const twice = await rejectsWith(m.send({ from: "a@example.com", to: "b@example.org", sendTo: "c@example.org" }), ErrorCode.InvalidValue);
    expect(twice.message).toContain('both "to" and "sendTo"');
    const server2 = await rejectsWith(m.send({ from: "a@example.com", to: "b@example.org", mailServer: "x" } as never), ErrorCode.InvalidValue);
    expect(server2.hint).toContain("connection settings belong to the component");
    await rejectsWith(m.send({ from: "a@example.com", to: { name: "x", address: "b@example.org\r\nRCPT TO:<evil@x>" } }), ErrorCode.LineBreakInjection);
    await rejectsWith(m.send({ from: "a@example.com", to: "b@example.org", attachments: [{ filename: "x", content: "a", path: "/etc/hosts" }] }), ErrorCode.InvalidValue);
    await rejectsWith(m.send({ from: "a@example.com", to: "b@example.org", headers: { "Bad Name": "x" } }), ErrorCode.InvalidValue);
    await rejectsWith(m.send({ from: "a@example.com", to: "b@example.org", priority: "urgent" as never }), ErrorCode.InvalidValue);
    expect(server.sessions.length).toBe(sessions);
  });
});

describe("pool.send(message)", () => {
  it("takes the message object, attachments from memory included, and the camelCase form still", async () => {
    const pool = new SmtpPool(client(server.port, { from: "pool@example.com" }), { maxConnections: 2 });
    try {
      await pool.send({ from: "pool@example.com", to: ["p1@example.org"], subject: "pooled", text: "hi", attachments: [{ filename: "a.txt", content: Buffer.from("pooled bytes") }] });
      const parsed = await simpleParser(last().raw as Buffer);
      expect(parsed.attachments.map((a) => [a.filename, a.content.toString("utf8")])).toEqual([["a.txt", "pooled bytes"]]);
      await pool.send({ from: "pool@example.com", sendTo: "p2@example.org", subject: "camel", messageText: "x" });
      expect(last().rcptTo).toEqual(["p2@example.org"]);
      const e = await rejectsWith(pool.send({ to: "p3@example.org", cc: "x@example.org", bccc: "y@example.org" } as never), ErrorCode.InvalidValue);
      expect(e.message).toContain('did you mean "bcc"?');
    } finally {
      await pool.close();
    }
  });
});

describe("toEml() and saveEml()", () => {
  const content = () => ({
    from: "Preview <preview@example.com>",
    to: "ann@example.org",
    subject: "Vorschau – preview",
    text: "Text\r\n.leading dot\r\n",
    html: "<b>HTML</b>",
    attachments: [{ filename: "data.csv", content: "a,b\r\n1,2\r\n" }],
  });

  it("gives exactly the bytes the next send() transmits (Message-ID, Date, boundaries included)", async () => {
    const m = mailer();
    m.setFrom("Preview <preview@example.com>");
    m.setSendTo("ann@example.org");
    m.setSubject("Vorschau – preview");
    m.setMessageText("Text\r\n.leading dot\r\n");
    m.setMessageHTML("<b>HTML</b>");
    m.addAttachment(Buffer.from("a,b\r\n1,2\r\n"), { name: "data.csv" });
    const eml = await m.toEml();
    expect(await m.toEml()).toEqual(eml);
    await m.send();
    expect(last().raw).toEqual(eml);
    // The next message is a new one.
    const next = await m.toEml();
    expect(next.toString("latin1").match(/^Message-ID: (.*)$/m)?.[1]).not.toBe(eml.toString("latin1").match(/^Message-ID: (.*)$/m)?.[1]);
  });

  it("with DKIM: the preview carries the same signature as the message sent", async () => {
    const m = mailer();
    m.config("DKIMDomain=example.com");
    m.config("DKIMSelector=s1");
    m.config(`DKIMPrivateKey=${generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString()}`);
    m.setFrom("dkim@example.com");
    m.setSendTo("ann@example.org");
    m.setSubject("signed preview");
    m.setMessageText("body\r\n");
    const eml = await m.toEml();
    expect(eml.toString("latin1")).toMatch(/^DKIM-Signature: /);
    await new Promise((r) => setTimeout(r, 1100)); // a second later: t= must still be the preview's
    await m.send();
    expect(last().raw).toEqual(eml);
  });

  it("after sign(): the S/MIME message as it will be sent", async () => {
    const m = mailer();
    m.setFrom("signer@example.test");
    m.setSendTo("ann@example.org");
    m.setSubject("signed");
    m.setMessageText("signed text\r\n");
    m.setCertStoreType(2);
    m.setCertStore(smimeFixture("signer.pfx"));
    m.setCertStorePassword("fixture-pass");
    await m.sign();
    const eml = await m.toEml();
    expect(eml.toString("latin1")).toContain("application/pkcs7-signature");
    await m.send();
    expect(last().raw).toEqual(eml);
  });

  it("saveEml(path) writes the same bytes, replacing a symbolic link rather than following it", async () => {
    const m = mailer();
    await m.send(content());
    m.setSubject("saved");
    const target = join(work, "victim.txt");
    writeFileSync(target, "untouched");
    const path = join(work, "out.eml");
    symlinkSync(target, path);
    await m.saveEml(path);
    expect(readFileSync(target, "utf8")).toBe("untouched");
    expect(readFileSync(path)).toEqual(await m.toEml());
    const e = await rejectsWith(m.saveEml(join(work, "no-such-dir", "x.eml")), ErrorCode.CannotOpenFile);
    expect(e.message).toContain("saveEml(): cannot write");
  });

  it("a stream attachment cannot be previewed (it could not be read again to send): 601, and the send still works", async () => {
    const m = mailer();
    m.setFrom("a@example.com");
    m.setSendTo("b@example.org");
    m.addAttachment(Readable.from([Buffer.from("once")]), { name: "once.bin" });
    const e = await rejectsWith(m.toEml(), ErrorCode.InvalidValue);
    expect(e.message).toContain("read only once");
    await m.send();
    const parsed = await simpleParser(last().raw as Buffer);
    expect(parsed.attachments.map((a) => a.content.toString())).toEqual(["once"]);
  });
});

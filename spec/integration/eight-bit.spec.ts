/**
 * RFC 6152 §3: 8-bit data goes only to a server that offers 8BITMIME, with
 * BODY=8BITMIME. For one that does not (Yahoo's "250-8 BITMIME" is not
 * 8BITMIME either), a message built from the properties is converted to
 * 7-bit (quoted-printable / base64 body, encoded-words in headers) and signed
 * again when DKIM is on; a complete message, which is the caller's, is
 * refused before MAIL FROM unless Allow8BitWithout8BitMime allows it. The
 * servers here are the real `smtp-server` with and without 8BITMIME.
 */
import { generateKeyPairSync } from "node:crypto";
import { Readable } from "node:stream";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import { simpleParser, type AddressObject } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/errors.js";
import { SmtpPool } from "../../src/index.js";
import { client, record, rejectsWith } from "../support/client.js";
import { esmtpFixture, harnessFixture } from "../support/fixture.js";
import type { Harness, ReceivedMessage } from "../support/smtp-server-harness.js";
import { param } from "../support/tcp-server.js";
import { startAiosmtpd, type AiosmtpdPeer } from "../support/peers/aiosmtpd.js";

const { serve, smtp } = harnessFixture();
const recording = esmtpFixture();

const GERMAN = "Grüße aus Köln! Wir hoffen, es geht Ihnen gut.\nMit freundlichen Grüßen\n";
const JAPANESE = "東京の天気は晴れです。\n明日も晴れるでしょう。\n";
const COMPLETE = "From: a@example.com\r\nTo: b@example.com\r\nSubject: complete\r\n\r\nGrüße\r\n";

function only(s: Harness): ReceivedMessage {
  expect(s.received).toHaveLength(1);
  return s.received[0] as ReceivedMessage;
}

/** No byte >= 0x80 anywhere in the message. */
function expectSevenBit(raw: Buffer): void {
  expect(raw.findIndex((b) => b >= 0x80)).toBe(-1);
}

describe("a server without 8BITMIME gets a built message as 7-bit", () => {
  it.each([
    ["mostly ASCII text (quoted-printable)", GERMAN, "quoted-printable"],
    ["mostly non-ASCII text (base64)", JAPANESE, "base64"],
  ])("%s: no BODY=8BITMIME, no 8-bit byte, the same text back", async (_what, text, encoding) => {
    const s = await serve({ hide8BITMIME: true });
    const m = smtp(s.port, { messageText: text, subject: "Grüße – 東京" });
    const r = record(m);
    await m.send();
    const msg = only(s);
    expect(r.sent().find((l) => l.startsWith("MAIL FROM:"))).not.toMatch(/BODY=/);
    expect(msg.mailFromArgs["BODY"]).toBeUndefined();
    expectSevenBit(msg.raw);
    const parsed = await simpleParser(msg.raw);
    expect(parsed.headers.get("content-transfer-encoding")).toBe(encoding);
    expect(parsed.text).toBe(text);
    expect(parsed.subject).toBe("Grüße – 東京");
  });

  it("8-bit OtherHeaders become encoded-words: text and display names read back the same", async () => {
    const s = await serve({ hide8BITMIME: true });
    await smtp(s.port, { messageText: "ASCII body\r\n", otherHeaders: "Subject: Grüße aus Köln\r\nReply-To: Jörg Müller <joerg@example.com>" }).send();
    const msg = only(s);
    expectSevenBit(msg.raw);
    const parsed = await simpleParser(msg.raw);
    expect(parsed.subject).toBe("Grüße aus Köln");
    expect((parsed.replyTo as AddressObject).value[0]).toMatchObject({ name: "Jörg Müller", address: "joerg@example.com" });
    expect(parsed.text).toBe("ASCII body\n");
  });

  it("what cannot be made 7-bit (a non-ASCII local part in OtherHeaders) is refused with 614 before MAIL FROM", async () => {
    const s = await recording.serve({ extensions: ["PIPELINING"] });
    const err = await rejectsWith(recording.smtp(s.port, { messageText: GERMAN, otherHeaders: "Reply-To: jörg@example.com" }).send(), ErrorCode.ExtensionRequired);
    expect(err.message).toMatch(/8BITMIME/);
    expect(s.commands("MAIL")).toEqual([]);
  });

  it("a setMessageStream() body goes quoted-printable as it is read, and reads back the same", async () => {
    const s = await serve({ hide8BITMIME: true });
    const m = smtp(s.port);
    const bytes = Buffer.from(GERMAN, "utf8");
    // A UTF-8 character split across chunks, bare LF line ends.
    m.setMessageStream(Readable.from([bytes.subarray(0, 3), bytes.subarray(3, 20), bytes.subarray(20)]));
    await m.send();
    const msg = only(s);
    expect(msg.mailFromArgs["BODY"]).toBeUndefined();
    expectSevenBit(msg.raw);
    const parsed = await simpleParser(msg.raw);
    expect(parsed.headers.get("content-transfer-encoding")).toBe("quoted-printable");
    expect(parsed.text).toBe(GERMAN);
  });

  it("Use8BitMime=false converts the same way for a server that offers 8BITMIME", async () => {
    const s = await serve();
    await smtp(s.port, { messageText: GERMAN, settings: { Use8BitMime: false } }).send();
    const msg = only(s);
    expect(msg.mailFromArgs["BODY"]).toBeUndefined();
    expectSevenBit(msg.raw);
    expect((await simpleParser(msg.raw)).text).toBe(GERMAN);
  });

  it("through SmtpPool as well", async () => {
    const s = await serve({ hide8BITMIME: true });
    const pool = new SmtpPool(client(s.port), { maxConnections: 1 });
    try {
      const to = { from: "sender@example.com", sendTo: "rcpt@example.com" };
      await Promise.all([pool.send({ ...to, messageText: GERMAN }), pool.send({ ...to, messageText: JAPANESE })]);
    } finally {
      await pool.close();
    }
    expect(s.received).toHaveLength(2);
    for (const msg of s.received) expectSevenBit(msg.raw);
    expect(new Set(await Promise.all(s.received.map(async (msg) => (await simpleParser(msg.raw)).text)))).toEqual(new Set([GERMAN, JAPANESE]));
  });

  it("with DKIM on, the converted message is signed again and verifies", async () => {
    const pair = generateKeyPairSync("ed25519");
    const record = `v=DKIM1; k=ed25519; p=${pair.publicKey.export({ type: "spki", format: "der" }).subarray(-32).toString("base64")}`;
    const resolver = async (name: string, type: string): Promise<string[][]> => {
      if (type === "TXT" && name === "sel._domainkey.example.com") return [[record]];
      throw Object.assign(new Error(`no ${type} record for ${name}`), { code: "ENOTFOUND" });
    };
    for (const body of ["text", "stream"] as const) {
      const s = await serve({ hide8BITMIME: true });
      const m = smtp(s.port, { messageText: GERMAN, otherHeaders: "X-Note: Grüße" });
      m.config("DKIMDomain=example.com");
      m.config("DKIMSelector=sel");
      m.config(`DKIMPrivateKey=${pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString()}`);
      if (body === "stream") m.setMessageStream(Readable.from([Buffer.from(GERMAN, "utf8")]));
      await m.send();
      const msg = only(s);
      expectSevenBit(msg.raw);
      const verdict = await dkimVerify(msg.raw, { resolver });
      expect(verdict.results.map((v) => String(v.status.result))).toEqual(["pass"]);
      expect((await simpleParser(msg.raw)).text).toBe(GERMAN);
    }
  });
});

describe("a server with 8BITMIME: unchanged", () => {
  it("BODY=8BITMIME and the 8-bit text as it is", async () => {
    const s = await serve();
    await smtp(s.port, { messageText: GERMAN }).send();
    const msg = only(s);
    expect(msg.mailFromArgs["BODY"]).toBe("8BITMIME");
    expect(msg.raw.includes(Buffer.from(GERMAN.replace(/\n/g, "\r\n"), "utf8"))).toBe(true);
    const parsed = await simpleParser(msg.raw);
    expect(parsed.headers.get("content-transfer-encoding")).toBe("8bit");
    expect(parsed.text).toBe(GERMAN);
  });
});

describe("a complete message is never re-encoded", () => {
  it("sendMessage() with 8-bit data: 614 before MAIL FROM", async () => {
    const s = await recording.serve({ extensions: ["PIPELINING", "ENHANCEDSTATUSCODES"] });
    const err = await rejectsWith(recording.smtp(s.port).sendMessage("a@example.com", "b@example.com", COMPLETE), ErrorCode.ExtensionRequired);
    expect(err.message).toMatch(/8BITMIME/);
    expect(err.message).toMatch(/Allow8BitWithout8BitMime/);
    expect(s.commands("MAIL")).toEqual([]);
  });

  it("the Message property with 8-bit data: 614 before MAIL FROM", async () => {
    const s = await recording.serve({ extensions: ["PIPELINING"] });
    await rejectsWith(recording.smtp(s.port, { message: COMPLETE }).send(), ErrorCode.ExtensionRequired);
    expect(s.commands("MAIL")).toEqual([]);
  });

  it("Allow8BitWithout8BitMime=true: sent as it is, without a BODY parameter", async () => {
    const s = await recording.serve({ extensions: ["PIPELINING"] });
    await recording.smtp(s.port, { settings: { Allow8BitWithout8BitMime: true } }).sendMessage("a@example.com", "b@example.com", COMPLETE);
    const msg = s.messages[0];
    expect(param(msg?.mailParams ?? [], "BODY")).toBeUndefined();
    expect(msg?.raw.toString("utf8")).toBe(COMPLETE);
  });

  it("a stream with 8-bit data is stopped before its end (nothing delivered); allowed, it goes as it is", async () => {
    const s = await serve({ hide8BITMIME: true });
    const err = await rejectsWith(smtp(s.port).sendMessage("a@example.com", "b@example.com", Readable.from([Buffer.from(COMPLETE, "utf8")])), ErrorCode.MessageStream);
    expect(err.message).toMatch(/8BITMIME/);
    await new Promise((res) => setTimeout(res, 200));
    expect(s.received).toEqual([]);
    await smtp(s.port, { settings: { Allow8BitWithout8BitMime: true } }).sendMessage("a@example.com", "b@example.com", Readable.from([Buffer.from(COMPLETE, "utf8")]));
    expect(only(s).raw.toString("utf8")).toBe(COMPLETE);
  });

  it("a 7-bit stream goes through a server without 8BITMIME unchanged", async () => {
    const s = await serve({ hide8BITMIME: true });
    const ascii = "From: a@example.com\r\nSubject: plain\r\n\r\nplain ASCII\r\n";
    await smtp(s.port).sendMessage("a@example.com", "b@example.com", Readable.from([Buffer.from(ascii)]));
    expect(only(s).raw.toString("utf8")).toBe(ascii);
  });
});

describe("a real server without 8BITMIME (Debian's aiosmtpd, 8BITMIME left out of its EHLO reply)", () => {
  let peer: AiosmtpdPeer;
  beforeAll(async () => {
    peer = await startAiosmtpd({ user: "u", password: "p", authRequired: false, no8BitMime: true });
  }, 30_000);
  afterAll(async () => {
    await peer?.stop();
  });

  it("gets the message 7-bit clean, without BODY=8BITMIME, and it decodes to the same text", async () => {
    const text = "Grüße aus Köln — naïve café, 100 €\r\nzweite Zeile\r\n";
    const m = client(peer.port, { sslStartMode: 3, subject: "Grüße", messageText: text });
    const trail: string[] = [];
    m.on("PITrail", (e) => trail.push(e.message));
    await m.send();
    expect(trail.some((l) => l.startsWith("250") && /8BITMIME/i.test(l))).toBe(false);
    const got = (await peer.messages()).at(-1);
    expect(got).toBeDefined();
    expect(got?.mailOptions.some((o) => /^BODY=/i.test(o))).toBe(false);
    expect(got?.data.some((b) => b >= 0x80)).toBe(false);
    const parsed = await simpleParser(got?.data ?? Buffer.alloc(0));
    expect(parsed.text?.replace(/\r?\n$/, "").replace(/\r\n/g, "\n")).toBe(text.replace(/\r\n$/, "").replace(/\r\n/g, "\n"));
    expect(parsed.subject).toBe("Grüße");
  });
});

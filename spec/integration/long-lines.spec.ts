/**
 * RFC 5322 §2.1.1 / RFC 5321 §4.5.3.1.6: a line holds at most 998 octets
 * (CRLF excluded). Servers that get a longer one store it (Exim, OpenSMTPD),
 * rewrap it (Haraka: the body is altered) or refuse it. Text the component
 * composes is encoded (quoted-printable) instead, and arrives byte-exact; a
 * complete message, which is the caller's and never re-encoded, goes with
 * BDAT BODY=BINARYMIME when the server offers it and is refused otherwise,
 * before MAIL FROM, or (a stream, read only as it is sent) before its end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import { simpleParser } from "mailparser";
import { ErrorCode } from "../../src/errors.js";
import { client, rejectsWith } from "../support/client.js";
import { startAiosmtpd, type AiosmtpdPeer } from "../support/peers/aiosmtpd.js";
import { esmtpFixture, harnessFixture } from "../support/fixture.js";
import { longestLine, type Harness } from "../support/smtp-server-harness.js";
import { ALL_EXTENSIONS, param } from "../support/tcp-server.js";

const { serve, smtp } = harnessFixture();
const recording = esmtpFixture();

const LONG = "A 5,000-octet line: " + "0123456789 abcdefghijklmnopqrstuvwxyz ".repeat(132);
const TEXT = `first line\n${LONG}\nlast line\n`;
const UTF8_TEXT = `Grüße\n${"Köln, Zürich, 東京 — ".repeat(200)}\nEnde\n`;

function only(s: Harness): Buffer {
  expect(s.received).toHaveLength(1);
  return (s.received[0] as { raw: Buffer }).raw;
}

/** The text as mailparser gives it back: LF line ends. */
function asParsed(text: string): string {
  return text.replace(/\r\n|\r/g, "\n");
}

function completeMessage(body: string): string {
  return `From: a@example.com\r\nTo: b@example.com\r\nSubject: long line\r\n\r\n${body}`;
}

describe("text the component composes", () => {
  it("MessageText with a 5,000-octet line: quoted-printable, no line over 998 on the wire, the text back byte-exact", async () => {
    expect(Buffer.byteLength(LONG)).toBeGreaterThan(5000);
    const s = await serve();
    await smtp(s.port, { messageText: TEXT }).send();
    const raw = only(s);
    expect(longestLine(raw)).toBeLessThanOrEqual(998);
    const parsed = await simpleParser(raw);
    expect(parsed.headers.get("content-transfer-encoding")).toBe("quoted-printable");
    expect(parsed.text).toBe(asParsed(TEXT));
  });

  it("non-ASCII MessageText with a long line: encoded with its charset, the text back exactly", async () => {
    expect(Math.max(...UTF8_TEXT.split("\n").map((l) => Buffer.byteLength(l)))).toBeGreaterThan(998);
    const s = await serve();
    await smtp(s.port, { messageText: UTF8_TEXT }).send();
    const raw = only(s);
    expect(longestLine(raw)).toBeLessThanOrEqual(998);
    const parsed = await simpleParser(raw);
    expect(parsed.headers.get("content-type")).toMatchObject({ value: "text/plain", params: { charset: "UTF-8" } });
    expect(parsed.text).toBe(asParsed(UTF8_TEXT));
  });

  it("a long line without a final line break, and one of exactly 998 octets, which may go as it is", async () => {
    const edge = `${"x".repeat(998)}\r\n${"y".repeat(999)}`;
    const s = await serve();
    await smtp(s.port, { messageText: edge }).send();
    const parsed = await simpleParser(only(s));
    expect(longestLine(only(s))).toBeLessThanOrEqual(998);
    expect(parsed.text).toBe(asParsed(edge) + "\n");
    const fits = await serve();
    await smtp(fits.port, { messageText: `${"x".repeat(998)}\r\n` }).send();
    expect((await simpleParser(only(fits))).headers.has("content-transfer-encoding")).toBe(false);
  });

  it("MessageHTML and MessageText with long lines in a MIME message: every part encoded, both back exactly", async () => {
    const html = `<p>${"lorem ipsum dolor sit amet ".repeat(300)}</p>\n`;
    const s = await serve();
    await smtp(s.port, { messageText: TEXT, messageHTML: html }).send();
    const raw = only(s);
    expect(longestLine(raw)).toBeLessThanOrEqual(998);
    const parsed = await simpleParser(raw);
    expect(parsed.text).toBe(asParsed(TEXT));
    expect(parsed.html).toBe(html);
  });

  it("a setMessageStream() body with a long line is stopped before its end: 611, nothing delivered", async () => {
    const s = await serve();
    const m = smtp(s.port);
    m.setMessageStream(Readable.from([Buffer.from("short line\r\n"), Buffer.from(LONG.slice(0, 2000)), Buffer.from(LONG.slice(2000) + "\r\n")]));
    const err = await rejectsWith(m.send(), ErrorCode.MessageStream);
    expect(err.message).toMatch(/998 octets/);
    expect(err.message).toMatch(/nothing was delivered/);
    await new Promise((res) => setTimeout(res, 200));
    expect(s.received).toEqual([]);
  });

  it("a body whose encoding OtherHeaders declares is the caller's: refused (614) before MAIL FROM without BINARYMIME", async () => {
    const s = await recording.serve({ extensions: ["PIPELINING", "8BITMIME"] });
    const m = recording.smtp(s.port, { messageText: TEXT, otherHeaders: "Content-Transfer-Encoding: 8bit" });
    const err = await rejectsWith(m.send(), ErrorCode.ExtensionRequired);
    expect(err.message).toMatch(/998 octets/);
    expect(s.commands("MAIL")).toEqual([]);
  });
});

describe("a complete message (sendMessage(), Message) is never re-encoded", () => {
  it("a string with a long line: 614 before MAIL FROM when the server has no BINARYMIME", async () => {
    const s = await recording.serve({ extensions: ["PIPELINING", "8BITMIME", "CHUNKING"] });
    const err = await rejectsWith(recording.smtp(s.port).sendMessage("a@example.com", "b@example.com", completeMessage(TEXT)), ErrorCode.ExtensionRequired);
    expect(err.message).toMatch(/998 octets/);
    expect(err.message).toMatch(/BINARYMIME/);
    expect(s.commands("MAIL")).toEqual([]);
    expect(s.messages).toEqual([]);
  });

  it("the Message property with a long line: 614 before MAIL FROM as well", async () => {
    const s = await recording.serve({ extensions: ["PIPELINING", "8BITMIME"] });
    const err = await rejectsWith(recording.smtp(s.port, { message: completeMessage(TEXT) }).send(), ErrorCode.ExtensionRequired);
    expect(err.message).toMatch(/998 octets/);
    expect(s.commands("MAIL")).toEqual([]);
  });

  it("with CHUNKING and BINARYMIME: BDAT BODY=BINARYMIME, the bytes unchanged (line breaks made CRLF)", async () => {
    const s = await recording.serve({ extensions: ALL_EXTENSIONS });
    await recording.smtp(s.port).sendMessage("a@example.com", "b@example.com", Buffer.from(completeMessage(TEXT)));
    const msg = s.messages[0];
    expect(msg?.via).toBe("BDAT");
    expect(param(msg?.mailParams ?? [], "BODY")).toBe("BINARYMIME");
    expect(msg?.raw.toString("utf8")).toBe(completeMessage(TEXT).replace(/\r?\n/g, "\r\n"));
  });

  it("a stream with a long line is stopped before its end: nothing delivered", async () => {
    const s = await serve();
    const m = smtp(s.port);
    const err = await rejectsWith(m.sendMessage("a@example.com", "b@example.com", Readable.from([Buffer.from(completeMessage(TEXT))])), ErrorCode.MessageStream);
    expect(err.message).toMatch(/998 octets/);
    await new Promise((res) => setTimeout(res, 200));
    expect(s.received).toEqual([]);
  });

  it("a stream with lines within 998 octets goes through unchanged", async () => {
    const s = await serve();
    const ok = completeMessage(`${"x".repeat(998)}\r\nshort\r\n`);
    await smtp(s.port).sendMessage("a@example.com", "b@example.com", Readable.from([Buffer.from(ok.slice(0, 500)), Buffer.from(ok.slice(500))]));
    expect(only(s).toString("utf8")).toBe(ok);
  });
});

describe("a real server (Debian's aiosmtpd) stores what it gets", () => {
  let peer: AiosmtpdPeer;
  beforeAll(async () => {
    peer = await startAiosmtpd({ user: "u", password: "p", authRequired: false });
  }, 30_000);
  afterAll(async () => {
    await peer?.stop();
  });

  it("a 5,000-octet line arrives within 998-octet lines and decodes to the exact text", async () => {
    const long = Array.from({ length: 5000 }, (_, i) => "abcdefghij"[i % 10]).join("");
    const text = `before\r\n${long}\r\nafter\r\n`;
    await client(peer.port, { sslStartMode: 3, messageText: text }).send();
    const got = (await peer.messages()).at(-1);
    expect(got).toBeDefined();
    const lines = (got?.data ?? Buffer.alloc(0)).toString("latin1").split("\r\n");
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(998);
    const parsed = await simpleParser(got?.data ?? Buffer.alloc(0));
    expect(parsed.text?.replace(/\r\n/g, "\n")).toBe(text.replace(/\r\n/g, "\n"));
  });
});

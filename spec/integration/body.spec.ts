/** The message body on the wire: line ends, dot lines, non-ASCII text, large streamed bodies, Transfer events. */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simpleParser, type AddressObject } from "mailparser";
import { bodyOf, headerMap, startSmtpServer, type Harness } from "../support/smtp-server-harness.js";
import { client, record } from "../support/client.js";
import { liveBytes } from "../support/memory.js";

let server: Harness;
/** A second server that does not keep raw bytes, for the big message. */
let bigServer: Harness;

beforeAll(async () => {
  server = await startSmtpServer();
  bigServer = await startSmtpServer({ keepRaw: false });
});
afterAll(async () => {
  await server.close();
  await bigServer.close();
});

function last() {
  return server.received[server.received.length - 1];
}

function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

describe("MessageText on the wire", () => {
  it("lines starting with '.' arrive intact (dot-stuffed on the wire, un-stuffed by the server)", async () => {
    const text = [".", "..", ".foo", "...bar", "normal", " .indented", ".", "end"].join("\r\n") + "\r\n";
    const m = client(server.port, { messageText: text });
    await m.send();
    expect(bodyOf(last()).toString("utf8")).toBe(text);
  });

  it("a body that is just '.' is not taken for the end of data", async () => {
    const m = client(server.port, { messageText: "." });
    await m.send();
    expect(bodyOf(last()).toString("utf8")).toBe(".\r\n");
  });

  it("bare LF and bare CR become CRLF; CRLF stays; dot lines after any line end survive", async () => {
    const text = "lf line\n.dot after lf\ncr line\r.dot after cr\rcrlf\r\n.dot after crlf\r\n\n\r\rtail";
    const m = client(server.port, { messageText: text });
    await m.send();
    const expected = "lf line\r\n.dot after lf\r\ncr line\r\n.dot after cr\r\ncrlf\r\n.dot after crlf\r\n\r\n\r\n\r\ntail\r\n";
    const body = bodyOf(last());
    expect(body.toString("utf8")).toBe(expected);
    // No stray CR or LF anywhere in the received message.
    const raw = last()?.raw ?? Buffer.alloc(0);
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] === 0x0d) expect(raw[i + 1]).toBe(0x0a);
      if (raw[i] === 0x0a) expect(raw[i - 1]).toBe(0x0d);
    }
  });

  it("a smuggling attempt (LF.LF / CR.CR inside the body) cannot end the message early", async () => {
    const before = server.received.length;
    const text = "innocent\n.\nMAIL FROM:<evil@example.com>\r\n.\rRCPT TO:<victim@example.com>\r\n";
    const m = client(server.port, { messageText: text });
    await m.send();
    expect(server.received.length).toBe(before + 1);
    expect(bodyOf(last()).toString("utf8")).toBe("innocent\r\n.\r\nMAIL FROM:<evil@example.com>\r\n.\r\nRCPT TO:<victim@example.com>\r\n");
    expect(server.mailCommands).not.toContain("evil@example.com");
  });
});

describe("non-ASCII content", () => {
  const fancy = "Grüße — 東京 😀";

  it("subject and display names round-trip through mailparser", async () => {
    const m = client(server.port, {
      from: `"${fancy}" <from@example.com>`,
      sendTo: `${fancy} <to@example.com>, "Zoë, Ünïcode" <zoe@example.com>`,
      cc: `Ωμέγα <omega@example.com>`,
      subject: `${fancy} ${"long subject ".repeat(6)}${fancy}`,
      messageText: "ascii body",
    });
    await m.send();
    const got = last();
    // Header bytes on the wire are 7-bit (RFC 2047 encoded words).
    for (const b of got?.head ?? Buffer.alloc(0)) expect(b).toBeLessThan(0x80);
    const parsed = await simpleParser(got?.raw ?? Buffer.alloc(0));
    expect(parsed.subject).toBe(`${fancy} ${"long subject ".repeat(6)}${fancy}`);
    const from = parsed.from as AddressObject;
    expect(from.value).toEqual([{ name: fancy, address: "from@example.com" }]);
    const to = parsed.to as AddressObject;
    expect(to.value.map((v) => ({ name: v.name, address: v.address }))).toEqual([
      { name: fancy, address: "to@example.com" },
      { name: "Zoë, Ünïcode", address: "zoe@example.com" },
    ]);
    expect((parsed.cc as AddressObject).value[0]?.name).toBe("Ωμέγα");
  });

  it("a non-ASCII body arrives as UTF-8 and parses back equal", async () => {
    const text = `${fancy}\r\nzweite Zeile: äöü ß\r\n.日本語の行\r\n`;
    const m = client(server.port, { messageText: text });
    const r = record(m);
    await m.send();
    const got = last();
    expect(bodyOf(got).toString("utf8")).toBe(text);
    expect(bodyOf(got).equals(Buffer.from(text, "utf8"))).toBe(true);
    const h = headerMap(got);
    expect(h.get("content-type")?.[0]).toMatch(/text\/plain; charset=utf-8/i);
    expect(h.get("content-transfer-encoding")).toEqual(["8bit"]);
    // smtp-server offers 8BITMIME, so the client declares the 8-bit body.
    expect(r.sent().find((l) => l.startsWith("MAIL FROM:"))).toContain("BODY=8BITMIME");
    expect(got?.mailFromArgs).toMatchObject({ BODY: "8BITMIME" });
    const parsed = await simpleParser(got?.raw ?? Buffer.alloc(0));
    expect(parsed.text).toBe(text.replace(/\r\n/g, "\n"));
  });
});

describe("Transfer events", () => {
  it("for MessageText: percentDone climbs 0..100 and ends at 100; bytesTransferred grows to the message size", async () => {
    // ~300 KB so the data goes out in several pieces; no final line break, no dot lines.
    const text = Array.from({ length: 5000 }, (_, i) => `line ${i} ${"x".repeat(50)}`).join("\r\n");
    const m = client(server.port, { messageText: text });
    const r = record(m);
    const result = await m.send();
    const t = r.transfers;
    expect(t.length).toBeGreaterThan(2);
    expect(r.startTransfer).toBe(1);
    expect(r.endTransfer).toBe(1);
    for (let i = 1; i < t.length; i++) {
      expect(t[i]?.bytesTransferred).toBeGreaterThan(t[i - 1]?.bytesTransferred ?? 0);
      expect(t[i]?.percentDone).toBeGreaterThanOrEqual(t[i - 1]?.percentDone ?? 0);
    }
    for (const e of t) {
      expect(e.percentDone).toBeGreaterThanOrEqual(0);
      expect(e.percentDone).toBeLessThanOrEqual(100);
    }
    expect(t[0]?.percentDone).toBeLessThan(100);
    expect(t[t.length - 1]?.percentDone).toBe(100);
    expect(t[t.length - 1]?.bytesTransferred).toBe(result.messageBytes);
    // Wire bytes: headers + body + the CRLF that completes the last line (no dot lines here),
    // which is what the server received.
    expect(result.messageBytes).toBe((last()?.head.length ?? 0) + Buffer.byteLength(text) + 2);
    expect(result.messageBytes).toBe(last()?.totalBytes);
  });

  it("bytesTransferred counts the bytes actually handed over so far (the chunks in the events' text)", async () => {
    // Dot lines and bare LFs: the wire form differs from MessageText.
    const text = Array.from({ length: 5000 }, (_, i) => `${i % 3 === 0 ? "." : ""}row ${i} ${"y".repeat(50)}`).join("\n") + "\n";
    const m = client(server.port, { messageText: text });
    const r = record(m);
    const result = await m.send();
    let sum = 0;
    const pairs = r.transfers.map((e) => {
      sum += e.textBytes;
      return { reported: e.bytesTransferred, handedOver: sum };
    });
    // The last event's chunk carries the end-of-data marker (".\r\n", 3 bytes), which is not counted.
    const lastPair = pairs.pop();
    expect(lastPair?.reported).toBe(result.messageBytes);
    expect(lastPair?.handedOver).toBe(result.messageBytes + 3);
    expect(pairs.filter((p) => p.reported !== p.handedOver)).toEqual([]);
    // messageBytes is the dot-stuffed wire size: one extra "." per dot line.
    const dotLines = Math.ceil(5000 / 3);
    expect(result.messageBytes).toBe((last()?.totalBytes ?? 0) + dotLines);
  });
});

/**
 * A body generated on the fly: LF-terminated lines (some starting with "."),
 * pushed in 64 KiB pieces as they are read. It hashes the CRLF form of what
 * it produced, which is what the server must receive.
 */
class LineGenerator extends Readable {
  produced = 0;
  normalizedBytes = 0;
  /** Lines starting with "." (each gets one more "." on the wire). */
  dotLines = 0;
  readonly hash = createHash("sha256");
  #line = 0;

  constructor(readonly target: number) {
    super();
  }

  override _read(): void {
    if (this.produced >= this.target) {
      this.push(null);
      return;
    }
    const lines: string[] = [];
    let size = 0;
    while (size < 64 * 1024 && this.produced + size < this.target) {
      const n = this.#line++;
      if (n % 7 === 0) this.dotLines++;
      const line = (n % 7 === 0 ? "." : "") + `line ${n} ` + "abcdefghijklmnopqrstuvwxyz0123456789".repeat(2) + "\n";
      lines.push(line);
      size += line.length;
    }
    const chunk = lines.join("");
    this.produced += chunk.length;
    const normalized = chunk.replace(/\n/g, "\r\n");
    this.normalizedBytes += normalized.length;
    this.hash.update(normalized);
    this.push(Buffer.from(chunk, "latin1"));
  }
}

describe("setMessageStream()", () => {
  it("sends a 20 MB generated body exactly (size and sha256), without holding it in memory", async () => {
    const gen = new LineGenerator(20 * 1024 * 1024);
    const m = client(bigServer.port, { timeout: 30 });
    m.setMessageStream(gen);
    const r = record(m);

    // Live memory (after a full GC) sampled while the data flows: a client
    // (or server) that buffered the message would grow by its whole size.
    const baseline = liveBytes();
    let peak = baseline;
    let events = 0;
    m.on("Transfer", () => {
      if (++events % 32 === 0) peak = Math.max(peak, liveBytes());
    });

    const result = await m.send();

    const got = bigServer.received[bigServer.received.length - 1];
    expect(gen.produced).toBeGreaterThanOrEqual(20 * 1024 * 1024);
    expect(got?.bodyBytes).toBe(gen.normalizedBytes);
    expect(got?.bodySha256).toBe(gen.hash.digest("hex"));
    // Wire bytes: CRLF line ends and the extra dots, not counting the end-of-data marker.
    expect(result.messageBytes).toBe((got?.totalBytes ?? 0) + gen.dotLines);

    // Percent is unknown for a stream; bytes only grow.
    const t = r.transfers;
    expect(t.length).toBeGreaterThan(100);
    expect(t.every((e) => e.percentDone === -1)).toBe(true);
    for (let i = 1; i < t.length; i++) expect(t[i]?.bytesTransferred).toBeGreaterThanOrEqual(t[i - 1]?.bytesTransferred ?? 0);
    expect(t[t.length - 1]?.bytesTransferred).toBe(result.messageBytes);
    expect(r.startTransfer).toBe(1);
    expect(r.endTransfer).toBe(1);

    // Client and server together stay far below the 20 MB message (typically ~2 MB).
    expect(events).toBeGreaterThan(64);
    expect(peak - baseline).toBeLessThan(10 * 1024 * 1024);
  });

  it("the stream is used for one send only; the next send uses MessageText again", async () => {
    const m = client(server.port, { messageText: "from MessageText\r\n" });
    m.setMessageStream(Readable.from([Buffer.from("from the stream\n"), Buffer.from(".dot line\n")]));
    await m.send();
    expect(bodyOf(last()).toString("utf8")).toBe("from the stream\r\n.dot line\r\n");
    await m.send();
    expect(bodyOf(last()).toString("utf8")).toBe("from MessageText\r\n");
  });

  it("string chunks and a stream ending without a line break are completed with CRLF", async () => {
    const m = client(server.port);
    m.setMessageStream(Readable.from(["part one, ", "part two\r", "\nno final newline"]));
    await m.send();
    expect(bodyOf(last()).toString("utf8")).toBe("part one, part two\r\nno final newline\r\n");
    expect(sha256(bodyOf(last()))).toBe(sha256("part one, part two\r\nno final newline\r\n"));
  });
});

describe("stream chunk boundaries", () => {
  const tricky = "a\r\n.b\r\r\n.\n..\rc\n\r.\r\n.\r\n\n.end";
  const normalized = tricky.replace(/\r\n|\r|\n/g, "\r\n") + "\r\n";

  for (const size of [1, 2, 3]) {
    it(`line ends and dot lines split across ${size}-byte chunks arrive exactly`, async () => {
      const bytes = Buffer.from(tricky, "utf8");
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const m = client(server.port);
      m.setMessageStream(Readable.from(chunks));
      await m.send();
      expect(bodyOf(last()).toString("utf8")).toBe(normalized);
    });
  }

  it("a UTF-8 character split across two chunks arrives intact", async () => {
    const text = "snow ☃ and 😀 end\r\n";
    const bytes = Buffer.from(text, "utf8");
    const cut = bytes.indexOf(Buffer.from("😀", "utf8")) + 2;
    const m = client(server.port);
    m.setMessageStream(Readable.from([bytes.subarray(0, cut), bytes.subarray(cut)]));
    await m.send();
    expect(bodyOf(last()).toString("utf8")).toBe(text);
  });
});

describe("header details", () => {
  it("a Bcc header given in OtherHeaders is never sent", async () => {
    const m = client(server.port, { otherHeaders: "X-Before: 1\r\nBcc: spy@example.com\r\nX-After: 2" });
    await m.send();
    const h = headerMap(last());
    expect(h.has("bcc")).toBe(false);
    expect(h.get("x-before")).toEqual(["1"]);
    expect(h.get("x-after")).toEqual(["2"]);
    expect(last()?.head.toString("utf8")).not.toContain("spy@example.com");
  });

  it("config MaxHeaderLength folds header lines to that length where whitespace allows", async () => {
    const subject = Array.from({ length: 30 }, (_, i) => `word${i}`).join(" ");
    const m = client(server.port, { subject });
    m.config("MaxHeaderLength=40");
    await m.send();
    const head = last()?.head.toString("utf8") ?? "";
    const subjectLines = head.slice(head.indexOf("Subject:")).split("\r\n");
    const folded = [subjectLines[0] ?? "", ...subjectLines.slice(1).filter((l, i, all) => all.slice(0, i + 1).every((x) => /^[ \t]/.test(x)))];
    expect(folded.length).toBeGreaterThan(3);
    for (const line of folded) expect(line.length).toBeLessThanOrEqual(40);
    expect(headerMap(last()).get("subject")).toEqual([subject]);
  });

  it("config Charset=iso-8859-1 encodes the body and the subject in that charset", async () => {
    const text = "Grüße aus Köln\r\n";
    const m = client(server.port, { subject: "Grüße", messageText: text });
    m.config("Charset=iso-8859-1");
    await m.send();
    const got = last();
    expect(bodyOf(got).equals(Buffer.from("Gr\xfc\xdfe aus K\xf6ln\r\n", "latin1"))).toBe(true);
    expect(headerMap(got).get("content-type")?.[0]).toMatch(/charset=iso-8859-1/i);
    expect(headerMap(got).get("subject")?.[0]).toMatch(/^=\?ISO-8859-1\?/i);
    const parsed = await simpleParser(got?.raw ?? Buffer.alloc(0));
    expect(parsed.subject).toBe("Grüße");
    expect(parsed.text).toBe("Grüße aus Köln\n");
  });

  it("a non-ASCII envelope address uses SMTPUTF8 (smtp-server offers it)", async () => {
    const m = client(server.port, { sendTo: "jösé@example.com" });
    const r = record(m);
    await m.send();
    const got = last();
    expect(got?.rcptTo).toEqual(["jösé@example.com"]);
    expect(r.sent().find((l) => l.startsWith("MAIL FROM:"))).toMatch(/ SMTPUTF8\b/);
    expect(got?.mailFromArgs).toMatchObject({ SMTPUTF8: true });
  });
});

describe("headers of large recipient lists", () => {
  it("a long To header is folded and unfolds to the full list", async () => {
    const list = Array.from({ length: 30 }, (_, i) => `person${i}@example.com`);
    const m = client(server.port, { sendTo: list.join(", ") });
    await m.send();
    const got = last();
    const head = got?.head.toString("utf8") ?? "";
    for (const line of head.split("\r\n")) expect(line.length).toBeLessThanOrEqual(998);
    expect(headerMap(got).get("to")?.[0]?.split(/,\s*/)).toEqual(list);
    expect(got?.rcptTo).toEqual(list);
  });
});

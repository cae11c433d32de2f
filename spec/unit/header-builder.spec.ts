import { describe, it, expect } from "vitest";
import { simpleParser, type AddressObject } from "mailparser";
import { buildHeaders, formatDate, serializeHeaders, type HeaderInput } from "../../src/message/header-builder.js";
import { assertNoLineBreak, parseHeaderBlock, validateOtherHeaders } from "../../src/message/header-block.js";
import { ErrorCode, SmtpError } from "../../src/errors.js";

const NOW = new Date(Date.UTC(2026, 10, 24, 22, 37, 35));

function input(over: Partial<HeaderInput> = {}): HeaderInput {
  return {
    from: "sender@example.com",
    sendTo: "to@example.com",
    cc: "",
    replyTo: "",
    subject: "Hello",
    messageDate: "",
    messageId: "",
    importance: 0,
    priority: 0,
    sensitivity: 0,
    readReceiptTo: "",
    deliveryNotificationTo: "",
    otherHeaders: "",
    extraTo: [],
    extraCc: [],
    charset: "",
    messageIdDomain: "example.com",
    now: NOW,
    ...over,
  };
}

function fields(over: Partial<HeaderInput> = {}): string[] {
  return buildHeaders(input(over)).map((h) => h.field);
}

function valueOf(over: Partial<HeaderInput>, field: string): string | undefined {
  return buildHeaders(input(over)).find((h) => h.field === field)?.value;
}

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof SmtpError ? e.code : -1;
  }
  return undefined;
}

describe("buildHeaders", () => {
  it("writes the headers in the documented order", () => {
    expect(
      fields({
        replyTo: "r@x",
        cc: "c@x",
        importance: 1,
        priority: 2,
        sensitivity: 3,
        readReceiptTo: "rr@x",
        deliveryNotificationTo: "dn@x",
        bodyNeedsCharset: "UTF-8",
        otherHeaders: "X-Mailer: smtpkit\r\nX-Other: 1",
      }),
    ).toEqual([
      "Date",
      "From",
      "Reply-To",
      "To",
      "Cc",
      "Subject",
      "Message-ID",
      "Importance",
      "Priority",
      "Sensitivity",
      "Disposition-Notification-To",
      "Return-Receipt-To",
      "MIME-Version",
      "Content-Type",
      "Content-Transfer-Encoding",
      "X-Mailer",
      "X-Other",
    ]);
  });

  it("adds Sender (the first mailbox) when From holds several mailboxes, and only then (RFC 5322 §3.6.2)", () => {
    const headers = buildHeaders(input({ from: "Ann <ann@example.com>, bob@example.com" }));
    expect(headers.map((h) => h.field).slice(0, 3)).toEqual(["Date", "From", "Sender"]);
    expect(headers.find((h) => h.field === "Sender")?.value).toBe("Ann <ann@example.com>");
    expect(fields({ from: "ann@example.com" })).not.toContain("Sender");
    // A Sender of the caller's own wins.
    const own = buildHeaders(input({ from: "ann@example.com, bob@example.com", otherHeaders: "Sender: secretary@example.com" }));
    expect(own.filter((h) => h.field.toLowerCase() === "sender").map((h) => h.value)).toEqual(["secretary@example.com"]);
  });

  it("a Subject word too long to fold within 998 octets goes as encoded-words: every line fits and it decodes back exactly", async () => {
    const url = `https://example.com/${"a1b2c3".repeat(400)}`;
    const subject = `See ${url} today`;
    const headers = buildHeaders(input({ subject }));
    const block = serializeHeaders(headers, 78);
    for (const line of block.split("\r\n")) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(998);
    expect(headers.find((h) => h.field === "Subject")?.value).toMatch(/^See =\?UTF-8\?/);
    const parsed = await simpleParser(`${block}body\r\n`);
    expect(parsed.subject).toBe(subject);
    // Words that fit stay plain.
    expect(buildHeaders(input({ subject: "x".repeat(800) })).find((h) => h.field === "Subject")?.value).toBe("x".repeat(800));
  });

  it("leaves out headers whose source is empty", () => {
    expect(fields({ subject: "" })).toEqual(["Date", "From", "To", "Message-ID"]);
    expect(fields({ from: "", sendTo: "" })).toEqual(["Date", "Subject", "Message-ID"]);
  });

  it("maps Importance, Priority and Sensitivity", () => {
    const h = (importance: number, priority: number, sensitivity: number): Array<string | undefined> => [
      valueOf({ importance, priority, sensitivity }, "Importance"),
      valueOf({ importance, priority, sensitivity }, "Priority"),
      valueOf({ importance, priority, sensitivity }, "Sensitivity"),
    ];
    expect(h(1, 1, 1)).toEqual(["high", "normal", "Personal"]);
    expect(h(2, 2, 2)).toEqual(["normal", "urgent", "Private"]);
    expect(h(3, 3, 3)).toEqual(["low", "non-urgent", "Company-Confidential"]);
    expect(codeOf(() => buildHeaders(input({ importance: 4 })))).toBe(ErrorCode.InvalidValue);
    expect(codeOf(() => buildHeaders(input({ priority: -1 })))).toBe(ErrorCode.InvalidValue);
    expect(codeOf(() => buildHeaders(input({ sensitivity: 1.5 })))).toBe(ErrorCode.InvalidValue);
  });

  it("adds extra recipients to To and Cc, and writes To only when there is one", () => {
    const extra = { extraTo: [{ name: "Extra One", address: "e1@x" }], extraCc: [{ name: "", address: "e2@x" }] };
    expect(valueOf({ ...extra, sendTo: "a@x" }, "To")).toBe("a@x, Extra One <e1@x>");
    expect(valueOf({ ...extra, cc: "" }, "Cc")).toBe("e2@x");
    expect(valueOf({ sendTo: "" , ...extra }, "To")).toBe("Extra One <e1@x>");
    expect(fields({ sendTo: "undisclosed-recipients:;" })).not.toContain("To");
  });

  it("never writes a Bcc header", () => {
    const all = buildHeaders(input({ otherHeaders: "Bcc: hidden@x\r\nX-A: 1" }));
    expect(all.map((h) => h.field.toLowerCase())).not.toContain("bcc");
    expect(all.map((h) => h.field)).toContain("X-A");
  });

  it("stores values in encoded, unfolded wire form", () => {
    const headers = buildHeaders(input({ from: "Jörg <j@x.de>", subject: "Grüße ".repeat(30), sendTo: '"Doe, John" <j@x>' }));
    for (const h of headers) expect(h.value).toMatch(/^[\x20-\x7e]*$/);
    expect(headers.find((h) => h.field === "To")?.value).toBe('"Doe, John" <j@x>');
    expect(headers.find((h) => h.field === "From")?.value).toMatch(/^=\?UTF-8\?[QB]\?.+\?= <j@x.de>$/);
  });

  it("uses the given charset for encoded words", () => {
    expect(valueOf({ subject: "Grüße", charset: "ISO-8859-1" }, "Subject")).toMatch(/^=\?ISO-8859-1\?[QB]\?/);
    expect(codeOf(() => buildHeaders(input({ subject: "Grüße", charset: "bogus" })))).toBe(ErrorCode.InvalidValue);
  });

  it("generates a Message-ID with random url-safe text and the domain", () => {
    const a = valueOf({}, "Message-ID") ?? "";
    const b = valueOf({}, "Message-ID") ?? "";
    expect(a).toMatch(/^<[A-Za-z0-9_-]{20,}@example\.com>$/);
    expect(a).not.toBe(b);
    expect(valueOf({ messageIdDomain: "", from: "x@from.org" }, "Message-ID")).toMatch(/@from\.org>$/);
    expect(valueOf({ messageIdDomain: "", from: "" }, "Message-ID")).toMatch(/@localhost>$/);
  });

  it("keeps a given Message-ID, adding the angle brackets when missing", () => {
    expect(valueOf({ messageId: "<abc@x>" }, "Message-ID")).toBe("<abc@x>");
    expect(valueOf({ messageId: "abc@x" }, "Message-ID")).toBe("<abc@x>");
  });

  it("uses MessageDate when given, else the current date", () => {
    expect(valueOf({ messageDate: "Tue, 24 Nov 2026 22:37:35 +0000" }, "Date")).toBe("Tue, 24 Nov 2026 22:37:35 +0000");
    expect(valueOf({}, "Date")).toBe(formatDate(NOW));
    const { now: _unused, ...withoutNow } = input();
    const date = buildHeaders(withoutNow).find((h) => h.field === "Date")?.value ?? "";
    expect(Math.abs(Date.parse(date) - Date.now())).toBeLessThan(5000);
  });

  it("lets OtherHeaders replace generated headers (case-insensitive)", () => {
    const headers = buildHeaders(input({ otherHeaders: "date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMESSAGE-ID: <mine@x>" }));
    expect(headers.filter((h) => /^(date|message-id)$/i.test(h.field))).toEqual([
      { field: "date", value: "Mon, 1 Jan 2024 00:00:00 +0000" },
      { field: "MESSAGE-ID", value: "<mine@x>" },
    ]);
  });

  it("adds MIME headers for bodyNeedsCharset unless OtherHeaders has a Content-Type", () => {
    expect(valueOf({ bodyNeedsCharset: "UTF-8" }, "Content-Type")).toBe("text/plain; charset=UTF-8");
    expect(valueOf({ bodyNeedsCharset: "UTF-8" }, "Content-Transfer-Encoding")).toBe("8bit");
    const withCt = buildHeaders(input({ bodyNeedsCharset: "UTF-8", otherHeaders: "Content-Type: text/html; charset=utf-8" }));
    expect(withCt.map((h) => h.field)).not.toContain("MIME-Version");
    expect(withCt.filter((h) => h.field.toLowerCase() === "content-type")).toHaveLength(1);
    expect(codeOf(() => buildHeaders(input({ bodyNeedsCharset: "utf 8" })))).toBe(ErrorCode.InvalidValue);
  });

  it("refuses line breaks in every text input", () => {
    for (const key of ["from", "sendTo", "cc", "replyTo", "subject", "messageDate", "messageId", "readReceiptTo", "deliveryNotificationTo", "messageIdDomain"] as const) {
      expect(codeOf(() => buildHeaders(input({ [key]: "a@b\r\nBcc: evil@x" }))), key).toBe(ErrorCode.LineBreakInjection);
    }
    expect(codeOf(() => buildHeaders(input({ otherHeaders: "X-A: 1\r\n\r\nbody" })))).toBe(ErrorCode.LineBreakInjection);
  });

  it("reports bad addresses as InvalidAddress", () => {
    expect(codeOf(() => buildHeaders(input({ sendTo: "John Doe" })))).toBe(ErrorCode.InvalidAddress);
  });
});

describe("serializeHeaders", () => {
  it("folds each header, ends each line with CRLF and the block with an empty line", () => {
    const text = serializeHeaders(buildHeaders(input({ subject: "word ".repeat(40).trim() })), 78);
    expect(text.endsWith("\r\n\r\n")).toBe(true);
    const lines = text.slice(0, -4).split("\r\n");
    for (const line of lines) {
      expect(line.length).toBeLessThanOrEqual(78);
      expect(line).not.toMatch(/^[ \t]*$/);
    }
    expect(text.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
  });

  it("serializes an empty list as just the empty line", () => {
    expect(serializeHeaders([], 78)).toBe("\r\n");
  });
});

describe("formatDate", () => {
  it("writes RFC 5322 date-time with a numeric zone that parses back to the same instant", () => {
    const out = formatDate(NOW);
    expect(out).toMatch(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/);
    expect(Date.parse(out)).toBe(NOW.getTime());
  });

  it("uses the local zone", () => {
    const offset = -NOW.getTimezoneOffset();
    const sign = offset < 0 ? "-" : "+";
    const abs = Math.abs(offset);
    const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}${String(abs % 60).padStart(2, "0")}`;
    expect(formatDate(NOW).endsWith(` ${zone}`)).toBe(true);
  });
});

describe("header blocks", () => {
  it("parses lines, unfolds continuations and stops at the empty line", () => {
    expect(parseHeaderBlock("Subject: a\r\n  b\r\nX-Y:z\nTo:\r\n\tc@d\r\n\r\nBody: no")).toEqual([
      { field: "Subject", value: "a  b" },
      { field: "X-Y", value: "z" },
      { field: "To", value: "c@d" },
    ]);
  });

  it("skips lines that are not headers when reading a prebuilt message", () => {
    expect(parseHeaderBlock(" orphan\r\nnot a header\r\nA: 1")).toEqual([{ field: "A", value: "1" }]);
  });

  it("accepts well-formed OtherHeaders", () => {
    expect(() => validateOtherHeaders("")).not.toThrow();
    expect(() => validateOtherHeaders("X-A: 1\r\nX-B: 2\r\n\tcontinued\nX-C:3\r\n")).not.toThrow();
  });

  it("refuses OtherHeaders that could inject, naming the line", () => {
    const cases: Array<[string, RegExp]> = [
      ["X-A: 1\rX-B: 2", /line 1/],
      ["X-A: 1\r\n\r\nbody", /line 2 .*empty/],
      ["X-A: 1\r\n   \r\nX-B: 2", /line 2 .*empty/],
      [" X-A: 1", /line 1 .*continuation/],
      ["X-A: 1\r\nnot a header", /line 2 .*"not a header"/],
      ["X A: 1", /line 1/],
      ["X-A: 1\r\n\r\n", /line 2/],
      ["X-A: 1\r", /CR/],
    ];
    for (const [text, why] of cases) {
      try {
        validateOtherHeaders(text);
        expect.unreachable(JSON.stringify(text));
      } catch (e) {
        expect((e as SmtpError).code, JSON.stringify(text)).toBe(ErrorCode.LineBreakInjection);
        expect((e as SmtpError).message, JSON.stringify(text)).toMatch(why);
      }
    }
  });

  it("assertNoLineBreak names the value", () => {
    expect(() => assertNoLineBreak("Subject", "ok")).not.toThrow();
    expect(() => assertNoLineBreak("Subject", "a\nb")).toThrow("Subject must not contain CR, LF or NUL");
    expect(codeOf(() => assertNoLineBreak("X", "\r"))).toBe(ErrorCode.LineBreakInjection);
  });
});

describe("round trip through mailparser", () => {
  const first = (a: AddressObject | AddressObject[] | undefined): AddressObject | undefined => (Array.isArray(a) ? a[0] : a);

  it.each(["", "ISO-8859-1"])("keeps subject, names and addresses (charset %j)", async (charset) => {
    const subject = "Grüße aus Köln — 東京 😀 and a long tail so that the subject needs folding, surely";
    const headers = buildHeaders(
      input({
        charset,
        from: "Jörg Müller <joerg@example.de>",
        sendTo: '"Doe, John" <john@example.com>, 山田 太郎 <taro@example.jp>',
        cc: "Team: Zoë <zoe@example.org>;",
        subject,
        otherHeaders: "X-Custom: yes",
      }),
    );
    const raw = serializeHeaders(headers, 78) + "\r\nbody\r\n";
    const mail = await simpleParser(Buffer.from(raw, "utf8"));

    expect(mail.subject).toBe(subject);
    expect(first(mail.from)?.value).toEqual([{ name: "Jörg Müller", address: "joerg@example.de" }]);
    expect(first(mail.to)?.value).toEqual([
      { name: "Doe, John", address: "john@example.com" },
      { name: "山田 太郎", address: "taro@example.jp" },
    ]);
    const cc = first(mail.cc)?.value[0];
    expect(cc?.name).toBe("Team");
    expect(cc?.group).toEqual([{ name: "Zoë", address: "zoe@example.org" }]);
    expect(mail.headers.get("x-custom")).toBe("yes");
    expect(mail.headers.has("bcc")).toBe(false);
    expect(mail.bcc).toBeUndefined();
    expect(mail.text?.trim()).toBe("body");
  });
});

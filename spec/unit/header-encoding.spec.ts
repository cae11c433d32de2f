import { describe, it, expect } from "vitest";
import fc from "fast-check";
import iconv from "iconv-lite";
import { decodeWords, encodePhrase, encodeWords, needsEncoding } from "../../src/message/header-encoding.js";
import { ErrorCode, SmtpError } from "../../src/errors.js";

const WORD = /=\?([^?]+)\?([QB])\?([^?]*)\?=/g;

function encodedWords(s: string): string[] {
  return [...s.matchAll(WORD)].map((m) => m[0]);
}

function decodeOne(word: string): string {
  return decodeWords(word);
}

function wellFormed(s: string): boolean {
  return Buffer.from(s, "utf8").toString("utf8") === s;
}

describe("needsEncoding", () => {
  it("is false for printable ASCII and tab", () => {
    expect(needsEncoding("Hello, world! ~\t")).toBe(false);
    expect(needsEncoding("")).toBe(false);
  });
  it("is true for non-ASCII and control characters", () => {
    expect(needsEncoding("Grüße")).toBe(true);
    expect(needsEncoding("a\x01b")).toBe(true);
    expect(needsEncoding("a\x7fb")).toBe(true);
    expect(needsEncoding("a\r\nb")).toBe(true);
  });
});

describe("encodeWords", () => {
  it("returns ASCII text unchanged", () => {
    expect(encodeWords("Quarterly report (final) = done?", "")).toBe("Quarterly report (final) = done?");
  });

  it("encodes only the span from the first to the last non-ASCII word", () => {
    const out = encodeWords("Re: Grüße aus Köln today", "");
    expect(out.startsWith("Re: =?UTF-8?")).toBe(true);
    expect(out.endsWith("?= today")).toBe(true);
    expect(decodeWords(out)).toBe("Re: Grüße aus Köln today");
  });

  it("uses Q for mostly-ASCII text and B for mostly non-ASCII text", () => {
    expect(encodeWords("Schönheitsfehler", "")).toBe("=?UTF-8?Q?Sch=C3=B6nheitsfehler?=");
    // Short runs favour B: "café" is 8 chars in B against 9 in Q.
    expect(encodeWords("café", "")).toBe("=?UTF-8?B?Y2Fmw6k=?=");
    expect(encodeWords("東京都", "")).toBe("=?UTF-8?B?5p2x5Lqs6YO9?=");
  });

  it("keeps every encoded-word within 75 characters and whole characters in each", () => {
    const text = "東京😀é".repeat(40);
    const out = encodeWords(text, "");
    const words = encodedWords(out);
    expect(words.length).toBeGreaterThan(5);
    for (const w of words) {
      expect(w.length).toBeLessThanOrEqual(75);
      const alone = decodeOne(w);
      expect(alone).not.toContain("\uFFFD");
      expect(wellFormed(alone)).toBe(true);
    }
    expect(out.split(" ").length).toBe(words.length);
    expect(decodeWords(out)).toBe(text);
  });

  it("never splits a surrogate pair in Q encoding either", () => {
    const text = "a😀".repeat(30);
    const out = encodeWords(text, "");
    for (const w of encodedWords(out)) expect(wellFormed(decodeOne(w))).toBe(true);
    expect(decodeWords(out)).toBe(text);
  });

  it("encodes with another charset through iconv-lite", () => {
    const out = encodeWords("Mädchenname", "ISO-8859-1");
    expect(out).toBe("=?ISO-8859-1?Q?M=E4dchenname?=");
    expect(decodeWords(out)).toBe("Mädchenname");
  });

  it("falls back to UTF-8 when the charset cannot represent the text", () => {
    const out = encodeWords("東京", "ISO-8859-1");
    expect(out).toContain("=?UTF-8?");
    expect(decodeWords(out)).toBe("東京");
  });

  it("rejects an unknown charset with InvalidValue", () => {
    expect(() => encodeWords("Grüße", "no-such-charset")).toThrow(SmtpError);
    try {
      encodeWords("plain", "x?y");
      expect.unreachable();
    } catch (e) {
      expect((e as SmtpError).code).toBe(ErrorCode.InvalidValue);
    }
  });

  it("encodes ASCII words that look like encoded-words, so they survive decoding", () => {
    const text = "see =?UTF-8?Q?abc?= here";
    const out = encodeWords(text, "");
    expect(out).not.toBe(text);
    expect(decodeWords(out)).toBe(text);
  });

  it("encodes control characters, so CR and LF never reach the output", () => {
    const out = encodeWords("a\r\nb", "");
    expect(out).not.toMatch(/[\r\n]/);
    expect(decodeWords(out)).toBe("a\r\nb");
  });

  it("keeps the exact whitespace of the plain parts", () => {
    const text = "  two  spaces\tand Grüße  x ";
    expect(decodeWords(encodeWords(text, ""))).toBe(text);
  });
});

describe("encodePhrase", () => {
  it("uses only the RFC 2047 §5(3) characters in Q words", () => {
    const out = encodePhrase("Jörg (boss) <x>, \"y\" a.b=c?", "");
    for (const w of encodedWords(out)) {
      const m = /^=\?[^?]+\?([QB])\?([^?]*)\?=$/.exec(w);
      if (m?.[1] === "Q") expect(m[2]).toMatch(/^(?:[A-Za-z0-9!*+\-/_]|=[0-9A-F]{2})*$/);
    }
    expect(decodeWords(out)).toBe("Jörg (boss) <x>, \"y\" a.b=c?");
  });

  it("keeps plain atoms outside the encoded span", () => {
    expect(encodePhrase("Jörg Müller Jr", "ISO-8859-1")).toBe("=?ISO-8859-1?Q?J=F6rg_M=FCller?= Jr");
  });

  it("returns ASCII names unchanged (quoting is the caller's job)", () => {
    expect(encodePhrase("Doe, John", "")).toBe("Doe, John");
  });
});

describe("decodeWords", () => {
  it("drops whitespace only between adjacent encoded-words", () => {
    expect(decodeWords("=?UTF-8?Q?a?= =?UTF-8?Q?b?= c =?UTF-8?Q?d?=")).toBe("ab c d");
    expect(decodeWords("=?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?=")).toBe("ab");
  });

  it("joins a character split across two words", () => {
    expect(decodeWords("=?UTF-8?Q?=C3?= =?UTF-8?Q?=BC?=")).toBe("ü");
  });

  it("accepts lowercase encodings, other charsets and RFC 2231 language tags", () => {
    expect(decodeWords("=?iso-8859-1?q?caf=E9?=")).toBe("café");
    expect(decodeWords("=?utf-8?b?w7w=?=")).toBe("ü");
    expect(decodeWords("=?UTF-8*de?Q?Gr=C3=BC=C3=9Fe?=")).toBe("Grüße");
    expect(decodeWords("=?windows-1252?Q?=80?=")).toBe("€");
  });

  it("leaves words with an unknown charset or bad Q escapes alone", () => {
    expect(decodeWords("x =?nope?Q?a?= y")).toBe("x =?nope?Q?a?= y");
    expect(decodeWords("=?UTF-8?Q?=ZZ?=")).toBe("=?UTF-8?Q?=ZZ?=");
  });
});

describe("encodeWords properties", () => {
  const unicode = fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 120 }),
    fc.string({ unit: "binary", maxLength: 120 }).filter(wellFormed),
    fc.string({ unit: fc.constantFrom("a", " ", "\t", "ü", "東", "😀", "=?", "?=", "_", "=", "\r", "\n"), maxLength: 80 }),
  );

  it("produces printable ASCII, words ≤ 75 chars, and decodes back (UTF-8)", () => {
    fc.assert(
      fc.property(unicode, (s) => {
        const out = encodeWords(s, "");
        expect(out).toMatch(/^[\t\x20-\x7e]*$/);
        for (const w of encodedWords(out)) expect(w.length).toBeLessThanOrEqual(75);
        expect(decodeWords(out)).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it("does the same with ISO-8859-1 on latin-1 strings", () => {
    const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 150 });
    fc.assert(
      fc.property(latin1, (s) => {
        const out = encodeWords(s, "ISO-8859-1");
        expect(out).toMatch(/^[\t\x20-\x7e]*$/);
        for (const w of encodedWords(out)) {
          expect(w.length).toBeLessThanOrEqual(75);
          expect(w.startsWith("=?ISO-8859-1?")).toBe(true);
        }
        expect(decodeWords(out)).toBe(s);
        // The bytes really are latin-1: one byte per character.
        const payload = encodedWords(out).map((w) => decodeWords(w)).join("");
        expect(iconv.encode(payload, "latin1").length).toBe(payload.length);
      }),
      { numRuns: 500 },
    );
  });

  it("encodePhrase output decodes back and holds only phrase-safe characters", () => {
    fc.assert(
      fc.property(unicode, (s) => {
        const out = encodePhrase(s, "");
        if (out === s) return;
        expect(out).toMatch(/^[\x20-\x7e]*$/);
        for (const w of encodedWords(out)) expect(w.length).toBeLessThanOrEqual(75);
        expect(decodeWords(out)).toBe(s);
      }),
      { numRuns: 300 },
    );
  });
});

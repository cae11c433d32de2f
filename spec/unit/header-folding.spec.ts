import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { foldHeader, unfold } from "../../src/message/header-folding.js";
import { encodeWords } from "../../src/message/header-encoding.js";
import { ErrorCode, SmtpError } from "../../src/errors.js";

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof SmtpError ? e.code : -1;
  }
  return undefined;
}

describe("foldHeader", () => {
  it("leaves a short header on one line", () => {
    expect(foldHeader("Subject", "Hello there", 78)).toBe("Subject: Hello there");
  });

  it("folds before whitespace, keeping lines within maxLength", () => {
    const value = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");
    const out = foldHeader("Subject", value, 78);
    const lines = out.split("\r\n");
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(78);
    for (const line of lines.slice(1)) expect(line.startsWith(" ")).toBe(true);
    expect(unfold(out)).toBe(`Subject: ${value}`);
  });

  it("does not fold inside a quoted string or an encoded-word", () => {
    const value = `"${"a b ".repeat(30)}" <x@y>`;
    const out = foldHeader("To", value, 40);
    expect(out.split("\r\n")).toEqual(["To:", ` "${"a b ".repeat(30)}"`, " <x@y>"]);

    const subject = encodeWords("Grüße ".repeat(20), "");
    for (const line of foldHeader("Subject", subject, 78).split("\r\n")) {
      // Every line holds whole encoded-words only.
      expect(line.replace(/^Subject:/, "").trim()).toMatch(/^(=\?UTF-8\?[QB]\?[^? ]*\?=( |$))*$/);
    }
  });

  it("treats an unclosed quote as an ordinary character", () => {
    const value = `a 5" screen ${"x ".repeat(60)}`;
    const out = foldHeader("Subject", value, 78);
    expect(out.split("\r\n").length).toBeGreaterThan(1);
    expect(unfold(out)).toBe(`Subject: ${value}`);
  });

  it("folds right after the colon when the first word would not fit", () => {
    const word = "x".repeat(72);
    expect(foldHeader("Subject", word, 78)).toBe(`Subject:\r\n ${word}`);
  });

  it("keeps a word longer than maxLength but within 998 on its own line", () => {
    const word = "y".repeat(200);
    const out = foldHeader("X-Long", `a ${word} b`, 78);
    expect(out.split("\r\n")).toEqual(["X-Long: a", ` ${word}`, " b"]);
  });

  it("throws InvalidValue for a word longer than 998 octets", () => {
    expect(codeOf(() => foldHeader("X-Long", "z".repeat(999), 78))).toBe(ErrorCode.InvalidValue);
    expect(codeOf(() => foldHeader("X-Long", "ü".repeat(500), 78))).toBe(ErrorCode.InvalidValue);
    expect(codeOf(() => foldHeader("X", "z".repeat(995), 78))).toBeUndefined();
  });

  it("refuses CR or LF in the value or field (LineBreakInjection)", () => {
    expect(codeOf(() => foldHeader("Subject", "a\r\nBcc: evil@x", 78))).toBe(ErrorCode.LineBreakInjection);
    expect(codeOf(() => foldHeader("Subject", "a\nb", 78))).toBe(ErrorCode.LineBreakInjection);
    expect(codeOf(() => foldHeader("Subject", "a\rb", 78))).toBe(ErrorCode.LineBreakInjection);
    expect(codeOf(() => foldHeader("X\r\nBcc", "a", 78))).toBe(ErrorCode.LineBreakInjection);
  });

  it("refuses an invalid field name", () => {
    expect(codeOf(() => foldHeader("Bad Name", "a", 78))).toBe(ErrorCode.InvalidValue);
    expect(codeOf(() => foldHeader("", "a", 78))).toBe(ErrorCode.InvalidValue);
  });

  it("never produces a whitespace-only line", () => {
    const out = foldHeader("Subject", `${"ab ".repeat(30)}      \t   `, 20);
    for (const line of out.split("\r\n")) expect(line).not.toMatch(/^[ \t]*$/);
    const spaces = foldHeader("Subject", " ".repeat(200), 20);
    expect(spaces).toBe(`Subject: ${" ".repeat(200)}`);
  });

  it("writes an empty value as 'Field: '", () => {
    expect(foldHeader("X-Empty", "", 78)).toBe("X-Empty: ");
  });
});

describe("unfold", () => {
  it("removes line breaks followed by whitespace", () => {
    expect(unfold("a\r\n b\r\n\tc")).toBe("a b\tc");
    expect(unfold("a\n b")).toBe("a b");
  });
  it("keeps line breaks not followed by whitespace", () => {
    expect(unfold("a\r\nb")).toBe("a\r\nb");
  });
});

describe("foldHeader properties", () => {
  const value = fc.string({
    unit: fc.oneof(
      fc.constantFrom(" ", "\t", "  ", '"', "\\", "=?UTF-8?Q?x?=", "word", "ü", "東"),
      fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }),
    ),
    maxLength: 120,
  });

  it("unfolds back to 'Field: value', lines ≤ 998, no stray CR/LF, no blank lines", () => {
    fc.assert(
      fc.property(value, fc.integer({ min: 10, max: 120 }), (v, max) => {
        let out: string;
        try {
          out = foldHeader("X-Test", v, max);
        } catch (e) {
          expect(/[\r\n]/.test(v)).toBe(true);
          expect((e as SmtpError).code).toBe(ErrorCode.LineBreakInjection);
          return;
        }
        expect(unfold(out)).toBe(`X-Test: ${v}`);
        const lines = out.split("\r\n");
        lines.forEach((line, k) => {
          expect(line).not.toMatch(/[\r\n]/);
          expect(Buffer.byteLength(line)).toBeLessThanOrEqual(998);
          expect(line).not.toMatch(/^[ \t]*$/);
          if (k > 0) expect(line).toMatch(/^[ \t]/);
        });
      }),
      { numRuns: 500 },
    );
  });

  it("keeps lines within maxLength whenever each word fits", () => {
    const words = fc.array(fc.stringMatching(/^[a-z]{1,10}$/), { maxLength: 60 });
    fc.assert(
      fc.property(words, fc.integer({ min: 30, max: 100 }), (ws, max) => {
        const out = foldHeader("Subject", ws.join(" "), max);
        for (const line of out.split("\r\n")) expect(line.length).toBeLessThanOrEqual(max);
      }),
    );
  });
});

describe("a fold at a run of blanks", () => {
  it("leaves all but one blank at the end of the line before, so a receiver that collapses CRLF + blanks keeps them all", async () => {
    const { simpleParser } = await import("mailparser");
    // Found by the Subject property test in attachment-names.spec.ts (fast-check seed -783701257).
    const value = "''  =?UTF-8?B?PT91dGYtOD9RPz0wMD0wMD0wMD0wMD0wMD0wMD0wMD0wMD0wMD0wMD89?=";
    const folded = foldHeader("Subject", value, 78);
    expect(folded).toBe(`Subject: '' \r\n =?UTF-8?B?PT91dGYtOD9RPz0wMD0wMD0wMD0wMD0wMD0wMD0wMD0wMD0wMD0wMD89?=`);
    expect(unfold(folded)).toBe(`Subject: ${value}`);
    expect((await simpleParser(`${folded}\r\n\r\nbody`)).subject).toBe("''  =?utf-8?Q?=00=00=00=00=00=00=00=00=00=00?=");
  });
});

import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Readable, type Transform } from "node:stream";
import {
  Base64Encoder,
  base64EncodedSize,
  encodeBase64,
  QuotedPrintableEncoder,
  encodeQuotedPrintable,
  chooseTextEncoding,
  encodeRfc2231,
  parseHeaderValue,
  fileNameParams,
  createBoundary,
} from "../../src/mime/index.js";
import { foldPartHeader } from "../../src/mime/part-headers.js";
import { hasLongLine, LineMeter } from "../../src/mime/line-length.js";
import { encodeBodyText, mustEncodeBody, quotedPrintableBody } from "../../src/mime/plain-body.js";
import { decodeWords } from "../../src/message/header-encoding.js";
import { ErrorCode, SmtpError } from "../../src/errors.js";

/** Cuts `bytes` at the given points (taken modulo the length), keeping empty chunks out. */
function split(bytes: Uint8Array, points: number[]): Buffer[] {
  const buf = Buffer.from(bytes);
  const cuts = [...new Set(points.map((p) => (buf.length === 0 ? 0 : p % (buf.length + 1))))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const c of [...cuts, buf.length]) {
    if (c > start) chunks.push(buf.subarray(start, c));
    start = Math.max(start, c);
  }
  return chunks;
}

async function run(encoder: Transform, chunks: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  const piped = Readable.from(chunks, { objectMode: false }).pipe(encoder);
  for await (const c of piped) out.push(c as Buffer);
  return Buffer.concat(out);
}

/** Output lines, checking that every line ends in CRLF and no bare CR or LF occurs. */
function crlfLines(encoded: Buffer): string[] {
  const text = encoded.toString("latin1");
  expect(text.endsWith("\r\n")).toBe(true);
  const lines = text.slice(0, -2).split("\r\n");
  for (const line of lines) expect(line).not.toMatch(/[\r\n]/);
  return lines;
}

/** RFC 2045 §6.7 decoder, written independently of the encoder. The final CRLF belongs to the next delimiter. */
function decodeQp(encoded: Buffer): Buffer {
  const lines = encoded.toString("latin1").replace(/\r\n$/, "").split("\r\n");
  const bytes: number[] = [];
  lines.forEach((line, k) => {
    let body = line;
    const soft = body.endsWith("=");
    if (soft) body = body.slice(0, -1);
    for (let i = 0; i < body.length; i++) {
      if (body[i] === "=") {
        bytes.push(parseInt(body.slice(i + 1, i + 3), 16));
        i += 2;
      } else bytes.push(body.charCodeAt(i));
    }
    if (!soft && k < lines.length - 1) bytes.push(0x0d, 0x0a);
  });
  return Buffer.from(bytes);
}

/** Checks the RFC 2045 §6.7 rules on each encoded line. */
function expectWellFormedQp(lines: string[]): void {
  for (const line of lines) {
    expect(line.length).toBeLessThanOrEqual(76);
    // Only printable ASCII and tab appear; "=" starts an escape or is the soft break at the end.
    expect(line).toMatch(/^[\t\x20-\x7e]*$/);
    expect(line.replace(/=[0-9A-F]{2}/g, "").replace(/=$/, "")).not.toContain("=");
    // Trailing blanks would be stripped in transit (rule 3).
    expect(line).not.toMatch(/[ \t]$/);
  }
}

const bytesAndCuts = fc.tuple(fc.uint8Array({ maxLength: 1500 }), fc.array(fc.nat({ max: 2000 }), { maxLength: 12 }));
/** Text-like bytes: line breaks, blanks, "=" and UTF-8 lead bytes are where QP goes wrong. */
const textish = fc
  .array(fc.oneof(fc.constantFrom(0x0d, 0x0a, 0x20, 0x09, 0x3d, 0x2e, 0xc3, 0xa9), fc.integer({ min: 0x21, max: 0x7e })), {
    maxLength: 1500,
  })
  .map((a) => Uint8Array.from(a));
const textAndCuts = fc.tuple(textish, fc.array(fc.nat({ max: 2000 }), { maxLength: 12 }));

describe("Base64Encoder", () => {
  it("gives 76-char CRLF lines that decode to the input, for any chunking", async () => {
    await fc.assert(
      fc.asyncProperty(bytesAndCuts, async ([bytes, cuts]) => {
        const out = await run(new Base64Encoder(), split(bytes, cuts));
        const lines = crlfLines(out);
        for (const line of lines) expect(line.length).toBeLessThanOrEqual(76);
        lines.slice(0, -1).forEach((l) => expect(l.length).toBe(76));
        expect(Buffer.from(out.toString("latin1"), "base64").equals(Buffer.from(bytes))).toBe(true);
        expect(out.equals(encodeBase64(Buffer.from(bytes)))).toBe(true);
        expect(out.length).toBe(base64EncodedSize(bytes.length));
      }),
      { numRuns: 300 },
    );
  });

  it("gives one empty line for empty input", async () => {
    expect((await run(new Base64Encoder(), [])).toString()).toBe("\r\n");
  });

  it("never contains the boundary marker characters", async () => {
    const out = await run(new Base64Encoder(), [Buffer.from([0xfb, 0xff, 0xbf, 0x3e, 0x3f])]);
    expect(out.toString("latin1")).not.toMatch(/[-_]/);
  });
});

describe("QuotedPrintableEncoder", () => {
  for (const [label, arb] of [
    ["arbitrary bytes", bytesAndCuts],
    ["text-like bytes", textAndCuts],
  ] as const) {
    for (const textLineBreaks of [true, false]) {
      it(`round-trips ${label} with well-formed lines for any chunking (textLineBreaks=${textLineBreaks})`, async () => {
        await fc.assert(
          fc.asyncProperty(arb, async ([bytes, cuts]) => {
            const out = await run(new QuotedPrintableEncoder({ textLineBreaks }), split(bytes, cuts));
            expectWellFormedQp(crlfLines(out));
            expect(decodeQp(out).equals(Buffer.from(bytes))).toBe(true);
            expect(out.equals(encodeQuotedPrintable(bytes, { textLineBreaks }))).toBe(true);
            if (!textLineBreaks) expect(crlfLines(out).slice(0, -1).every((l) => l.endsWith("="))).toBe(true);
          }),
          { numRuns: 200 },
        );
      });
    }
  }

  it("turns CRLF into hard breaks and escapes blanks before them", () => {
    expect(encodeQuotedPrintable(Buffer.from("a \r\nb\t\r\nc ")).toString()).toBe("a=20\r\nb=09\r\nc=20\r\n");
  });

  it("escapes lone CR and LF in text mode", () => {
    expect(encodeQuotedPrintable(Buffer.from("a\rb\nc\r")).toString()).toBe("a=0Db=0Ac=0D\r\n");
  });

  it("never splits an escape across a soft break", () => {
    const out = encodeQuotedPrintable(Buffer.from("=".repeat(100)));
    const lines = crlfLines(out);
    expectWellFormedQp(lines);
    expect(lines[0]).toBe("=3D".repeat(25) + "=");
  });

  it("soft-breaks long lines at 76 characters", () => {
    const lines = crlfLines(encodeQuotedPrintable(Buffer.from("x".repeat(200))));
    expect(lines.map((l) => l.length)).toEqual([76, 76, 50]);
  });

  it("escapes a blank that a soft break would leave at a line end only when a hard break follows", () => {
    const out = encodeQuotedPrintable(Buffer.from("x".repeat(75) + " \r\n")).toString();
    expectWellFormedQp(crlfLines(Buffer.from(out)));
    expect(decodeQp(Buffer.from(out)).toString()).toBe("x".repeat(75) + " \r\n");
  });
});

describe("QP for a whole message body (finalLineBreak: false)", () => {
  it("is the part form without its last CRLF, streamed or not, for any chunking", async () => {
    await fc.assert(
      fc.asyncProperty(textAndCuts, async ([bytes, cuts]) => {
        const part = encodeQuotedPrintable(bytes);
        const body = encodeQuotedPrintable(bytes, { finalLineBreak: false });
        expect(Buffer.concat([body, Buffer.from("\r\n")]).equals(part)).toBe(true);
        expect((await run(new QuotedPrintableEncoder({ finalLineBreak: false }), split(bytes, cuts))).equals(body)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe("line lengths (998 octets, RFC 5322 §2.1.1)", () => {
  it("counts CR, LF and CRLF as line ends, also across chunks", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom("\r", "\n", "\r\n"), fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1200 })), { maxLength: 8 }), fc.array(fc.nat({ max: 6000 }), { maxLength: 6 }), (pieces, cuts) => {
        const text = pieces.join("");
        const expected = text.split(/\r\n|\r|\n/).some((line) => line.length > 998);
        expect(hasLongLine(Buffer.from(text))).toBe(expected);
        const meter = new LineMeter();
        expect(split(Buffer.from(text), cuts).map((c) => meter.feed(c)).some(Boolean)).toBe(expected);
      }),
      { numRuns: 300 },
    );
    expect(hasLongLine(Buffer.from("x".repeat(998)))).toBe(false);
    expect(hasLongLine(Buffer.from("x".repeat(999)))).toBe(true);
    expect(hasLongLine(Buffer.from("x".repeat(998) + "\r" + "y".repeat(998)))).toBe(false);
  });
});

describe("encodeBodyText (a message body without MIME structure)", () => {
  it("leaves short-lined ASCII as it is, with CRLF line breaks", () => {
    expect(encodeBodyText(Buffer.from("a\nb\rc\r\n"))).toEqual({ encoding: "7bit", body: Buffer.from("a\r\nb\r\nc\r\n") });
  });

  it("encodes long lines and NUL so that every line fits and the text decodes back", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom("\n", "\r\n", "\0", "ü", " "), fc.string({ unit: "grapheme-ascii", maxLength: 2000 })), { maxLength: 6 }), fc.nat(), fc.constantFrom("L".repeat(999), "\0"), (pieces, at, culprit) => {
        pieces.splice(at % (pieces.length + 1), 0, culprit);
        const bytes = Buffer.from(pieces.join(""), "utf8");
        expect(mustEncodeBody(bytes)).toBe(true);
        const { encoding, body } = encodeBodyText(bytes);
        expect(encoding).not.toBe("7bit");
        const canonical = Buffer.from(bytes.toString("latin1").replace(/\r\n|\r|\n/g, "\r\n"), "latin1");
        const decoded = encoding === "base64" ? Buffer.from(body.toString("latin1"), "base64") : decodeQp(Buffer.concat([body, Buffer.from("\r\n")]));
        expect(decoded.equals(canonical)).toBe(true);
        for (const line of body.toString("latin1").split("\r\n")) expect(line.length).toBeLessThanOrEqual(76);
      }),
      { numRuns: 200 },
    );
  });

  it("streams any body as quoted-printable with CRLF line breaks, for any chunking", async () => {
    await fc.assert(
      fc.asyncProperty(textAndCuts, async ([bytes, cuts]) => {
        const chunks: Buffer[] = [];
        for await (const c of quotedPrintableBody(split(bytes, cuts).map((b) => Readable.from([b])))) chunks.push(c as Buffer);
        const canonical = Buffer.from(Buffer.from(bytes).toString("latin1").replace(/\r\n|\r|\n/g, "\r\n"), "latin1");
        expect(Buffer.concat(chunks).equals(encodeQuotedPrintable(canonical, { finalLineBreak: false }))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe("chooseTextEncoding", () => {
  it("keeps short-lined ASCII as 7bit", () => {
    expect(chooseTextEncoding(Buffer.from("Hello\r\nworld\r\n"))).toBe("7bit");
    expect(chooseTextEncoding(Buffer.alloc(0))).toBe("7bit");
  });
  it("uses QP for mostly-ASCII text, long lines and stray line breaks", () => {
    expect(chooseTextEncoding(Buffer.from("Grüße aus Köln, wie geht es?"))).toBe("quoted-printable");
    expect(chooseTextEncoding(Buffer.from("x".repeat(999)))).toBe("quoted-printable");
    expect(chooseTextEncoding(Buffer.from("a\nb".repeat(20) + "c".repeat(100)))).toBe("quoted-printable");
  });
  it("uses base64 when many bytes would need escaping", () => {
    expect(chooseTextEncoding(Buffer.from("東京の天気は晴れです"))).toBe("base64");
    expect(chooseTextEncoding(Buffer.from([0, 1, 2, 3, 0x41]))).toBe("base64");
  });
});

describe("RFC 2231 file names", () => {
  it("round-trips arbitrary Unicode names through encode and parse", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (name) => {
        const params = encodeRfc2231("filename", name);
        for (const p of params) {
          expect(p).toMatch(/^[\x21-\x7e]+$/);
          expect(p.length).toBeLessThanOrEqual(75);
        }
        const header = ["attachment", ...params].join("; ");
        expect(parseHeaderValue(header).params.get("filename")).toBe(name);
        // Folded as a part header, the lines stay short and unfold to the same value.
        const folded = foldPartHeader("Content-Disposition", header);
        for (const line of folded.slice(0, -2).split("\r\n")) expect(line.length).toBeLessThanOrEqual(78);
        expect(folded.replace(/\r\n(?=[ \t])/g, "")).toBe(`Content-Disposition: ${header}\r\n`);
      }),
      { numRuns: 300 },
    );
  });

  it("uses continuations for long names", () => {
    const params = encodeRfc2231("filename", "é".repeat(40));
    expect(params.length).toBeGreaterThan(1);
    expect(params[0]).toMatch(/^filename\*0\*=utf-8''%C3%A9/);
    expect(params[1]).toMatch(/^filename\*1\*=%C3%A9/);
  });

  it("decodes other charsets and plain continuations", () => {
    expect(parseHeaderValue("attachment; filename*=iso-8859-1'en'caf%E9.txt").params.get("filename")).toBe("café.txt");
    expect(parseHeaderValue('attachment; filename*0="a b"; filename*1="c.txt"').params.get("filename")).toBe("a bc.txt");
    expect(parseHeaderValue('text/plain; name="x\\"y"').params.get("name")).toBe('x"y');
  });

  it("gives the legacy name= parameter as RFC 2047 words that decode to the name", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", minLength: 1, maxLength: 300 }), (name) => {
        const { contentType, disposition } = fileNameParams(name);
        const raw = parseHeaderValue(["x/y", ...contentType].join("; ")).params.get("name") ?? "";
        const plain = name.length <= 60 && /^[\x20-\x7e]*$/.test(name);
        expect(plain ? raw : decodeWords(raw)).toBe(name);
        expect(parseHeaderValue(["attachment", ...disposition].join("; ")).params.get("filename")).toBe(name);
        for (const word of raw.split(" ")) if (!plain) expect(word.length).toBeLessThanOrEqual(75);
      }),
      { numRuns: 300 },
    );
  });

  it("writes short ASCII names as quoted strings", () => {
    expect(fileNameParams("report 2024.pdf")).toEqual({
      disposition: ['filename="report 2024.pdf"'],
      contentType: ['name="report 2024.pdf"'],
    });
    expect(fileNameParams('a"b.txt').disposition).toEqual(['filename="a\\"b.txt"']);
  });
});

describe("createBoundary", () => {
  it("has a prefix that cannot start a base64 or QP line", () => {
    const b = createBoundary(() => false);
    expect(b).toMatch(/^----=_smtpkit_[0-9a-f]{32}$/);
    expect(b.length).toBeLessThanOrEqual(70);
  });

  it("regenerates on a collision", () => {
    const seen: string[] = [];
    const b = createBoundary((c) => {
      seen.push(c);
      return seen.length < 3;
    });
    expect(seen).toHaveLength(3);
    expect(b).toBe(seen[2]);
  });

  it("fails with 601 when the random source keeps colliding", () => {
    let error: unknown;
    try {
      createBoundary(() => true, (n) => Buffer.alloc(n));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SmtpError);
    expect((error as SmtpError).code).toBe(ErrorCode.InvalidValue);
  });
});

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ErrorCode, SmtpError } from "../../src/errors.js";
import { ReplyParser, type ReplyParserOptions } from "../../src/engine/reply-parser.js";
import {
  createReply,
  describeReply,
  isIntermediate,
  isPermanentNegative,
  isPositive,
  isTransientNegative,
  type SmtpReply,
} from "../../src/engine/reply.js";

// ---------------------------------------------------------------- helpers

const bytes = (s: string): Buffer => Buffer.from(s, "latin1");
const utf8 = (s: string): Buffer => Buffer.from(s, "utf8");

function feed(chunks: readonly Buffer[], opts?: ReplyParserOptions): SmtpReply[] {
  const p = new ReplyParser(opts);
  const out: SmtpReply[] = [];
  for (const c of chunks) out.push(...p.push(c));
  expect(p.partial).toBe(false);
  return out;
}

function splitAt(buf: Buffer, points: readonly number[]): Buffer[] {
  const sorted = [...points].map((n) => Math.min(n, buf.length)).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of sorted) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

const byteByByte = (buf: Buffer): Buffer[] => [...buf].map((b) => Buffer.from([b]));

function byLine(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = buf.indexOf(0x0a); i !== -1; i = buf.indexOf(0x0a, start)) {
    out.push(buf.subarray(start, i + 1));
    start = i + 1;
  }
  if (start < buf.length) out.push(buf.subarray(start));
  return out;
}

/** Expects the same replies from every way of cutting `wire` into chunks. */
function expectAllSplits(wire: Buffer, expected: SmtpReply[], opts?: ReplyParserOptions): void {
  expect(feed([wire], opts)).toEqual(expected);
  expect(feed(byteByByte(wire), opts)).toEqual(expected);
  expect(feed(byLine(wire), opts)).toEqual(expected);
  for (let i = 0; i <= wire.length; i++) expect(feed(splitAt(wire, [i]), opts)).toEqual(expected);
}

function catchError(fn: () => unknown): SmtpError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SmtpError);
    return e as SmtpError;
  }
  throw new Error("expected an SmtpError, nothing was thrown");
}

function parseError(wire: Buffer | Buffer[], opts?: ReplyParserOptions): SmtpError {
  const p = new ReplyParser(opts);
  const chunks = Array.isArray(wire) ? wire : [wire];
  return catchError(() => chunks.forEach((c) => p.push(c)));
}

// ---------------------------------------------------------------- canned transcripts

interface Transcript {
  name: string;
  wire: string;
  replies: SmtpReply[];
}

const postfixEhlo = [
  "250-mx.example.com",
  "250-PIPELINING",
  "250-SIZE 10240000",
  "250-VRFY",
  "250-ETRN",
  "250-STARTTLS",
  "250-ENHANCEDSTATUSCODES",
  "250-8BITMIME",
  "250-DSN",
  "250-SMTPUTF8",
  "250 CHUNKING",
];
const gmailEhlo = [
  "250-smtp.gmail.com at your service, [203.0.113.5]",
  "250-SIZE 35882577",
  "250-8BITMIME",
  "250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH",
  "250-ENHANCEDSTATUSCODES",
  "250-PIPELINING",
  "250-CHUNKING",
  "250 SMTPUTF8",
];
const sinkEhlo = ["250-sink.example.org", "250-PIPELINING", "250-8BITMIME", "250 "];
const gmail550 = [
  "550-5.1.1 The email account that you tried to reach does not exist. Please try",
  "550-5.1.1 double-checking the recipient's email address for typos or",
  "550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser x1si",
];

const wireOf = (lines: readonly string[]): string => lines.map((l) => `${l}\r\n`).join("");
const afterCode = (lines: readonly string[]): string[] => lines.map((l) => l.slice(4));

const transcripts: Transcript[] = [
  {
    name: "greeting",
    wire: "220 mx.example.com ESMTP Postfix (Debian/GNU)\r\n",
    replies: [
      {
        code: 220,
        lines: ["mx.example.com ESMTP Postfix (Debian/GNU)"],
        text: "mx.example.com ESMTP Postfix (Debian/GNU)",
        raw: "220 mx.example.com ESMTP Postfix (Debian/GNU)",
      },
    ],
  },
  {
    name: "Postfix EHLO",
    wire: wireOf(postfixEhlo),
    replies: [
      {
        code: 250,
        lines: afterCode(postfixEhlo),
        text: afterCode(postfixEhlo).join("\n"),
        raw: postfixEhlo.join("\r\n"),
      },
    ],
  },
  {
    name: "Gmail EHLO",
    wire: wireOf(gmailEhlo),
    replies: [
      { code: 250, lines: afterCode(gmailEhlo), text: afterCode(gmailEhlo).join("\n"), raw: gmailEhlo.join("\r\n") },
    ],
  },
  {
    name: "smtp-sink EHLO ending in an empty '250 ' line",
    wire: wireOf(sinkEhlo),
    replies: [
      {
        code: 250,
        lines: ["sink.example.org", "PIPELINING", "8BITMIME", ""],
        text: "sink.example.org\nPIPELINING\n8BITMIME\n",
        raw: sinkEhlo.join("\r\n"),
      },
    ],
  },
  {
    name: "smtp-sink final line that is only the code",
    wire: "250-sink.example.org\r\n250\r\n",
    replies: [{ code: 250, lines: ["sink.example.org", ""], text: "sink.example.org\n", raw: "250-sink.example.org\r\n250" }],
  },
  {
    name: "354",
    wire: "354 End data with <CR><LF>.<CR><LF>\r\n",
    replies: [
      {
        code: 354,
        lines: ["End data with <CR><LF>.<CR><LF>"],
        text: "End data with <CR><LF>.<CR><LF>",
        raw: "354 End data with <CR><LF>.<CR><LF>",
      },
    ],
  },
  {
    name: "221",
    wire: "221 2.0.0 Bye\r\n",
    replies: [{ code: 221, lines: ["2.0.0 Bye"], enhancedStatus: "2.0.0", text: "Bye", raw: "221 2.0.0 Bye" }],
  },
  {
    name: "550 5.1.1",
    wire: "550 5.1.1 <x@y>: Recipient address rejected: User unknown in local recipient table\r\n",
    replies: [
      {
        code: 550,
        lines: ["5.1.1 <x@y>: Recipient address rejected: User unknown in local recipient table"],
        enhancedStatus: "5.1.1",
        text: "<x@y>: Recipient address rejected: User unknown in local recipient table",
        raw: "550 5.1.1 <x@y>: Recipient address rejected: User unknown in local recipient table",
      },
    ],
  },
  {
    name: "multi-line 550 5.1.1 (Gmail)",
    wire: wireOf(gmail550),
    replies: [
      {
        code: 550,
        lines: afterCode(gmail550),
        enhancedStatus: "5.1.1",
        text: afterCode(gmail550)
          .map((l) => l.slice(6))
          .join("\n"),
        raw: gmail550.join("\r\n"),
      },
    ],
  },
  {
    name: "421 4.3.2",
    wire: "421 4.3.2 Service shutting down\r\n",
    replies: [
      {
        code: 421,
        lines: ["4.3.2 Service shutting down"],
        enhancedStatus: "4.3.2",
        text: "Service shutting down",
        raw: "421 4.3.2 Service shutting down",
      },
    ],
  },
];

describe("ReplyParser: canned transcripts", () => {
  it.each(transcripts)("$name: whole, byte by byte, line by line and at every split point", ({ wire, replies }) => {
    expectAllSplits(bytes(wire), replies);
  });

  it("a whole session at every split point", () => {
    const wire = bytes(transcripts.map((t) => t.wire).join(""));
    const expected = transcripts.flatMap((t) => t.replies);
    expect(expected).toHaveLength(10);
    expectAllSplits(wire, expected);
  });

  it("several replies in one chunk come back in order", () => {
    const p = new ReplyParser();
    const got = p.push(bytes("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n"));
    expect(got.map((r) => r.code)).toEqual([250, 250, 354]);
    expect(got.map((r) => r.enhancedStatus)).toEqual(["2.1.0", "2.1.5", undefined]);
  });
});

// ---------------------------------------------------------------- incremental state

describe("ReplyParser: incremental state", () => {
  it("partial is true only while an unfinished reply is buffered", () => {
    const p = new ReplyParser();
    expect(p.partial).toBe(false);
    expect(p.push(bytes("2"))).toEqual([]);
    expect(p.partial).toBe(true);
    expect(p.push(bytes("50-first\r"))).toEqual([]);
    expect(p.partial).toBe(true);
    expect(p.push(bytes("\n"))).toEqual([]);
    expect(p.partial).toBe(true); // first line of a multi-line reply is complete, the reply is not
    expect(p.push(bytes("250 last\r\n"))).toHaveLength(1);
    expect(p.partial).toBe(false);
    expect(p.push(Buffer.alloc(0))).toEqual([]);
    expect(p.partial).toBe(false);
  });

  it("a split between CR and LF joins correctly", () => {
    const p = new ReplyParser();
    expect(p.push(bytes("250 ok\r"))).toEqual([]);
    const [r] = p.push(bytes("\n"));
    expect(r?.lines).toEqual(["ok"]);
    expect(r?.raw).toBe("250 ok");
  });

  it("does not keep references to the caller's chunks", () => {
    const p = new ReplyParser();
    const chunk = bytes("250 hello");
    p.push(chunk);
    chunk.fill(0x78); // the socket layer may reuse its buffers
    expect(p.push(bytes("\r\n"))[0]?.text).toBe("hello");
  });

  it("reset() drops a partial reply (pre-STARTTLS bytes)", () => {
    const p = new ReplyParser();
    p.push(bytes("250-injected\r\n250-more"));
    expect(p.partial).toBe(true);
    p.reset();
    expect(p.partial).toBe(false);
    expect(p.push(bytes("220 ready\r\n"))).toEqual([createReply(220, ["ready"], "220 ready")]);
  });

  it("after an error push() keeps failing until reset()", () => {
    const p = new ReplyParser();
    const first = catchError(() => p.push(bytes("xyz\r\n")));
    expect(first.code).toBe(ErrorCode.MalformedReply);
    const again = catchError(() => p.push(bytes("250 ok\r\n")));
    expect(again.code).toBe(ErrorCode.MalformedReply);
    p.reset();
    expect(p.push(bytes("250 ok\r\n"))).toHaveLength(1);
  });

  it("rejects a nonsensical maxLineLength", () => {
    for (const bad of [0, 2, -1, 1.5, Number.NaN]) {
      expect(catchError(() => new ReplyParser({ maxLineLength: bad })).code).toBe(ErrorCode.InvalidValue);
    }
  });
});

// ---------------------------------------------------------------- line ends and text bytes

describe("ReplyParser: line ends and text encoding", () => {
  it("accepts bare LF line ends, also mixed with CRLF", () => {
    const expected = [createReply(250, ["a", "b"], "250-a\r\n250 b"), createReply(221, ["bye"], "221 bye")];
    expectAllSplits(bytes("250-a\n250 b\n221 bye\n"), expected);
    expectAllSplits(bytes("250-a\r\n250 b\n221 bye\r\n"), expected);
  });

  it("rejects a CR inside a line", () => {
    for (const wire of ["250 a\rb\r\n", "250 ok\r\r\n", "250\r-x\r\n", "\r250 ok\r\n", "250-a\r\n250 b\rc\n"]) {
      for (const chunks of [[bytes(wire)], byteByByte(bytes(wire))]) {
        const e = parseError(chunks);
        expect(e.code).toBe(ErrorCode.MalformedReply);
        expect(e.message).toMatch(/CR/);
      }
    }
  });

  it("decodes UTF-8 text, even when a character is split across chunks", () => {
    const text = "héllo ✓ 😀 Grüße";
    expectAllSplits(utf8(`250 ${text}\r\n`), [createReply(250, [text], `250 ${text}`)]);
  });

  it("falls back to latin1 for a line that is not valid UTF-8", () => {
    const wire = Buffer.concat([bytes("250-caf"), Buffer.from([0xe9]), bytes("\r\n250 "), utf8("ünïcode ✓"), bytes("\r\n")]);
    expectAllSplits(wire, [createReply(250, ["café", "ünïcode ✓"], "250-café\r\n250 ünïcode ✓")]);
  });

  it("keeps NUL and other control bytes in the text", () => {
    const wire = bytes("250 a\x00b\x01\x7f\tc\r\n");
    const [r] = feed([wire]);
    expect(r?.lines).toEqual(["a\u0000b\u0001\u007f\tc"]);
    expect(r?.raw).toBe("250 a\u0000b\u0001\u007f\tc");
  });
});

// ---------------------------------------------------------------- malformed replies

describe("ReplyParser: malformed replies", () => {
  it("rejects a multi-line reply whose codes disagree, quoting the bad line", () => {
    const wire = bytes("250-mx.example.com\r\n251 PIPELINING\r\n");
    for (const chunks of [[wire], byteByByte(wire), byLine(wire)]) {
      const e = parseError(chunks);
      expect(e.code).toBe(ErrorCode.MalformedReply);
      expect(e.message).toContain('"251 PIPELINING"');
      expect(e.isNetwork()).toBe(true);
    }
  });

  it.each([
    ["empty line", "\r\n"],
    ["too short", "25\r\n"],
    ["non-digit code", "2a0 ok\r\n"],
    ["letters", "abc ok\r\n"],
    ["1xx code", "150 ok\r\n"],
    ["6xx code", "600 ok\r\n"],
    ["0xx code", "050 ok\r\n"],
    ["other byte after the code", "250x ok\r\n"],
    ["tab after the code", "250\tok\r\n"],
    ["four-digit code", "2500 ok\r\n"],
    ["leading space", " 250 ok\r\n"],
    ["HTTP instead of SMTP", "HTTP/1.1 400 Bad Request\r\n"],
  ])("rejects %s", (_name, wire) => {
    expect(parseError(bytes(wire)).code).toBe(ErrorCode.MalformedReply);
    expect(parseError(byteByByte(bytes(wire))).code).toBe(ErrorCode.MalformedReply);
  });

  it("escapes and truncates the quoted line", () => {
    const bad = `xx\x01\x1b[31m${"y".repeat(500)}`;
    const e = parseError(bytes(`${bad}\r\n`));
    expect(e.message).toContain("\\x01\\x1b[31m");
    expect(e.message).toContain("...");
    expect(e.message.length).toBeLessThan(250);
    expect(e.message).not.toMatch(/[\u0000-\u001f]/);
  });
});

// ---------------------------------------------------------------- line length limit

describe("ReplyParser: line length limit", () => {
  it("accepts a line of exactly maxLineLength bytes, wherever the CRLF is split", () => {
    const max = 64;
    const line = `250 ${"a".repeat(max - 4)}`;
    for (const end of ["\r\n", "\n"]) {
      expectAllSplits(bytes(`${line}${end}`), [createReply(250, ["a".repeat(max - 4)], line)], { maxLineLength: max });
    }
  });

  it("rejects a line of maxLineLength + 1 bytes, wherever it is split", () => {
    const max = 64;
    const wire = bytes(`250 ${"a".repeat(max - 3)}\r\n`);
    for (let i = 0; i <= wire.length; i++) {
      expect(parseError(splitAt(wire, [i]), { maxLineLength: max }).code).toBe(ErrorCode.ReplyTooLong);
    }
    expect(parseError(byteByByte(wire), { maxLineLength: max }).code).toBe(ErrorCode.ReplyTooLong);
  });

  it("rejects as soon as an unfinished line passes the limit", () => {
    const p = new ReplyParser({ maxLineLength: 10 });
    expect(p.push(bytes("250 123456"))).toEqual([]); // 10 bytes: still allowed
    expect(p.push(bytes("\r"))).toEqual([]); // may be the CRLF
    const e = catchError(() => p.push(bytes("7")));
    expect(e.code).toBe(ErrorCode.ReplyTooLong);
    expect(e.isNetwork()).toBe(true);
  });

  it("applies the limit to each line, not to the whole reply", () => {
    const lines = Array.from({ length: 50 }, (_, i) => `250${i === 49 ? " " : "-"}${"x".repeat(40)}`);
    const [r] = feed([bytes(wireOf(lines))], { maxLineLength: 44 });
    expect(r?.lines).toHaveLength(50);
  });

  function feedHugeLine(opts: ReplyParserOptions | undefined, withCr: boolean): { error: SmtpError; chunkIndex: number } {
    const chunkSize = 64 * 1024;
    const total = 10 * 1024 * 1024;
    const chunk = Buffer.alloc(chunkSize, withCr ? "a\r" : "a");
    const p = new ReplyParser(opts);
    p.push(bytes("250-fine\r\n250-"));
    for (let i = 0; i * chunkSize < total; i++) {
      try {
        p.push(chunk);
      } catch (e) {
        expect(e).toBeInstanceOf(SmtpError);
        return { error: e as SmtpError, chunkIndex: i };
      }
    }
    throw new Error("a 10 MB line was accepted");
  }

  it("rejects a 10 MB line in the first 64 KB chunk that passes the default limit", () => {
    const { error, chunkIndex } = feedHugeLine(undefined, false);
    expect(error.code).toBe(ErrorCode.ReplyTooLong);
    expect(error.message).toContain("2048");
    expect(chunkIndex).toBe(0);
  });

  it("with a larger limit, fails exactly at the chunk that crosses it", () => {
    const max = 200_000; // "250-" + 4 chunks of 64 KB = 262,148 bytes > max > 3 chunks
    const { error, chunkIndex } = feedHugeLine({ maxLineLength: max }, false);
    expect(error.code).toBe(ErrorCode.ReplyTooLong);
    expect(chunkIndex).toBe(3);
  });

  it("a huge line full of stray CRs is still cut off early", () => {
    const { error, chunkIndex } = feedHugeLine(undefined, true);
    expect(error.code).toBe(ErrorCode.ReplyTooLong);
    expect(chunkIndex).toBe(0);
  });
});

// ---------------------------------------------------------------- SmtpReply helpers

describe("SmtpReply helpers", () => {
  it("classifies codes", () => {
    const classes = [220, 354, 421, 550].map((code) => {
      const r = createReply(code, ["x"]);
      return [isPositive(r), isIntermediate(r), isTransientNegative(r), isPermanentNegative(r)];
    });
    expect(classes).toEqual([
      [true, false, false, false],
      [false, true, false, false],
      [false, false, true, false],
      [false, false, false, true],
    ]);
  });

  it.each([
    ["5.1.1 <x@y>: rejected", 550, "5.1.1", "<x@y>: rejected"],
    ["2.0.0", 250, "2.0.0", ""],
    ["2.1.5   Ok", 250, "2.1.5", "Ok"],
    ["4.7.100 slow down", 451, "4.7.100", "slow down"],
    ["5.0.0 class does not match", 250, undefined, "5.0.0 class does not match"],
    ["5.1.1x not a status", 550, undefined, "5.1.1x not a status"],
    ["5.1 too short", 550, undefined, "5.1 too short"],
    ["3.0.0 no class 3", 354, undefined, "3.0.0 no class 3"],
    ["5.1234.1 subject too long", 550, undefined, "5.1234.1 subject too long"],
  ])("enhanced status in %j (code %d)", (line, code, status, text) => {
    const r = createReply(code, [line]);
    expect(r.enhancedStatus).toBe(status);
    expect(r.text).toBe(text);
    expect(r.lines).toEqual([line]);
  });

  it("strips the status only from lines that carry the same one", () => {
    const r = createReply(550, ["5.1.1 first", "second", "5.1.1 third", "5.2.2 other"]);
    expect(r.enhancedStatus).toBe("5.1.1");
    expect(r.text).toBe("first\nsecond\nthird\n5.2.2 other");
  });

  it("leaves a status on a later line alone when the first line has none", () => {
    const r = createReply(550, ["first", "5.1.1 second"]);
    expect(r.enhancedStatus).toBeUndefined();
    expect(r.text).toBe("first\n5.1.1 second");
  });

  it("describeReply gives one line", () => {
    expect(describeReply(createReply(550, ["5.1.1 <x@y>: Recipient address rejected"]))).toBe(
      "550 5.1.1 <x@y>: Recipient address rejected",
    );
    expect(describeReply(createReply(250, ["mx.example.com", "PIPELINING", "SIZE 100"]))).toBe(
      "250 mx.example.com / PIPELINING / SIZE 100",
    );
    expect(describeReply(createReply(550, afterCode(gmail550)))).toBe(
      `550 5.1.1 ${afterCode(gmail550)
        .map((l) => l.slice(6))
        .join(" / ")}`,
    );
    expect(describeReply(createReply(250, [""]))).toBe("250");
    expect(describeReply(createReply(250, ["sink", ""]))).toBe("250 sink");
    expect(describeReply(createReply(250, ["a\u0000b\u001b[2J"]))).toBe("250 a\\x00b\\x1b[2J");
  });

  it("createReply serializes raw canonically by default", () => {
    expect(createReply(250, ["a", "b", ""]).raw).toBe("250-a\r\n250-b\r\n250 ");
  });
});

// ---------------------------------------------------------------- properties

interface WireReply {
  code: number;
  lines: { text: string; bareLf: boolean }[];
  codeOnlyLast: boolean;
}

const textChar = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constantFrom("é", "ß", "✓", "😀", "中", "\u0000", "\t") },
);
const wireReply: fc.Arbitrary<WireReply> = fc.record({
  code: fc.integer({ min: 200, max: 599 }),
  lines: fc.array(fc.record({ text: fc.string({ unit: textChar, maxLength: 40 }), bareLf: fc.boolean() }), {
    minLength: 1,
    maxLength: 5,
  }),
  codeOnlyLast: fc.boolean(),
});

function serialize(r: WireReply): { wire: string; raw: string; texts: string[] } {
  const parts = r.lines.map(({ text }, i) => {
    const last = i === r.lines.length - 1;
    if (last && text === "" && r.codeOnlyLast) return `${r.code}`;
    return `${r.code}${last ? " " : "-"}${text}`;
  });
  return {
    wire: parts.map((p, i) => p + (r.lines[i]?.bareLf ? "\n" : "\r\n")).join(""),
    raw: parts.join("\r\n"),
    texts: r.lines.map((l) => l.text),
  };
}

// Pieces that make random streams reach deep parser states, not just the code check.
const token = fc.oneof(
  fc.constantFrom("250", "220", "550", "354", "150", "600", "-", " ", "\r\n", "\n", "\r", "5.1.1 ", "ok", "\x00", "é", "\xff"),
  fc.string({ unit: "binary", maxLength: 6 }),
).map((s) => Buffer.from(s, "utf8"));
const tokenStream = fc.array(token, { maxLength: 40 }).map((t) => Buffer.concat(t));

type Outcome = { replies: SmtpReply[]; error?: number; partial: boolean };

function run(chunks: readonly Buffer[], opts?: ReplyParserOptions): Outcome {
  const p = new ReplyParser(opts);
  const replies: SmtpReply[] = [];
  for (const c of chunks) {
    try {
      replies.push(...p.push(c));
    } catch (e) {
      if (!(e instanceof SmtpError)) throw e;
      return { replies, error: e.code, partial: p.partial };
    }
  }
  return { replies, partial: p.partial };
}

describe("ReplyParser: properties", () => {
  it("returns exactly the serialized replies, however the bytes are chunked", () => {
    fc.assert(
      fc.property(
        fc.array(wireReply, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (replies, cuts) => {
          const serialized = replies.map(serialize);
          const wire = utf8(serialized.map((s) => s.wire).join(""));
          const got = feed(splitAt(wire, cuts.map((c) => c % (wire.length + 1))));
          expect(got.map((r) => ({ code: r.code, lines: r.lines, raw: r.raw }))).toEqual(
            replies.map((r, i) => ({ code: r.code, lines: serialized[i]?.texts, raw: serialized[i]?.raw })),
          );
          got.forEach((r) => expect(r).toEqual(createReply(r.code, r.lines, r.raw)));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("on arbitrary bytes either returns replies or throws SmtpError", () => {
    const stream = fc.oneof(fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)), tokenStream);
    const limit = fc.option(fc.integer({ min: 3, max: 40 }), { nil: undefined });
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 10 }), limit, (wire, cuts, max) => {
        const out = run(
          splitAt(wire, cuts.map((c) => c % (wire.length + 1))),
          max === undefined ? undefined : { maxLineLength: max },
        );
        if (out.error !== undefined) expect([ErrorCode.MalformedReply, ErrorCode.ReplyTooLong]).toContain(out.error);
      }),
      { numRuns: 2000 },
    );
  });

  it("gives the same outcome on arbitrary bytes whether fed whole or in pieces", () => {
    const limit = fc.option(fc.integer({ min: 3, max: 40 }), { nil: undefined });
    fc.assert(
      fc.property(tokenStream, fc.array(fc.nat(), { maxLength: 10 }), limit, (wire, cuts, max) => {
        const opts = max === undefined ? undefined : { maxLineLength: max };
        const whole = run([wire], opts);
        const pieces = run(splitAt(wire, cuts.map((c) => c % (wire.length + 1))), opts);
        expect(pieces.error).toBe(whole.error);
        if (whole.error === undefined) {
          expect(pieces.replies).toEqual(whole.replies);
          expect(pieces.partial).toBe(whole.partial);
        } else {
          // Throwing drops the chunk's replies, so chunked feeding may return
          // some: always a prefix of those before the bad line.
          expect(whole.replies).toEqual([]);
          const complete = run(byteByByte(wire), opts).replies;
          expect(complete.slice(0, pieces.replies.length)).toEqual(pieces.replies);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

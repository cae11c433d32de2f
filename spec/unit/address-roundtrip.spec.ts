/**
 * The address parser and formatter agree with each other: whatever parses
 * formats to text that parses to the same mailboxes, and no parsed address
 * ever holds a control character or a no-break space.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ErrorCode, SmtpError } from "../../src/errors.js";
import { formatAddressList, parseAddressList, type Mailbox } from "../../src/message/address-list.js";

/** C0, DEL, C1 and NBSP. */
const FORBIDDEN_IN_ADDRESS = /[\x00-\x1f\x7f-\x9f\u00a0]/;

function parsed(input: string): Mailbox[] | SmtpError {
  try {
    return parseAddressList(input);
  } catch (e) {
    if (e instanceof SmtpError) return e;
    throw e;
  }
}

function errorOf(input: string): SmtpError {
  const r = parsed(input);
  if (!(r instanceof SmtpError)) throw new Error(`expected ${JSON.stringify(input)} to be refused, got ${JSON.stringify(r)}`);
  return r;
}

/** The property itself: parse(format(parse(x))) equals parse(x), with clean addresses. */
function roundTrips(input: string, charset: string): void {
  const first = parsed(input);
  if (first instanceof SmtpError) {
    expect([ErrorCode.InvalidAddress, ErrorCode.LineBreakInjection]).toContain(first.code);
    return;
  }
  for (const m of first) expect(m.address, JSON.stringify(input)).not.toMatch(FORBIDDEN_IN_ADDRESS);
  const text = formatAddressList(first, charset);
  expect(text).not.toMatch(/[\x00\r\n]/);
  const second = parsed(text);
  expect(second, `${JSON.stringify(input)} -> ${JSON.stringify(text)}`).toEqual(first);
}

// Pieces users (and attackers) type into address fields.
const piece = fc.constantFrom(
  '"', "\\", ",", ";", ":", "<", ">", "@", "(", ")", "[", "]", ".", " ", "\t",
  "a", "b", "x.y", "ü", "東", "😀", "=?", "?=", "=?utf-8?q?a_b?=", "=?UTF-8?B?w7w=?=",
  "\u00a0", "\x01", "\x7f", "\u0085", "\x00", "\ud800", "\udc00", "(c)", "=?ISO-8859-1?Q?=E9?=", "=?utf-8?q?=00?=",
  "a@b.c", "<a@b.c>", '"q r"', '\\"', "[1.2.3.4]", "[IPv6:::1]", "Team:", ";",
);
const hostile = fc.string({ unit: piece, maxLength: 24 });

const nameChar = fc.constantFrom('"', "\\", ",", " ", "(", ")", "<", ">", ":", ";", "@", ".", "a", "Z", "ü", "東", "😀", "=?", "?=", "_", "'", "\u00a0", "\t", "[", "]");
const displayName = fc.oneof(fc.constant(""), fc.string({ unit: nameChar, maxLength: 16 }), fc.string({ unit: "grapheme", maxLength: 12 }));
const atom = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]{1,8}$/);
const localPart = fc.oneof(
  fc.array(atom, { minLength: 1, maxLength: 3 }).map((a) => a.join(".")),
  // Quoted local parts: specials and escaped quotes / backslashes inside.
  fc.string({ unit: fc.constantFrom("a", " ", ",", "@", '\\"', "\\\\", ":", ";", "<", ">", "(", ")", "."), minLength: 1, maxLength: 8 }).map((s) => `"${s}"`),
  fc.constantFrom("jörg", "用户"),
);
const domain = fc.oneof(
  fc.domain(),
  fc.constantFrom("[192.0.2.1]", "[IPv6:2001:db8::1]", "例え.jp", "x"),
);
const mailbox = fc.record({
  name: displayName,
  address: fc.tuple(localPart, domain).map(([l, d]) => `${l}@${d}`),
  group: fc.option(fc.constantFrom("Team", "Équipe Ü", "A, B", 'Say "hi"', "x\\y"), { nil: undefined }),
}).map((m): Mailbox => (m.group === undefined ? { name: m.name, address: m.address } : m));

// Lists as people type them: names and addresses from awkward pieces, in the usual shapes (about one in five parses).
const namePiece = fc.constantFrom("John", " ", '"x, y"', '"a\\"b"', '"\\\\"', "=?utf-8?q?J=C3=B6rg?=", "=?utf-8?b?w7w=?=", "ü", "(c)", "\\", ".", "'", "\u00a0", "[x]", "=?", '""', "\t", ":", "@");
const localPiece = fc.constantFrom("a", ".", '"q r"', '"a\\"b"', '"x@y"', "ü", "\\", "+", "=?", "-", "'", "(c)", '"', "[", "]", ":");
const domainPiece = fc.constantFrom("b.c", "[1.2.3.4]", "[IPv6:::1]", "ü.de", "x", "-", ".", "[", "]", '"', "(c)");
const typedAddress = fc
  .tuple(fc.string({ unit: localPiece, minLength: 1, maxLength: 3 }), fc.string({ unit: domainPiece, minLength: 1, maxLength: 2 }))
  .map(([l, d]) => `${l}@${d}`);
const typedItem = fc
  .tuple(fc.string({ unit: namePiece, maxLength: 4 }), typedAddress, fc.boolean())
  .map(([name, a, angle]) => (angle ? `${name} <${a}>` : `${name}${a}`));
const typedList = fc
  .tuple(fc.array(typedItem, { minLength: 1, maxLength: 3 }), fc.constantFrom(", ", ",", "; "), fc.option(fc.string({ unit: namePiece, minLength: 1, maxLength: 2 }), { nil: undefined }))
  .map(([items, sep, group]) => (group === undefined ? items.join(sep) : `${group}: ${items.join(", ")};`));

describe("parse(format(parse(x))) = parse(x) (property)", () => {
  it("for lists typed in the usual shapes from awkward names and addresses", () => {
    fc.assert(
      fc.property(typedList, fc.constantFrom("", "ISO-8859-1"), (input, charset) => roundTrips(input, charset)),
      { numRuns: 8000, seed: 2822 },
    );
  });

  it("for lists built from mailboxes with awkward names, quoted local parts, domain literals and groups", () => {
    fc.assert(
      fc.property(fc.array(mailbox, { maxLength: 4 }), fc.constantFrom("", "ISO-8859-1"), (list, charset) => {
        roundTrips(formatAddressList(list, charset), charset);
      }),
      { numRuns: 1500, seed: 5322 },
    );
  });

  it("for anything typed from the usual and unusual pieces that parses at all", () => {
    fc.assert(
      fc.property(hostile, fc.constantFrom("", "ISO-8859-1"), (input, charset) => roundTrips(input, charset)),
      { numRuns: 4000, seed: 6532 },
    );
  });

  it("for the inputs that broke it once", () => {
    const found: string[] = ["\ud800<a@b.c>", "a@b.c[\"]"];
    for (const x of found) roundTrips(x, "");
  });
});

describe("what an address may not hold", () => {
  it("NUL anywhere in the list: 602, like CR and LF", () => {
    expect(errorOf("a\x00b@example.com").code).toBe(ErrorCode.LineBreakInjection);
    expect(errorOf('"Name\x00" <a@example.com>').code).toBe(ErrorCode.LineBreakInjection);
    expect(errorOf("a@example.com\x00, b@example.com").code).toBe(ErrorCode.LineBreakInjection);
  });

  it("other C0 controls, DEL and C1 controls in an address: 604", () => {
    for (const c of ["\x01", "\x1b", "\x7f", "\x80", "\x85", "\x9f"]) {
      expect(errorOf(`a${c}b@example.com`).code, JSON.stringify(c)).toBe(ErrorCode.InvalidAddress);
      expect(errorOf(`Name <a@exa${c}mple.com>`).code, JSON.stringify(c)).toBe(ErrorCode.InvalidAddress);
      expect(errorOf(`"a${c}b"@example.com`).code, JSON.stringify(c)).toBe(ErrorCode.InvalidAddress);
    }
  });

  it("a no-break space in an address: 604; in a display name it is kept (and encoded when written)", () => {
    expect(errorOf("a\u00a0b@example.com").code).toBe(ErrorCode.InvalidAddress);
    expect(errorOf("a@example.com,\u00a0b@example.com").code).toBe(ErrorCode.InvalidAddress);
    expect(errorOf("Name <\u00a0a@example.com>").code).toBe(ErrorCode.InvalidAddress);
    const list = parseAddressList("John\u00a0Smith <j@example.com>");
    expect(list).toEqual([{ name: "John\u00a0Smith", address: "j@example.com" }]);
    expect(formatAddressList(list, "")).toMatch(/^=\?UTF-8\?/);
  });
});

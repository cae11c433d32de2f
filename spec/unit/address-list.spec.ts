import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { formatAddressList, formatMailbox, parseAddressList, type Mailbox } from "../../src/message/address-list.js";
import { ErrorCode, SmtpError } from "../../src/errors.js";

function failure(input: string): SmtpError {
  try {
    parseAddressList(input);
  } catch (e) {
    if (e instanceof SmtpError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(input)} to fail`);
}

describe("parseAddressList", () => {
  it("parses the usual forms", () => {
    expect(parseAddressList('John Smith <john@example.com>, "Doe, John" <j@x.org>, bare@y.net, <angle@z.io>')).toEqual([
      { name: "John Smith", address: "john@example.com" },
      { name: "Doe, John", address: "j@x.org" },
      { name: "", address: "bare@y.net" },
      { name: "", address: "angle@z.io" },
    ]);
  });

  it("returns nothing for an empty or blank list", () => {
    expect(parseAddressList("")).toEqual([]);
    expect(parseAddressList("  , ,, ")).toEqual([]);
  });

  it("handles escaped quotes and commas inside quoted strings", () => {
    expect(parseAddressList('"Say \\"hi\\", ok" <a@b.c>')).toEqual([{ name: 'Say "hi", ok', address: "a@b.c" }]);
  });

  it("ignores comments, including nested ones", () => {
    expect(parseAddressList("a@b.c (work (main)), John (the boss) <j@x>")).toEqual([
      { name: "", address: "a@b.c" },
      { name: "John", address: "j@x" },
    ]);
  });

  it("parses groups and tags their members", () => {
    expect(parseAddressList('Team: a@x, "B" <b@y>;, c@z')).toEqual([
      { name: "", address: "a@x", group: "Team" },
      { name: "B", address: "b@y", group: "Team" },
      { name: "", address: "c@z" },
    ]);
  });

  it("yields nothing for an empty group", () => {
    expect(parseAddressList("undisclosed-recipients:;")).toEqual([]);
    expect(parseAddressList("undisclosed-recipients:;, a@b")).toEqual([{ name: "", address: "a@b" }]);
  });

  it("accepts semicolons as separators outside groups", () => {
    expect(parseAddressList("a@x; B <b@y>;c@z")).toEqual([
      { name: "", address: "a@x" },
      { name: "B", address: "b@y" },
      { name: "", address: "c@z" },
    ]);
  });

  it("decodes encoded-words in display names", () => {
    expect(parseAddressList("=?UTF-8?Q?J=C3=B6rg?= =?UTF-8?Q?_M=C3=BCller?= <j@x>, =?ISO-8859-1?Q?Ren=E9?= Roe <r@x>")).toEqual([
      { name: "Jörg Müller", address: "j@x" },
      { name: "René Roe", address: "r@x" },
    ]);
  });

  it("does not decode encoded-words inside quoted strings (RFC 2047 §5)", () => {
    expect(parseAddressList('"=?UTF-8?Q?x?=" <a@b>')).toEqual([{ name: "=?UTF-8?Q?x?=", address: "a@b" }]);
  });

  it("allows UTF-8 names and addresses", () => {
    expect(parseAddressList("Jörg Müller <jörg@bücher.de>, 東京 <用户@例子.中国>")).toEqual([
      { name: "Jörg Müller", address: "jörg@bücher.de" },
      { name: "東京", address: "用户@例子.中国" },
    ]);
  });

  it("trims whitespace and keeps quoted local parts and domain literals", () => {
    expect(parseAddressList('  \t "john doe"@example.com ,  < x@[IPv6:::1] >  ')).toEqual([
      { name: "", address: '"john doe"@example.com' },
      { name: "", address: "x@[IPv6:::1]" },
    ]);
  });

  it("uses the last @ outside quotes", () => {
    expect(parseAddressList('<"a@b"@c.d>')).toEqual([{ name: "", address: '"a@b"@c.d' }]);
  });

  it("reports syntax errors with InvalidAddress naming the bad item", () => {
    const cases: Array<[string, string, RegExp]> = [
      ['ok@x, "Unterminated <a@b>', '"Unterminated <a@b>', /unterminated quoted string/],
      ["ok@x, John <j@x", "John <j@x", /missing '>'/],
      ["ok@x, nobody", "nobody", /missing '@'/],
      ["ok@x, John <nobody>", "John <nobody>", /missing '@'/],
      ["@x.com", "@x.com", /empty local part/],
      ["user@", "user@", /empty domain/],
      ["John Doe john@x.com", "John Doe john@x.com", /spaces/],
      ["<john doe@x.com>", "<john doe@x.com>", /spaces/],
      ["a@b (unclosed", "a@b (unclosed", /unterminated comment/],
      ["John <a@b> trailing", "John <a@b> trailing", /after '>'/],
      ["<>", "<>", /empty address/],
    ];
    for (const [input, item, why] of cases) {
      const e = failure(input);
      expect(e.code, input).toBe(ErrorCode.InvalidAddress);
      expect(e.message, input).toContain(JSON.stringify(item));
      expect(e.message, input).toMatch(why);
    }
  });

  it("refuses CR or LF with LineBreakInjection", () => {
    expect(failure("a@b\r\nBcc: evil@x").code).toBe(ErrorCode.LineBreakInjection);
    expect(failure("a@b\n").code).toBe(ErrorCode.LineBreakInjection);
    expect(failure('"x\ry" <a@b>').code).toBe(ErrorCode.LineBreakInjection);
  });
});

describe("formatMailbox / formatAddressList", () => {
  it("writes the address alone when there is no name", () => {
    expect(formatMailbox({ name: "", address: "a@b.c" }, "")).toBe("a@b.c");
  });

  it("writes plain names as they are and quotes names with specials", () => {
    expect(formatMailbox({ name: "John Smith", address: "j@x" }, "")).toBe("John Smith <j@x>");
    expect(formatMailbox({ name: "Doe, John", address: "j@x" }, "")).toBe('"Doe, John" <j@x>');
    expect(formatMailbox({ name: 'Say "hi" \\o/', address: "j@x" }, "")).toBe('"Say \\"hi\\" \\\\o/" <j@x>');
    expect(formatMailbox({ name: "John Q. Public", address: "j@x" }, "")).toBe('"John Q. Public" <j@x>');
  });

  it("encodes non-ASCII names in the given charset", () => {
    expect(formatMailbox({ name: "Jörg", address: "j@x" }, "ISO-8859-1")).toBe("=?ISO-8859-1?Q?J=F6rg?= <j@x>");
    expect(formatMailbox({ name: "Jörg Müller", address: "j@x" }, "")).toMatch(/^=\?UTF-8\?[QB]\?[^ ]+\?= <j@x>$/);
  });

  it("re-emits groups", () => {
    const list: Mailbox[] = [
      { name: "", address: "a@x", group: "Team" },
      { name: "B", address: "b@y", group: "Team" },
      { name: "", address: "c@z" },
      { name: "", address: "d@z", group: "Other Team" },
    ];
    const out = formatAddressList(list, "");
    expect(out).toBe("Team: a@x, B <b@y>;, c@z, Other Team: d@z;");
    expect(parseAddressList(out)).toEqual(list);
  });

  it("refuses a mailbox whose address could inject", () => {
    expect(() => formatMailbox({ name: "", address: "a@b>, evil@x" }, "")).toThrow(SmtpError);
    try {
      formatMailbox({ name: "x", address: "a@b\r\nBcc: y@z" }, "");
      expect.unreachable();
    } catch (e) {
      expect((e as SmtpError).code).toBe(ErrorCode.LineBreakInjection);
    }
  });

  it("keeps CR/LF in a name inside encoded-words, never raw", () => {
    const out = formatMailbox({ name: "a\r\nBcc: x", address: "a@b" }, "");
    expect(out).not.toMatch(/[\r\n]/);
    expect(parseAddressList(out)).toEqual([{ name: "a\r\nBcc: x", address: "a@b" }]);
  });
});

describe("address list round trip (property)", () => {
  const wellFormed = (s: string): boolean => Buffer.from(s, "utf8").toString("utf8") === s;
  const name = fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 40 }),
    fc.string({ unit: "binary", maxLength: 30 }).filter(wellFormed),
    fc.string({
      unit: fc.constantFrom('"', "\\", ",", " ", "\t", "(", ")", "<", ">", ":", ";", "@", ".", "a", "ü", "=?", "?=", "_", "😀", "東"),
      maxLength: 30,
    }),
  );
  const group = fc.option(fc.constantFrom("Team", "Équipe Ü", "A, B"), { nil: undefined });
  const mailbox = fc.record({ name, address: fc.emailAddress(), group }).map((m): Mailbox =>
    m.group === undefined ? { name: m.name, address: m.address } : { name: m.name, address: m.address, group: m.group },
  );

  it("format then parse gives back names and addresses", () => {
    fc.assert(
      fc.property(fc.array(mailbox, { maxLength: 5 }), fc.constantFrom("", "ISO-8859-1"), (list, charset) => {
        const text = formatAddressList(list, charset);
        expect(text).not.toMatch(/[\r\n]/);
        expect(parseAddressList(text)).toEqual(list);
      }),
      { numRuns: 500 },
    );
  });
});

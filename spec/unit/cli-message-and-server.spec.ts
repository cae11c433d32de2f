/**
 * Pure parts of the smtpkit command: --server HOST:PORT parsing
 * (src/cli/options/server-address.ts) and what `send -t` reads from and
 * removes in a message's header block (src/cli/message-headers.ts).
 */
import { describe, expect, it } from "vitest";
import { headerAddresses, withoutBcc } from "../../src/cli/message-headers.js";
import { parseServerAddress } from "../../src/cli/options/server-address.js";
import { fromOption } from "../../src/cli/options/sourced.js";

describe("parseServerAddress", () => {
  const parse = (value: string): unknown => parseServerAddress(fromOption("--server", value));

  it("host, host:port, [v6], [v6]:port and a bare IPv6 address", () => {
    expect(parse("smtp.example.com")).toEqual({ host: "smtp.example.com", port: undefined });
    expect(parse(" smtp.example.com:587 ")).toEqual({ host: "smtp.example.com", port: 587 });
    expect(parse("[2001:db8::25]")).toEqual({ host: "2001:db8::25", port: undefined });
    expect(parse("[::1]:2525")).toEqual({ host: "::1", port: 2525 });
    expect(parse("2001:db8::25")).toEqual({ host: "2001:db8::25", port: undefined });
  });

  it("a bad port or a broken bracket is a usage error naming the option", () => {
    for (const value of ["mail:smtp", "mail:0", "mail:70000", "[::1]:x", "[::1", ":25"]) {
      expect(() => parse(value), value).toThrow(expect.objectContaining({ exitCode: 1, message: expect.stringContaining("--server") }));
    }
  });
});

describe("send -t: the header block", () => {
  const message = Buffer.from(
    ["From: \"Ann, Example\" <ann@example.test>", "To: bob@example.test,", "\tcarol@example.test", "cc: Dan <dan@example.test>", "BCC: hidden@example.test", "Subject: x", "", "Bcc: body@example.test", ""].join("\r\n"),
  );

  it("reads To (folded), Cc and Bcc in any case, and the first From address", () => {
    expect(headerAddresses(message)).toEqual({
      to: ["bob@example.test", "carol@example.test"],
      cc: ["dan@example.test"],
      bcc: ["hidden@example.test"],
      from: "ann@example.test",
    });
  });

  it("removes Bcc fields with their continuation lines from the header block only, and nothing else", () => {
    const lf = Buffer.from("Bcc: a@example.test,\n b@example.test\nTo: c@example.test\nX-Bcc: kept\n\nBcc: body\n");
    expect(withoutBcc(lf).toString()).toBe("To: c@example.test\nX-Bcc: kept\n\nBcc: body\n");
    expect(withoutBcc(message).toString()).toBe(message.toString().replace("BCC: hidden@example.test\r\n", ""));
    const none = Buffer.from("To: a@example.test\r\n\r\nx\r\n");
    expect(withoutBcc(none)).toBe(none);
  });

  it("keeps 8-bit bytes outside the removed lines exactly", () => {
    const latin1 = Buffer.concat([Buffer.from("Bcc: x@example.test\r\nSubject: "), Buffer.from([0xe9, 0xff]), Buffer.from("\r\n\r\n"), Buffer.from([0x80, 0x00, 0xfe])]);
    expect(withoutBcc(latin1)).toEqual(Buffer.concat([Buffer.from("Subject: "), Buffer.from([0xe9, 0xff]), Buffer.from("\r\n\r\n"), Buffer.from([0x80, 0x00, 0xfe])]));
  });
});

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { heloCapabilities, parseEhloReply } from "../../src/engine/capabilities.js";
import { ReplyParser } from "../../src/engine/reply-parser.js";
import { createReply, type SmtpReply } from "../../src/engine/reply.js";

/** An EHLO reply as a server sends it, run through the real parser. */
function ehlo(...lines: string[]): SmtpReply {
  const wire = lines.map((l, i) => `250${i === lines.length - 1 ? " " : "-"}${l}\r\n`).join("");
  const replies = new ReplyParser().push(Buffer.from(wire, "utf8"));
  expect(replies).toHaveLength(1);
  return replies[0] as SmtpReply;
}

describe("parseEhloReply", () => {
  it("reads a Postfix EHLO reply", () => {
    const caps = parseEhloReply(
      ehlo(
        "mx.example.com",
        "PIPELINING",
        "SIZE 10240000",
        "VRFY",
        "ETRN",
        "STARTTLS",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
        "DSN",
        "SMTPUTF8",
        "CHUNKING",
      ),
    );
    expect(caps.esmtp).toBe(true);
    expect(caps.domain).toBe("mx.example.com");
    expect(caps.greetingText).toBe("");
    expect([...caps.extensions.keys()]).toEqual([
      "PIPELINING",
      "SIZE",
      "VRFY",
      "ETRN",
      "STARTTLS",
      "ENHANCEDSTATUSCODES",
      "8BITMIME",
      "DSN",
      "SMTPUTF8",
      "CHUNKING",
    ]);
    expect(caps.sizeLimit).toBe(10240000);
    expect(caps.params("SIZE")).toEqual(["10240000"]);
    expect(caps.params("STARTTLS")).toEqual([]);
    expect(caps.has("starttls")).toBe(true);
    expect(caps.has("AUTH")).toBe(false);
    expect(caps.params("AUTH")).toBeUndefined();
    expect(caps.authMechanisms).toEqual([]);
  });

  it("reads a Gmail-like EHLO reply with AUTH", () => {
    const caps = parseEhloReply(
      ehlo(
        "smtp.gmail.com at your service, [203.0.113.5]",
        "SIZE 35882577",
        "8BITMIME",
        "AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH",
        "ENHANCEDSTATUSCODES",
        "PIPELINING",
        "CHUNKING",
        "SMTPUTF8",
      ),
    );
    expect(caps.domain).toBe("smtp.gmail.com");
    expect(caps.greetingText).toBe("at your service, [203.0.113.5]");
    expect(caps.authMechanisms).toEqual(["LOGIN", "PLAIN", "XOAUTH2", "PLAIN-CLIENTTOKEN", "OAUTHBEARER", "XOAUTH"]);
    expect(caps.has("auth")).toBe(true);
    expect(caps.sizeLimit).toBe(35882577);
    expect(caps.has("STARTTLS")).toBe(false);
  });

  it("ignores smtp-sink's empty last line", () => {
    const caps = parseEhloReply(ehlo("sink.example.org", "PIPELINING", "8BITMIME", ""));
    expect([...caps.extensions.keys()]).toEqual(["PIPELINING", "8BITMIME"]);
    expect(caps.has("")).toBe(false);
  });

  it("works on a code-only last line too", () => {
    const [reply] = new ReplyParser().push(Buffer.from("250-sink.example.org\r\n250-DSN\r\n250\r\n"));
    const caps = parseEhloReply(reply as SmtpReply);
    expect([...caps.extensions.keys()]).toEqual(["DSN"]);
  });

  it("a single-line EHLO reply announces no extensions", () => {
    const caps = parseEhloReply(ehlo("tiny.example Hello [192.0.2.1]"));
    expect(caps.domain).toBe("tiny.example");
    expect(caps.greetingText).toBe("Hello [192.0.2.1]");
    expect(caps.extensions.size).toBe(0);
    expect(caps.esmtp).toBe(true);
  });

  it("treats keywords case-insensitively and keeps parameters as sent", () => {
    const caps = parseEhloReply(ehlo("mx", "8bitmime", "Auth login Plain", "size 1000", "x-Vendor-Ext On"));
    expect([...caps.extensions.keys()]).toEqual(["8BITMIME", "AUTH", "SIZE", "X-VENDOR-EXT"]);
    expect(caps.has("8BitMime")).toBe(true);
    expect(caps.params("auth")).toEqual(["login", "Plain"]);
    expect(caps.authMechanisms).toEqual(["LOGIN", "PLAIN"]);
    expect(caps.sizeLimit).toBe(1000);
    expect(caps.params("X-VENDOR-EXT")).toEqual(["On"]);
  });

  it("reads the old AUTH= form", () => {
    const caps = parseEhloReply(ehlo("mx", "AUTH=LOGIN PLAIN"));
    expect(caps.authMechanisms).toEqual(["LOGIN", "PLAIN"]);
    expect(caps.has("AUTH")).toBe(true);
    expect(caps.params("AUTH")).toEqual(["LOGIN", "PLAIN"]);
    expect(caps.has("AUTH=LOGIN")).toBe(false);
  });

  it("merges both AUTH forms without duplicates, keeping the modern line's parameters", () => {
    const caps = parseEhloReply(ehlo("mx", "AUTH PLAIN LOGIN CRAM-MD5", "auth=login ntlm", "AUTH=", "AUTH xoauth2"));
    expect(caps.authMechanisms).toEqual(["PLAIN", "LOGIN", "CRAM-MD5", "NTLM", "XOAUTH2"]);
    expect(caps.params("AUTH")).toEqual(["PLAIN", "LOGIN", "CRAM-MD5"]);
  });

  it.each([
    ["SIZE 52428800", 52428800],
    ["SIZE 0", 0],
    ["SIZE", undefined],
    ["SIZE unlimited", undefined],
    ["SIZE -5", undefined],
    ["SIZE 1e6", undefined],
  ])("%j -> sizeLimit %s", (line, limit) => {
    const caps = parseEhloReply(ehlo("mx", line));
    expect(caps.has("SIZE")).toBe(true);
    expect(caps.sizeLimit).toBe(limit);
  });

  it("no SIZE line -> sizeLimit undefined", () => {
    expect(parseEhloReply(ehlo("mx", "PIPELINING")).sizeLimit).toBeUndefined();
  });

  it("ignores junk lines instead of failing", () => {
    const caps = parseEhloReply(
      ehlo("mx", "   ", "-LEADINGDASH", "UNDER_SCORE", "X.DOT", "ÜBER", "=", "<html>", "PIPELINING", "\tDSN  NOTIFY\t"),
    );
    expect([...caps.extensions.keys()]).toEqual(["PIPELINING", "DSN"]);
    expect(caps.params("DSN")).toEqual(["NOTIFY"]);
  });

  it("keeps the first line of a repeated keyword", () => {
    const caps = parseEhloReply(ehlo("mx", "SIZE 100", "size 200"));
    expect(caps.params("SIZE")).toEqual(["100"]);
    expect(caps.sizeLimit).toBe(100);
  });

  it("copes with a reply that has an empty first line", () => {
    const caps = parseEhloReply(createReply(250, ["", "PIPELINING"]));
    expect(caps.domain).toBe("");
    expect(caps.greetingText).toBe("");
    expect(caps.has("PIPELINING")).toBe(true);
  });

  it("finds any valid keyword in any case (property)", () => {
    const keyword = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9-]{0,15}$/);
    const recase = (s: string, flips: readonly boolean[]): string =>
      [...s].map((c, i) => (flips[i % Math.max(1, flips.length)] ? c.toUpperCase() : c.toLowerCase())).join("");
    fc.assert(
      fc.property(keyword, fc.array(fc.boolean(), { maxLength: 16 }), fc.array(fc.boolean(), { maxLength: 16 }), (k, sent, asked) => {
        const caps = parseEhloReply(ehlo("mx", `${recase(k, sent)} p1 P2`));
        expect(caps.has(recase(k, asked))).toBe(true);
        expect(caps.params(recase(k, asked))).toEqual(["p1", "P2"]);
        expect([...caps.extensions.keys()]).toEqual([k.toUpperCase()]);
      }),
    );
  });
});

describe("heloCapabilities", () => {
  it("has only the server name", () => {
    const caps = heloCapabilities(createReply(250, ["old.example.net Hello client [192.0.2.1]"]));
    expect(caps.esmtp).toBe(false);
    expect(caps.domain).toBe("old.example.net");
    expect(caps.greetingText).toBe("Hello client [192.0.2.1]");
    expect(caps.extensions.size).toBe(0);
    expect(caps.has("SIZE")).toBe(false);
    expect(caps.params("SIZE")).toBeUndefined();
    expect(caps.sizeLimit).toBeUndefined();
    expect(caps.authMechanisms).toEqual([]);
  });

  it("ignores extra lines even if they look like extensions", () => {
    const caps = heloCapabilities(createReply(250, ["old.example.net", "AUTH LOGIN"]));
    expect(caps.has("AUTH")).toBe(false);
    expect(caps.authMechanisms).toEqual([]);
  });
});

/**
 * DKIM body hashing: known values, a straightforward whole-string model of
 * RFC 6376 §3.4.3 / §3.4.4 as the oracle, chunk-split independence of the
 * streaming hasher, and a sample of bodies verified by mailauth.
 */
import { describe, it, expect, beforeAll } from "vitest";
import fc from "fast-check";
import { createHash, generateKeyPairSync } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import { bodyHash, DkimBodyHasher, signHeaders, type BodyCanonicalization } from "../../src/dkim/index.js";
import { dotStuff } from "../../src/message/dot-stuffer.js";
import { ErrorCode, SmtpError } from "../../src/errors.js";
import type { Header } from "../../src/message/header-block.js";

const sha = (s: string | Buffer): string => createHash("sha256").update(s).digest("base64");

/** A loop rather than /(\r\n)+$/, which backtracks quadratically on long runs of line ends. */
function dropTrailingCrlf(s: string): string {
  let end = s.length;
  while (end >= 2 && s.startsWith("\r\n", end - 2)) end -= 2;
  return s.slice(0, end);
}

/**
 * The oracle, written as the RFC reads, on whole strings (latin1 keeps one
 * char per byte): wire line ends first, then the canonicalization rules.
 */
function model(body: Buffer, canon: BodyCanonicalization): Buffer {
  let s = body.toString("latin1").replace(/\r\n|\r|\n/g, "\r\n");
  if (canon === "simple") {
    s = dropTrailingCrlf(s) + "\r\n";
  } else {
    if (s !== "" && !s.endsWith("\r\n")) s += "\r\n";
    s = dropTrailingCrlf(s.replace(/[ \t]+/g, " ").replace(/ \r\n/g, "\r\n"));
    if (s !== "") s += "\r\n";
  }
  return Buffer.from(s, "latin1");
}

async function streamDigest(chunks: readonly Buffer[], canon: BodyCanonicalization): Promise<{ digest: string; passed: Buffer }> {
  const hasher = new DkimBodyHasher(canon);
  const out: Buffer[] = [];
  hasher.on("data", (c: Buffer) => out.push(c));
  await pipeline(Readable.from(chunks), hasher);
  return { digest: hasher.digest(), passed: Buffer.concat(out) };
}

function cut(body: Buffer, points: readonly number[]): Buffer[] {
  const sorted = [...new Set(points.map((p) => (body.length === 0 ? 0 : p % (body.length + 1))))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const p of sorted) {
    chunks.push(body.subarray(start, p));
    start = p;
  }
  chunks.push(body.subarray(start));
  return chunks;
}

/** Bytes weighted toward what canonicalization cares about. */
const bodyArb = fc.oneof(
  fc.array(fc.constantFrom(0x20, 0x09, 0x0d, 0x0a, 0x0d, 0x0a, 0x61, 0x62, 0x2e, 0xc3, 0xa9, 0x00, 0xff), { maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.array(fc.constantFrom("\r\n", "\n", "\r", " ", "\t", "  ", "word", ".", "\r\n\r\n", " \r\n"), { maxLength: 60 }).map((a) => Buffer.from(a.join(""))),
  fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
);
const canonArb = fc.constantFrom<BodyCanonicalization>("simple", "relaxed");

describe("bodyHash known values", () => {
  it("empty body: simple hashes CRLF, relaxed hashes nothing (RFC 6376 §3.4.3, §3.4.4)", () => {
    expect(bodyHash(Buffer.alloc(0), "simple")).toBe("frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
    expect(bodyHash(Buffer.alloc(0), "simple")).toBe(sha("\r\n"));
    expect(bodyHash(Buffer.alloc(0), "relaxed")).toBe("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    expect(bodyHash(Buffer.alloc(0), "relaxed")).toBe(sha(""));
  });

  it("the RFC 6376 §3.4.5 example", () => {
    const body = Buffer.from(" C \r\nD \t E\r\n\r\n\r\n");
    expect(bodyHash(body, "relaxed")).toBe(sha(" C\r\nD E\r\n"));
    expect(bodyHash(body, "simple")).toBe(sha(" C \r\nD \t E\r\n"));
  });

  const cases: [string, string, string, string][] = [
    // [what, body, simple canonical form, relaxed canonical form]
    ["only empty lines", "\r\n\r\n\r\n", "\r\n", ""],
    ["only whitespace lines", "  \r\n\t\r\n", "  \r\n\t\r\n", ""],
    ["no final line break", "abc", "abc\r\n", "abc\r\n"],
    ["trailing whitespace without line break", "abc \t", "abc \t\r\n", "abc\r\n"],
    ["bare LF lines", "a\nb\n\n", "a\r\nb\r\n", "a\r\nb\r\n"],
    ["bare CR lines", "a\rb\r\r", "a\r\nb\r\n", "a\r\nb\r\n"],
    ["CR CR LF is two line ends", "a\r\r\nb", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n"],
    ["LF CR is two line ends", "a\n\rb", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n"],
    ["inner empty lines are kept", "a\r\n\r\n\r\nb\r\n\r\n", "a\r\n\r\n\r\nb\r\n", "a\r\n\r\n\r\nb\r\n"],
    ["a whitespace-only line inside", "a\r\n \t \r\nb\r\n", "a\r\n \t \r\nb\r\n", "a\r\n\r\nb\r\n"],
    ["leading whitespace collapses to one SP", "\t\t x  y\r\n", "\t\t x  y\r\n", " x y\r\n"],
  ];

  it.each(cases)("%s", (_what, body, simple, relaxed) => {
    expect(bodyHash(Buffer.from(body, "latin1"), "simple")).toBe(sha(Buffer.from(simple, "latin1")));
    expect(bodyHash(Buffer.from(body, "latin1"), "relaxed")).toBe(sha(Buffer.from(relaxed, "latin1")));
  });

  it("refuses an unknown canonicalization with 601", () => {
    for (const make of [() => bodyHash(Buffer.alloc(0), "strict" as "simple"), () => new DkimBodyHasher("x" as "relaxed")]) {
      let code: number | undefined;
      try {
        make();
      } catch (e) {
        code = e instanceof SmtpError ? e.code : -1;
      }
      expect(code).toBe(ErrorCode.InvalidValue);
    }
  });
});

describe("DkimBodyHasher", () => {
  it("passes the body through unchanged and agrees with bodyHash", async () => {
    const body = Buffer.from("line one  \nline two\r\r\n\r\n\r\n");
    const { digest, passed } = await streamDigest([body.subarray(0, 5), body.subarray(5)], "relaxed");
    expect(passed.equals(body)).toBe(true);
    expect(digest).toBe(bodyHash(body, "relaxed"));
  });

  it("accepts string chunks", async () => {
    const hasher = new DkimBodyHasher("simple");
    hasher.resume();
    hasher.write("héllo\r");
    hasher.end("\nworld");
    await new Promise((resolve) => hasher.on("end", resolve));
    expect(hasher.digest()).toBe(sha("héllo\r\nworld\r\n"));
  });

  it("digest() before the end is an error", () => {
    const hasher = new DkimBodyHasher("relaxed");
    hasher.write("abc");
    expect(() => hasher.digest()).toThrow(/before the body stream ended/);
  });

  it("a CR at the end of one chunk and an LF at the start of the next are one line end", async () => {
    const { digest } = await streamDigest([Buffer.from("a\r"), Buffer.from("\nb\r"), Buffer.from("\r\n")], "simple");
    expect(digest).toBe(sha("a\r\nb\r\n"));
  });

  it("keeps a count, not bytes, for long runs of empty lines and whitespace", async () => {
    // 512 KiB of empty lines and whitespace before the last content: far past the 16 KiB hashing block.
    const blank = Buffer.from("\r\n".repeat(1 << 15));
    const spaces = Buffer.alloc(1 << 15, 0x20);
    const chunks = [Buffer.from("a"), ...Array.from({ length: 8 }, (_, k) => (k % 2 === 0 ? blank : spaces)), Buffer.from("z")];
    for (const canon of ["simple", "relaxed"] as const) {
      const { digest } = await streamDigest(chunks, canon);
      expect(digest).toBe(sha(model(Buffer.concat(chunks), canon)));
    }
    // Large output crosses the internal block size many times.
    const big = Buffer.from("abc \t def\r\n\r\n".repeat(20_000));
    expect(bodyHash(big, "relaxed")).toBe(sha(model(big, "relaxed")));
    expect(bodyHash(big, "simple")).toBe(sha(model(big, "simple")));
  });

  it("property: any body, any chunk split: stream digest = bodyHash = the RFC model", async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb, fc.array(fc.nat(), { maxLength: 12 }), canonArb, async (body, points, canon) => {
        const whole = bodyHash(body, canon);
        expect(whole).toBe(sha(model(body, canon)));
        const { digest, passed } = await streamDigest(cut(body, points), canon);
        expect(digest).toBe(whole);
        expect(passed.equals(body)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});

describe("property: a sample of arbitrary bodies verified by mailauth", () => {
  const keys: { pem: string; record: string; name: "rsa" | "ed25519" }[] = [];
  beforeAll(() => {
    for (const name of ["rsa", "ed25519"] as const) {
      const pair = name === "rsa" ? generateKeyPairSync("rsa", { modulusLength: 2048 }) : generateKeyPairSync("ed25519");
      const spki = pair.publicKey.export({ type: "spki", format: "der" });
      const p = name === "rsa" ? spki.toString("base64") : spki.subarray(-32).toString("base64");
      keys.push({ name, pem: pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString(), record: `v=DKIM1; k=${name}; p=${p}` });
    }
  });

  const headers: readonly Header[] = [
    { field: "From", value: "a@example.com" },
    { field: "To", value: "b@example.net" },
    { field: "Subject", value: "property" },
  ];

  it("streamed bh= over random splits passes verification", async () => {
    await fc.assert(
      fc.asyncProperty(
        bodyArb,
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.constantFrom("relaxed/relaxed", "relaxed/simple", "simple/relaxed", "simple/simple"),
        fc.constantFrom(0, 1),
        async (body, points, canonicalization, k) => {
          const key = keys[k];
          if (!key) throw new Error("keys not generated");
          const bodyCanon = canonicalization.endsWith("/simple") ? "simple" : "relaxed";
          const { digest } = await streamDigest(cut(body, points), bodyCanon);
          const now = new Date("2026-01-01T00:00:00Z");
          const sig = signHeaders(headers, digest, { domain: "example.com", selector: key.name, privateKey: key.pem, canonicalization }, now);
          // The receiver's copy: wire line ends, terminator and dot-stuffing undone.
          const wire = dotStuff(body, { stuff: false, terminate: true });
          const msg = Buffer.concat([
            Buffer.from([sig, ...headers].map((h) => `${h.field}: ${h.value}\r\n`).join("") + "\r\n"),
            wire.subarray(0, wire.length - 3),
          ]);
          const res = await dkimVerify(msg, {
            curTime: now,
            resolver: async (name: string) => {
              if (name === `${key.name}._domainkey.example.com`) return [[key.record]];
              throw Object.assign(new Error("none"), { code: "ENOTFOUND" });
            },
          });
          expect(res.results[0]?.status.result).toBe("pass");
        },
      ),
      { numRuns: 60 },
    );
  });
});

/**
 * src/auth/md4.ts: the RFC 1320 appendix A.5 test suite, the padding
 * boundaries, and a property test against OpenSSL's MD4 (its legacy
 * provider: an implementation independent of ours).
 */
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { md4 } from "../../src/auth/md4.js";

/** OpenSSL's MD4 of `data`, or undefined when the CLI or its legacy provider is missing. */
function opensslMd4(data: Uint8Array): string | undefined {
  try {
    const out = execFileSync("openssl", ["dgst", "-md4", "-provider", "legacy", "-provider", "default"], { input: data, encoding: "utf8", stdio: ["pipe", "pipe", "ignore"] });
    return /=\s*([0-9a-f]{32})\s*$/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

const hasOpenssl = opensslMd4(new Uint8Array(0)) === "31d6cfe0d16ae931b73c59d7e0c089c0";
const hex = (s: string): string => md4(Buffer.from(s, "latin1")).toString("hex");

describe("MD4 (RFC 1320)", () => {
  it("gives the seven digests of appendix A.5", () => {
    expect(hex("")).toBe("31d6cfe0d16ae931b73c59d7e0c089c0");
    expect(hex("a")).toBe("bde52cb31de33e46245e05fbdbd6fb24");
    expect(hex("abc")).toBe("a448017aaf21d8525fc10ae87aa6729d");
    expect(hex("message digest")).toBe("d9130a8164549fe818874806e1c7014b");
    expect(hex("abcdefghijklmnopqrstuvwxyz")).toBe("d79e1c308aa5bbcdeea8ed63df412da9");
    expect(hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")).toBe("043f8582f241db351ce627e153e7f0e4");
    expect(hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890")).toBe("e33b4ddc9c38f2199c3e7b164fcc0536");
  });

  it("gives the NT hash of MS-NLMP §4.2.2.1.2 (MD4 of UTF-16LE \"Password\")", () => {
    expect(md4(Buffer.from("Password", "utf16le")).toString("hex")).toBe("a4f49c406510bdcab6824ee7c30fd852");
  });

  it("returns 16 bytes and does not modify its input", () => {
    const input = Uint8Array.from([1, 2, 3]);
    expect(md4(input)).toHaveLength(16);
    expect([...input]).toEqual([1, 2, 3]);
  });

  it.skipIf(!hasOpenssl)("matches OpenSSL at every length around the padding boundaries (55, 56, 63, 64 mod 64)", () => {
    for (const length of [55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129]) {
      const data = Buffer.alloc(length, length);
      expect(md4(data).toString("hex"), `${length} bytes`).toBe(opensslMd4(data));
    }
  });

  it.skipIf(!hasOpenssl)("matches OpenSSL on arbitrary bytes (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => md4(data).toString("hex") === opensslMd4(data)),
      { numRuns: 150 },
    );
  });
});

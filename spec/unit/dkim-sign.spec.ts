/**
 * DKIM signing checked end to end by an independent verifier (mailauth): sign
 * with keys made here, build the message as it reaches the receiver (wire line
 * ends, dot-stuffing undone), verify with a resolver serving our TXT records.
 */
import { describe, it, expect, beforeAll } from "vitest";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import { bodyHash, signHeaders, validateDkimOptions, type DkimCanonicalization, type DkimOptions } from "../../src/dkim/index.js";
import type { Header } from "../../src/message/header-block.js";
import { foldHeader } from "../../src/message/header-folding.js";
import { encodePhrase, encodeWords } from "../../src/message/header-encoding.js";
import { dotStuff } from "../../src/message/dot-stuffer.js";
import { ErrorCode, SmtpError } from "../../src/errors.js";

const DOMAIN = "example.com";
const NOW = new Date("2026-03-01T12:00:00Z");
const CANONS: readonly DkimCanonicalization[] = ["relaxed/relaxed", "relaxed/simple", "simple/relaxed", "simple/simple"];

interface Signer {
  name: "rsa" | "ed25519";
  selector: string;
  privateKey: string;
  record: string;
}

function makeSigner(name: "rsa" | "ed25519"): Signer {
  const pair = name === "rsa" ? generateKeyPairSync("rsa", { modulusLength: 2048 }) : generateKeyPairSync("ed25519");
  const spki = pair.publicKey.export({ type: "spki", format: "der" });
  // RFC 8463 §4: an Ed25519 record carries the bare 32-byte key, not SPKI.
  const p = name === "rsa" ? spki.toString("base64") : spki.subarray(-32).toString("base64");
  return {
    name,
    selector: `sel-${name}`,
    privateKey: pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    record: `v=DKIM1; k=${name}; p=${p}`,
  };
}

let signers: Signer[] = [];
beforeAll(() => {
  signers = [makeSigner("rsa"), makeSigner("ed25519")];
});

function signer(name: "rsa" | "ed25519"): Signer {
  const s = signers.find((x) => x.name === name);
  if (!s) throw new Error("keys not generated");
  return s;
}

async function resolver(name: string, type: string): Promise<string[][]> {
  const s = signers.find((x) => `${x.selector}._domainkey.${DOMAIN}` === name);
  if (type === "TXT" && s) return [[s.record]];
  throw Object.assign(new Error(`no ${type} record for ${name}`), { code: "ENOTFOUND" });
}

/** What the receiving server stores as the body: smtpkit's DATA wire form with the terminator and dot-stuffing undone. */
function wireBody(body: Buffer): Buffer {
  const wire = dotStuff(body, { stuff: false, terminate: true });
  return wire.subarray(0, wire.length - 3);
}

function headerLines(headers: readonly Header[], fold?: number): string {
  return headers.map((h) => `${fold === undefined ? `${h.field}: ${h.value}` : foldHeader(h.field, h.value, fold)}\r\n`).join("");
}

function message(sig: Header, headers: readonly Header[], body: Buffer, fold?: number): Buffer {
  return Buffer.concat([Buffer.from(headerLines([sig, ...headers], fold) + "\r\n", "utf8"), wireBody(body)]);
}

interface Verdict {
  result: string;
  comment: string;
}

async function verify(msg: Buffer | string, curTime: Date = NOW): Promise<Verdict[]> {
  const res = await dkimVerify(msg, { resolver, curTime });
  return res.results.map((r) => ({ result: String(r.status.result), comment: String(r.status.comment ?? "") }));
}

function options(name: "rsa" | "ed25519", extra: Partial<DkimOptions> = {}): DkimOptions {
  const s = signer(name);
  return { domain: DOMAIN, selector: s.selector, privateKey: s.privateKey, ...extra };
}

function sign(headers: readonly Header[], body: Buffer, opts: DkimOptions): Header {
  const bodyCanon = (opts.canonicalization ?? "relaxed/relaxed").split("/")[1] === "simple" ? "simple" : "relaxed";
  return signHeaders(headers, bodyHash(body, bodyCanon), opts, NOW);
}

const HEADERS: readonly Header[] = [
  { field: "From", value: "Alice <alice@example.com>" },
  { field: "To", value: "Bob <bob@example.net>, carol@example.org" },
  { field: "Subject", value: "Quarterly   report\tattached " },
  { field: "Date", value: "Sun, 01 Mar 2026 12:00:00 +0000" },
  { field: "Message-ID", value: "<abc.123@example.com>" },
  { field: "MIME-Version", value: "1.0" },
  { field: "Content-Type", value: 'text/plain; charset="utf-8"' },
  { field: "Content-Transfer-Encoding", value: "8bit" },
  { field: "X-Mailer", value: "smtpkit" },
];

const BODIES: Record<string, string> = {
  "plain lines": "Hello,\r\n\r\nthe report is attached.\r\n",
  "trailing blank lines": "Text\r\n\r\n\r\n\r\n",
  "whitespace runs": "a  \t b   \r\n  c\t\t\r\n   \r\nd \t\r\n \t \r\n",
  "bare LF and bare CR lines": "line1\nline2\n\nline3\r\rline4\r\n  \nend\r",
  "empty body": "",
  "no final line break": "last line without break  ",
  "only blank lines": "\r\n\r\n\r\n",
  "only whitespace lines": "   \r\n\t\r\n  ",
  "dot lines": ".hidden\r\n..\r\n.\r\nend\r\n",
  "8bit text": "Zażółć gęślą jaźń\r\n日本語のテキスト\r\n",
};

describe.each(["rsa", "ed25519"] as const)("%s signatures verify with mailauth", (alg) => {
  it.each(CANONS)("%s, every body shape", async (canonicalization) => {
    for (const [what, text] of Object.entries(BODIES)) {
      const body = Buffer.from(text, "utf8");
      const sig = sign(HEADERS, body, options(alg, { canonicalization }));
      const verdict = await verify(message(sig, HEADERS, body));
      expect({ what, verdict }).toEqual({ what, verdict: [{ result: "pass", comment: "" }] });
    }
  });

  it.each(CANONS)("%s: body tampering fails the body hash", async (canonicalization) => {
    const body = Buffer.from(BODIES["plain lines"] ?? "", "utf8");
    const sig = sign(HEADERS, body, options(alg, { canonicalization }));
    const tampered = Buffer.from("Hello,\r\n\r\nthe report is NOT attached.\r\n");
    const [v] = await verify(message(sig, HEADERS, tampered));
    expect(v?.result).not.toBe("pass");
    expect(v?.comment).toMatch(/body hash/);
  });

  it.each(CANONS)("%s: changing a signed header fails the signature", async (canonicalization) => {
    const body = Buffer.from("Hi\r\n");
    const sig = sign(HEADERS, body, options(alg, { canonicalization }));
    const changed = HEADERS.map((h) => (h.field === "Subject" ? { ...h, value: "Quarterly report attached (edited)" } : h));
    expect(await verify(message(sig, changed, body))).toEqual([{ result: "fail", comment: "bad signature" }]);
  });

  it("changing an unsigned header keeps the signature valid", async () => {
    const body = Buffer.from("Hi\r\n");
    const sig = sign(HEADERS, body, options(alg));
    const changed = [...HEADERS.map((h) => (h.field === "X-Mailer" ? { ...h, value: "other" } : h)), { field: "Received", value: "by relay" }];
    expect((await verify(message(sig, changed, body)))[0]?.result).toBe("pass");
  });
});

describe("header handling", () => {
  it("signs the default headers that are present, in the default order", () => {
    const sig = sign(HEADERS, Buffer.from("x\r\n"), options("ed25519"));
    const h = /(?:^|; )h=([^;]*)/.exec(sig.value)?.[1]?.replace(/\s+/g, "");
    expect(h).toBe("from:to:subject:date:message-id:mime-version:content-type:content-transfer-encoding");
    expect(sig.field).toBe("DKIM-Signature");
    expect(sig.value).not.toMatch(/[\r\n]/);
    expect(sig.value).toMatch(/^v=1; a=ed25519-sha256; c=relaxed\/relaxed; d=example\.com; s=sel-ed25519; t=1772366400; h=/);
  });

  it("non-ASCII headers: RFC 2047 encoded and raw UTF-8 (SMTPUTF8) values", async () => {
    const headers: Header[] = [
      { field: "From", value: `${encodePhrase("Zoë Łukasiewicz", "utf-8")} <zoe@example.com>` },
      { field: "To", value: "bob@example.net" },
      { field: "Subject", value: encodeWords("Zamówienie #42 — potwierdzenie, bardzo długi temat wiadomości do złożenia", "utf-8") },
      { field: "Comments", value: "Grüße aus München" },
    ];
    expect(headers[2]?.value).toMatch(/^=\?UTF-8\?/i);
    const body = Buffer.from("Dziękujemy!\r\n");
    for (const alg of ["rsa", "ed25519"] as const) {
      for (const canonicalization of CANONS) {
        const opts = options(alg, { canonicalization, headers: ["from", "to", "subject", "comments"] });
        const sig = sign(headers, body, opts);
        expect((await verify(message(sig, headers, body)))[0]?.result).toBe("pass");
      }
    }
  });

  it("repeated headers: every instance is signed, bottom-up, and altering any one fails", async () => {
    const headers: Header[] = [
      { field: "From", value: "alice@example.com" },
      { field: "X-Tag", value: "one" },
      { field: "To", value: "bob@example.net" },
      { field: "X-Tag", value: "two" },
      { field: "to", value: "carol@example.org" },
      { field: "X-TAG", value: "three" },
    ];
    const body = Buffer.from("body\r\n");
    for (const alg of ["rsa", "ed25519"] as const) {
      for (const canonicalization of CANONS) {
        const sig = sign(headers, body, options(alg, { canonicalization, headers: ["From", "To", "X-Tag"] }));
        expect(sig.value.replace(/\s+/g, "")).toContain("h=from:to:to:x-tag:x-tag:x-tag;");
        expect((await verify(message(sig, headers, body)))[0]?.result).toBe("pass");
        for (const k of [1, 3, 5]) {
          const altered = headers.map((h, i) => (i === k ? { ...h, value: "changed" } : h));
          expect((await verify(message(sig, altered, body)))[0]?.result).toBe("fail");
        }
        const swapped = [headers[0], headers[3], headers[2], headers[1], headers[4], headers[5]].filter((h): h is Header => h !== undefined);
        expect((await verify(message(sig, swapped, body)))[0]?.result).toBe("fail");
      }
    }
  });

  it("a listed header that is absent is signed as absent: adding it later fails", async () => {
    const body = Buffer.from("x\r\n");
    const sig = sign(HEADERS, body, options("rsa", { headers: ["from", "subject", "list-unsubscribe"] }));
    expect(sig.value.replace(/\s+/g, "")).toContain("h=from:subject:list-unsubscribe;");
    expect((await verify(message(sig, HEADERS, body)))[0]?.result).toBe("pass");
    const added = [...HEADERS, { field: "List-Unsubscribe", value: "<https://evil.example/>" }];
    expect((await verify(message(sig, added, body)))[0]?.result).toBe("fail");
  });

  it("the default list does not sign absent headers (a relay may add Reply-To, CC, ...)", async () => {
    const body = Buffer.from("x\r\n");
    const sig = sign(HEADERS, body, options("ed25519"));
    const added = [...HEADERS, { field: "Reply-To", value: "someone@example.org" }];
    expect((await verify(message(sig, added, body)))[0]?.result).toBe("pass");
  });

  it("relaxed header canonicalization survives refolding of every header, the signature included", async () => {
    const headers = [...HEADERS, { field: "References", value: Array.from({ length: 8 }, (_, i) => `<ref${i}.long.id@example.com>`).join(" ") }];
    const body = Buffer.from("x\r\n");
    for (const alg of ["rsa", "ed25519"] as const) {
      for (const canonicalization of ["relaxed/relaxed", "relaxed/simple"] as const) {
        const sig = sign(headers, body, options(alg, { canonicalization, identity: "alice@example.com", expireSeconds: 3600 }));
        for (const width of [30, 78, 200]) {
          const folded = message(sig, headers, body, width);
          expect(folded.toString().split("\r\n").some((l) => l.startsWith(" "))).toBe(true);
          expect((await verify(folded))[0]?.result).toBe("pass");
        }
      }
    }
  });

  it("folding the signature at 78 columns keeps each piece short", () => {
    const sig = sign(HEADERS, Buffer.from("x\r\n"), options("rsa"));
    const lines = foldHeader(sig.field, sig.value, 78).split("\r\n");
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(78);
  });

  it("simple header canonicalization signs headers as written: folded values passed folded verify; refolding breaks it", async () => {
    const headers: Header[] = [
      { field: "From", value: "alice@example.com" },
      { field: "Subject", value: "a subject that the caller\r\n has folded itself" },
    ];
    const body = Buffer.from("x\r\n");
    const sig = sign(headers, body, options("ed25519", { canonicalization: "simple/simple" }));
    const raw = `${sig.field}: ${sig.value}\r\n` + headers.map((h) => `${h.field}: ${h.value}\r\n`).join("") + "\r\nx\r\n";
    expect((await verify(raw))[0]?.result).toBe("pass");
    const refolded = raw.replace("the caller\r\n has", "the caller has");
    expect((await verify(refolded))[0]?.result).toBe("fail");
  });

  it("i= and x= are written and honoured by the verifier", async () => {
    const body = Buffer.from("x\r\n");
    const sig = sign(HEADERS, body, options("ed25519", { identity: "news;letter=1@mail.example.com", expireSeconds: 600 }));
    expect(sig.value).toContain("i=news=3Bletter=3D1@mail.example.com");
    expect(sig.value).toContain(`x=${NOW.getTime() / 1000 + 600}`);
    expect((await verify(message(sig, HEADERS, body)))[0]?.result).toBe("pass");
    const late = new Date(NOW.getTime() + 601_000);
    expect(await verify(message(sig, HEADERS, body), late)).toEqual([{ result: "neutral", comment: "expired" }]);
  });

  it("PKCS#1 RSA keys are accepted as well as PKCS#8", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const pkcs1 = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    expect(pkcs1).toContain("BEGIN RSA PRIVATE KEY");
    const body = Buffer.from("x\r\n");
    const sig = signHeaders(HEADERS, bodyHash(body, "relaxed"), { domain: DOMAIN, selector: "pkcs1", privateKey: pkcs1 }, NOW);
    const p = publicKey.export({ type: "spki", format: "der" }).toString("base64");
    const res = await dkimVerify(message(sig, HEADERS, body), {
      curTime: NOW,
      resolver: async (name: string) => {
        if (name === `pkcs1._domainkey.${DOMAIN}`) return [[`v=DKIM1; k=rsa; p=${p}`]];
        throw Object.assign(new Error("none"), { code: "ENOTFOUND" });
      },
    });
    expect(res.results[0]?.status.result).toBe("pass");
  });
});

function errorOf(fn: () => unknown): SmtpError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SmtpError) return e;
    throw new Error(`expected SmtpError, got ${String(e)}`);
  }
  throw new Error("expected an error");
}

describe("validateDkimOptions", () => {
  let ec: KeyObject;
  let rsa512: string;
  beforeAll(() => {
    ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    rsa512 = generateKeyPairSync("rsa", { modulusLength: 512 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  });

  it("accepts good options for both key types", () => {
    expect(() => validateDkimOptions(options("rsa"))).not.toThrow();
    expect(() => validateDkimOptions(options("ed25519", { algorithm: "ed25519-sha256", canonicalization: "simple/relaxed" }))).not.toThrow();
    expect(() => validateDkimOptions(options("rsa", { identity: "@sub.example.com", headers: ["Subject", "X-Custom"], expireSeconds: 1 }))).not.toThrow();
  });

  const cases: [string, () => Partial<DkimOptions>, RegExp][] = [
    ["domain with a space", () => ({ domain: "exa mple.com" }), /domain/],
    ["single-label domain", () => ({ domain: "localhost" }), /domain/],
    ["domain with underscore", () => ({ domain: "ex_ample.com" }), /domain/],
    ["non-ASCII domain", () => ({ domain: "bücher.example" }), /A-label/],
    ["label starting with a hyphen", () => ({ domain: "-bad.example.com" }), /domain/],
    ["selector with a semicolon", () => ({ selector: "s1;x=1" }), /selector/],
    ["empty selector", () => ({ selector: "" }), /selector/],
    ["garbage key", () => ({ privateKey: "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXZhbHVl\n-----END PRIVATE KEY-----" }), /could not be read/],
    ["public key instead of private", () => ({ privateKey: generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString() }), /could not be read/],
    ["EC key", () => ({ privateKey: ec.export({ type: "pkcs8", format: "pem" }).toString() }), /only RSA and Ed25519/],
    ["512-bit RSA key", () => ({ privateKey: rsa512 }), /512 bits.*1024/],
    ["algorithm mismatch", () => ({ algorithm: "ed25519-sha256" }), /does not match/],
    ["unknown algorithm", () => ({ algorithm: "rsa-sha1" as "rsa-sha256" }), /algorithm/],
    ["bad canonicalization", () => ({ canonicalization: "relaxed" as "relaxed/relaxed" }), /canonicalization/],
    ["bad header name", () => ({ headers: ["Subject:"] }), /header field name/],
    ["identity outside the domain", () => ({ identity: "a@example.org" }), /signing domain/],
    ["identity lookalike domain", () => ({ identity: "a@badexample.com" }), /signing domain/],
    ["identity without @", () => ({ identity: "alice" }), /local-part/],
    ["negative expiry", () => ({ expireSeconds: -5 }), /expireSeconds/],
    ["fractional expiry", () => ({ expireSeconds: 1.5 }), /expireSeconds/],
  ];

  it.each(cases)("refuses %s with 601", (_what, extra, message) => {
    const err = errorOf(() => validateDkimOptions(options("rsa", extra())));
    expect(err.code).toBe(ErrorCode.InvalidValue);
    expect(err.message).toMatch(message);
    // Key material never ends up in an error message (they get logged).
    expect(err.message).not.toMatch(/c2VjcmV0|PRIVATE KEY/);
  });

  it("signHeaders validates too, and refuses a bad body hash, a message without From, and stray line breaks", () => {
    const bh = bodyHash(Buffer.from("x"), "relaxed");
    expect(errorOf(() => signHeaders(HEADERS, bh, options("rsa", { domain: "bad domain" }))).code).toBe(ErrorCode.InvalidValue);
    expect(errorOf(() => signHeaders(HEADERS, "not-a-hash", options("rsa"))).code).toBe(ErrorCode.InvalidValue);
    expect(errorOf(() => signHeaders(HEADERS.slice(1), bh, options("rsa"))).message).toMatch(/no From/);
    expect(errorOf(() => signHeaders(HEADERS, bh, options("rsa"), new Date(NaN))).code).toBe(ErrorCode.InvalidValue);
    const smuggled = [...HEADERS.slice(0, 2), { field: "Subject", value: "hi\r\nBcc: x@evil.example" }];
    expect(errorOf(() => signHeaders(smuggled, bh, options("rsa"))).code).toBe(ErrorCode.LineBreakInjection);
    // An unsigned header is not ours to judge.
    expect(() => signHeaders([...HEADERS, { field: "X-Odd", value: "a\rb" }], bh, options("rsa"))).not.toThrow();
  });
});

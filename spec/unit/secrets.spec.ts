/**
 * Secrets never travel in errors: a key given where a path was expected, a
 * PKCS#12 blob, a proxy password (set directly or in ALL_PROXY) must not show
 * up in the message, the hint, the cause chain or any enumerable property,
 * however deep a logger looks (util.inspect with showHidden, JSON).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { ErrorCode, SmtpError } from "../../src/errors.js";
import { validateDkimOptions } from "../../src/dkim/index.js";
import { loadSigner } from "../../src/smime/index.js";
import { client, rejectsWith } from "../support/client.js";
import { startMicrosocks, type ProxyProcess } from "../support/proxies.js";
import { startSmtpServer, type Harness } from "../support/smtp-server-harness.js";
import { FIXTURE_PASSPHRASE, readFixture } from "../support/tls-fixtures.js";

const SMIME = new URL("../fixtures/smime/", import.meta.url);
const smimeFixture = (name: string): string => readFileSync(new URL(name, SMIME), "utf8");

/** Every way a logger may walk an error: inspect with hidden properties, and JSON of each link of the cause chain. */
function everythingShown(err: unknown): string {
  const links: string[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = err; e instanceof Object && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const own = Object.fromEntries(Object.entries(e));
    links.push(safeJson({ ...(e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : {}), ...own }));
  }
  return `${inspect(err, { depth: 10, showHidden: true })}\n${links.join("\n")}`;
}

/** JSON that survives the cycles sockets bring along. */
function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === "object" && v !== null) {
      if (seen.has(v)) return "[cycle]";
      seen.add(v);
    }
    return typeof v === "bigint" ? String(v) : v;
  });
}

/** Every 20-character window of the base64 lines of `text` (PEM bodies or a bare blob). */
function keyFragments(text: string): string[] {
  const lines = text.split(/\r?\n/).filter((l) => /^[A-Za-z0-9+/=_-]{20,}$/.test(l));
  expect(lines.length, "the secret has base64 lines to look for").toBeGreaterThan(0);
  const out: string[] = [];
  for (const line of lines) for (let i = 0; i + 20 <= line.length; i++) out.push(line.slice(i, i + 20));
  return out;
}

function expectNoneShown(err: unknown, secrets: { fragmentsOf?: string; words?: string[] }): void {
  const shown = everythingShown(err);
  for (const w of secrets.words ?? []) expect(shown.includes(w), `"${w}" is shown`).toBe(false);
  if (secrets.fragmentsOf !== undefined) {
    const leaked = keyFragments(secrets.fragmentsOf).find((f) => shown.includes(f));
    expect(leaked, "a piece of the key material is shown").toBeUndefined();
  }
}

function thrown(fn: () => unknown): SmtpError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SmtpError);
    return e as SmtpError;
  }
  throw new Error("expected a throw");
}

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const keyPem = rsa.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const keyBase64 = rsa.privateKey.export({ type: "pkcs8", format: "der" }).toString("base64");

let server: Harness;
let socks: ProxyProcess;
const PROXY_PASSWORD = "Px-9f3Kq-not-the-right-one";

beforeAll(async () => {
  [server, socks] = await Promise.all([startSmtpServer(), startMicrosocks({ user: "fwuser", password: "fwpass" })]);
});

afterAll(async () => {
  await Promise.all([server.close(), socks.stop()]);
});

describe("key material where a path was expected", () => {
  it("DKIMPrivateKey as bare base64: 302 describes the value without quoting it", async () => {
    const m = client(server.port, { settings: { DKIMDomain: "example.com", DKIMSelector: "s1", DKIMPrivateKey: keyBase64 } });
    const err = await rejectsWith(m.send(), ErrorCode.CannotOpenFile);
    expect(err.message).toMatch(/DKIMPrivateKey/);
    expect(err.message).toContain(`(${keyBase64.length} characters`);
    expectNoneShown(err, { fragmentsOf: keyBase64 });
    expect(server.received).toHaveLength(0);
  });

  it("DKIMPrivateKey as a damaged PEM key: 601 without the key", async () => {
    const lines = keyPem.trim().split("\n");
    const damaged = [...lines.slice(0, 5), "!!!!", ...lines.slice(5)].join("\n");
    const m = client(server.port, { settings: { DKIMDomain: "example.com", DKIMSelector: "s1", DKIMPrivateKey: damaged } });
    const err = await rejectsWith(m.send(), ErrorCode.InvalidValue);
    expectNoneShown(err, { fragmentsOf: keyPem });
  });

  it("SSLCertStoreType 6 (PEM file) given the PEM text: 278 without the private key", async () => {
    const pem = `${readFixture("client.pem").toString()}${readFixture("client.key").toString()}`;
    const m = client(server.port, { sslCertStoreType: 6, sslCertStore: pem });
    const err = await rejectsWith(m.send(), ErrorCode.TlsClientCert);
    expect(err.message).toContain(`(${pem.length} characters`);
    expectNoneShown(err, { fragmentsOf: readFixture("client.key").toString() });
  });

  it("SSLCertStoreType 2 (PFX file) given the base64 blob: 278 without the blob", async () => {
    const blob = readFixture("client.pfx").toString("base64");
    const m = client(server.port, { sslCertStoreType: 2, sslCertStore: blob, sslCertStorePassword: FIXTURE_PASSPHRASE });
    const err = await rejectsWith(m.send(), ErrorCode.TlsClientCert);
    expectNoneShown(err, { fragmentsOf: blob, words: [FIXTURE_PASSPHRASE] });
  });

  it("SSLCertStore with a wrong SSLCertStorePassword: 278 without the password", async () => {
    const m = client(server.port, { sslCertStoreType: 3, sslCertStore: readFixture("client.pfx").toString("base64"), sslCertStorePassword: "Wrong-Pfx-Pass-77" });
    const err = await rejectsWith(m.send(), ErrorCode.TlsClientCert);
    expectNoneShown(err, { words: ["Wrong-Pfx-Pass-77"] });
  });

  it("S/MIME CertStoreType 6 (PEM file) given the PEM text: 302 without the private key", () => {
    const key = smimeFixture("signer.key");
    const err = thrown(() => loadSigner({ storeType: 6, store: `${smimeFixture("signer.pem")}${key}`, password: "" }));
    expect(err.code).toBe(ErrorCode.CannotOpenFile);
    expectNoneShown(err, { fragmentsOf: key });
  });

  it("S/MIME CertStoreType 2 (PFX file) given the base64 blob: 302 without the blob", () => {
    const blob = readFileSync(new URL("signer.pfx", SMIME)).toString("base64");
    const err = thrown(() => loadSigner({ storeType: 2, store: blob, password: "" }));
    expect(err.code).toBe(ErrorCode.CannotOpenFile);
    expectNoneShown(err, { fragmentsOf: blob });
  });

  it("S/MIME CertStoreType 99 given URL-safe base64 (not a file, not base64): 302 without the value", () => {
    const urlSafe = keyBase64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const err = thrown(() => loadSigner({ storeType: 99, store: urlSafe, password: "" }));
    expect(err.code).toBe(ErrorCode.CannotOpenFile);
    expectNoneShown(err, { fragmentsOf: urlSafe });
  });

  it("S/MIME PFX blob with a wrong password, or damaged: 601 without the password or the blob", () => {
    const pfx = readFileSync(new URL("signer.pfx", SMIME));
    const wrong = thrown(() => loadSigner({ storeType: 3, store: pfx.toString("base64"), password: "Wrong-Pfx-Pass-31" }));
    expect(wrong.code).toBe(ErrorCode.InvalidValue);
    expectNoneShown(wrong, { fragmentsOf: pfx.toString("base64"), words: ["Wrong-Pfx-Pass-31"] });
    const damaged = Buffer.from(pfx);
    for (let i = 200; i < damaged.length; i += 97) damaged[i] = (damaged[i] ?? 0) ^ 0x5a;
    const broken = thrown(() => loadSigner({ storeType: 3, store: damaged.toString("base64"), password: "" }));
    expect(broken.code).toBe(ErrorCode.InvalidValue);
    expectNoneShown(broken, { fragmentsOf: damaged.toString("base64") });
  });

  it("DKIM options given a bare base64 key directly: 601 without the key", () => {
    const err = thrown(() => validateDkimOptions({ domain: "example.com", selector: "s1", privateKey: keyBase64 }));
    expect(err.code).toBe(ErrorCode.InvalidValue);
    expectNoneShown(err, { fragmentsOf: keyBase64 });
  });

  it("S/MIME PEM key with a wrong passphrase: 601 without the passphrase or the key", () => {
    const key = smimeFixture("signer-encrypted.key");
    const err = thrown(() => loadSigner({ storeType: 7, store: `${smimeFixture("signer.pem")}${key}`, password: "Wrong-Smime-Pass-5" }));
    expect(err.code).toBe(ErrorCode.InvalidValue);
    expectNoneShown(err, { fragmentsOf: key, words: ["Wrong-Smime-Pass-5"] });
  });
});

describe("proxy passwords", () => {
  it("SOCKS5 FirewallPassword refused by microsocks: 118, the password is nowhere in the error or its causes", async () => {
    const m = client(server.port, { firewallType: 3, firewallHost: "127.0.0.1", firewallPort: socks.port, firewallUser: "fwuser", firewallPassword: PROXY_PASSWORD });
    const err = await rejectsWith(m.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/authentication refused/);
    expectNoneShown(err, { words: [PROXY_PASSWORD] });
  });

  describe("from ALL_PROXY", () => {
    const saved = process.env["ALL_PROXY"];
    afterAll(() => {
      if (saved === undefined) delete process.env["ALL_PROXY"];
      else process.env["ALL_PROXY"] = saved;
    });

    it("a SOCKS5 password refused by microsocks: 118 without it", async () => {
      process.env["ALL_PROXY"] = `socks5://fwuser:${PROXY_PASSWORD}@127.0.0.1:${socks.port}`;
      const m = client(server.port, { firewallAutoDetect: true, sslStartMode: 3 });
      const err = await rejectsWith(m.send(), ErrorCode.Firewall);
      expect(err.message).toMatch(/authentication refused/);
      expectNoneShown(err, { words: [PROXY_PASSWORD] });
    });

    it("an ALL_PROXY that is not a URL: 118 without the password in it", async () => {
      process.env["ALL_PROXY"] = `socks5://fwuser:${PROXY_PASSWORD}@127.0.0.1:99999`;
      const m = client(server.port, { firewallAutoDetect: true, sslStartMode: 3 });
      const err = await rejectsWith(m.send(), ErrorCode.Firewall);
      expect(err.message).toMatch(/ALL_PROXY/);
      expectNoneShown(err, { words: [PROXY_PASSWORD] });
    });
  });
});

/**
 * RFC 8463 Appendix A: the published Ed25519 and RSA keys and the message
 * signed with both. Ed25519 and RSA PKCS#1 v1.5 signatures are deterministic,
 * so the published b= values must come out byte for byte from our header
 * selection, relaxed canonicalization and signing primitive.
 */
import { describe, it, expect } from "vitest";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import { parseHeaderBlock, type Header } from "../../src/message/header-block.js";
import { bodyHash, DkimBodyHasher, signHeaders, validateDkimOptions } from "../../src/dkim/index.js";
import { computeSignature, headerHashInput, selectHeaders } from "../../src/dkim/sign.js";

const ED25519_SEED = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
const ED25519_RECORD = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const RSA_RECORD =
  "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";
const RSA_KEY = [
  "-----BEGIN RSA PRIVATE KEY-----",
  "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi",
  "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM",
  "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
  "AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm",
  "6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe",
  "zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy",
  "6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc",
  "uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy",
  "WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd",
  "WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a",
  "licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst",
  "o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe",
  "uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL",
  "-----END RSA PRIVATE KEY-----",
].join("\n");

const MESSAGE = [
  "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;",
  " d=football.example.com; i=@football.example.com;",
  " q=dns/txt; s=brisbane; t=1528637909; h=from : to :",
  " subject : date : message-id : from : subject : date;",
  " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;",
  " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus",
  " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==",
  "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;",
  " d=football.example.com; i=@football.example.com;",
  " q=dns/txt; s=test; t=1528637909; h=from : to : subject :",
  " date : message-id : from : subject : date;",
  " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;",
  " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3",
  " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz",
  " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=",
  "From: Joe SixPack <joe@football.example.com>",
  "To: Suzie Q <suzie@shopping.example.net>",
  "Subject: Is dinner ready?",
  "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)",
  "Message-ID: <20030712040037.46341.5F8J@football.example.com>",
  "",
  "Hi.",
  "",
  "We lost the game.  Are you hungry yet?",
  "",
  "Joe.",
  "",
].join("\r\n");

/** PKCS#8 DER for an Ed25519 seed: the fixed prefix (RFC 8410) and the 32 bytes. */
function ed25519PemFromSeed(seed: string): string {
  const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), Buffer.from(seed, "base64")]);
  return createPrivateKey({ key: der, format: "der", type: "pkcs8" }).export({ type: "pkcs8", format: "pem" }).toString();
}

function split(message: string): { headers: Header[]; body: Buffer } {
  const end = message.indexOf("\r\n\r\n");
  return { headers: parseHeaderBlock(message.slice(0, end + 2)), body: Buffer.from(message.slice(end + 4)) };
}

interface Published {
  value: string;
  tags: Map<string, string>;
}

function published(headers: readonly Header[]): Published[] {
  return headers
    .filter((h) => h.field.toLowerCase() === "dkim-signature")
    .map((h) => {
      const tags = new Map<string, string>();
      for (const spec of h.value.split(";")) {
        const eq = spec.indexOf("=");
        if (eq > 0) tags.set(spec.slice(0, eq).trim(), spec.slice(eq + 1).replace(/[ \t\r\n]+/g, ""));
      }
      return { value: h.value, tags };
    });
}

/** Our primitives on the published header: selection by its h=, its own tag text with b= blanked. */
function reproduce(sig: Published, others: readonly Header[], pem: string): string {
  const names = (sig.tags.get("h") ?? "").split(":").map((n) => n.trim().toLowerCase());
  // Listed names are each signed once per listing here (h= semantics), so no absent-name extras.
  const picked: Header[] = [];
  const used = new Map<string, number>();
  for (const name of names) {
    const matches = others.filter((h) => h.field.toLowerCase() === name);
    const k = used.get(name) ?? 0;
    used.set(name, k + 1);
    const h = matches[matches.length - 1 - k];
    if (h) picked.push(h);
  }
  const withoutB = sig.value.replace(/(b=)[^;]*$/, "$1");
  const algorithm = sig.tags.get("a") === "ed25519-sha256" ? "ed25519-sha256" : "rsa-sha256";
  return computeSignature(headerHashInput(picked, withoutB, "relaxed"), algorithm, createPrivateKey(pem));
}

const resolver = async (name: string, type: string): Promise<string[][]> => {
  if (type === "TXT" && name === "brisbane._domainkey.football.example.com") return [[ED25519_RECORD]];
  if (type === "TXT" && name === "test._domainkey.football.example.com") return [[RSA_RECORD]];
  throw Object.assign(new Error(`no ${type} record for ${name}`), { code: "ENOTFOUND" });
};

describe("RFC 8463 Appendix A", () => {
  const { headers, body } = split(MESSAGE);
  const others = headers.filter((h) => h.field.toLowerCase() !== "dkim-signature");
  const [ed, rsa] = published(headers);
  const edPem = ed25519PemFromSeed(ED25519_SEED);

  it("the seed gives the published Ed25519 public key", () => {
    const raw = createPublicKey(edPem).export({ type: "spki", format: "der" }).subarray(-32);
    expect(`v=DKIM1; k=ed25519; p=${raw.toString("base64")}`).toBe(ED25519_RECORD);
  });

  it("the independent verifier accepts the published message (sanity check of the verifier set-up)", async () => {
    const res = await dkimVerify(MESSAGE, { resolver, curTime: new Date("2018-06-10T13:38:29Z") });
    expect(res.results.map((r) => r.status.result)).toEqual(["pass", "pass"]);
  });

  it("bodyHash and DkimBodyHasher give the published bh=", async () => {
    expect(bodyHash(body, "relaxed")).toBe(ed?.tags.get("bh"));
    const hasher = new DkimBodyHasher("relaxed");
    hasher.resume();
    const done = new Promise((resolve) => hasher.on("end", resolve));
    for (const byte of body) hasher.write(Buffer.of(byte));
    hasher.end();
    await done;
    expect(hasher.digest()).toBe(ed?.tags.get("bh"));
  });

  it("reproduces the published Ed25519 b= byte for byte", () => {
    expect(ed).toBeDefined();
    if (!ed) throw new Error("the vector has no Ed25519 signature");
    expect(reproduce(ed, others, edPem)).toBe(ed.tags.get("b"));
  });

  it("reproduces the published RSA b= byte for byte", () => {
    expect(rsa).toBeDefined();
    if (!rsa) throw new Error("the vector has no RSA signature");
    expect(reproduce(rsa, others, RSA_KEY)).toBe(rsa.tags.get("b"));
  });

  it("selectHeaders picks instances bottom-up as the vector's verifier does", () => {
    const sel = selectHeaders(others, ["from", "to", "subject", "date", "message-id"], false);
    expect(sel.names).toEqual(["from", "to", "subject", "date", "message-id"]);
    expect(sel.picked.map((h) => h.field)).toEqual(["From", "To", "Subject", "Date", "Message-ID"]);
  });

  it("signHeaders with the published keys gives signatures the verifier accepts", async () => {
    const now = new Date(1528637909 * 1000);
    const edOpts = { domain: "football.example.com", selector: "brisbane", privateKey: edPem, identity: "@football.example.com" };
    // The published RSA key is PKCS#1 ("BEGIN RSA PRIVATE KEY") and 1024 bits: both accepted.
    const rsaOpts = { domain: "football.example.com", selector: "test", privateKey: RSA_KEY };
    validateDkimOptions(edOpts);
    validateDkimOptions(rsaOpts);
    const bh = bodyHash(body, "relaxed");
    const sigs = [signHeaders(others, bh, edOpts, now), signHeaders(others, bh, rsaOpts, now)];
    const message =
      sigs.map((s) => `${s.field}: ${s.value}\r\n`).join("") + others.map((h) => `${h.field}: ${h.value}\r\n`).join("") + "\r\n" + body.toString();
    const res = await dkimVerify(message, { resolver, curTime: now });
    expect(res.results.map((r) => r.status.result)).toEqual(["pass", "pass"]);
    // Ed25519 is deterministic: the same key, headers and time sign the same way twice.
    expect(signHeaders(others, bh, edOpts, now).value).toBe(sigs[0]?.value);
  });
});

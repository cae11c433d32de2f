import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { ErrorCode, SmtpError } from "../../src/errors.js";
import { creds, expectAuthFailure } from "../support/sasl.js";
import { SCRAM_SHA_1, SCRAM_SHA_256 } from "../../src/auth/scram.js";
import { saslPrep } from "../../src/auth/saslprep.js";

const text = (b: Buffer | undefined): string => (b ?? Buffer.alloc(0)).toString("utf8");

describe("SCRAM-SHA-1 (RFC 5802 §5)", () => {
  const start = () => SCRAM_SHA_1.start(creds({ user: "user", password: "pencil" }), { nonce: () => "fyko+d2lbbFgONRv9qkxdawL" });
  const serverFirst = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";

  it("reproduces the full conversation", async () => {
    const x = start();
    expect(text(x.initialResponse)).toBe("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    expect(text(await x.respond(Buffer.from(serverFirst)))).toBe(
      "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    );
    expect(await x.respond(Buffer.from("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="))).toEqual(Buffer.alloc(0));
    expect(() => x.finish()).not.toThrow();
  });

  it("rejects a bad server signature with code 620", async () => {
    const x = start();
    await x.respond(Buffer.from(serverFirst));
    const e = await expectAuthFailure(x.respond(Buffer.from("v=rmF9pqV8S7suAoZWja4dJRkFsKA=")));
    expect(e.message).toMatch(/server signature/);
    await expectAuthFailure(() => x.finish());
  });
});

describe("SCRAM-SHA-256 (RFC 7677 §3)", () => {
  const start = () => SCRAM_SHA_256.start(creds({ user: "user", password: "pencil" }), { nonce: () => "rOprNGfwEbeRWgbNEkqO" });
  const serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

  it("reproduces the full conversation", async () => {
    const x = start();
    expect(text(x.initialResponse)).toBe("n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    expect(text(await x.respond(Buffer.from(serverFirst)))).toBe(
      "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    );
    expect(await x.respond(Buffer.from("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))).toEqual(Buffer.alloc(0));
    expect(() => x.finish()).not.toThrow();
  });

  it("rejects a bad server signature, and a non-canonical base64 spelling of the right one", async () => {
    const x = start();
    await x.respond(Buffer.from(serverFirst));
    await expectAuthFailure(x.respond(Buffer.from("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95H4=")));
    const y = start();
    await y.respond(Buffer.from(serverFirst));
    // "5" differs from "4" only in the padding bits.
    await expectAuthFailure(y.respond(Buffer.from("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=")));
  });

  it("rejects a server nonce that does not extend ours (or adds nothing)", async () => {
    const e = await expectAuthFailure(start().respond(Buffer.from("r=XXprNGfwEbeRWgbNEkqO%hvYDpWUa2,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")));
    expect(e.message).toMatch(/nonce/);
    await expectAuthFailure(start().respond(Buffer.from("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")));
  });

  it("finish() throws when no server signature was verified", async () => {
    const x = start();
    await expectAuthFailure(() => x.finish());
    await x.respond(Buffer.from(serverFirst));
    await expectAuthFailure(() => x.finish());
  });

  it("turns e= in server-final into an Auth error carrying the text", async () => {
    const x = start();
    await x.respond(Buffer.from(serverFirst));
    const e = await expectAuthFailure(x.respond(Buffer.from("e=invalid-proof")));
    expect(e.message).toMatch(/invalid-proof/);
  });

  it("rejects malformed server-first messages, m= and bad iteration counts, but accepts i=1", async () => {
    for (const bad of [
      "garbage",
      "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==",
      "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
      "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-5",
      "r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999",
      "r=rOprNGfwEbeRWgbNEkqOx,s=!!!,i=4096",
      "m=ext,r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    ]) {
      await expectAuthFailure(start().respond(Buffer.from(bad)));
    }
    const ok = await start().respond(Buffer.from("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1"));
    expect(text(ok)).toMatch(/^c=biws,r=rOprNGfwEbeRWgbNEkqOx,p=/);
  });

  it("escapes the user name and puts the authzid in the GS2 header", () => {
    const x = SCRAM_SHA_256.start(creds({ user: "a=b,c", password: "p", authorizationIdentity: "x,y" }), { nonce: () => "N" });
    expect(text(x.initialResponse)).toBe("n,a=x=2Cy,n=a=3Db=2Cc,r=N");
  });

  it("refuses control characters in the password and an injected nonce with a comma", async () => {
    await expectAuthFailure(() => SCRAM_SHA_256.start(creds({ user: "u", password: "a\u0007b" })));
    await expectAuthFailure(() => SCRAM_SHA_256.start(creds({ user: "u", password: "p" }), { nonce: () => "a,b" }));
  });
});

describe("saslPrep (RFC 4013)", () => {
  it("follows the RFC 4013 §3 examples", () => {
    expect(saslPrep("I\u00adX")).toBe("IX");
    expect(saslPrep("user")).toBe("user");
    expect(saslPrep("USER")).toBe("USER");
    expect(saslPrep("\u00aa")).toBe("a");
    expect(saslPrep("\u2168")).toBe("IX");
    expect(() => saslPrep("\u0007")).toThrow(/U\+0007/);
    // Example 7 is the bidi rule, which is not implemented (documented).
  });

  it("maps non-ASCII spaces to SPACE and rejects private use and lone surrogates", () => {
    expect(saslPrep("a\u00a0b\u3000c")).toBe("a b c");
    expect(() => saslPrep("\ue000")).toThrow();
    expect(() => saslPrep("\ud800")).toThrow();
    expect(() => saslPrep("\u200e")).toThrow();
  });
});

// ---------------------------------------------------------------------------
// An independent SCRAM-SHA-256 server (RFC 5802 §3 / §5), written from the RFC
// for the property test: it stores only salt, iterations, StoredKey, ServerKey.

interface StoredCredentials {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

const hmac = (key: Buffer, data: string): Buffer => createHmac("sha256", key).update(data).digest();

function register(password: string, iterations: number): StoredCredentials {
  const salt = randomBytes(16);
  // The test generator avoids characters SASLprep maps or prohibits, so NFKC is the whole of it.
  const salted = pbkdf2Sync(Buffer.from(password.normalize("NFKC"), "utf8"), salt, iterations, 32, "sha256");
  return {
    salt,
    iterations,
    storedKey: createHash("sha256").update(hmac(salted, "Client Key")).digest(),
    serverKey: hmac(salted, "Server Key"),
  };
}

function unescapeName(s: string): string {
  return s.replace(/=2C|=3D/g, (m) => (m === "=2C" ? "," : "="));
}

/** Runs one conversation; returns what the server concluded and the client's outcome. */
async function converse(user: string, password: string, stored: StoredCredentials): Promise<{ serverAccepted: boolean; clientOk: boolean; error?: unknown }> {
  const x = SCRAM_SHA_256.start(creds({ user, password }));
  const clientFirst = text(x.initialResponse);
  const m = /^n,,(n=([^,]*),r=([^,]+))$/.exec(clientFirst);
  if (!m) throw new Error(`bad client-first ${clientFirst}`);
  const [, clientFirstBare = "", name = "", clientNonce = ""] = m;
  expect(unescapeName(name)).toBe(user.normalize("NFKC"));

  const serverFirst = `r=${clientNonce}${randomBytes(12).toString("base64")},s=${stored.salt.toString("base64")},i=${stored.iterations}`;
  const clientFinal = text(await x.respond(Buffer.from(serverFirst)));
  const f = /^(c=([^,]*),r=([^,]*)),p=([^,]*)$/.exec(clientFinal);
  if (!f) throw new Error(`bad client-final ${clientFinal}`);
  const [, withoutProof = "", cb = "", nonce = "", proofB64 = ""] = f;
  expect(cb).toBe(Buffer.from("n,,").toString("base64"));
  expect(serverFirst.startsWith(`r=${nonce},`)).toBe(true);

  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = hmac(stored.storedKey, authMessage);
  const proof = Buffer.from(proofB64, "base64");
  const clientKey = Buffer.from(proof.map((b, i) => b ^ (signature[i] ?? 0)));
  const serverAccepted = proof.length === 32 && timingSafeEqual(createHash("sha256").update(clientKey).digest(), stored.storedKey);

  const serverFinal = serverAccepted ? `v=${hmac(stored.serverKey, authMessage).toString("base64")}` : "e=invalid-proof";
  try {
    await x.respond(Buffer.from(serverFinal));
    x.finish();
    return { serverAccepted, clientOk: true };
  } catch (error) {
    return { serverAccepted, clientOk: false, error };
  }
}

describe("SCRAM-SHA-256 against an independent server (property)", () => {
  // Printable ASCII (with "=" and ",") plus letters whose NFKC form differs or that are multi-byte.
  const unit = fc.oneof(
    fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
    fc.constantFrom(" ", "é", "ß", "Å", "\u212b", "\ufb01", "\u2168", "漢", "😀", "ｱ", "Ω"),
  );
  const str = fc.string({ unit, minLength: 1, maxLength: 24 });

  it("authenticates with the right password and is refused with a wrong one", async () => {
    await fc.assert(
      fc.asyncProperty(str, str, fc.integer({ min: 1, max: 512 }), async (user, password, iterations) => {
        const stored = register(password, iterations);
        const good = await converse(user, password, stored);
        expect(good).toEqual({ serverAccepted: true, clientOk: true });

        const bad = await converse(user, `${password}!`, stored);
        expect(bad.serverAccepted).toBe(false);
        expect(bad.clientOk).toBe(false);
        expect(bad.error).toBeInstanceOf(SmtpError);
        expect((bad.error as SmtpError).code).toBe(ErrorCode.Auth);
      }),
      { numRuns: 60 },
    );
  });
});

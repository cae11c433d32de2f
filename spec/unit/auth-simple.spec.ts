import { describe, it, expect } from "vitest";
import { creds, expectAuthFailure as authFailure } from "../support/sasl.js";
import { PLAIN } from "../../src/auth/plain.js";
import { LOGIN } from "../../src/auth/login.js";
import { CRAM_MD5 } from "../../src/auth/cram-md5.js";
import { XOAUTH2 } from "../../src/auth/xoauth2.js";
import { OAUTHBEARER } from "../../src/auth/oauthbearer.js";
import { oauthErrorOf } from "../../src/auth/oauth-error.js";

describe("PLAIN (RFC 4616)", () => {
  it("sends authzid NUL authcid NUL passwd as the initial response", () => {
    const x = PLAIN.start(creds({ user: "tim", password: "tanstaaftanstaaf" }));
    expect(x.initialResponse).toEqual(Buffer.from("\0tim\0tanstaaftanstaaf"));
    const z = PLAIN.start(creds({ user: "Kurt", password: "xipj3plmq", authorizationIdentity: "Ursel" }));
    expect(z.initialResponse?.toString("base64")).toBe(Buffer.from("Ursel\0Kurt\0xipj3plmq").toString("base64"));
  });

  it("encodes UTF-8", () => {
    const x = PLAIN.start(creds({ user: "jörg", password: "pässwörd" }));
    expect(x.initialResponse?.toString("hex")).toBe("006ac3b672670070c3a4737377c3b67264");
  });

  it("answers one empty challenge (initial response ignored) and refuses anything else", async () => {
    const x = PLAIN.start(creds({ user: "u", password: "p" }));
    expect(await x.respond(Buffer.alloc(0))).toEqual(Buffer.from("\0u\0p"));
    await authFailure(x.respond(Buffer.alloc(0)));
    await authFailure(PLAIN.start(creds({ user: "u", password: "p" })).respond(Buffer.from("what?")));
  });

  it("refuses NUL inside a field", async () => {
    await authFailure(() => PLAIN.start(creds({ user: "a\0b", password: "p" })));
  });
});

describe("LOGIN", () => {
  it("has no initial response and answers user, then password, whatever the prompt says", async () => {
    const x = LOGIN.start(creds({ user: "jörg", password: "s3cret" }));
    expect(x.initialResponse).toBeUndefined();
    // aiosmtpd's prompt: "User Name\0"
    expect(await x.respond(Buffer.from("VXNlciBOYW1lAA==", "base64"))).toEqual(Buffer.from("jörg", "utf8"));
    expect(await x.respond(Buffer.from("Password:"))).toEqual(Buffer.from("s3cret"));
    x.finish();
  });

  it("does not match the prompt text (a prompt that looks like 'Password' first still gets the user)", async () => {
    const x = LOGIN.start(creds({ user: "u", password: "p" }));
    expect((await x.respond(Buffer.from("Password:"))).toString()).toBe("u");
    expect((await x.respond(Buffer.from("Username:"))).toString()).toBe("p");
  });

  it("rejects a third challenge with code 620", async () => {
    const x = LOGIN.start(creds({ user: "u", password: "p" }));
    await x.respond(Buffer.from("Username:"));
    await x.respond(Buffer.from("Password:"));
    const e = await authFailure(x.respond(Buffer.from("Password:")));
    expect(e.message).toMatch(/third challenge/);
  });
});

describe("CRAM-MD5 (RFC 2195)", () => {
  it("reproduces the RFC 2195 example", async () => {
    const x = CRAM_MD5.start(creds({ user: "tim", password: "tanstaaftanstaaf" }));
    expect(x.initialResponse).toBeUndefined();
    const challenge = Buffer.from("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+", "base64");
    expect(challenge.toString()).toBe("<1896.697170952@postoffice.reston.mci.net>");
    const answer = await x.respond(challenge);
    expect(answer.toString()).toBe("tim b913a602c7eda7a495b4e6e7334d3890");
    expect(answer.toString("base64")).toBe("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
  });

  it("refuses an empty or a second challenge", async () => {
    await authFailure(CRAM_MD5.start(creds({ user: "u", password: "p" })).respond(Buffer.alloc(0)));
    const x = CRAM_MD5.start(creds({ user: "u", password: "p" }));
    await x.respond(Buffer.from("<1@x>"));
    await authFailure(x.respond(Buffer.from("<2@x>")));
  });
});

describe("XOAUTH2", () => {
  it("sends user=..^Aauth=Bearer ..^A^A as the initial response", () => {
    const x = XOAUTH2.start(creds({ user: "someuser@example.com", token: "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg" }));
    expect(x.initialResponse?.toString("base64")).toBe(
      "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==",
    );
    expect(x.lastError).toBeUndefined();
  });

  it("answers an error challenge with an empty response and exposes the status", async () => {
    const x = XOAUTH2.start(creds({ user: "u@example.com", token: "t" }));
    const json = Buffer.from('{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}');
    expect(await x.respond(json)).toEqual(Buffer.alloc(0));
    expect(x.lastError).toEqual({ status: "401", schemes: "bearer", scope: "https://mail.google.com/", raw: json.toString() });
    await authFailure(x.respond(json));
  });

  it("keeps a non-JSON challenge as raw text with an empty status", async () => {
    const x = XOAUTH2.start(creds({ user: "u", token: "t" }));
    expect(await x.respond(Buffer.from("nope"))).toEqual(Buffer.alloc(0));
    expect(x.lastError).toEqual({ status: "", raw: "nope" });
  });

  it("needs a token and refuses ^A in fields", async () => {
    await authFailure(() => XOAUTH2.start(creds({ user: "u" })));
    await authFailure(() => XOAUTH2.start(creds({ user: "u\x01auth=x", token: "t" })));
  });
});

describe("OAUTHBEARER (RFC 7628)", () => {
  it("sends the RFC 7628 §4.1 message format", () => {
    const x = OAUTHBEARER.start(creds({ user: "user@example.com", token: "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", host: "server.example.com", port: 143 }));
    expect(x.initialResponse?.toString()).toBe(
      "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01",
    );
    // The base64 form printed in RFC 7628 §4.1.
    expect(x.initialResponse?.toString("base64")).toBe(
      "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB",
    );
  });

  it("escapes '=' and ',' in the authzid and omits unknown host/port", () => {
    const x = OAUTHBEARER.start(creds({ user: "a=b,c", token: "T" }));
    expect(x.initialResponse?.toString()).toBe("n,a=a=3Db=2Cc,\x01auth=Bearer T\x01\x01");
  });

  it("answers the error JSON with a single ^A (RFC 7628 §3.2.3) and exposes it", async () => {
    const x = OAUTHBEARER.start(creds({ user: "u", token: "t", host: "h", port: 587 }));
    const json = '{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}';
    expect(await x.respond(Buffer.from(json))).toEqual(Buffer.from([0x01]));
    expect(x.lastError?.status).toBe("invalid_token");
    expect(x.lastError?.scope).toBe("example_scope");
    expect(x.lastError?.openidConfiguration).toBe("https://example.com/.well-known/openid-configuration");
  });
});

describe("oauthErrorOf", () => {
  it("reads lastError from a token exchange and undefined from others", async () => {
    const x = XOAUTH2.start(creds({ user: "u", token: "t" }));
    expect(oauthErrorOf(x)).toBeUndefined();
    await x.respond(Buffer.from('{"status":"401"}'));
    expect(oauthErrorOf(x)?.status).toBe("401");
    expect(oauthErrorOf(PLAIN.start(creds({ user: "u", password: "p" })))).toBeUndefined();
  });
});

import { describe, it, expect } from "vitest";
import { createHash } from "node:crypto";
import { SmtpError } from "../../src/errors.js";
import { creds, expectAuthFailure } from "../support/sasl.js";
import { DIGEST_MD5, computeDigestMd5, parseDirectives } from "../../src/auth/digest-md5.js";

const RFC_CHALLENGE = 'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8';

/** RFC 2831 §2.1.2.1 written out independently: hex(KD(hex(H(A1)), nonce:nc:cnonce:qop:hex(H(A2)))). */
function md5(...parts: (string | Buffer)[]): Buffer {
  const h = createHash("md5");
  for (const p of parts) h.update(p);
  return h.digest();
}
function expected(user: string, realm: string, pass: string, nonce: string, cnonce: string, uri: string, a2prefix: string): string {
  const ha1 = md5(md5(`${user}:${realm}:${pass}`), `:${nonce}:${cnonce}`).toString("hex");
  return md5(`${ha1}:${nonce}:00000001:${cnonce}:auth:${md5(`${a2prefix}:${uri}`).toString("hex")}`).toString("hex");
}

describe("DIGEST-MD5 (RFC 2831)", () => {
  it("reproduces the RFC 2831 §4 example response and rspauth", () => {
    const r = computeDigestMd5({
      user: "chris", realm: "elwood.innosoft.com", password: "secret", nonce: "OA6MG9tEQGm2hh", cnonce: "OA6MHXh6VqTrRk",
      nc: "00000001", digestUri: "imap/elwood.innosoft.com", authzid: "", utf8: true,
    });
    expect(r.response).toBe("d388dad90d4bbd760a152321f2143af7");
    expect(r.rspauth).toBe("ea40f60335c427b5527b84dbabcdfffd");
  });

  it("runs the RFC example exchange with digest-uri smtp/<host> and verifies rspauth", async () => {
    const x = DIGEST_MD5.start(creds({ user: "chris", password: "secret", host: "elwood.innosoft.com" }), { nonce: () => "OA6MHXh6VqTrRk" });
    expect(x.initialResponse).toBeUndefined();
    const answer = (await x.respond(Buffer.from(RFC_CHALLENGE))).toString();
    const uri = "smtp/elwood.innosoft.com";
    const response = expected("chris", "elwood.innosoft.com", "secret", "OA6MG9tEQGm2hh", "OA6MHXh6VqTrRk", uri, "AUTHENTICATE");
    expect(answer).toBe(
      `charset=utf-8,username="chris",realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",nc=00000001,cnonce="OA6MHXh6VqTrRk",digest-uri="${uri}",response=${response},qop=auth`,
    );
    const rspauth = expected("chris", "elwood.innosoft.com", "secret", "OA6MG9tEQGm2hh", "OA6MHXh6VqTrRk", uri, "");
    expect(await x.respond(Buffer.from(`rspauth=${rspauth}`))).toEqual(Buffer.alloc(0));
    expect(() => x.finish()).not.toThrow();
  });

  it("rejects a wrong rspauth with code 620", async () => {
    const x = DIGEST_MD5.start(creds({ user: "chris", password: "secret", host: "elwood.innosoft.com" }), { nonce: () => "OA6MHXh6VqTrRk" });
    await x.respond(Buffer.from(RFC_CHALLENGE));
    // The RFC's rspauth belongs to digest-uri imap/..., not smtp/...: must not verify.
    const e = await expectAuthFailure(x.respond(Buffer.from("rspauth=ea40f60335c427b5527b84dbabcdfffd")));
    expect(e.message).toMatch(/rspauth/);
    expect(() => x.finish()).toThrow(SmtpError);
  });

  it("finish() throws when the server never sent rspauth", async () => {
    const x = DIGEST_MD5.start(creds({ user: "chris", password: "secret", host: "h" }));
    await x.respond(Buffer.from(RFC_CHALLENGE));
    await expectAuthFailure(() => x.finish());
  });

  it("omits realm when none is offered, uses the first of several, and sends authzid", async () => {
    const none = DIGEST_MD5.start(creds({ user: "u", password: "p", host: "mx" }), { nonce: () => "c" });
    expect((await none.respond(Buffer.from('nonce="n",qop="auth",algorithm=md5-sess'))).toString()).not.toMatch(/realm=/);
    const two = DIGEST_MD5.start(creds({ user: "u", password: "p", host: "mx", authorizationIdentity: "boss" }), { nonce: () => "c" });
    const a = (await two.respond(Buffer.from('realm="one",realm="two",nonce="n",algorithm=md5-sess'))).toString();
    expect(a).toMatch(/realm="one"/);
    expect(a).toMatch(/authzid="boss"$/);
    expect(a).not.toMatch(/charset/);
  });

  it("quotes user names with quotes and backslashes", async () => {
    const x = DIGEST_MD5.start(creds({ user: 'a"b\\c', password: "p", host: "mx" }), { nonce: () => "c" });
    expect((await x.respond(Buffer.from('nonce="n"'))).toString()).toMatch(/^username="a\\"b\\\\c",/);
  });

  it("refuses challenges without nonce, without qop=auth, with another algorithm, or with a duplicate nonce", async () => {
    const start = () => DIGEST_MD5.start(creds({ user: "u", password: "p", host: "mx" }));
    await expectAuthFailure(start().respond(Buffer.from('realm="r",algorithm=md5-sess')));
    await expectAuthFailure(start().respond(Buffer.from('nonce="n",qop="auth-int,auth-conf",algorithm=md5-sess')));
    await expectAuthFailure(start().respond(Buffer.from('nonce="n",algorithm=md5')));
    await expectAuthFailure(start().respond(Buffer.from('nonce="n",nonce="m",algorithm=md5-sess')));
  });

  it("needs UTF-8 from the server for non-Latin-1 credentials", async () => {
    const x = DIGEST_MD5.start(creds({ user: "ユーザー", password: "p", host: "mx" }));
    await expectAuthFailure(x.respond(Buffer.from('nonce="n",algorithm=md5-sess')));
  });
});

describe("parseDirectives", () => {
  it("handles quoted strings with escapes and commas, spaces and empty elements", () => {
    expect(parseDirectives(' realm = "a,b" , ,nonce="x\\"y\\\\z",qop="auth,auth-int" ,, Stale=true')).toEqual([
      { name: "realm", value: "a,b" },
      { name: "nonce", value: 'x"y\\z' },
      { name: "qop", value: "auth,auth-int" },
      { name: "stale", value: "true" },
    ]);
  });

  it("throws on malformed input", () => {
    for (const bad of ['nonce="unterminated', "nonce", "=x", 'nonce="a"b', "a=b c=d"]) {
      expect(() => parseDirectives(bad), bad).toThrow(SmtpError);
    }
  });
});

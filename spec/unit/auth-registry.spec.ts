import { describe, it, expect } from "vitest";
import { MECHANISMS, chooseMechanism, cleartextPasswordMechanisms, mechanismByName } from "../../src/auth/registry.js";

const ALL = ["LOGIN", "PLAIN", "NTLM", "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256", "XOAUTH2", "OAUTHBEARER"];
const pick = (offered: readonly string[], hasToken = false, allowCleartext = true, hasPassword?: boolean): string | undefined =>
  chooseMechanism(offered, { hasToken, allowCleartext, ...(hasPassword === undefined ? {} : { hasPassword }) })?.name;

describe("MECHANISMS", () => {
  it("holds every mechanism under its upper-case name, with the documented properties", () => {
    expect([...MECHANISMS.keys()].sort()).toEqual([...ALL].sort());
    for (const [name, m] of MECHANISMS) expect(m.name).toBe(name);
    const cleartext = [...MECHANISMS.values()].filter((m) => m.cleartext).map((m) => m.name).sort();
    expect(cleartext).toEqual(["LOGIN", "OAUTHBEARER", "PLAIN", "XOAUTH2"]);
    const token = [...MECHANISMS.values()].filter((m) => m.usesToken).map((m) => m.name).sort();
    expect(token).toEqual(["OAUTHBEARER", "XOAUTH2"]);
    expect(mechanismByName(" scram-sha-256 ")?.name).toBe("SCRAM-SHA-256");
    expect(mechanismByName("GSSAPI")).toBeUndefined();
  });
});

describe("chooseMechanism", () => {
  it("orders password mechanisms SCRAM-SHA-256 > SCRAM-SHA-1 > DIGEST-MD5 > CRAM-MD5 > NTLM > PLAIN > LOGIN", () => {
    const order = ["SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5", "CRAM-MD5", "NTLM", "PLAIN", "LOGIN"];
    for (let i = 0; i < order.length; i++) {
      // Offer the remaining ones in reverse so the position in the list cannot matter.
      expect(pick([...order.slice(i)].reverse())).toBe(order[i]);
    }
  });

  it("matches names case-insensitively and ignores unknown ones", () => {
    expect(pick(["gssapi", "login", "plain", "X-UNKNOWN"])).toBe("PLAIN");
    expect(pick(["GSSAPI"])).toBeUndefined();
    expect(pick([])).toBeUndefined();
  });

  it("uses token mechanisms only with a token, and then prefers them (OAUTHBEARER over XOAUTH2)", () => {
    expect(pick(ALL)).toBe("SCRAM-SHA-256");
    expect(pick(["XOAUTH2", "OAUTHBEARER"])).toBeUndefined();
    expect(pick(ALL, true)).toBe("OAUTHBEARER");
    expect(pick(["LOGIN", "PLAIN", "XOAUTH2", "SCRAM-SHA-256"], true)).toBe("XOAUTH2");
    // A token but no token mechanism offered: password mechanisms remain, unless there is no password.
    expect(pick(["PLAIN", "CRAM-MD5"], true)).toBe("CRAM-MD5");
    expect(pick(["PLAIN", "CRAM-MD5"], true, true, false)).toBeUndefined();
  });

  it("excludes cleartext mechanisms (also bearer tokens) when cleartext is not allowed", () => {
    expect(pick(["PLAIN", "LOGIN"], false, false)).toBeUndefined();
    expect(pick(["PLAIN", "LOGIN", "CRAM-MD5"], false, false)).toBe("CRAM-MD5");
    expect(pick(["PLAIN", "XOAUTH2", "OAUTHBEARER"], true, false)).toBeUndefined();
    expect(pick(["PLAIN", "XOAUTH2", "NTLM"], true, false)).toBe("NTLM");
  });

  it("lists the offered cleartext mechanisms once each", () => {
    expect(cleartextPasswordMechanisms(["plain", "PLAIN", "CRAM-MD5", "LOGIN", "XOAUTH2"]).map((m) => m.name)).toEqual(["PLAIN", "LOGIN", "XOAUTH2"]);
  });
});

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { PropertyStore } from "../../src/schema/property-store.js";
import { PROPERTIES, COLLECTIONS } from "../../src/schema/properties.js";
import { SETTINGS } from "../../src/schema/settings.js";
import { Smtp } from "../../src/index.js";
import { SmtpError } from "../../src/errors.js";

function store(connected = false): PropertyStore {
  return new PropertyStore({ isConnected: () => connected });
}

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SmtpError);
    return (e as SmtpError).code;
  }
  return undefined;
}

describe("schema tables", () => {
  it("have unique names and defaults that pass their own validation", () => {
    const names = PROPERTIES.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    const s = store();
    for (const p of PROPERTIES) expect(s.get(p.name)).toBe(p.default);
    for (const set of SETTINGS) expect(s.setting(set.name)).toBe(set.default);
  });

  it("every property, collection field and count has its accessors on Smtp", () => {
    const smtp = new Smtp() as unknown as Record<string, unknown>;
    for (const p of PROPERTIES) {
      if (!("writeOnly" in p)) expect(typeof smtp[`get${p.name}`]).toBe("function");
      if (!("readOnly" in p)) expect(typeof smtp[`set${p.name}`]).toBe("function");
      else expect(smtp[`set${p.name}`]).toBeUndefined();
    }
    for (const c of COLLECTIONS) {
      expect(typeof smtp[`get${c.item}Count`]).toBe("function");
      for (const f of c.fields) expect(typeof smtp[`get${c.item}${f.name}`]).toBe("function");
      expect(Array.isArray(smtp[c.js])).toBe(true);
    }
  });
});

describe("PropertyStore validation", () => {
  it("refuses out-of-range ints and enums with code 601", () => {
    const s = store();
    expect(codeOf(() => s.set("MailPort", 0))).toBe(601);
    expect(codeOf(() => s.set("MailPort", 70000))).toBe(601);
    expect(codeOf(() => s.set("MailPort", 25.5))).toBe(601);
    expect(codeOf(() => s.set("Importance", 4))).toBe(601);
    expect(codeOf(() => s.set("Timeout", -1))).toBe(601);
    s.set("MailPort", 587);
    expect(s.get("MailPort")).toBe(587);
  });

  it("refuses CR or LF in single-line strings with code 602, for any position", () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom("\r", "\n", "\r\n"), fc.string(), (a, brk, b) => {
        const s = store();
        expect(codeOf(() => s.set("Subject", a + brk + b))).toBe(602);
        expect(codeOf(() => s.set("SendTo", a + brk + b))).toBe(602);
      }),
    );
  });

  it("refuses read-only writes (610) and server changes while connected (612)", () => {
    expect(codeOf(() => store().set("LastReply", "x"))).toBe(610);
    expect(codeOf(() => store(true).set("MailServer", "other"))).toBe(612);
    expect(codeOf(() => store(false).set("MailServer", "other"))).toBeUndefined();
  });

  it("sizes collections and checks indexes (609)", () => {
    const s = store();
    s.setCount("MessageRecipients", 2);
    s.setField("MessageRecipients", 1, "Address", "b@example.test");
    expect(s.getField("MessageRecipients", 1, "Address")).toBe("b@example.test");
    expect(s.getField("MessageRecipients", 0, "Type")).toBe(0);
    expect(codeOf(() => s.getField("MessageRecipients", 2, "Address"))).toBe(609);
    expect(codeOf(() => s.setField("MessageRecipients", 0, "Type", 3))).toBe(601);
    expect(codeOf(() => s.setCount("MessageHeaders", 1))).toBe(610);
  });

  it("resetHeaders clears the message but keeps the server", () => {
    const s = store();
    s.set("MailServer", "mx.example.test");
    s.set("Subject", "hello");
    s.setCount("MessageRecipients", 1);
    s.resetHeaders();
    expect(s.get("Subject")).toBe("");
    expect(s.count("MessageRecipients")).toBe(0);
    expect(s.get("MailServer")).toBe("mx.example.test");
  });
});

describe("config()", () => {
  it("sets and reads settings by case-insensitive name", () => {
    const s = store();
    expect(s.config("StopOnToErrors")).toBe("true");
    expect(s.config("stoponTOerrors=false")).toBe("");
    expect(s.config("StopOnToErrors")).toBe("false");
    s.config("MaxHeaderLength=120");
    expect(s.config("MaxHeaderLength")).toBe("120");
    s.config("Hello=client.example.test");
    expect(s.setting("Hello")).toBe("client.example.test");
  });

  it("keeps everything after the first '=' as the value", () => {
    const s = store();
    s.config("OtherHeaders=X-Test: a=b");
    expect(s.get("OtherHeaders")).toBe("X-Test: a=b");
    expect(s.config("OtherHeaders")).toBe("X-Test: a=b");
  });

  it("mirrors settings that alias properties", () => {
    const s = store();
    s.config("ReturnPath=bounce@example.test");
    expect(s.get("ReturnPath")).toBe("bounce@example.test");
  });

  it("refuses unknown names (603) and bad values (601 / 602)", () => {
    const s = store();
    expect(codeOf(() => s.config("NoSuchSetting=1"))).toBe(603);
    expect(codeOf(() => s.config("NoSuchSetting"))).toBe(603);
    expect(codeOf(() => s.config("AllowEmptyTo=maybe"))).toBe(601);
    expect(codeOf(() => s.config("MaxHeaderLength=5"))).toBe(601);
    expect(codeOf(() => s.config("Hello=a\r\nMAIL FROM:<x@y>"))).toBe(602);
    expect(codeOf(() => s.config("OtherHeaders=X-A: 1\r\n\r\nbody"))).toBe(602);
  });
});

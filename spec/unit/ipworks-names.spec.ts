/**
 * Walks the IP*Works SMTP / SSMTP name lists (spec/fixtures/ipworks-names.json, copied from the
 * vendor's pages) and fails when a name is missing: properties (getX / setX or camelCase),
 * methods (camelCase), events (EVENT_NAMES), config settings (config("Name") does not throw 603),
 * and the exported classes. The S/MIME names still being built are listed as pending; the pending
 * list must be exactly the set still missing, so it fails too when one lands and the list is stale.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as api from "../../src/index.js";
import { Smtp } from "../../src/index.js";
import { SmtpError } from "../../src/errors.js";
import { EVENT_NAMES } from "../../src/events.js";
import { noEffectNotice, PropertyStore } from "../../src/schema/property-store.js";
import { PROPERTIES } from "../../src/schema/properties.js";
import { SETTINGS } from "../../src/schema/settings.js";
import { CERT_STORE_TYPES } from "../../src/transport/cert-store-types.js";

type Kind = "properties" | "methods" | "events" | "config";
const KINDS: readonly Kind[] = ["properties", "methods", "events", "config"];

interface Fixture {
  lists: Record<string, Record<Kind, string[]>>;
  classes: string[];
  pending: Record<Kind | "classes", string[]>;
}

const fixture = JSON.parse(readFileSync(new URL("../fixtures/ipworks-names.json", import.meta.url), "utf8")) as Fixture;

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

function members(): Record<string, unknown> {
  return new Smtp() as unknown as Record<string, unknown>;
}

function isFunction(o: Record<string, unknown>, key: string): boolean {
  return typeof o[key] === "function";
}

/** The IP*Works spelling itself: getX / setX for a property, the camelCase method, the event, the config name. */
function exact(kind: Kind, name: string): boolean {
  const smtp = members();
  switch (kind) {
    case "properties":
      return isFunction(smtp, `get${name}`) || isFunction(smtp, `set${name}`);
    case "methods":
      return isFunction(smtp, lowerFirst(name));
    case "events":
      return (EVENT_NAMES as readonly string[]).includes(name);
    case "config":
      try {
        (smtp as unknown as Smtp).config(name);
        return true;
      } catch (e) {
        if (e instanceof SmtpError && e.code === 603) return false;
        throw e;
      }
  }
}

/** Any shape a port can use: for properties also the camelCase property (messageHeaders for MessageHeaders). */
function present(kind: Kind, name: string): boolean {
  if (exact(kind, name)) return true;
  return kind === "properties" && lowerFirst(name) in members();
}

const exported = (name: string): boolean => name in api;

describe("IP*Works name lists", () => {
  const lists = Object.entries(fixture.lists);

  it("every listed name exists, except exactly the pending ones", () => {
    const missing: Record<Kind | "classes", string[]> = { properties: [], methods: [], events: [], config: [], classes: [] };
    for (const [, list] of lists) {
      for (const kind of KINDS) for (const name of list[kind]) if (!present(kind, name) && !missing[kind].includes(name)) missing[kind].push(name);
    }
    missing.classes = fixture.classes.filter((c) => !exported(c));
    const sorted = (o: Record<string, string[]>): Record<string, string[]> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, [...v].sort()]));
    const { why: _why, ...pending } = fixture.pending as Record<string, string[]> & { why?: unknown };
    // Not missing and not pending: a regression. Pending but present: the list is stale.
    expect(sorted(missing)).toEqual(sorted(pending));
  });

  it("prints the coverage (exact IP*Works names, and any shape)", () => {
    const lines: string[] = [];
    for (const [title, list] of lists) {
      const parts = KINDS.filter((k) => list[k].length > 0).map((kind) => {
        const names = list[kind];
        const e = names.filter((n) => exact(kind, n)).length;
        const a = names.filter((n) => present(kind, n)).length;
        const pct = (n: number): string => `${Math.round((100 * n) / names.length)} %`;
        return `${kind} ${pct(e)} exact (${e}/${names.length})${a !== e ? `, ${pct(a)} any shape` : ""}`;
      });
      lines.push(`${title}: ${parts.join("; ")}`);
    }
    const union = Object.fromEntries(KINDS.map((k) => [k, [...new Set(lists.flatMap(([, l]) => l[k]))]])) as Record<Kind, string[]>;
    lines.push(`all lists, each name once: ${KINDS.map((kind) => {
      const names = union[kind];
      const e = names.filter((n) => exact(kind, n)).length;
      return `${kind} ${Math.round((100 * e) / names.length)} % exact (${e}/${names.length})`;
    }).join("; ")}`);
    console.log(`IP*Works name coverage\n  ${lines.join("\n  ")}`);
    expect(lines.length).toBe(lists.length + 1);
  });
});

describe("names added for issue 16", () => {
  it("config() sets the properties 003 also lists as settings, and reads them back", () => {
    const smtp = new Smtp();
    smtp.config("FirewallHost=proxy.example");
    smtp.config("firewallport=3128");
    smtp.config("FirewallType=1");
    smtp.config("FirewallUser=u");
    smtp.config("FirewallPassword=p");
    smtp.config("FirewallAutoDetect=true");
    smtp.config("LocalHost=127.0.0.1");
    expect([smtp.getFirewallHost(), smtp.getFirewallPort(), smtp.getFirewallType(), smtp.getFirewallUser(), smtp.getFirewallPassword()])
      .toEqual(["proxy.example", 3128, 1, "u", "p"]);
    expect(smtp.firewallAutoDetect).toBe(true);
    expect(smtp.localHost).toBe("127.0.0.1");
    smtp.setFirewallHost("other.example");
    expect(smtp.config("FirewallHost")).toBe("other.example");
    // One-line values still refuse CR / LF / NUL (602), types are still checked (601).
    for (const bad of ["a\rb", "a\nb", "a\0b"]) expect(() => smtp.config(`FirewallHost=${bad}`)).toThrow(expect.objectContaining({ code: 602 }));
    expect(() => smtp.config("FirewallPort=70000")).toThrow(expect.objectContaining({ code: 601 }));
    expect(() => smtp.config("FirewallType=7")).toThrow(expect.objectContaining({ code: 601 }));
  });

  it("the settings without effect on Node are accepted, typed, and noted once per object, without the value", () => {
    const notices: string[] = [];
    const store = new PropertyStore({ isConnected: () => false, notice: (m) => notices.push(m) });
    store.config("CodePage=65001");
    store.config("CodePage=1252");
    store.config("RecordLength=512");
    store.config("FirewallListener=true");
    store.config("CloseStreamAfterTransfer=false");
    store.config("FirewallData=X-Proxy-Auth: secret-token");
    store.set("RuntimeLicense", "LICENSE-KEY-123");
    expect(store.config("CodePage")).toBe("1252");
    expect(store.config("CloseStreamAfterTransfer")).toBe("false");
    expect(store.get("RuntimeLicense")).toBe("LICENSE-KEY-123");
    expect(notices).toEqual(["CodePage", "RecordLength", "FirewallListener", "CloseStreamAfterTransfer", "FirewallData", "RuntimeLicense"].map(noEffectNotice));
    expect(notices.join("\n")).not.toMatch(/secret|LICENSE-KEY/);
    expect(() => store.config("CodePage=x")).toThrow(expect.objectContaining({ code: 601 }));
    expect(() => store.config("FirewallData=no header line")).toThrow(SmtpError);
    expect(() => store.set("RuntimeLicense", "a\r\nb")).toThrow(expect.objectContaining({ code: 602 }));
    // Without a notice hook they wait for takeNotices(), once.
    const quiet = new PropertyStore({ isConnected: () => false });
    quiet.config("CodePage=65001");
    quiet.config("CodePage=65001");
    expect(quiet.takeNotices()).toEqual([noEffectNotice("CodePage")]);
    expect(quiet.takeNotices()).toEqual([]);
    // Every noEffect row says so in its doc.
    for (const row of [...PROPERTIES, ...SETTINGS].filter((r) => "noEffect" in r && r.noEffect)) expect(row.doc, row.name).toMatch(/no effect/);
  });

  it("setRuntimeLicense() / RuntimeLicense and doEvents()", async () => {
    const smtp = new Smtp();
    smtp.setRuntimeLicense("xyz");
    expect(smtp.getRuntimeLicense()).toBe("xyz");
    expect(smtp.runtimeLicense).toBe("xyz");
    await expect(smtp.doEvents()).resolves.toBeUndefined();
  });

  it("the SSL*Encoded names are the current properties under IP*Works' names", () => {
    const smtp = new Smtp();
    smtp.setSSLAcceptServerCertEncoded("ab:cd");
    expect(smtp.getSSLAcceptServerCert()).toBe("ab:cd");
    smtp.sslAcceptServerCert = "ef";
    expect(smtp.sslAcceptServerCertEncoded).toBe("ef");
    smtp.sslCertEncoded = "-----BEGIN CERTIFICATE-----";
    expect(smtp.getSSLCertStore()).toBe("-----BEGIN CERTIFICATE-----");
    smtp.setSSLCertStore("/path/client.pem");
    expect(smtp.getSSLCertEncoded()).toBe("/path/client.pem");
    expect(smtp.getSSLServerCertEncoded()).toBe("");
    expect(smtp.sslServerCertEncoded).toBe("");
    expect((smtp as unknown as Record<string, unknown>)["setSSLServerCertEncoded"]).toBeUndefined();
    expect(new Smtp({ sslCertEncoded: "x" }).getSSLCertStore()).toBe("x");
  });

  it("SSLCertStoreType and CertStoreType take the IP*Works values 0-20 and 99 (no 601 on set)", () => {
    const smtp = new Smtp();
    for (let n = 0; n <= 20; n++) {
      const v = n as Parameters<Smtp["setSSLCertStoreType"]>[0];
      smtp.setSSLCertStoreType(v);
      expect(smtp.getSSLCertStoreType()).toBe(v);
      smtp.setCertStoreType(v);
    }
    smtp.setSSLCertStoreType(99);
    expect(() => smtp.setSSLCertStoreType(21 as never)).toThrow(expect.objectContaining({ code: 601 }));
    expect(CERT_STORE_TYPES.filter((t) => t.value >= 8 && t.value <= 20).every((t) => !t.supported)).toBe(true);
  });
});

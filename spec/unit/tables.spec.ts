/**
 * The one-per-list tables (AuthMechanism values, FirewallType, certificate
 * store types, error codes, events, message properties) and what is derived
 * from them: the same names, numbers and choices as the copies they replaced.
 */
import { describe, expect, it } from "vitest";
import { AUTH_MECHANISM_VALUES } from "../../src/auth/mechanism-values.js";
import { MECHANISMS, mechanismForValue, valueUsesToken } from "../../src/auth/registry.js";
import { AUTH_MECHANISMS, parseAuthMechanism } from "../../src/cli/options/values.js";
import { ERROR_CODES, ErrorCode, SmtpError } from "../../src/errors.js";
import { EVENTS, EVENT_NAMES } from "../../src/events.js";
import { MESSAGE_PROPERTIES, MESSAGE_PROPERTY_BY_KEY } from "../../src/schema/message-properties.js";
import { PROPERTIES } from "../../src/schema/properties.js";
import { PropertyStore } from "../../src/schema/property-store.js";
import { CERT_STORE_TYPES, CertStoreType } from "../../src/transport/cert-store-types.js";
import { parseProxyUrl } from "../../src/transport/env-proxy.js";
import { FIREWALL_TYPES, FirewallType, defaultProxyPort } from "../../src/transport/firewall-types.js";

function failure(fn: () => unknown): SmtpError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SmtpError) return e;
    throw e;
  }
  throw new Error("expected an SmtpError");
}

function enumOf(name: string): { values: readonly string[]; extra?: Readonly<Record<number, string>> } {
  const spec = PROPERTIES.find((p) => p.name === name);
  if (!spec || spec.type !== "enum") throw new Error(`${name} is not an enum property`);
  return spec;
}

describe("AuthMechanism values", () => {
  it("number each row by its index, with the IP*Works names of the schema enum", () => {
    AUTH_MECHANISM_VALUES.forEach((m, i) => expect(m.value).toBe(i));
    expect(enumOf("AuthMechanism").values).toEqual([
      "amUserPassword", "amCRAMMD5", "amNTLM", "amAPOP", "amSASLPlain", "amSASLDigestMD5", "amKerberos", "amXOAUTH2", "amOAuthBearer", "amSCRAMSHA1", "amSCRAMSHA256", "amAutomatic",
    ]);
  });

  it("name only SASL mechanisms the registry has", () => {
    for (const m of AUTH_MECHANISM_VALUES) for (const name of m.sasl) expect(MECHANISMS.has(name), name).toBe(true);
  });

  it("pick the mechanism the value stands for among those offered", () => {
    const all = [...MECHANISMS.keys()];
    expect(mechanismForValue(0, ["LOGIN", "PLAIN"], false).name).toBe("PLAIN");
    expect(mechanismForValue(0, ["LOGIN"], false).name).toBe("LOGIN");
    expect(mechanismForValue(1, all, false).name).toBe("CRAM-MD5");
    expect(mechanismForValue(2, all, false).name).toBe("NTLM");
    expect(mechanismForValue(4, all, false).name).toBe("PLAIN");
    expect(mechanismForValue(5, all, false).name).toBe("DIGEST-MD5");
    expect(mechanismForValue(7, all, true).name).toBe("XOAUTH2");
    expect(mechanismForValue(8, all, true).name).toBe("OAUTHBEARER");
    expect(mechanismForValue(9, all, false).name).toBe("SCRAM-SHA-1");
    expect(mechanismForValue(10, all, false).name).toBe("SCRAM-SHA-256");
    expect(mechanismForValue(11, all, false).name).toBe("SCRAM-SHA-256");
    expect(mechanismForValue(11, all, true).name).toBe("OAUTHBEARER");
  });

  it("refuse 3 and 6 with 623, and what the server does not offer with 621 and its list", () => {
    expect(failure(() => mechanismForValue(3, ["PLAIN"], false))).toMatchObject({ code: ErrorCode.AuthMechanismNotApplicable, reason: "AuthMechanism 3 (APOP) is a POP3 command and does not exist in SMTP" });
    expect(failure(() => mechanismForValue(6, ["PLAIN"], false))).toMatchObject({ code: ErrorCode.AuthMechanismNotApplicable, reason: "AuthMechanism 6 (Kerberos / GSSAPI) is not supported" });
    expect(failure(() => mechanismForValue(0, ["CRAM-MD5"], false))).toMatchObject({ code: ErrorCode.AuthMechanismNotOffered, reason: "the server does not offer AUTH PLAIN or LOGIN; it offers: CRAM-MD5" });
    expect(failure(() => mechanismForValue(10, [], false))).toMatchObject({ code: ErrorCode.AuthMechanismNotOffered, reason: "the server does not offer AUTH SCRAM-SHA-256; it offers: none" });
    expect(failure(() => mechanismForValue(11, ["GSSAPI"], false))).toMatchObject({ code: ErrorCode.AuthMechanismNotOffered, reason: "no AUTH mechanism in common with the server (it offers: GSSAPI)" });
  });

  it("know which values need a token", () => {
    expect(AUTH_MECHANISM_VALUES.filter((m) => valueUsesToken(m.value)).map((m) => m.value)).toEqual([7, 8]);
  });

  it("give the CLI its --auth names", () => {
    expect(Object.fromEntries(AUTH_MECHANISMS)).toEqual({
      default: 0, "cram-md5": 1, ntlm: 2, plain: 4, "digest-md5": 5, xoauth2: 7, oauthbearer: 8, "scram-sha-1": 9, "scram-sha-256": 10, auto: 11,
    });
    const parse = (value: string): number => parseAuthMechanism({ value, source: "--auth", fromCommandLine: true });
    expect(parse("SCRAM-SHA-256")).toBe(10);
    expect(parse("amSASLPlain")).toBe(4);
    expect(parse("6")).toBe(6);
    expect(() => parse("constructor")).toThrow(/unknown AUTH mechanism/);
    expect(() => parse("12")).toThrow(expect.objectContaining({
      message: '--auth: unknown AUTH mechanism "12"',
      hint: "use one of default, cram-md5, ntlm, plain, digest-md5, xoauth2, oauthbearer, scram-sha-1, scram-sha-256, auto, or a number 0-11",
    }));
  });
});

describe("FirewallType", () => {
  it("names the values in code and in the schema enum", () => {
    expect({ ...FirewallType }).toEqual({ None: 0, Tunnel: 1, Socks4: 2, Socks5: 3, Socks4A: 10 });
    expect(enumOf("FirewallType")).toMatchObject({ values: ["fwNone", "fwTunnel", "fwSOCKS4", "fwSOCKS5"], extra: { 10: "fwSOCKS4A" } });
  });

  it("gives a tunnel port 80 and SOCKS 1080, in the store and in proxy URLs", () => {
    expect(FIREWALL_TYPES.map((t) => [t.value, defaultProxyPort(t.value)])).toEqual([[0, 0], [1, 80], [2, 1080], [3, 1080], [10, 1080]]);
    for (const [type, port] of [[1, 80], [3, 1080], [10, 1080]] as const) {
      const store = new PropertyStore({ isConnected: () => false });
      store.set("FirewallType", type);
      expect(store.number("FirewallPort")).toBe(port);
    }
    const store = new PropertyStore({ isConnected: () => false });
    store.set("FirewallPort", 3128);
    store.set("FirewallType", 1);
    expect(store.number("FirewallPort")).toBe(3128);
  });

  it("reads every proxy URL scheme", () => {
    const cases = [["http", 1, 80], ["https", 1, 80], ["socks4", 2, 1080], ["socks5", 3, 1080], ["socks5h", 3, 1080], ["socks", 3, 1080], ["socks4a", 10, 1080]] as const;
    for (const [scheme, type, port] of cases) expect(parseProxyUrl(`${scheme}://proxy.example`, "ALL_PROXY"), scheme).toMatchObject({ type, port });
    expect(failure(() => parseProxyUrl("ftp://proxy.example", "ALL_PROXY")).message).toBe('ALL_PROXY: unsupported proxy scheme "ftp" (use http, socks4, socks4a or socks5)');
  });
});

describe("certificate store types", () => {
  it("names the values in code and in both schema enums", () => {
    expect({ ...CertStoreType }).toEqual({
      User: 0, Machine: 1, PfxFile: 2, PfxBlob: 3, JksFile: 4, JksBlob: 5, PemKeyFile: 6, PemKeyBlob: 7, PublicKeyFile: 8, PublicKeyBlob: 9, SshPublicKeyBlob: 10,
      P7bFile: 11, P7bBlob: 12, SshPublicKeyFile: 13, PpkFile: 14, PpkBlob: 15, XmlFile: 16, XmlBlob: 17, JwkFile: 18, JwkBlob: 19, SecurityKey: 20, Auto: 99,
    });
    const names = {
      values: ["cstUser", "cstMachine", "cstPFXFile", "cstPFXBlob", "cstJKSFile", "cstJKSBlob", "cstPEMKeyFile", "cstPEMKeyBlob", "cstPublicKeyFile", "cstPublicKeyBlob",
        "cstSSHPublicKeyBlob", "cstP7BFile", "cstP7BBlob", "cstSSHPublicKeyFile", "cstPPKFile", "cstPPKBlob", "cstXMLFile", "cstXMLBlob", "cstJWKFile", "cstJWKBlob", "cstSecurityKey"],
      extra: { 99: "cstAuto" },
    };
    expect(enumOf("SSLCertStoreType")).toMatchObject(names);
    expect(enumOf("CertStoreType")).toMatchObject(names);
    expect(CERT_STORE_TYPES.filter((t) => t.supported).map((t) => t.value)).toEqual([2, 3, 6, 7, 99]);
  });
});

describe("error codes", () => {
  it("list each code once, in order, under the name ErrorCode gives it", () => {
    const codes = ERROR_CODES.map((e) => e.code);
    expect(codes).toEqual([...codes].sort((a, b) => a - b));
    expect(new Set(codes).size).toBe(codes.length);
    expect(Object.fromEntries(ERROR_CODES.map((e) => [e.name, e.code]))).toEqual({ ...ErrorCode });
    expect(ERROR_CODES.find((e) => e.code === 165)).toEqual({
      code: 165, name: "NoRecipient", meaning: "No recipient was given (SendTo is required unless AllowEmptyTo=true), or the server refused every recipient.", retry: "depends",
    });
  });
});

describe("events", () => {
  it("are listed once each, with a description", () => {
    expect(new Set(EVENT_NAMES).size).toBe(EVENT_NAMES.length);
    expect([...EVENT_NAMES].sort()).toEqual([
      "ConnectionStatus", "EndTransfer", "Error", "Expand", "PITrail", "QueueProgress", "RecipientStatus", "SSLServerAuthentication", "SSLStatus", "StartTransfer", "Transfer",
    ]);
    for (const e of EVENTS) expect(e.doc.length, e.name).toBeGreaterThan(0);
  });
});

describe("message properties", () => {
  it("are the ones resetHeaders() has always cleared, by IP*Works and camelCase name", () => {
    expect([...MESSAGE_PROPERTIES].sort()).toEqual([
      "AttachedFile", "BCc", "Cc", "DeliveryNotificationTo", "From", "Importance", "Message", "MessageDate", "MessageHTML", "MessageId", "MessageText",
      "OtherHeaders", "Priority", "ReadReceiptTo", "ReplyTo", "ReturnPath", "SendTo", "Sensitivity", "Subject",
    ]);
    expect(MESSAGE_PROPERTY_BY_KEY.get("bcc")).toBe("BCc");
    expect(MESSAGE_PROPERTY_BY_KEY.get("messageHTML")).toBe("MessageHTML");
    expect(MESSAGE_PROPERTY_BY_KEY.size).toBe(MESSAGE_PROPERTIES.length);
  });

  it("are cleared by resetHeaders(), the connection properties are not", () => {
    const store = new PropertyStore({ isConnected: () => false });
    store.set("Subject", "hello");
    store.set("BCc", "ann@example.com");
    store.set("MailServer", "mx.example");
    store.resetHeaders();
    expect(store.string("Subject")).toBe("");
    expect(store.string("BCc")).toBe("");
    expect(store.string("MailServer")).toBe("mx.example");
  });
});

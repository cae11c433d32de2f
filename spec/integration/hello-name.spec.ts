/**
 * The default EHLO argument (RFC 5321 §4.1.4): the host name when it is fully
 * qualified, otherwise the local address literal. Checked as a function and
 * against a real Postfix that refuses non-FQDN HELO names at EHLO time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostname } from "node:os";
import { ErrorCode, type Smtp } from "../../src/index.js";
import { addressLiteral, defaultHelloName } from "../../src/engine/session.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";
import { client, record, rejectsWith } from "../support/client.js";
import { readFixture } from "../support/tls-fixtures.js";
import { startPostfixSasl, type PostfixSaslPeer } from "../support/peers/postfix-sasl.js";

describe("defaultHelloName", () => {
  it("uses a fully qualified host name as it is (a trailing root dot dropped)", () => {
    expect(defaultHelloName("192.0.2.7", "mail.example.com")).toBe("mail.example.com");
    expect(defaultHelloName("192.0.2.7", "a.b")).toBe("a.b");
    expect(defaultHelloName("192.0.2.7", "host-1.sub.example.org.")).toBe("host-1.sub.example.org");
    expect(defaultHelloName("192.0.2.7", "xn--bcher-kva.example")).toBe("xn--bcher-kva.example");
  });

  it("falls back to the address literal for single-label names (containers, VMs)", () => {
    expect(defaultHelloName("127.0.0.1", "vm")).toBe("[127.0.0.1]");
    expect(defaultHelloName("10.0.0.5", "3f2a9c1b7d4e")).toBe("[10.0.0.5]");
    expect(defaultHelloName("::1", "localhost")).toBe("[IPv6:::1]");
    expect(defaultHelloName("192.0.2.7", "vm.")).toBe("[192.0.2.7]");
  });

  it("falls back for names that are not valid domains", () => {
    for (const host of ["my_host.example.com", "bücher.example", "-a.example.com", "a-.example.com", "a..example.com", ".example.com", "", `${"a".repeat(64)}.example.com`, `${"a.".repeat(127)}com`]) {
      expect(defaultHelloName("192.0.2.7", host), JSON.stringify(host)).toBe("[192.0.2.7]");
    }
  });

  it("falls back when the last label is all digits (an IPv4 address or a numeric TLD)", () => {
    expect(defaultHelloName("192.0.2.7", "10.1.2.3")).toBe("[192.0.2.7]");
    expect(defaultHelloName("192.0.2.7", "host.123")).toBe("[192.0.2.7]");
    expect(defaultHelloName("192.0.2.7", "host.123a")).toBe("host.123a");
  });

  it("address literals: IPv4, IPv4-mapped IPv6, IPv6 without its zone, and 127.0.0.1 when unknown", () => {
    expect(addressLiteral("198.51.100.9")).toBe("[198.51.100.9]");
    expect(addressLiteral("::ffff:198.51.100.9")).toBe("[198.51.100.9]");
    expect(addressLiteral("2001:db8::1")).toBe("[IPv6:2001:db8::1]");
    expect(addressLiteral("fe80::1%eth0")).toBe("[IPv6:fe80::1]");
    expect(addressLiteral("")).toBe("[127.0.0.1]");
  });
});

describe("Postfix with smtpd_helo_required and reject_non_fqdn_helo_hostname", () => {
  const USER = "helo";
  const PASSWORD = "helo-test-pass";
  let peer: PostfixSaslPeer;
  const clients: Smtp[] = [];

  beforeAll(async () => {
    peer = await startPostfixSasl({
      user: USER,
      password: PASSWORD,
      mechanisms: ["PLAIN"],
      tls: true,
      // smtpd_delay_reject = no: the HELO restriction answers EHLO itself, not only RCPT.
      mainCf: { smtpd_helo_required: "yes", smtpd_helo_restrictions: "reject_non_fqdn_helo_hostname", smtpd_delay_reject: "no" },
    });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((m) => m.disconnect().catch(() => undefined)));
    await peer?.stop();
  });

  function postfixClient(options: SmtpOptions = {}): Smtp {
    const m = client(peer.port, {
      user: USER,
      password: PASSWORD,
      authMechanism: 4,
      sslStartMode: 2,
      timeout: 15,
      ...options,
      settings: { SSLCACerts: readFixture("ca.pem").toString("utf8"), ...options.settings },
    });
    clients.push(m);
    return m;
  }

  it("accepts a send with the default Hello (this machine's name when qualified, else [127.0.0.1])", async () => {
    const m = postfixClient({ sendTo: "default-hello@example.test" });
    const r = record(m);
    const result = await m.send();
    expect(result.accepted).toEqual(["default-hello@example.test"]);
    const ehlo = r.sent().filter((l) => l.startsWith("EHLO "));
    expect(ehlo.length).toBeGreaterThan(0);
    expect(ehlo.every((l) => l === `EHLO ${defaultHelloName("127.0.0.1", hostname())}`)).toBe(true);
    await peer.waitForLog(/default-hello@example\.test/);
  });

  it('refuses "EHLO vm" (and the HELO fallback) when Hello is set to "vm": the check is real', async () => {
    const m = postfixClient({ sendTo: "explicit-vm@example.test", settings: { Hello: "vm" } });
    const r = record(m);
    const err = await rejectsWith(m.send(), ErrorCode.Protocol);
    expect(err.replyCode).toBe(504);
    expect(err.lastReply).toMatch(/need fully-qualified hostname/);
    expect(r.sent()).toContain("EHLO vm");
    expect(r.sent().some((l) => l.startsWith("MAIL FROM"))).toBe(false);
  });
});

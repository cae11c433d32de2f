/**
 * config DirectDelivery=true with an empty MailServer: MX lookup through
 * config DNSServers (a dns-packet responder on 127.0.0.1), mail hosts on
 * 127.0.0.1 / .2 / .3 sharing one port (DirectDeliveryPort), 127.0.0.4 with
 * nothing listening and 127.0.0.5 greeting with 421.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import { simpleParser } from "mailparser";
import { ErrorCode } from "../../src/index.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";
import { client, record, rejectsWith } from "../support/client.js";
import { startDnsResponder, type DnsResponder, type ZoneEntry } from "../support/dns-responder.js";
import { startOnSamePort, type Harness } from "../support/smtp-server-harness.js";
import type { TcpServer } from "../support/tcp-server.js";

let dns: DnsResponder;
let hosts: { close(): Promise<void> };
let port: number;
let mx1: Harness; // 127.0.0.1
let mx2: Harness; // 127.0.0.2
let mx3: Harness; // 127.0.0.3
let busy: TcpServer; // 127.0.0.5, greets with 421
let seven: Harness; // 127.0.0.6, no 8BITMIME
const DEAD = "127.0.0.4"; // nothing listens there

beforeAll(async () => {
  dns = await startDnsResponder();
  const started = await startOnSamePort([
    { kind: "smtp", host: "127.0.0.1", name: "mx1.test" },
    { kind: "smtp", host: "127.0.0.2", name: "mx2.test" },
    { kind: "smtp", host: "127.0.0.3", name: "mx3.test" },
    { kind: "greeter", host: "127.0.0.5", greeting: "421 4.3.2 mx5.test too busy, try another host" },
    { kind: "smtp", host: "127.0.0.6", name: "mx6.test", hide8BITMIME: true },
  ]);
  hosts = started;
  port = started.port;
  mx1 = started.servers[0] as Harness;
  mx2 = started.servers[1] as Harness;
  mx3 = started.servers[2] as Harness;
  busy = started.servers[3] as TcpServer;
  seven = started.servers[4] as Harness;
});

afterAll(async () => {
  await Promise.all([hosts?.close(), dns?.close()]);
});

function zone(records: Record<string, ZoneEntry>): void {
  for (const [name, entry] of Object.entries(records)) dns.zone.set(name, entry);
}

/** A direct-delivery client: no MailServer, our DNS server, our port. */
function direct(sendTo: string, options: SmtpOptions = {}) {
  return client(25, {
    mailServer: "",
    sendTo,
    timeout: 5,
    ...options,
    settings: { DirectDelivery: true, DirectDeliveryPort: port, DNSServers: dns.server, ...options.settings },
  });
}

const got = (t: Harness, rcpt: string) => t.received.filter((m) => m.rcptTo.includes(rcpt));
const counts = () => [mx1, mx2, mx3].map((t) => t.connections);

describe("a mail host without 8BITMIME", () => {
  it("gets an 8-bit message converted to 7-bit, text unchanged once decoded", async () => {
    zone({ "seven.test": { MX: [{ preference: 10, exchange: "mx.seven.test" }] }, "mx.seven.test": { A: ["127.0.0.6"] } });
    const text = "Grüße aus Köln: café, naïve, 100 €\r\n";
    const result = await direct("user@seven.test", { subject: "Grüße", messageText: text }).send();
    expect(result.accepted).toEqual(["user@seven.test"]);
    const raw = got(seven, "user@seven.test")[0]?.raw ?? Buffer.alloc(0);
    expect(raw.length).toBeGreaterThan(0);
    expect(raw.some((b) => b >= 0x80)).toBe(false);
    const parsed = await simpleParser(raw);
    expect(parsed.text?.replace(/\r?\n$/, "")).toBe(text.replace(/\r\n$/, ""));
    expect(parsed.subject).toBe("Grüße");
  });
});

describe("MX hosts", () => {
  it("lowest preference first, whatever order DNS lists them in; `host` names the MX", async () => {
    zone({
      "pref.test": { MX: [{ preference: 20, exchange: "mx-b.pref.test" }, { preference: 5, exchange: "mx-c.pref.test" }, { preference: 10, exchange: "mx-a.pref.test" }] },
      "mx-a.pref.test": { A: ["127.0.0.3"] },
      "mx-b.pref.test": { A: ["127.0.0.3"] },
      "mx-c.pref.test": { A: ["127.0.0.2"] },
    });
    const before = counts();
    const smtp = direct("user@pref.test");
    const result = await smtp.send();
    expect(result.accepted).toEqual(["user@pref.test"]);
    expect(result.recipients[0]?.host).toBe("mx-c.pref.test");
    expect(got(mx2, "user@pref.test")).toHaveLength(1);
    expect(counts()).toEqual([before[0], (before[1] ?? 0) + 1, before[2]]);
    expect(dns.queries).toContain("MX pref.test");
  });

  it("the first host refuses the connection: the next one by preference takes the message", async () => {
    zone({
      "refused.test": { MX: [{ preference: 10, exchange: "dead.refused.test" }, { preference: 20, exchange: "ok.refused.test" }] },
      "dead.refused.test": { A: [DEAD] },
      "ok.refused.test": { A: ["127.0.0.1"] },
    });
    const smtp = direct("user@refused.test");
    const r = record(smtp);
    const result = await smtp.send();
    expect(result.recipients[0]).toMatchObject({ address: "user@refused.test", accepted: true, host: "ok.refused.test" });
    expect(got(mx1, "user@refused.test")).toHaveLength(1);
    const info = r.trail.filter((t) => t.direction === 2).map((t) => t.message);
    expect(info.findIndex((m) => m.includes(`dead.refused.test (preference 10) at ${DEAD}`))).toBeLessThan(info.findIndex((m) => m.includes("ok.refused.test (preference 20) at 127.0.0.1")));
  });

  it("the first host greets with 421: the next one takes the message", async () => {
    zone({
      "busy.test": { MX: [{ preference: 10, exchange: "busy.busy.test" }, { preference: 30, exchange: "ok.busy.test" }] },
      "busy.busy.test": { A: ["127.0.0.5"] },
      "ok.busy.test": { A: ["127.0.0.3"] },
    });
    const greeted = busy.connections.length;
    const smtp = direct("user@busy.test");
    const result = await smtp.send();
    expect(busy.connections.length).toBe(greeted + 1);
    expect(result.recipients[0]?.host).toBe("ok.busy.test");
    expect(got(mx3, "user@busy.test")).toHaveLength(1);
  });

  it("an MX host with two addresses: the second is tried when the first refuses", async () => {
    zone({
      "twoaddr.test": { MX: [{ preference: 10, exchange: "mx.twoaddr.test" }] },
      "mx.twoaddr.test": { A: [DEAD, "127.0.0.2"] },
    });
    const smtp = direct("user@twoaddr.test");
    const result = await smtp.send();
    expect(result.recipients[0]?.host).toBe("mx.twoaddr.test");
    expect(got(mx2, "user@twoaddr.test")).toHaveLength(1);
  });

  it("UseIPv6=0: no AAAA lookup", async () => {
    zone({
      "v4only.test": { MX: [{ preference: 10, exchange: "mx.v4only.test" }] },
      "mx.v4only.test": { A: ["127.0.0.1"], AAAA: ["::1"] },
    });
    const smtp = direct("user@v4only.test", { settings: { UseIPv6: 0 } });
    await smtp.send();
    expect(got(mx1, "user@v4only.test")).toHaveLength(1);
    expect(dns.queries).toContain("A mx.v4only.test");
    expect(dns.queries).not.toContain("AAAA mx.v4only.test");
  });

  it("every host unreachable: the last connection error", async () => {
    zone({
      "alldead.test": { MX: [{ preference: 10, exchange: "mx.alldead.test" }] },
      "mx.alldead.test": { A: [DEAD] },
    });
    const smtp = direct("user@alldead.test");
    await rejectsWith(smtp.send(), ErrorCode.ConnectionRefused);
  });
});

describe("recipients in several domains", () => {
  it("one transaction per domain, each server gets only its domain's recipients, `host` on each result", async () => {
    zone({
      "one.test": { MX: [{ preference: 10, exchange: "mx.one.test" }] },
      "mx.one.test": { A: ["127.0.0.1"] },
      "two.test": { MX: [{ preference: 10, exchange: "mx.two.test" }] },
      "mx.two.test": { A: ["127.0.0.2"] },
    });
    const before = counts();
    const smtp = direct("a@one.test, c@two.test", { cc: "b@ONE.test" });
    const result = await smtp.send();
    expect([...result.accepted].sort()).toEqual(["a@one.test", "b@ONE.test", "c@two.test"]);
    expect(counts()).toEqual([(before[0] ?? 0) + 1, (before[1] ?? 0) + 1, before[2]]);
    const atOne = got(mx1, "a@one.test");
    const atTwo = got(mx2, "c@two.test");
    expect(atOne).toHaveLength(1);
    expect(atOne[0]?.rcptTo.sort()).toEqual(["a@one.test", "b@ONE.test"]);
    expect(atTwo).toHaveLength(1);
    expect(atTwo[0]?.rcptTo).toEqual(["c@two.test"]);
    const hostOf = Object.fromEntries(result.recipients.map((r) => [r.address, r.host]));
    expect(hostOf).toEqual({ "a@one.test": "mx.one.test", "b@ONE.test": "mx.one.test", "c@two.test": "mx.two.test" });
    // The same message (headers and body) went to both.
    expect(atOne[0]?.raw.toString("utf8")).toBe(atTwo[0]?.raw.toString("utf8"));
  });

  it("one domain fails while another succeeds: send resolves, the failed domain's recipients are rejected, Error fires", async () => {
    zone({
      "good.test": { MX: [{ preference: 10, exchange: "mx.good.test" }] },
      "mx.good.test": { A: ["127.0.0.3"] },
    });
    const smtp = direct("ok@good.test, lost1@missing-domain.test, lost2@missing-domain.test");
    const r = record(smtp);
    const result = await smtp.send();
    expect(result.accepted).toEqual(["ok@good.test"]);
    expect(result.rejected.map((x) => x.address)).toEqual(["lost1@missing-domain.test", "lost2@missing-domain.test"]);
    for (const x of result.rejected) expect(x.reply).toMatch(/missing-domain\.test/);
    expect(got(mx3, "ok@good.test")).toHaveLength(1);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ errorCode: ErrorCode.HostNotFound });
    expect(r.errors[0]?.description).toMatch(/direct delivery to missing-domain\.test failed/);
  });

  it("getRecipientResults() and RecipientStatus report the same as send(): `host` on each, the failed domain's recipients included", async () => {
    zone({
      "fine.test": { MX: [{ preference: 10, exchange: "mx.fine.test" }] },
      "mx.fine.test": { A: ["127.0.0.1"] },
    });
    const smtp = direct("ok@fine.test, lost@gone-domain.test");
    const statuses: { address: string; accepted: boolean; host?: string }[] = [];
    smtp.on("RecipientStatus", (e) => statuses.push(e));
    const result = await smtp.send();
    const brief = (list: readonly { address: string; accepted: boolean; host?: string }[]) => list.map((r) => ({ address: r.address, accepted: r.accepted, host: r.host }));
    expect(brief(result.recipients)).toEqual([
      { address: "ok@fine.test", accepted: true, host: "mx.fine.test" },
      { address: "lost@gone-domain.test", accepted: false, host: undefined },
    ]);
    expect(brief(smtp.getRecipientResults())).toEqual(brief(result.recipients));
    expect(brief(statuses)).toEqual(brief(result.recipients));
  });

  it("a nonexistent domain is a permanent failure for its recipients (not worth retrying)", async () => {
    zone({
      "stays.test": { MX: [{ preference: 10, exchange: "mx.stays.test" }] },
      "mx.stays.test": { A: ["127.0.0.2"] },
    });
    const smtp = direct("ok@stays.test, nobody@no-such-domain.test");
    const result = await smtp.send();
    expect(result.rejected.map((r) => [r.address, r.transient])).toEqual([["nobody@no-such-domain.test", false]]);
    const alone = direct("nobody@no-such-domain.test");
    const err = await rejectsWith(alone.send(), ErrorCode.HostNotFound);
    expect(err.isPermanent()).toBe(true);
  });

  it("every domain fails: the send rejects, naming them", async () => {
    const smtp = direct("a@nx-one.test, b@nx-two.test");
    const err = await rejectsWith(smtp.send(), ErrorCode.HostNotFound);
    expect(err.message).toMatch(/nx-one\.test/);
    expect(err.message).toMatch(/nx-two\.test/);
  });

  it("a stream body to two domains: a clear error before any connection", async () => {
    zone({
      "s1.test": { MX: [{ preference: 10, exchange: "mx.s1.test" }] },
      "mx.s1.test": { A: ["127.0.0.1"] },
      "s2.test": { MX: [{ preference: 10, exchange: "mx.s2.test" }] },
      "mx.s2.test": { A: ["127.0.0.2"] },
    });
    const before = counts();
    const smtp = direct("a@s1.test, b@s2.test");
    smtp.setMessageStream(Readable.from([Buffer.from("streamed body\r\n")]));
    const err = await rejectsWith(smtp.send(), ErrorCode.InvalidValue);
    expect(err.message).toMatch(/stream/);
    expect(err.message).toMatch(/MessageText/);
    expect(counts()).toEqual(before);
  });

  it("a stream body to ONE domain is fine", async () => {
    zone({
      "single.test": { MX: [{ preference: 10, exchange: "mx.single.test" }] },
      "mx.single.test": { A: ["127.0.0.1"] },
    });
    const smtp = direct("a@single.test, b@single.test");
    smtp.setMessageStream(Readable.from([Buffer.from("streamed body\r\n")]));
    await smtp.send();
    const m = got(mx1, "a@single.test");
    expect(m).toHaveLength(1);
    expect(m[0]?.raw.toString("utf8")).toContain("streamed body");
  });
});

describe("DNS answers", () => {
  it("no MX record: the domain's own A record is the mail host", async () => {
    zone({ "amx.test": { A: ["127.0.0.3"] } });
    const smtp = direct("user@amx.test");
    const result = await smtp.send();
    expect(result.recipients[0]?.host).toBe("amx.test");
    expect(got(mx3, "user@amx.test")).toHaveLength(1);
    expect(dns.queries).toEqual(expect.arrayContaining(["MX amx.test", "A amx.test"]));
  });

  it('a null MX (exchange "."): permanent failure, nothing connected', async () => {
    zone({ "nullmx.test": { MX: [{ preference: 0, exchange: "." }], A: ["127.0.0.1"] } });
    const before = counts();
    const smtp = direct("user@nullmx.test");
    const err = await rejectsWith(smtp.send(), ErrorCode.Protocol);
    expect(err.message).toMatch(/null MX/);
    expect(err.replyCode).toBe(556);
    expect(err.isPermanent()).toBe(true);
    expect(counts()).toEqual(before);
  });

  it("a nonexistent domain (NXDOMAIN): 11001", async () => {
    const smtp = direct("user@does-not-exist.test");
    const err = await rejectsWith(smtp.send(), ErrorCode.HostNotFound);
    expect(err.message).toMatch(/does-not-exist\.test does not exist/);
    expect(dns.queries).toContain("MX does-not-exist.test");
  });

  it("MX hosts without any address: 11001 naming them", async () => {
    zone({
      "noaddr.test": { MX: [{ preference: 10, exchange: "ghost.noaddr.test" }] },
      "ghost.noaddr.test": {},
    });
    const smtp = direct("user@noaddr.test");
    const err = await rejectsWith(smtp.send(), ErrorCode.HostNotFound);
    expect(err.message).toMatch(/ghost\.noaddr\.test/);
  });

  it("DirectDelivery is not used when MailServer is set", async () => {
    const queries = dns.queries.length;
    const smtp = client(mx1.port, { mailServer: "127.0.0.1", sendTo: "user@relay.test", settings: { DirectDelivery: true, DNSServers: dns.server } });
    await smtp.send();
    expect(got(mx1, "user@relay.test")).toHaveLength(1);
    expect(dns.queries.length).toBe(queries);
  });
});

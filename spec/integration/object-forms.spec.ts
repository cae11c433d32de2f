/**
 * SSMTP's object forms: MessageRecipients, Attachments, MessageHeaders and
 * RecipientCerts as live lists of item objects, Firewall as one object.
 * They are views of the same properties as the flat and indexed accessors,
 * so every test reads both and sends through real servers (smtp-server, and
 * microsocks for the firewall).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simpleParser } from "mailparser";
import { Attachment, Certificate, ErrorCode, Firewall, MessageHeader, MessageRecipient, Smtp, ssmtp } from "../../src/index.js";
import { cmsTools, ok, smimeFixture } from "../support/cms.js";
import { startMicrosocks, type ProxyProcess } from "../support/proxies.js";
import { headerMap, startSmtpServer, type Harness } from "../support/smtp-server-harness.js";

let server: Harness;
let socks: ProxyProcess;
const work = mkdtempSync(join(tmpdir(), "smtpkit-object-forms-"));
const cms = cmsTools(work);

beforeAll(async () => {
  [server, socks] = await Promise.all([startSmtpServer(), startMicrosocks()]);
});

afterAll(async () => {
  await Promise.all([server?.close(), socks?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

function last() {
  const m = server.received[server.received.length - 1];
  if (!m) throw new Error("the server received nothing");
  return m;
}

function component(): Smtp {
  const m = new ssmtp();
  m.setMailServer("127.0.0.1");
  m.setMailPort(server.port);
  m.setTimeout(10);
  m.setFrom("sender@example.com");
  m.setSubject("object forms");
  m.setMessageText("Hello.\r\n");
  return m;
}

function codeOf(f: () => unknown): number | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: number }).code;
  }
  return undefined;
}

describe("MessageRecipients as a list of MessageRecipient objects", () => {
  it("add() with new MessageRecipient(...) sends To, Cc and BCc, and the indexed forms see the same items", async () => {
    const m = component();
    const list = m.getMessageRecipients();
    list.add(new MessageRecipient("to@example.org"));
    list.add(new MessageRecipient({ address: "cc@example.org", name: "Cee Cee", type: 1 }));
    const bcc = list.add(new MessageRecipient("hidden@example.org", "", "", 2));

    expect(list.size()).toBe(3);
    expect(m.getMessageRecipientCount()).toBe(3);
    expect(m.getMessageRecipientAddress(1)).toBe("cc@example.org");
    expect(m.getMessageRecipientType(2)).toBe(2);
    expect(bcc.getAddress()).toBe("hidden@example.org");
    expect([...list].map((r) => r.address)).toEqual(["to@example.org", "cc@example.org", "hidden@example.org"]);

    await m.send();
    const got = last();
    expect(got.rcptTo).toEqual(["to@example.org", "cc@example.org", "hidden@example.org"]);
    const h = headerMap(got);
    expect(h.get("to")).toEqual(["to@example.org"]);
    expect(h.get("cc")).toEqual(["Cee Cee <cc@example.org>"]);
    expect(got.raw?.toString("latin1")).not.toContain("hidden@example.org");
  });

  it("an item taken from the list edits the message; remove(), insert(), set() and clear() change it", async () => {
    const m = component();
    m.setMessageRecipientCount(2);
    m.setMessageRecipientAddress(0, "first@example.org");
    m.setMessageRecipientAddress(1, "second@example.org");
    const list = m.getMessageRecipients();

    list.get(0).setAddress("changed@example.org");
    list.item(1).type = 1;
    expect(m.getMessageRecipientAddress(0)).toBe("changed@example.org");
    expect(m.getMessageRecipientType(1)).toBe(1);
    expect(list.get(0)).toBe(list.get(0));

    list.insert(0, "inserted@example.org");
    list.set(2, { address: "replaced@example.org", options: "NOTIFY=NEVER" });
    list.remove(1);
    expect(m.messageRecipients.map((r) => r.address)).toEqual(["inserted@example.org", "replaced@example.org"]);
    expect(m.getMessageRecipientOptions(1)).toBe("NOTIFY=NEVER");

    await m.send();
    expect(last().rcptTo).toEqual(["inserted@example.org", "replaced@example.org"]);

    list.clear();
    expect(m.getMessageRecipientCount()).toBe(0);
  });

  it("an object made with new holds its own fields until it is added; adding it twice adds a copy", () => {
    const m = component();
    const r = new MessageRecipient("a@example.org");
    r.setName("A");
    expect(r.toJSON()).toEqual({ address: "a@example.org", name: "A", options: "", type: 0 });
    const list = m.getMessageRecipients();
    list.add(r);
    list.add(r);
    r.setAddress("edited@example.org");
    // The first add is the object itself (IP*Works' collections hold references); the second a copy.
    expect(m.getMessageRecipientAddress(0)).toBe("edited@example.org");
    expect(m.getMessageRecipientAddress(1)).toBe("a@example.org");
  });

  it("invalid values are refused with the indexed setters' errors, and nothing is added", () => {
    const m = component();
    const list = m.getMessageRecipients();
    expect(codeOf(() => list.add("a@example.org\r\nRCPT TO:<x@evil>"))).toBe(ErrorCode.LineBreakInjection);
    expect(codeOf(() => list.add({ address: "b@example.org", type: 7 as never }))).toBe(ErrorCode.InvalidValue);
    expect(codeOf(() => new MessageRecipient({ adress: "typo@example.org" } as never))).toBe(ErrorCode.InvalidValue);
    expect(codeOf(() => list.get(0))).toBe(ErrorCode.IndexOutOfRange);
    expect(codeOf(() => m.setMessageRecipients(["ok@example.org", { address: "x\n" }]))).toBe(ErrorCode.LineBreakInjection);
    expect(list.length).toBe(0);
    m.setMessageRecipients(["ok@example.org", new MessageRecipient({ address: "cc@example.org", type: 1 })]);
    expect(m.messageRecipients).toEqual([
      { address: "ok@example.org", name: "", options: "", type: 0 },
      { address: "cc@example.org", name: "", options: "", type: 1 },
    ]);
  });

  it("resetHeaders() empties a list obtained before it", () => {
    const m = component();
    const list = m.getMessageRecipients();
    list.add("a@example.org");
    m.resetHeaders();
    expect(list.size()).toBe(0);
    list.add("b@example.org");
    expect(m.getMessageRecipientAddress(0)).toBe("b@example.org");
  });
});

describe("Attachments as Attachment objects", () => {
  it("new Attachment(path) added to the list is sent, named and typed as set", async () => {
    const file = join(work, "report.csv");
    writeFileSync(file, "a,b\r\n1,2\r\n");
    const m = component();
    m.setSendTo("to@example.org");
    m.getAttachments().add(new Attachment({ file, name: "figures.csv", contentType: "text/csv" }));
    expect(m.getAttachmentName(0)).toBe("figures.csv");
    await m.send();
    const parsed = await simpleParser(last().raw ?? Buffer.alloc(0));
    expect(parsed.attachments.map((a) => [a.filename, a.contentType, a.content.toString("utf8")])).toEqual([["figures.csv", "text/csv", "a,b\r\n1,2\r\n"]]);
  });
});

describe("MessageHeaders as MessageHeader objects", () => {
  it("after a send the list holds the headers sent; it cannot be changed", async () => {
    const m = component();
    m.setSendTo("to@example.org");
    await m.send();
    const headers = m.getMessageHeaders();
    const fields = headers.toArray().map((h) => h.getField());
    expect(fields).toEqual(expect.arrayContaining(["From", "To", "Subject", "Date", "Message-ID"]));
    const subject = headers.toArray().find((h) => h.field === "Subject");
    expect(subject?.value).toBe("object forms");
    expect(headers.size()).toBe(m.getMessageHeaderCount());
    expect(headerMap(last()).get("subject")).toEqual(["object forms"]);
    expect(codeOf(() => subject?.setValue("changed"))).toBe(ErrorCode.ReadOnly);
    // The list's type has no add(); a plain JavaScript caller that tries gets 602 read-only.
    const add: unknown = Reflect.get(headers, "add");
    expect(typeof add).toBe("function");
    expect(codeOf(() => Reflect.apply(add as (item: unknown) => void, headers, [new MessageHeader("X-A", "b")]))).toBe(ErrorCode.ReadOnly);
    expect(headers.size()).toBe(m.getMessageHeaderCount());
    expect("setMessageHeaders" in m).toBe(false);
  });

  it("new MessageHeader(field, value) is a plain value object", () => {
    const h = new MessageHeader("X-Tag", "v1");
    h.value = "v2";
    expect(h.toJSON()).toEqual({ field: "X-Tag", value: "v2" });
  });
});

describe("RecipientCerts as Certificate objects", () => {
  it("getRecipientCerts().add(new Certificate(...)) encrypts to that recipient; get() gives a Certificate back", async () => {
    const m = component();
    m.setSendTo("recipient@example.test");
    const pem = spawnSync("openssl", ["x509", "-in", smimeFixture("recipient.pem")]).stdout.toString("utf8");
    const certs = m.getRecipientCerts();
    certs.add(new Certificate(pem));
    expect(m.getRecipientCertCount()).toBe(1);
    const back = certs.get(0);
    expect(back).toBeInstanceOf(Certificate);
    expect(back.subject).toContain("recipient");
    await m.encrypt();
    await m.send();
    const raw = last().raw ?? Buffer.alloc(0);
    expect(ok(cms.decrypt(raw)).toString("utf8")).toContain("Hello.");
  });

  it("setRecipientCerts() takes DER bytes and PEM; bytes that are no certificate change nothing", () => {
    const m = component();
    const der = spawnSync("openssl", ["x509", "-in", smimeFixture("recipient.pem"), "-outform", "DER"]).stdout;
    m.addRecipientCert(der);
    expect(codeOf(() => m.setRecipientCerts([der, Buffer.from("not a certificate")]))).toBe(ErrorCode.InvalidValue);
    expect(m.getRecipientCertCount()).toBe(1);
    m.setRecipientCerts([der, smimeFixture("recipient.pem")]);
    expect(m.getRecipientCerts().toArray().map((c) => c.subject)).toEqual([m.getRecipientCerts().get(0).subject, m.getRecipientCerts().get(0).subject]);
  });
});

describe("Firewall as one object", () => {
  it("setFirewall(new Firewall({...})) sets the Firewall* properties and the send goes through the SOCKS5 proxy", async () => {
    const m = component();
    m.setSendTo("to@example.org");
    m.setFirewall(new Firewall({ firewallType: 3, host: "127.0.0.1", port: socks.port }));
    expect(m.getFirewallType()).toBe(3);
    expect(m.getFirewallHost()).toBe("127.0.0.1");
    expect(m.getFirewallPort()).toBe(socks.port);
    const trail: string[] = [];
    m.on("ConnectionStatus", (e) => trail.push(e.connectionEvent));
    await m.send();
    expect(last().rcptTo).toEqual(["to@example.org"]);
    expect(trail.join("|")).toMatch(/firewall/i);
  });

  it("getFirewall() is a live view; new Firewall() fills in the proxy port as the component does", () => {
    const m = component();
    const fw = m.getFirewall();
    fw.setFirewallType(2);
    expect(m.getFirewallPort()).toBe(1080);
    m.setFirewallHost("proxy.example");
    expect(fw.host).toBe("proxy.example");
    expect(m.firewall.getHost()).toBe("proxy.example");

    const own = new Firewall();
    own.firewallType = 1;
    expect(own.port).toBe(80);
    expect(codeOf(() => own.setPort(70000))).toBe(ErrorCode.InvalidValue);
    expect(codeOf(() => m.setFirewall({ host: "h\r\nx" }))).toBe(ErrorCode.LineBreakInjection);
    expect(m.getFirewallHost()).toBe("proxy.example");
    m.firewall = own;
    expect({ type: m.getFirewallType(), port: m.getFirewallPort(), host: m.getFirewallHost() }).toEqual({ type: 1, port: 80, host: "" });
  });
});

describe("an attachment added from a Buffer keeps its content through the object form", () => {
  it("setAttachments(getAttachments().toArray()) and an edit through the list still send the bytes", async () => {
    const m = component();
    m.setSendTo("to@example.org");
    m.addAttachment(Buffer.from("from memory"), { name: "memo.txt" });
    m.setAttachments(m.getAttachments().toArray());
    m.getAttachments().get(0).setName("renamed.txt");
    await m.send();
    const parsed = await simpleParser(last().raw ?? Buffer.alloc(0));
    expect(parsed.attachments.map((a) => [a.filename, a.content.toString("utf8")])).toEqual([["renamed.txt", "from memory"]]);
  });
});

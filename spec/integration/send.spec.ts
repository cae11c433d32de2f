/** Basic sends against a real SMTP server, through options, setters and the IP*Works alias. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simpleParser } from "mailparser";
import { ErrorCode, Smtp, smtp } from "../../src/index.js";
import { bodyOf, headerMap, rawText, startSmtpServer, type Harness } from "../support/smtp-server-harness.js";
import { client, record, rejectsWith } from "../support/client.js";

let server: Harness;

beforeAll(async () => {
  server = await startSmtpServer();
});
afterAll(async () => {
  await server.close();
});

function last() {
  return server.received[server.received.length - 1];
}

describe("send()", () => {
  it("delivers a message configured through constructor options", async () => {
    const before = server.received.length;
    const m = new Smtp({
      mailServer: "127.0.0.1",
      mailPort: server.port,
      from: "Alice <alice@example.com>",
      sendTo: "bob@example.org",
      subject: "Options",
      messageText: "Hello Bob.\r\nSecond line.\r\n",
    });
    const result = await m.send();

    expect(server.received.length).toBe(before + 1);
    const got = last();
    expect(got?.mailFrom).toBe("alice@example.com");
    expect(got?.rcptTo).toEqual(["bob@example.org"]);
    expect(bodyOf(got).toString("utf8")).toBe("Hello Bob.\r\nSecond line.\r\n");
    const h = headerMap(got);
    expect(h.get("from")).toEqual(["Alice <alice@example.com>"]);
    expect(h.get("to")).toEqual(["bob@example.org"]);
    expect(h.get("subject")).toEqual(["Options"]);
    expect(h.get("date")?.length).toBe(1);
    expect(h.get("message-id")?.[0]).toMatch(/^<[^<>@\s]+@example\.com>$/);

    expect(result.replyCode).toBe(250);
    expect(result.accepted).toEqual(["bob@example.org"]);
    expect(result.rejected).toEqual([]);
    expect(result.reply).toContain("queued as test");
    expect(result.messageBytes).toBe(got?.totalBytes);
    expect(m.getIdle()).toBe(true);
    expect(m.getConnected()).toBe(false);
  });

  it("delivers a message configured through IP*Works style setters", async () => {
    const before = server.received.length;
    const m = new Smtp();
    m.setMailServer("127.0.0.1");
    m.setMailPort(server.port);
    m.setFrom("carol@example.com");
    m.setSendTo("dave@example.net");
    m.setSubject("Setters");
    m.setMessageText("Set through setters.");
    expect(m.getMailServer()).toBe("127.0.0.1");
    expect(m.getMailPort()).toBe(server.port);
    expect(m.getSubject()).toBe("Setters");
    await m.send();

    expect(server.received.length).toBe(before + 1);
    const got = last();
    expect(got?.mailFrom).toBe("carol@example.com");
    expect(got?.rcptTo).toEqual(["dave@example.net"]);
    // A body without a final line break gets its CRLF before the end-of-data marker.
    expect(bodyOf(got).toString("utf8")).toBe("Set through setters.\r\n");
    const parsed = await simpleParser(got?.raw ?? Buffer.alloc(0));
    expect(parsed.subject).toBe("Setters");
    expect(parsed.text?.trim()).toBe("Set through setters.");
  });

  it("delivers through camelCase property assignment", async () => {
    const before = server.received.length;
    const m = new Smtp();
    m.mailServer = "127.0.0.1";
    m.mailPort = server.port;
    m.from = "erin@example.com";
    m.sendTo = "frank@example.com";
    m.subject = "Properties";
    m.messageText = "via properties\r\n";
    await m.send();
    expect(server.received.length).toBe(before + 1);
    expect(last()?.rcptTo).toEqual(["frank@example.com"]);
    expect(headerMap(last()).get("subject")).toEqual(["Properties"]);
  });

  it("the lower-case `smtp` alias is the same class (`new smtp()`)", async () => {
    const before = server.received.length;
    const m = new smtp({ mailServer: "127.0.0.1", mailPort: server.port });
    expect(m).toBeInstanceOf(Smtp);
    m.setFrom("alias@example.com");
    m.setSendTo("target@example.com");
    m.setSubject("alias");
    m.setMessageText("alias body");
    await m.send();
    expect(server.received.length).toBe(before + 1);
    expect(last()?.mailFrom).toBe("alias@example.com");
  });

  it("the same object sends several messages one after the other", async () => {
    const before = server.received.length;
    const m = client(server.port);
    for (let i = 0; i < 3; i++) {
      m.setSubject(`round ${i}`);
      await m.send();
    }
    expect(server.received.length).toBe(before + 3);
    expect(server.received.slice(before).map((r) => headerMap(r).get("subject")?.[0])).toEqual(["round 0", "round 1", "round 2"]);
  });

  it("an empty MessageText sends the headers only", async () => {
    const before = server.received.length;
    const m = client(server.port, { messageText: "" });
    await m.send();
    expect(server.received.length).toBe(before + 1);
    const got = last();
    expect(got?.bodyBytes).toBe(0);
    expect(rawText(got).endsWith("\r\n\r\n")).toBe(true);
  });

  it("a send with its own connection opens it, greets with EHLO and QUITs", async () => {
    const m = client(server.port);
    const r = record(m);
    await m.send();
    const sent = r.sent();
    expect(sent[0]).toMatch(/^EHLO \S+$/);
    expect(sent).toContain("DATA");
    expect(sent[sent.length - 1]).toBe("QUIT");
    expect(sent.filter((l) => l === "RSET")).toEqual([]);
    expect(m.getConnected()).toBe(false);
  });

  it("config Hello sets the EHLO argument", async () => {
    const m = client(server.port);
    m.config("Hello=client.example.com");
    const r = record(m);
    await m.send();
    expect(r.sent()[0]).toBe("EHLO client.example.com");
  });

  it("the optional headers (ReplyTo, Importance, Priority, Sensitivity, receipts, MessageId, MessageDate, OtherHeaders) arrive", async () => {
    const m = client(server.port, {
      replyTo: "Replies <replies@example.com>",
      importance: 1,
      priority: 2,
      sensitivity: 3,
      readReceiptTo: "read@example.com",
      deliveryNotificationTo: "dsn@example.com",
      messageId: "<fixed-id@example.com>",
      messageDate: "Tue, 01 Jan 2030 10:00:00 +0000",
      otherHeaders: "X-Custom: one\r\nX-Other: two",
    });
    await m.send();
    const h = headerMap(last());
    expect(h.get("reply-to")).toEqual(["Replies <replies@example.com>"]);
    expect(h.get("importance")).toEqual(["high"]);
    expect(h.get("priority")).toEqual(["urgent"]);
    expect(h.get("sensitivity")).toEqual(["Company-Confidential"]);
    expect(h.get("disposition-notification-to")).toEqual(["read@example.com"]);
    expect(h.get("return-receipt-to")).toEqual(["dsn@example.com"]);
    expect(h.get("message-id")).toEqual(["<fixed-id@example.com>"]);
    expect(h.get("date")).toEqual(["Tue, 01 Jan 2030 10:00:00 +0000"]);
    expect(h.get("x-custom")).toEqual(["one"]);
    expect(h.get("x-other")).toEqual(["two"]);
  });

  it("a header in OtherHeaders replaces the generated one", async () => {
    const m = client(server.port, { otherHeaders: "Date: Wed, 02 Jan 2030 11:00:00 +0000" });
    await m.send();
    expect(headerMap(last()).get("date")).toEqual(["Wed, 02 Jan 2030 11:00:00 +0000"]);
  });
});

describe("ReturnPath", () => {
  it("sets MAIL FROM while From stays in the header", async () => {
    const m = client(server.port, { from: "Boss <boss@example.com>", returnPath: "bounces@example.com" });
    await m.send();
    const got = last();
    expect(got?.mailFrom).toBe("bounces@example.com");
    expect(headerMap(got).get("from")).toEqual(["Boss <boss@example.com>"]);
  });

  it("config(\"ReturnPath=...\") is the same property", async () => {
    const m = client(server.port);
    m.config("ReturnPath=<bounce2@example.com>");
    expect(m.getReturnPath()).toBe("<bounce2@example.com>");
    await m.send();
    expect(last()?.mailFrom).toBe("bounce2@example.com");
  });

  it("does not stand in for From: with From empty the send is refused (164), never a message without a From header", async () => {
    const before = server.received.length;
    const m = client(server.port, { from: "", returnPath: "bounce@example.com" });
    await rejectsWith(m.send(), ErrorCode.NoFrom);
    expect(server.received.length).toBe(before);
  });

  it('"<>" gives the null reverse path', async () => {
    const m = client(server.port, { returnPath: "<>" });
    const r = record(m);
    await m.send();
    expect(r.sent()).toContain("MAIL FROM:<>");
    const got = last();
    expect(got?.mailFrom).toBe("");
    expect(headerMap(got).get("from")).toEqual(["Sender <sender@example.com>"]);
  });
});

describe("Message (a complete prebuilt message)", () => {
  it("is sent as is; only the envelope comes from the properties", async () => {
    const prebuilt = [
      "From: Someone Else <else@example.com>",
      "To: shown@example.com",
      "Subject: prebuilt",
      "X-Prebuilt: yes",
      "",
      "Prebuilt body line 1",
      ".leading dot",
      "last line",
      "",
    ].join("\r\n");
    const m = client(server.port, {
      from: "envelope@example.com",
      sendTo: "real-rcpt@example.com",
      subject: "IGNORED SUBJECT",
      messageText: "IGNORED BODY",
      message: prebuilt,
    });
    await m.send();
    const got = last();
    expect(got?.mailFrom).toBe("envelope@example.com");
    expect(got?.rcptTo).toEqual(["real-rcpt@example.com"]);
    expect(rawText(got)).toBe(prebuilt);
    // The headers the component reports are the prebuilt message's.
    expect(m.getMessageHeadersString()).toBe("From: Someone Else <else@example.com>\r\nTo: shown@example.com\r\nSubject: prebuilt\r\nX-Prebuilt: yes\r\n");
    expect(m.getMessageHeaderCount()).toBe(4);
    expect(m.getMessageHeaderField(3)).toBe("X-Prebuilt");
    expect(m.getMessageHeaderValue(2)).toBe("prebuilt");
  });
});

describe("MessageHeaders / MessageHeadersString after a send", () => {
  it("reflect exactly the header block the server received", async () => {
    const m = client(server.port, {
      sendTo: "Hdr Test <hdr@example.com>",
      cc: "cc-hdr@example.com",
      bcc: "bcc-hdr@example.com",
      subject: "Header reflection",
    });
    await m.send();
    const got = last();
    const head = got?.head.toString("utf8") ?? "";
    // The property has the block without the empty line that ends it.
    expect(m.getMessageHeadersString() + "\r\n").toBe(head);
    expect(m.messageHeadersString).toBe(m.getMessageHeadersString());

    const unfolded = head.replace(/\r\n(?=[ \t])/g, "").split("\r\n").filter((l) => l !== "");
    const n = m.getMessageHeaderCount();
    expect(n).toBe(unfolded.length);
    for (let i = 0; i < n; i++) {
      expect(`${m.getMessageHeaderField(i)}: ${m.getMessageHeaderValue(i)}`).toBe(unfolded[i]);
    }
    const fields = m.messageHeaders.map((h) => h.field.toLowerCase());
    expect(fields).toEqual(expect.arrayContaining(["from", "to", "cc", "subject", "date", "message-id"]));
    expect(fields).not.toContain("bcc");
  });
});

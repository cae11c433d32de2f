/** To / Cc / Bcc lists, groups, MessageRecipients, de-duplication and the Bcc privacy rule. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { simpleParser, type AddressObject } from "mailparser";
import { ErrorCode } from "../../src/index.js";
import { headerMap, rawText, startSmtpServer, type Harness } from "../support/smtp-server-harness.js";
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

function addresses(a: AddressObject | AddressObject[] | undefined): { name: string; address: string }[] {
  const list = a === undefined ? [] : Array.isArray(a) ? a : [a];
  return list.flatMap((o) => o.value).flatMap((v) => (v.group ? v.group : [v])).map((v) => ({ name: v.name, address: v.address ?? "" }));
}

describe("To / Cc / Bcc", () => {
  it("comma lists go to the envelope; To and Cc to the headers; Bcc never", async () => {
    const m = client(server.port, {
      sendTo: "to1@example.com, To Two <to2@example.com>",
      cc: "cc1@example.com,cc2@example.com",
      bcc: "secret1@example.com, Hidden Person <secret2@example.com>",
    });
    const r = record(m);
    const result = await m.send();
    const got = last();
    expect(got?.rcptTo).toEqual(["to1@example.com", "to2@example.com", "cc1@example.com", "cc2@example.com", "secret1@example.com", "secret2@example.com"]);
    expect(result.accepted).toEqual(got?.rcptTo);
    expect(result.recipients.map((x) => x.type)).toEqual([0, 0, 1, 1, 2, 2]);

    const h = headerMap(got);
    expect(h.get("to")).toEqual(["to1@example.com, To Two <to2@example.com>"]);
    expect(h.get("cc")).toEqual(["cc1@example.com, cc2@example.com"]);
    expect(h.has("bcc")).toBe(false);
    const raw = rawText(got);
    expect(raw).not.toMatch(/secret1|secret2|Hidden Person/);
    // The RCPT commands are in the trail, the message itself never mentions them.
    expect(r.sent().filter((l) => l.startsWith("RCPT TO:"))).toHaveLength(6);
  });

  it("display names with commas in quotes are one recipient", async () => {
    const m = client(server.port, {
      sendTo: '"Doe, John" <john@example.com>, "Roe, Jane (QA)" <jane@example.com>',
      cc: '"Last, First" <first@example.com>',
      bcc: '"Secret, Agent" <agent@example.com>',
    });
    await m.send();
    const got = last();
    expect(got?.rcptTo).toEqual(["john@example.com", "jane@example.com", "first@example.com", "agent@example.com"]);
    const parsed = await simpleParser(got?.raw ?? Buffer.alloc(0));
    expect(addresses(parsed.to)).toEqual([
      { name: "Doe, John", address: "john@example.com" },
      { name: "Roe, Jane (QA)", address: "jane@example.com" },
    ]);
    expect(addresses(parsed.cc)).toEqual([{ name: "Last, First", address: "first@example.com" }]);
    expect(parsed.bcc).toBeUndefined();
    expect(rawText(got)).not.toContain("agent@example.com");
  });

  it("a group in SendTo reaches each member and stays a group in the header", async () => {
    const m = client(server.port, { sendTo: "Team: a@example.com, b@example.com;, solo@example.com" });
    await m.send();
    const got = last();
    expect(got?.rcptTo).toEqual(["a@example.com", "b@example.com", "solo@example.com"]);
    const to = headerMap(got).get("to")?.[0] ?? "";
    expect(to).toMatch(/^Team: a@example\.com, b@example\.com;/);
    expect(to).toContain("solo@example.com");
    const parsed = await simpleParser(got?.raw ?? Buffer.alloc(0));
    expect(addresses(parsed.to).map((a) => a.address)).toEqual(["a@example.com", "b@example.com", "solo@example.com"]);
  });

  it("duplicates (also across To / Cc / Bcc, case-insensitive) get one RCPT each", async () => {
    const rcptBefore = server.rcptCommands.length;
    const m = client(server.port, {
      sendTo: "dup@example.com, DUP@example.com, other@example.com",
      cc: "dup@example.com, other@example.com",
      bcc: "other@example.com, onlybcc@example.com",
    });
    const result = await m.send();
    expect(server.rcptCommands.slice(rcptBefore)).toEqual(["dup@example.com", "other@example.com", "onlybcc@example.com"]);
    expect(result.recipients.map((x) => [x.address, x.type])).toEqual([
      ["dup@example.com", 0],
      ["other@example.com", 0],
      ["onlybcc@example.com", 2],
    ]);
    expect(rawText(last())).not.toContain("onlybcc@example.com");
  });

  it("Cc / Bcc only needs AllowEmptyTo", async () => {
    const before = server.received.length;
    const m = client(server.port, { sendTo: "", cc: "cconly@example.com" });
    await rejectsWith(m.send(), ErrorCode.NoRecipient);
    expect(server.received.length).toBe(before);

    m.config("AllowEmptyTo=true");
    await m.send();
    expect(server.received.length).toBe(before + 1);
    expect(last()?.rcptTo).toEqual(["cconly@example.com"]);
    expect(headerMap(last()).has("to")).toBe(false);
  });
});

describe("MessageRecipients", () => {
  it("indexed setters add To / Cc / Bcc recipients with names and RCPT options, merged with SendTo / Cc / BCc", async () => {
    const rcptBefore = server.rcptCommands.length;
    const m = client(server.port, { sendTo: "plain-to@example.com", cc: "plain-cc@example.com", bcc: "plain-bcc@example.com" });
    m.setMessageRecipientCount(4);
    m.setMessageRecipientAddress(0, "mr-to@example.com");
    m.setMessageRecipientName(0, "Recipient, To");
    m.setMessageRecipientType(0, 0);
    m.setMessageRecipientAddress(1, "mr-cc@example.com");
    m.setMessageRecipientName(1, "Cc Person");
    m.setMessageRecipientType(1, 1);
    m.setMessageRecipientAddress(2, "mr-bcc@example.com");
    m.setMessageRecipientName(2, "Invisible Person");
    m.setMessageRecipientType(2, 2);
    m.setMessageRecipientOptions(2, "NOTIFY=SUCCESS,FAILURE");
    // A duplicate of SendTo: sent once.
    m.setMessageRecipientAddress(3, "plain-to@example.com");
    m.setMessageRecipientType(3, 2);
    expect(m.getMessageRecipientCount()).toBe(4);
    expect(m.getMessageRecipientName(0)).toBe("Recipient, To");
    expect(m.getMessageRecipientType(2)).toBe(2);

    await m.send();
    const got = last();
    expect(server.rcptCommands.slice(rcptBefore)).toEqual([
      "plain-to@example.com",
      "plain-cc@example.com",
      "plain-bcc@example.com",
      "mr-to@example.com",
      "mr-cc@example.com",
      "mr-bcc@example.com",
    ]);
    expect(got?.rcptTo).toHaveLength(6);
    // The RCPT options reached the server (smtp-server parses them into args).
    const bccIndex = got?.rcptTo.indexOf("mr-bcc@example.com") ?? -1;
    expect(got?.rcptArgs[bccIndex]).toMatchObject({ NOTIFY: "SUCCESS,FAILURE" });

    const parsed = await simpleParser(got?.raw ?? Buffer.alloc(0));
    expect(addresses(parsed.to)).toEqual([
      { name: "", address: "plain-to@example.com" },
      { name: "Recipient, To", address: "mr-to@example.com" },
    ]);
    expect(addresses(parsed.cc)).toEqual([
      { name: "", address: "plain-cc@example.com" },
      { name: "Cc Person", address: "mr-cc@example.com" },
    ]);
    const raw = rawText(got);
    expect(headerMap(got).has("bcc")).toBe(false);
    expect(raw).not.toMatch(/plain-bcc|mr-bcc|Invisible Person/);
  });

  it("the messageRecipients array form works the same", async () => {
    const m = client(server.port, { sendTo: "base@example.com" });
    m.messageRecipients = [
      { address: "arr-to@example.com", name: "Array To", type: 0 },
      { address: "arr-cc@example.com", type: 1 },
      { address: "arr-bcc@example.com", type: 2 },
    ];
    expect(m.getMessageRecipientCount()).toBe(3);
    expect(m.getMessageRecipientAddress(1)).toBe("arr-cc@example.com");
    expect(m.messageRecipients[0]).toEqual({ address: "arr-to@example.com", name: "Array To", options: "", type: 0 });
    await m.send();
    const got = last();
    expect(got?.rcptTo).toEqual(["base@example.com", "arr-to@example.com", "arr-cc@example.com", "arr-bcc@example.com"]);
    const h = headerMap(got);
    expect(h.get("to")).toEqual(["base@example.com, Array To <arr-to@example.com>"]);
    expect(h.get("cc")).toEqual(["arr-cc@example.com"]);
    expect(rawText(got)).not.toContain("arr-bcc");
  });

  it("the messageRecipients constructor option works, and MessageRecipients alone (no SendTo) is enough for a To entry", async () => {
    const m = client(server.port, { sendTo: "", messageRecipients: [{ address: "ctor@example.com", name: "Ctor Rcpt" }] });
    await m.send();
    const got = last();
    expect(got?.rcptTo).toEqual(["ctor@example.com"]);
    expect(headerMap(got).get("to")).toEqual(["Ctor Rcpt <ctor@example.com>"]);
  });

  it("resetHeaders() clears the recipients", async () => {
    const m = client(server.port, { cc: "x@example.com" });
    m.messageRecipients = [{ address: "y@example.com" }];
    m.resetHeaders();
    expect(m.getSendTo()).toBe("");
    expect(m.getCc()).toBe("");
    expect(m.getMessageRecipientCount()).toBe(0);
    await rejectsWith(m.send(), ErrorCode.NoFrom);
  });
});

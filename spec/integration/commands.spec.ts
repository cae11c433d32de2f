/**
 * Commands outside (or beside) a plain send(): VRFY, EXPN, raw commands
 * (sendCommand and the write-only Command property), the RFC 821 terminal
 * variants SEND / SOML / SAML, and sendMessage() with its own envelope.
 * Runs against the recording ESMTP server (esmtpServer in spec/support/tcp-server.ts).
 */
import { Readable } from "node:stream";
import { beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, SmtpError, type Smtp, type ErrorEvent, type ExpandEvent } from "../../src/index.js";
import { record, rejectsWith, waitFor } from "../support/client.js";
import { esmtpFixture } from "../support/fixture.js";
import { ALL_EXTENSIONS, param, type RecordedMessage, type TcpServer } from "../support/tcp-server.js";

let server: TcpServer;

const STAFF = ["Alice Example <alice@example.com>", "bob@example.com", "Carol <carol@example.com>"];

beforeAll(async () => {
  server = await serve({
    vrfy: {
      "known@example.com": "250 2.1.5 Known User <known@example.com>",
      "maybe@example.com": "252 2.1.5 Cannot VRFY user, but will accept message",
    },
    expn: { staff: STAFF },
  });
});

const { serve, smtp } = esmtpFixture();

function lastMessage(s: TcpServer): RecordedMessage {
  const msg = s.messages[s.messages.length - 1];
  expect(msg, "a message was delivered").toBeDefined();
  return msg as RecordedMessage;
}

describe("verify() (VRFY)", () => {
  it("250 and 252 resolve with the reply (also in LastReply)", async () => {
    const m = smtp(server.port);
    await expect(m.verify("known@example.com")).resolves.toBe("250 2.1.5 Known User <known@example.com>");
    expect(m.getLastReply()).toBe("250 2.1.5 Known User <known@example.com>"); // not the 221 of the QUIT that closed its own connection
    await m.connect();
    await expect(m.verify("maybe@example.com")).resolves.toBe("252 2.1.5 Cannot VRFY user, but will accept message");
    expect(m.getLastReply()).toBe("252 2.1.5 Cannot VRFY user, but will accept message");
    expect(m.getConnected()).toBe(true);
    await m.disconnect();
    expect(server.lines).toContain("VRFY known@example.com");
    expect(server.lines).toContain("VRFY maybe@example.com");
  });

  it("550 rejects with 161 and the reply", async () => {
    const m = smtp(server.port);
    await m.connect();
    const err = await rejectsWith(m.verify("nobody@example.com"), ErrorCode.Protocol);
    expect(err).toMatchObject({ replyCode: 550, enhancedStatus: "5.1.1", lastReply: "550 5.1.1 unknown user", command: "VRFY nobody@example.com" });
    // A refused VRFY does not end the session.
    expect(m.getConnected()).toBe(true);
    await m.disconnect();
  });
});

describe("expand() (EXPN)", () => {
  it("fires Expand for each member and resolves with the list", async () => {
    const m = smtp(server.port);
    const events: ExpandEvent[] = [];
    m.on("Expand", (e) => events.push(e));
    const list = await m.expand("staff");
    expect(list).toEqual(STAFF);
    expect(events.map((e) => e.address)).toEqual(STAFF);
    expect(server.lines).toContain("EXPN staff");
  });

  it("with ENHANCEDSTATUSCODES (\"250-2.1.5 <member>\", as sendmail answers): the members come without the status code", async () => {
    const s = await serve({ expn: { staff: STAFF.map((a) => `2.1.5 ${a}`) } });
    const m = smtp(s.port);
    const events: ExpandEvent[] = [];
    m.on("Expand", (e) => events.push(e));
    expect(await m.expand("staff")).toEqual(STAFF);
    expect(events.map((e) => e.address)).toEqual(STAFF);
  });

  it("an unknown list (550) and a server without EXPN (502) reject with 161", async () => {
    const m = smtp(server.port);
    const events: ExpandEvent[] = [];
    m.on("Expand", (e) => events.push(e));
    expect((await rejectsWith(m.expand("nolist"), ErrorCode.Protocol)).replyCode).toBe(550);

    const noExpn = await serve({ expn: false });
    const err = await rejectsWith(smtp(noExpn.port).expand("staff"), ErrorCode.Protocol);
    expect(err).toMatchObject({ replyCode: 502, command: "EXPN staff" });
    expect(events).toEqual([]);
  });
});

describe("sendCommand() and the Command property", () => {
  it("sendCommand(\"NOOP\") / (\"HELP\") resolve with the reply object; the connection stays open", async () => {
    const s = await serve();
    const m = smtp(s.port);
    const noop = await m.sendCommand("NOOP");
    expect(noop).toMatchObject({ code: 250, enhancedStatus: "2.0.0", raw: "250 2.0.0 Ok" });
    expect(m.getConnected()).toBe(true);
    const help = await m.sendCommand("HELP");
    expect(help.code).toBe(214);
    expect(help.lines).toHaveLength(3);
    expect(help.raw.split("\r\n")[0]).toBe("214-2.0.0 Commands supported:");
    expect(m.getLastReply()).toBe(help.raw);
    // Whatever the code: a 5xx is returned, not thrown.
    const unknown = await m.sendCommand("XYZZY");
    expect(unknown.code).toBe(502);
    expect(m.getConnected()).toBe(true);
    expect(s.connections).toHaveLength(1);
    expect(s.connections[0]?.lines.slice(1)).toEqual(["NOOP", "HELP", "XYZZY"]);
    await m.disconnect();
  });

  it("the Command property: setCommand() and `command =` send the line; the reply lands in LastReply", async () => {
    const s = await serve();
    const m = smtp(s.port);
    const r = record(m);
    m.setCommand("NOOP");
    await waitFor(() => m.getLastReply() === "250 2.0.0 Ok" && m.getIdle(), 5_000, "the NOOP reply");
    expect(m.getConnected()).toBe(true);
    m.command = "VRFY maybe@example.com";
    await waitFor(() => m.getLastReply().startsWith("550") && m.getIdle(), 5_000, "the VRFY reply");
    expect(s.connections[0]?.lines.slice(1)).toEqual(["NOOP", "VRFY maybe@example.com"]);
    expect(r.errors).toEqual([]);
    await m.disconnect();
  });

  it("CR or LF in a command: sendCommand() rejects with 602 and nothing of it reaches the server", async () => {
    const s = await serve();
    const m = smtp(s.port);
    await rejectsWith(m.sendCommand("NOOP\r\nRSET"), ErrorCode.LineBreakInjection);
    await rejectsWith(m.sendCommand("NOOP\nRSET"), ErrorCode.LineBreakInjection);
    expect(s.lines.filter((l) => l.startsWith("NOOP") || l === "RSET")).toEqual([]);
  });

  it("CR or LF in the Command property throws 602 when set, like every other single-line property, without connecting", async () => {
    const s = await serve();
    const m = smtp(s.port);
    const errors: ErrorEvent[] = [];
    m.on("Error", (e) => errors.push(e));
    let thrown: unknown;
    try {
      m.command = "NOOP\r\nRSET";
    } catch (e) {
      thrown = e;
    }
    // Let anything the setter started run to its end before looking.
    await waitFor(() => m.getIdle(), 5_000, "idle");
    await new Promise((r) => setTimeout(r, 50));
    expect(s.lines.filter((l) => l === "RSET" || l.startsWith("NOOP"))).toEqual([]);
    expect({ thrownCode: (thrown as SmtpError | undefined)?.code, errorEvents: errors.map((e) => e.errorCode), connections: s.connections.length }).toEqual({
      thrownCode: ErrorCode.LineBreakInjection,
      errorEvents: [],
      connections: 0,
    });
  });
});

describe("sendToTerminalOnly / OrEmail / AndEmail (SEND / SOML / SAML FROM)", () => {
  it("send SEND FROM, SOML FROM and SAML FROM; the message is delivered with DATA", async () => {
    const s = await serve();
    const m = smtp(s.port);
    await m.sendToTerminalOnly();
    await m.sendToTerminalOrEmail();
    await m.sendToTerminalAndEmail();
    expect(s.messages.map((x) => x.verb)).toEqual(["SEND", "SOML", "SAML"]);
    expect(s.messages.every((x) => x.mailFrom === "sender@example.com" && x.recipients.join() === "rcpt@example.com")).toBe(true);
    // CHUNKING and BINARYMIME are MAIL-only extensions (RFC 3030): the terminal variants use DATA.
    expect(s.messages.map((x) => x.via)).toEqual(["DATA", "DATA", "DATA"]);
    expect(s.commands("SEND").map((l) => l.split(" ")[1])).toEqual(["FROM:<sender@example.com>"]);
    expect(s.commands("SOML")).toHaveLength(1);
    expect(s.commands("SAML")).toHaveLength(1);
    expect(s.commands("MAIL")).toEqual([]);
  });

  it("a server that lacks them answers 502: the send rejects with 161 and nothing is delivered", async () => {
    const s = await serve({ terminalCommands: false });
    for (const call of [(m: Smtp) => m.sendToTerminalOnly(), (m: Smtp) => m.sendToTerminalOrEmail(), (m: Smtp) => m.sendToTerminalAndEmail()]) {
      const err = await rejectsWith(call(smtp(s.port)), ErrorCode.Protocol);
      expect(err.replyCode).toBe(502);
      expect(err.command).toMatch(/^(SEND|SOML|SAML) FROM:<sender@example\.com>/);
    }
    expect(s.messages).toEqual([]);
  });
});

describe("sendMessage(from, recipients, message)", () => {
  const TEXT = "From: Raw Sender <raw@example.com>\nTo: someone@example.com\nSubject: raw message\n\nline one\n.dot line\r\nlast";
  const WIRE = "From: Raw Sender <raw@example.com>\r\nTo: someone@example.com\r\nSubject: raw message\r\n\r\nline one\r\n.dot line\r\nlast\r\n";

  function untouched(m: Smtp): Record<string, string> {
    return { sendTo: m.getSendTo(), cc: m.getCc(), subject: m.getSubject(), messageText: m.getMessageText(), message: m.getMessage(), from: m.getFrom() };
  }

  const forms: [string, () => string | Buffer | Readable][] = [
    ["a string", () => TEXT],
    ["a Buffer", () => Buffer.from(TEXT, "utf8")],
    ["a Readable", () => Readable.from([Buffer.from(TEXT.slice(0, 30)), Buffer.from(TEXT.slice(30))])],
  ];

  it.each(forms)("%s: the bytes as given (CRLF-normalized) to exactly that envelope, over BDAT and DATA", async (_what, make) => {
    for (const extensions of [ALL_EXTENSIONS, ["PIPELINING", "8BITMIME"]]) {
      const s = await serve({ extensions });
      const m = smtp(s.port, { cc: "prop-cc@example.com" });
      const before = untouched(m);
      const result = await m.sendMessage("envelope@example.com", "a@example.com, B Person <b@example.org>", make());
      const msg = lastMessage(s);
      expect(msg.mailFrom).toBe("envelope@example.com");
      expect(msg.recipients).toEqual(["a@example.com", "b@example.org"]);
      expect(msg.raw.toString("utf8")).toBe(WIRE);
      expect(msg.via).toBe(extensions === ALL_EXTENSIONS ? "BDAT" : "DATA");
      if (msg.via === "DATA") expect(msg.wire?.toString("utf8")).toContain("\r\n..dot line\r\n");
      expect(result.accepted).toEqual(["a@example.com", "b@example.org"]);
      expect(untouched(m)).toEqual(before);
    }
  });

  it("a Readable with 8-bit content is declared BODY=8BITMIME when the server offers it (RFC 6152)", async () => {
    const s = await serve({ extensions: ["PIPELINING", "8BITMIME"] });
    const m = smtp(s.port);
    const bytes = Buffer.from("Subject: Grüße\r\n\r\nÄÖÜ\r\n", "utf8");
    await m.sendMessage("raw@example.com", "x@example.com", Readable.from([bytes]));
    const msg = lastMessage(s);
    expect(msg.raw.equals(bytes)).toBe(true);
    expect(param(msg.mailParams, "BODY")).toBe("8BITMIME");
  });

  it("a recipient array, the null sender <> and 8-bit content (BODY=8BITMIME)", async () => {
    const s = await serve();
    const m = smtp(s.port);
    const bytes = Buffer.from("Subject: Grüße\r\n\r\nÄÖÜ\r\n", "utf8");
    await m.sendMessage("<>", ["x@example.com", "y@example.com"], bytes);
    const msg = lastMessage(s);
    expect(msg.mailFrom).toBe("");
    expect(msg.recipients).toEqual(["x@example.com", "y@example.com"]);
    expect(param(msg.mailParams, "BODY")).toBe("8BITMIME");
    expect(msg.raw.equals(bytes)).toBe(true);
    // The property-built message was not involved: the defaults from client() are still there.
    expect(m.getSendTo()).toBe("rcpt@example.com");
    expect(m.getMessageText()).toBe("hello\r\n");
  });
});

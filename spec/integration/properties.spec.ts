/** Property and setting validation: bad values are refused at once, before anything is sent. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, Smtp } from "../../src/index.js";
import { noEffectNotice } from "../../src/schema/property-store.js";
import { startSmtpServer, type Harness } from "../support/smtp-server-harness.js";
import { client, rejectsWith, throwsWith } from "../support/client.js";

let server: Harness;

beforeAll(async () => {
  server = await startSmtpServer();
});
afterAll(async () => {
  await server.close();
});

describe("invalid values throw SmtpError at once and leave the value unchanged", () => {
  it("MailPort out of range or not an integer: 601", () => {
    const m = new Smtp({ mailPort: 2525 });
    throwsWith(() => m.setMailPort(0), ErrorCode.InvalidValue);
    throwsWith(() => m.setMailPort(70000), ErrorCode.InvalidValue);
    throwsWith(() => m.setMailPort(-25), ErrorCode.InvalidValue);
    throwsWith(() => {
      m.mailPort = 1.5;
    }, ErrorCode.InvalidValue);
    throwsWith(() => m.setMailPort("25" as unknown as number), ErrorCode.InvalidValue);
    expect(m.getMailPort()).toBe(2525);
    m.setMailPort(65535);
    expect(m.mailPort).toBe(65535);
  });

  it("enums and Timeout out of range: 601", () => {
    const m = new Smtp();
    throwsWith(() => m.setImportance(9 as never), ErrorCode.InvalidValue);
    throwsWith(() => m.setPriority(-1 as never), ErrorCode.InvalidValue);
    throwsWith(() => m.setSensitivity(4 as never), ErrorCode.InvalidValue);
    throwsWith(() => m.setTimeout(-1), ErrorCode.InvalidValue);
    throwsWith(() => m.setAllowExtensions("yes" as unknown as boolean), ErrorCode.InvalidValue);
    expect(m.getImportance()).toBe(0);
    expect(m.getTimeout()).toBe(60);
    m.setImportance(3);
    expect(m.getImportance()).toBe(3);
  });

  it("CR / LF in single-line properties: 602 (header injection)", () => {
    const m = new Smtp({ subject: "kept" });
    throwsWith(() => m.setSubject("a\r\nBcc: x@y"), ErrorCode.LineBreakInjection);
    throwsWith(() => m.setSubject("a\rb"), ErrorCode.LineBreakInjection);
    throwsWith(() => m.setSendTo("a@b\nX: y"), ErrorCode.LineBreakInjection);
    throwsWith(() => m.setFrom("me@example.com\r\nBcc: spy@example.com"), ErrorCode.LineBreakInjection);
    throwsWith(() => m.setCc("x@example.com\n"), ErrorCode.LineBreakInjection);
    throwsWith(() => {
      m.bcc = "x@example.com\r\nTo: y@example.com";
    }, ErrorCode.LineBreakInjection);
    throwsWith(() => m.setReturnPath("a@b\r\nRCPT TO:<c@d>"), ErrorCode.LineBreakInjection);
    throwsWith(() => m.setMailServer("host\r\nQUIT"), ErrorCode.LineBreakInjection);
    expect(m.getSubject()).toBe("kept");
    expect(m.getSendTo()).toBe("");
  });

  it("CR / LF in MessageRecipients fields: 602", () => {
    const m = new Smtp();
    m.setMessageRecipientCount(1);
    throwsWith(() => m.setMessageRecipientAddress(0, "a@b\r\nDATA"), ErrorCode.LineBreakInjection);
    throwsWith(() => m.setMessageRecipientName(0, "Name\nBcc: x@y"), ErrorCode.LineBreakInjection);
    throwsWith(() => m.setMessageRecipientOptions(0, "NOTIFY=NEVER\r\nRSET"), ErrorCode.LineBreakInjection);
    throwsWith(() => {
      m.messageRecipients = [{ address: "ok@example.com" }, { address: "x@y\r\nQUIT" }];
    }, ErrorCode.LineBreakInjection);
    expect(m.getMessageRecipientCount()).toBe(1);
    expect(m.getMessageRecipientAddress(0)).toBe("");
  });

  it("OtherHeaders with an empty line in the middle (or not a header line): 602", () => {
    const m = new Smtp({ otherHeaders: "X-Kept: 1" });
    throwsWith(() => m.setOtherHeaders("X-A: 1\r\n\r\nX-B: 2"), ErrorCode.LineBreakInjection);
    throwsWith(() => m.setOtherHeaders("X-A: 1\n\nbody text"), ErrorCode.LineBreakInjection);
    throwsWith(() => m.setOtherHeaders("X-A: 1\r\n \r\nX-B: 2"), ErrorCode.LineBreakInjection);
    throwsWith(() => m.setOtherHeaders("X-A: 1\rX-B: 2"), ErrorCode.LineBreakInjection);
    throwsWith(() => m.setOtherHeaders("not a header"), ErrorCode.LineBreakInjection);
    throwsWith(() => m.config("OtherHeaders=X-A: 1\r\n\r\nX-B: 2"), ErrorCode.LineBreakInjection);
    expect(m.getOtherHeaders()).toBe("X-Kept: 1");
    // Folded lines and a trailing line break are fine.
    m.setOtherHeaders("X-A: 1\r\n continued\r\nX-B: 2\r\n");
    expect(m.config("OtherHeaders")).toBe("X-A: 1\r\n continued\r\nX-B: 2\r\n");
  });

  it("indexes outside MessageRecipientCount: 609", () => {
    const m = new Smtp();
    m.setMessageRecipientCount(2);
    throwsWith(() => m.setMessageRecipientAddress(2, "a@b.c"), ErrorCode.IndexOutOfRange);
    throwsWith(() => m.getMessageRecipientAddress(-1), ErrorCode.IndexOutOfRange);
    throwsWith(() => m.setMessageRecipientType(0, 3 as never), ErrorCode.InvalidValue);
    throwsWith(() => m.setMessageRecipientCount(-1), ErrorCode.InvalidValue);
  });

  it("constructor options are validated the same way", () => {
    throwsWith(() => new Smtp({ mailPort: 0 }), ErrorCode.InvalidValue);
    throwsWith(() => new Smtp({ subject: "x\r\ny" }), ErrorCode.LineBreakInjection);
    throwsWith(() => new Smtp({ bogus: 1 } as never), ErrorCode.InvalidValue);
    throwsWith(() => new Smtp({ idle: false } as never), ErrorCode.InvalidValue);
    throwsWith(() => new Smtp({ settings: { NoSuchSetting: 1 } as never }), ErrorCode.UnknownSetting);
    const m = new Smtp({ settings: { StopOnToErrors: false, MaxHeaderLength: "100" as never } });
    expect(m.config("StopOnToErrors")).toBe("false");
    expect(m.config("MaxHeaderLength")).toBe("100");
  });
});

describe("config()", () => {
  it("unknown names throw 603; Timeout is a property, not a setting", () => {
    const m = new Smtp();
    throwsWith(() => m.config("Unknown=1"), ErrorCode.UnknownSetting);
    throwsWith(() => m.config("Unknown"), ErrorCode.UnknownSetting);
    throwsWith(() => m.config("Timeout"), ErrorCode.UnknownSetting);
    throwsWith(() => m.config("Timeout=5"), ErrorCode.UnknownSetting);
    expect(m.getTimeout()).toBe(60);
  });

  it("reads the defaults and sets values (names are case-insensitive)", () => {
    const m = new Smtp();
    expect(m.config("StopOnToErrors")).toBe("true");
    expect(m.config("StopOnCcErrors")).toBe("true");
    expect(m.config("StopOnBccErrors")).toBe("true");
    expect(m.config("AllowEmptyTo")).toBe("false");
    expect(m.config("SendRSET")).toBe("true");
    expect(m.config("MaxHeaderLength")).toBe("80");
    expect(m.config("stoponbccerrors=false")).toBe("");
    expect(m.config("StopOnBccErrors")).toBe("false");
    m.config("StopOnBccErrors=1");
    expect(m.config("StopOnBccErrors")).toBe("true");
  });

  it("refuses values of the wrong type or range: 601", () => {
    const m = new Smtp();
    throwsWith(() => m.config("StopOnToErrors=maybe"), ErrorCode.InvalidValue);
    throwsWith(() => m.config("MaxHeaderLength=10"), ErrorCode.InvalidValue);
    throwsWith(() => m.config("ConnectionTimeout=-1"), ErrorCode.InvalidValue);
    throwsWith(() => m.config("Hello=a\r\nb"), ErrorCode.LineBreakInjection);
    expect(m.config("StopOnToErrors")).toBe("true");
  });

  it("ReturnPath and OtherHeaders settings are the properties", () => {
    const m = new Smtp();
    m.config("ReturnPath=bounce@example.com");
    expect(m.getReturnPath()).toBe("bounce@example.com");
    m.setOtherHeaders("X-Y: z");
    expect(m.config("OtherHeaders")).toBe("X-Y: z");
  });
});

describe("read-only properties", () => {
  it("Idle, LastReply, MessageHeadersString and the MessageHeaders collection have no setters", () => {
    const m = new Smtp();
    expect(m.getIdle()).toBe(true);
    expect(m.idle).toBe(true);
    expect("setIdle" in m).toBe(false);
    expect("setLastReply" in m).toBe(false);
    expect("setMessageHeadersString" in m).toBe(false);
    expect("setMessageHeaderCount" in m).toBe(false);
    expect("setMessageHeaderField" in m).toBe(false);
    // Assignment to a getter-only accessor fails (TypeError in strict-mode code).
    expect(Reflect.set(m, "idle", false)).toBe(false);
    expect(() => {
      (m as unknown as { idle: boolean }).idle = false;
    }).toThrow(TypeError);
    expect(Reflect.set(m, "lastReply", "250 fake")).toBe(false);
    expect(Reflect.set(m, "messageHeaders", [])).toBe(false);
    expect(m.getIdle()).toBe(true);
    expect(m.getLastReply()).toBe("");
  });

  it("LastReply holds the message's final reply after a send that connected by itself, not QUIT's 221", async () => {
    const m = client(server.port);
    const result = await m.send();
    expect(m.getLastReply()).toMatch(/^250 /);
    expect(m.getLastReply()).toBe(result.reply);
  });

  it("a setting with no effect on Node.js (CodePage) says so once in PITrail, at the next method call", async () => {
    const m = client(server.port);
    m.config("CodePage=65001");
    m.config("CodePage=1252");
    const info: string[] = [];
    m.on("PITrail", (e) => {
      if (e.direction === 2) info.push(e.message);
    });
    await m.send();
    await m.send();
    expect(info.filter((l) => l.includes("CodePage"))).toEqual([noEffectNotice("CodePage")]);
  });

  it("on a connection kept with connect(), LastReply after a send is the message's final reply, not the NOOP's behind it", async () => {
    const m = client(server.port);
    await m.connect();
    try {
      const result = await m.send();
      expect(result.replyCode).toBe(250);
      expect(m.getLastReply()).toBe(result.reply);
    } finally {
      await m.disconnect();
    }
  });
});

describe("properties that cannot change while connected", () => {
  it("MailServer / MailPort / LocalHost: 612 while connected, fine again after disconnect()", async () => {
    const m = client(server.port);
    await m.connect();
    try {
      throwsWith(() => m.setMailServer("localhost"), ErrorCode.WhileConnected);
      throwsWith(() => m.setMailPort(server.port + 1 > 65535 ? 1 : server.port + 1), ErrorCode.WhileConnected);
      throwsWith(() => m.setLocalHost("127.0.0.1"), ErrorCode.WhileConnected);
      // Setting the same value is not a change.
      m.setMailServer("127.0.0.1");
      m.setMailPort(server.port);
      expect(m.getMailServer()).toBe("127.0.0.1");
      // Message properties may change.
      m.setSubject("changed while connected");
    } finally {
      await m.disconnect();
    }
    m.setMailServer("localhost");
    expect(m.getMailServer()).toBe("localhost");
  });
});

describe("checks made when send() starts, before connecting", () => {
  it("no From: 164; no recipient: 165; bad address: 604 — the server sees no connection", async () => {
    const before = server.connections;
    await rejectsWith(client(server.port, { from: "" }).send(), ErrorCode.NoFrom);
    await rejectsWith(client(server.port, { sendTo: "" }).send(), ErrorCode.NoRecipient);
    await rejectsWith(client(server.port, { sendTo: "not an address" }).send(), ErrorCode.InvalidAddress);
    await rejectsWith(client(server.port, { sendTo: "ok@example.com, <broken@" }).send(), ErrorCode.InvalidAddress);
    await rejectsWith(client(server.port, { from: "no-at-sign" }).send(), ErrorCode.InvalidAddress);
    expect(server.connections).toBe(before);
  });

  it("reset() restores every default", async () => {
    const m = client(server.port, { importance: 1, timeout: 5 });
    m.config("StopOnToErrors=false");
    await m.reset();
    expect(m.getMailServer()).toBe("");
    expect(m.getMailPort()).toBe(25);
    expect(m.getTimeout()).toBe(60);
    expect(m.getImportance()).toBe(0);
    expect(m.getSendTo()).toBe("");
    expect(m.config("StopOnToErrors")).toBe("true");
    expect(m.getIdle()).toBe(true);
  });
});

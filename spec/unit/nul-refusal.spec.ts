/**
 * NUL is refused wherever CR and LF are (602 LineBreakInjection): a NUL in a
 * command or header line cuts it short for C-string based servers and
 * filters, so the text after it is read differently by different hops.
 * Each entry point runs against a real smtp-server, which must receive
 * nothing of the message.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/errors.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";
import { client, rejectsWith } from "../support/client.js";
import { startSmtpServer, type Harness } from "../support/smtp-server-harness.js";

let server: Harness;

beforeAll(async () => {
  server = await startSmtpServer();
});

afterAll(async () => {
  await server.close();
});

/** What the server has seen so far, to compare before and after. */
function seen(): { connections: number; mail: number; rcpt: number; messages: number } {
  return { connections: server.connections, mail: server.mailCommands.length, rcpt: server.rcptCommands.length, messages: server.received.length };
}

/**
 * Builds a client with `options`, sends, and expects 602 with nothing at the
 * server: values are checked when set (or composed), so not even a
 * connection is opened.
 */
async function refusedWithNothingSent(options: SmtpOptions, act: (m: ReturnType<typeof client>) => Promise<unknown> = (m) => m.send()): Promise<void> {
  const before = seen();
  const err = await rejectsWith(
    (async () => {
      const m = client(server.port, options);
      try {
        await act(m);
      } finally {
        await m.disconnect().catch(() => undefined);
      }
    })(),
    ErrorCode.LineBreakInjection,
  );
  expect(err.message).toMatch(/CR, LF or NUL|NUL/);
  expect(seen()).toEqual(before);
}

describe("NUL in what goes on the wire: 602, nothing sent", () => {
  it("the control case: the same client without NUL delivers", async () => {
    const before = seen().messages;
    const m = client(server.port, { replyTo: "reply@example.com", messageId: "<ok@example.com>" });
    await m.send();
    await m.disconnect();
    expect(server.received.length).toBe(before + 1);
  });

  it("EHLO: the Hello setting", async () => {
    await refusedWithNothingSent({ settings: { Hello: "client.example.com\0evil" } });
    await refusedWithNothingSent({}, async (m) => {
      m.config("Hello=client.example.com\0evil");
      await m.send();
    });
  });

  it("RCPT parameters: MessageRecipientOptions (and sendMessage() recipient options)", async () => {
    await refusedWithNothingSent({ messageRecipients: [{ address: "extra@example.com", options: "NOTIFY=NEVER\0X-EVIL" }] });
    await refusedWithNothingSent({}, (m) => m.sendMessage("sender@example.com", [{ address: "r@example.com", options: "NOTIFY=NEVER\0X" }], "Subject: x\r\n\r\nbody\r\n"));
  });

  it("Message-ID: the MessageId property", async () => {
    await refusedWithNothingSent({ messageId: "<id\0Bcc: spy@example.com@example.com>" });
  });

  it("Date: the MessageDate property", async () => {
    await refusedWithNothingSent({ messageDate: "Mon, 1 Jan 2024 00:00:00 +0000\0X" });
  });

  it("OtherHeaders values", async () => {
    await refusedWithNothingSent({ otherHeaders: "X-Tag: one\0two" });
    await refusedWithNothingSent({ settings: { OtherHeaders: "X-A: 1\r\nX-B: 2\0" } });
  });

  it("Reply-To: the ReplyTo property", async () => {
    await refusedWithNothingSent({ replyTo: "reply\0@example.com" });
    await refusedWithNothingSent({ replyTo: '"Name\0" <reply@example.com>' });
  });

  it("Disposition-Notification-To: the ReadReceiptTo property", async () => {
    await refusedWithNothingSent({ readReceiptTo: "receipt@example.com\0" });
  });

  it("Return-Receipt-To: the DeliveryNotificationTo property", async () => {
    await refusedWithNothingSent({ deliveryNotificationTo: "dsn\0@example.com" });
  });

  it("a raw command: sendCommand() refuses it before connecting", async () => {
    await refusedWithNothingSent({}, (m) => m.sendCommand("NOOP\0RSET"));
  });

  it("VRFY and EXPN arguments (these connect first, then refuse the line)", async () => {
    const before = seen();
    const m = client(server.port);
    try {
      await rejectsWith(m.verify("user\0@example.com"), ErrorCode.LineBreakInjection);
      await rejectsWith(m.expand("list\0"), ErrorCode.LineBreakInjection);
    } finally {
      await m.disconnect().catch(() => undefined);
    }
    expect({ ...seen(), connections: before.connections }).toEqual(before);
  });
});

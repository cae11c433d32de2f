/** Explicit connect() / disconnect(), several sends on one connection, Connected. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/index.js";
import { bodyOf, headerMap, startSmtpServer, type Harness } from "../support/smtp-server-harness.js";
import { closedPort, scriptedSmtp, type TcpServer } from "../support/tcp-server.js";
import { client, record, rejectsWith, waitFor } from "../support/client.js";

let server: Harness;
const scripted: TcpServer[] = [];

beforeAll(async () => {
  server = await startSmtpServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await Promise.all(scripted.splice(0).map((s) => s.close()));
});

describe("connect() / disconnect()", () => {
  it("two sends on one connection: the second starts with RSET; disconnect() sends QUIT", async () => {
    const connectionsBefore = server.connections;
    const receivedBefore = server.received.length;
    const m = client(server.port);
    const r = record(m);
    await m.connect();
    expect(m.getConnected()).toBe(true);
    expect(m.connected).toBe(true);
    expect(m.serverCapabilities?.esmtp).toBe(true);
    expect(m.serverCapabilities?.has("8bitmime")).toBe(true);
    expect(m.getLastReply()).toMatch(/^250[- ]/);

    m.setSubject("first");
    await m.send();
    expect(m.getConnected()).toBe(true);
    m.setSubject("second");
    m.setSendTo("second@example.com");
    await m.send();
    expect(m.getConnected()).toBe(true);

    expect(server.received.length).toBe(receivedBefore + 2);
    expect(server.connections).toBe(connectionsBefore + 1);
    expect(headerMap(server.received[receivedBefore + 1]).get("subject")).toEqual(["second"]);
    expect(server.received[receivedBefore + 1]?.rcptTo).toEqual(["second@example.com"]);

    const sent = r.sent();
    const mails = sent.map((l, i) => (l.startsWith("MAIL FROM:") ? i : -1)).filter((i) => i >= 0);
    expect(mails).toHaveLength(2);
    expect(sent.slice(0, mails[0])).toEqual([expect.stringMatching(/^EHLO /)]);
    expect(sent[(mails[1] ?? 0) - 1]).toBe("RSET");
    expect(sent).not.toContain("QUIT");

    await m.disconnect();
    expect(r.sent()[r.sent().length - 1]).toBe("QUIT");
    expect(m.getConnected()).toBe(false);
    expect(m.getLastReply()).toMatch(/^221 /);
  });

  it("config SendRSET=false: no RSET between transactions", async () => {
    const m = client(server.port);
    m.config("SendRSET=false");
    const r = record(m);
    await m.connect();
    await m.send();
    await m.send();
    await m.disconnect();
    expect(r.sent()).not.toContain("RSET");
    expect(r.sent().filter((l) => l === "DATA")).toHaveLength(2);
  });

  it("setConnected(true) / setConnected(false) connect and disconnect", async () => {
    const m = client(server.port);
    const r = record(m);
    expect(m.getConnected()).toBe(false);
    await m.setConnected(true);
    expect(m.getConnected()).toBe(true);
    await m.send();
    await m.setConnected(false);
    expect(m.getConnected()).toBe(false);
    expect(r.sent()[0]).toMatch(/^EHLO /);
    expect(r.sent()[r.sent().length - 1]).toBe("QUIT");
    await rejectsWith(m.setConnected("yes" as unknown as boolean), ErrorCode.InvalidValue);
  });

  it("`connected = true` connects in the background", async () => {
    const m = client(server.port);
    m.connected = true;
    await waitFor(() => m.getConnected() && m.getIdle(), 10_000, "the connection");
    await m.send();
    expect(m.getConnected()).toBe(true);
    await m.disconnect();
    expect(m.connected).toBe(false);
  });

  it("`connected = true` that fails reports through the Error event", async () => {
    const m = client(await closedPort());
    const r = record(m);
    m.connected = true;
    await waitFor(() => r.errors.length > 0, 10_000, "the Error event");
    expect(r.errors[0]?.errorCode).toBe(ErrorCode.ConnectionRefused);
    expect(m.getConnected()).toBe(false);
    expect(m.getIdle()).toBe(true);
  });

  it("reset() on an open connection QUITs and closes it", async () => {
    const m = client(server.port);
    const r = record(m);
    await m.connect();
    await m.reset();
    expect(r.sent()[r.sent().length - 1]).toBe("QUIT");
    expect(m.getConnected()).toBe(false);
    expect(m.getMailServer()).toBe("");
  });

  it("disconnect() from a server that closes without answering QUIT resolves", async () => {
    const s = await scriptedSmtp({ QUIT: (conn) => conn.destroy() });
    scripted.push(s);
    const m = client(s.port);
    await m.connect();
    await m.disconnect();
    expect(m.getConnected()).toBe(false);
    expect(s.lines[s.lines.length - 1]).toBe("QUIT");
  });

  it("connect() when already connected keeps the same connection", async () => {
    const before = server.connections;
    const m = client(server.port);
    await m.connect();
    await m.connect();
    await m.send();
    await m.disconnect();
    expect(server.connections).toBe(before + 1);
  });

  it("disconnect() when not connected is not an error", async () => {
    const m = client(server.port);
    await m.disconnect();
    expect(m.getConnected()).toBe(false);
    expect(m.getIdle()).toBe(true);
  });

  it("a send failure (refused recipient) on a kept connection leaves it open and usable", async () => {
    const before = server.received.length;
    const m = client(server.port);
    await m.connect();
    m.setSendTo("reject-this@example.com");
    await rejectsWith(m.send(), ErrorCode.Protocol);
    expect(m.getConnected()).toBe(true);
    m.setSendTo("fine@example.com");
    await m.send();
    await m.disconnect();
    expect(server.received.length).toBe(before + 1);
    expect(server.received[before]?.rcptTo).toEqual(["fine@example.com"]);
  });

  it("when the server dropped the kept connection, the next send reconnects", async () => {
    const s = await scriptedSmtp({
      endOfData: (conn) => {
        conn.reply("250 2.0.0 ok, and goodbye");
        conn.end();
      },
    });
    scripted.push(s);
    const m = client(s.port);
    await m.connect();
    await m.send();
    await waitFor(() => !m.getConnected(), 10_000, "the client to notice the close");
    const result = await m.send();
    expect(result.replyCode).toBe(250);
    expect(s.connections).toHaveLength(2);
    expect(s.connections[1]?.lines.some((l) => l.startsWith("MAIL FROM:"))).toBe(true);
  });

  it("resetHeaders() keeps the connection; the next message is built from scratch", async () => {
    const before = server.received.length;
    const m = client(server.port, { subject: "old subject", importance: 1 });
    await m.connect();
    m.resetHeaders();
    expect(m.getConnected()).toBe(true);
    m.setFrom("fresh@example.com");
    m.setSendTo("fresh-to@example.com");
    m.setMessageText("fresh body");
    await m.send();
    await m.disconnect();
    const got = server.received[before];
    const h = headerMap(got);
    expect(h.has("subject")).toBe(false);
    expect(h.has("importance")).toBe(false);
    expect(bodyOf(got).toString("utf8")).toBe("fresh body\r\n");
  });
});

/** PITrail, ConnectionStatus, StartTransfer / Transfer / EndTransfer and Error events. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Direction, ErrorCode } from "../../src/index.js";
import { startSmtpServer, type Harness } from "../support/smtp-server-harness.js";
import { scriptedSmtp, type TcpServer } from "../support/tcp-server.js";
import { client, record, rejectsWith } from "../support/client.js";

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

const BODY_MARKER = "BODY-MARKER-7f3a";

describe("PITrail", () => {
  it("has client, server and info lines; shows the commands but never message content", async () => {
    const m = client(server.port, {
      subject: "SUBJECT-MARKER-91c2",
      messageText: `first ${BODY_MARKER}\r\n.dot ${BODY_MARKER}\r\nRCPT TO:<fake-in-body@example.com>\r\n`,
    });
    const r = record(m);
    await m.send();
    const dirs = new Set(r.trail.map((t) => t.direction));
    expect(dirs).toEqual(new Set([Direction.Client, Direction.Server, Direction.Info]));
    const client0 = r.trail.filter((t) => t.direction === 0).map((t) => t.message);
    expect(client0.some((l) => l.startsWith("MAIL FROM:<sender@example.com>"))).toBe(true);
    expect(client0).toContain("RCPT TO:<rcpt@example.com>");
    expect(client0).toContain("DATA");
    const server1 = r.trail.filter((t) => t.direction === 1).map((t) => t.message);
    expect(server1[0]).toMatch(/^220 /);
    expect(server1.some((l) => l.startsWith("354"))).toBe(true);
    expect(server1.some((l) => /^250 .*queued as test/.test(l))).toBe(true);
    for (const t of r.trail) {
      expect(t.message).not.toContain(BODY_MARKER);
      expect(t.message).not.toContain("SUBJECT-MARKER-91c2");
      expect(t.message).not.toContain("fake-in-body");
    }
  });

  it("client lines come in protocol order", async () => {
    const m = client(server.port, { sendTo: "a@example.com", cc: "b@example.com" });
    const r = record(m);
    await m.send();
    expect(r.sent().map((l) => l.replace(/^(EHLO|MAIL FROM:<[^>]*>).*$/, "$1"))).toEqual([
      "EHLO",
      "MAIL FROM:<sender@example.com>",
      "RCPT TO:<a@example.com>",
      "RCPT TO:<b@example.com>",
      "DATA",
      "NOOP",
      "QUIT",
    ]);
  });
});

describe("ConnectionStatus", () => {
  it("fires on connect and on disconnect", async () => {
    const m = client(server.port);
    const r = record(m);
    await m.connect();
    expect(r.status).toHaveLength(1);
    expect(r.status[0]?.statusCode).toBe(0);
    expect(r.status[0]?.connectionEvent).toMatch(/connect/i);
    expect(r.status[0]?.description).toContain(`127.0.0.1:${server.port}`);
    await m.disconnect();
    expect(r.status).toHaveLength(2);
    expect(r.status[1]?.connectionEvent).toMatch(/disconnect/i);
    expect(r.status[1]?.statusCode).toBe(0);
  });

  it("a send with its own connection reports both before send() resolves", async () => {
    const m = client(server.port);
    const r = record(m);
    await m.send();
    expect(r.status.map((s) => s.connectionEvent)).toEqual([expect.stringMatching(/connection complete/i), expect.stringMatching(/disconnected/i)]);
  });

  it("a connection lost mid-session reports the disconnect with an error code", async () => {
    const s = await scriptedSmtp({ MAIL: (conn) => conn.destroy() });
    scripted.push(s);
    const m = client(s.port);
    const r = record(m);
    // The failure: the server went away while the client waited for the reply to MAIL FROM.
    const err = await rejectsWith(m.send(), ErrorCode.ConnectionClosed);
    expect(err.message).toMatch(/MAIL FROM/);
    expect(r.status[0]?.connectionEvent).toMatch(/connection complete/i);
    expect(r.status[1]?.connectionEvent).toMatch(/disconnected/i);
    // The error code: the disconnect reports the code the send failed with, not 0.
    expect(r.status[1]?.statusCode).toBe(err.code);
    expect(r.status).toHaveLength(2);
  });
});

describe("transfer events", () => {
  it("StartTransfer and EndTransfer fire once per send", async () => {
    const m = client(server.port);
    const r = record(m);
    const order: string[] = [];
    m.on("StartTransfer", (e) => order.push(`start${e.direction}`));
    m.on("Transfer", () => {
      if (order[order.length - 1] !== "transfer") order.push("transfer");
    });
    m.on("EndTransfer", (e) => order.push(`end${e.direction}`));
    await m.send();
    await m.send();
    await m.connect();
    await m.send();
    await m.disconnect();
    expect(r.startTransfer).toBe(3);
    expect(r.endTransfer).toBe(3);
    expect(order).toEqual(["start0", "transfer", "end0", "start0", "transfer", "end0", "start0", "transfer", "end0"]);
  });

  it("no transfer events when the send fails before DATA", async () => {
    const m = client(server.port, { sendTo: "reject-early@example.com" });
    const r = record(m);
    await m.send().catch(() => undefined);
    expect(r.startTransfer).toBe(0);
    expect(r.endTransfer).toBe(0);
    expect(r.transfers).toHaveLength(0);
  });

  it("the Transfer text, joined, is exactly the data the server received (dot-stuffed) plus the end-of-data marker", async () => {
    const s = await scriptedSmtp();
    scripted.push(s);
    const m = client(s.port, { messageText: "line one\r\n.dotted\r\nline three" });
    const texts: string[] = [];
    m.on("Transfer", (e) => texts.push(e.text));
    await m.send();
    const wire = Buffer.concat(s.connections[0]?.data ?? []).toString("utf8");
    expect(wire).toMatch(/\r\n\r\nline one\r\n\.\.dotted\r\nline three\r\n$/);
    expect(texts.join("")).toBe(wire + ".\r\n");
  });
});

describe("Error event", () => {
  it("with no listener a non-fatal refusal does not throw", async () => {
    const before = server.received.length;
    const m = client(server.port, { sendTo: "ok@example.com", cc: "reject-quietly@example.com" });
    m.config("StopOnCcErrors=false");
    expect(m.listenerCount("Error")).toBe(0);
    const result = await m.send();
    expect(result.rejected).toHaveLength(1);
    expect(server.received.length).toBe(before + 1);
  });
});

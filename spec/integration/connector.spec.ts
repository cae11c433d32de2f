/**
 * smtp.connector: the session runs on a stream the caller opens (here a Unix
 * socket to a real smtp-server), for Smtp and for every SmtpPool connection.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, Smtp, SmtpError, SmtpPool } from "../../src/index.js";
import { rejectsWith } from "../support/client.js";

let dir: string;
let path: string;
let server: SMTPServer;
const kept: { rcpt: string[]; raw: string }[] = [];
let connections = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "smtpkit-connector-"));
  path = join(dir, "smtp.sock");
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    disableReverseLookup: true,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        kept.push({ rcpt: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString("utf8") });
        callback(null, "kept over the socket");
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(path, () => resolve()));
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function viaSocket(options: ConstructorParameters<typeof Smtp>[0] = {}): Smtp {
  const smtp = new Smtp({ mailServer: "unix.test", from: "a@example.com", sendTo: "b@example.com", subject: "over a socket", messageText: "hello\r\n", timeout: 5, ...options });
  smtp.connector = ({ host, port }) => {
    expect(host).toBe("unix.test");
    expect(port).toBe(25);
    return connect(path);
  };
  return smtp;
}

describe("Smtp.connector", () => {
  it("sends over a Unix socket: the server keeps the message, the trail shows the whole session", async () => {
    const before = kept.length;
    const smtp = viaSocket({ sendTo: "unix@example.com" });
    const trail: string[] = [];
    smtp.on("PITrail", (e) => trail.push(e.message));
    const result = await smtp.send();
    expect(result.reply).toMatch(/kept over the socket/);
    expect(kept.slice(before).map((m) => m.rcpt)).toEqual([["unix@example.com"]]);
    expect(trail.some((l) => l.startsWith("EHLO "))).toBe(true);
    expect(smtp.connected).toBe(false);
  });

  it("a socket that cannot connect is a typed error, not a hang", async () => {
    const smtp = viaSocket();
    smtp.connector = () => connect(join(dir, "nothing-here.sock"));
    const err = await rejectsWith(smtp.send(), ErrorCode.Communication);
    expect(err.message).toMatch(/connector/);
  });

  it("a connector that throws fails the send with its error wrapped as an SmtpError", async () => {
    const smtp = viaSocket();
    smtp.connector = () => {
      throw new Error("no tunnel today");
    };
    const err = await smtp.send().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SmtpError);
    expect((err as SmtpError).message).toMatch(/no tunnel today/);
  });

  it("SmtpPool uses the template's connector for every connection", async () => {
    const before = kept.length;
    const opened = connections;
    const pool = new SmtpPool(viaSocket(), { maxConnections: 2 });
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => pool.send({ from: "a@example.com", sendTo: `p${i}@example.com`, subject: `pool ${i}`, messageText: "x\r\n" })));
    await pool.close();
    expect(results.every((r) => r.replyCode === 250)).toBe(true);
    expect(kept.slice(before).map((m) => m.rcpt[0]).sort()).toEqual(Array.from({ length: 6 }, (_, i) => `p${i}@example.com`).sort());
    expect(connections - opened).toBeGreaterThanOrEqual(1);
    expect(connections - opened).toBeLessThanOrEqual(2);
  });
});

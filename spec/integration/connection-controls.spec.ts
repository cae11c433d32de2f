/**
 * Socket-level settings: UseIPv6, IPv6 MailServer forms, LocalHost, LocalPort,
 * AbsoluteTimeout, Linger, TcpNoDelay / TCPKeepAlive / buffer sizes and
 * MaxTransferRate (functionally only; its pace is measured by
 * bench/transfer-rate.mjs, not here).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lookup } from "node:dns/promises";
import { ErrorCode } from "../../src/index.js";
import { client, rejectsWith, waitFor } from "../support/client.js";
import { freePort } from "../support/proxies.js";
import { startOnSamePort, startSmtpServer, type Harness } from "../support/smtp-server-harness.js";
import { scriptedSmtp, type Connection, type TcpServer } from "../support/tcp-server.js";
import { tlsFixtures } from "../support/tls-fixtures.js";

let v4: Harness; // 127.0.0.1:P
let v6: Harness; // [::1]:P
let dual: { close(): Promise<void> };
let port: number;
const scripted: TcpServer[] = [];

beforeAll(async () => {
  const started = await startOnSamePort([
    { kind: "smtp", host: "127.0.0.1" },
    { kind: "smtp", host: "::1" },
  ]);
  v4 = started.servers[0] as Harness;
  v6 = started.servers[1] as Harness;
  port = started.port;
  dual = started;
});

afterAll(async () => {
  await Promise.all([dual?.close(), ...scripted.splice(0).map((s) => s.close())]);
});

async function track(s: Promise<TcpServer>): Promise<TcpServer> {
  const server = await s;
  scripted.push(server);
  return server;
}

const delivered = (t: Harness, rcpt: string) => t.received.filter((m) => m.rcptTo.includes(rcpt));

describe("address family and IPv6 host forms", () => {
  it('UseIPv6=1 to "localhost": over ::1, never over IPv4', async () => {
    const v4Before = v4.connections;
    const smtp = client(port, { mailServer: "localhost", sendTo: "six@example.com", settings: { UseIPv6: 1 } });
    // Whether "localhost" has an IPv6 address is the machine's /etc/hosts.
    const hasV6 = await lookup("localhost", { family: 6 }).then(() => true, () => false);
    if (hasV6) {
      await smtp.send();
      const m = delivered(v6, "six@example.com");
      expect(m).toHaveLength(1);
      expect(m[0]?.remoteAddress).toBe("::1");
    } else {
      // No IPv6 address for localhost here: IPv6-only must fail rather than fall back.
      await rejectsWith(smtp.send(), ErrorCode.HostNotFound);
    }
    expect(v4.connections).toBe(v4Before);
  });

  it('UseIPv6=0 to "localhost": over 127.0.0.1', async () => {
    const v6Before = v6.connections;
    const smtp = client(port, { mailServer: "localhost", sendTo: "four@example.com", settings: { UseIPv6: 0 } });
    await smtp.send();
    const m = delivered(v4, "four@example.com");
    expect(m).toHaveLength(1);
    expect(m[0]?.remoteAddress).toBe("127.0.0.1");
    expect(v6.connections).toBe(v6Before);
  });

  it('MailServer "::1"', async () => {
    const smtp = client(port, { mailServer: "::1", sendTo: "bare@example.com" });
    await smtp.send();
    expect(delivered(v6, "bare@example.com")[0]?.remoteAddress).toBe("::1");
  });

  it('MailServer "[::1]"', async () => {
    const smtp = client(port, { mailServer: "[::1]", sendTo: "bracketed@example.com" });
    await smtp.send();
    expect(delivered(v6, "bracketed@example.com")[0]?.remoteAddress).toBe("::1");
  });
});

describe("local end of the connection", () => {
  it('LocalHost "127.0.0.2" is the address the server sees', async () => {
    const smtp = client(port, { localHost: "127.0.0.2", sendTo: "fromtwo@example.com" });
    await smtp.send();
    const m = delivered(v4, "fromtwo@example.com");
    expect(m).toHaveLength(1);
    expect(m[0]?.remoteAddress).toBe("127.0.0.2");
  });

  it("LocalPort is the port the server sees", async () => {
    const localPort = await freePort("127.0.0.1");
    const before = v4.connections;
    const smtp = client(port, { sendTo: "fromport@example.com", settings: { LocalPort: localPort } });
    await smtp.send();
    expect(v4.sessions.slice(before).map(({ remoteAddress, remotePort }) => ({ remoteAddress, remotePort }))).toEqual([{ remoteAddress: "127.0.0.1", remotePort: localPort }]);
    expect(delivered(v4, "fromport@example.com")).toHaveLength(1);
  });

  it("LocalPort already in use: the connect fails with Winsock's 10048 (EADDRINUSE)", async () => {
    const localPort = await freePort("127.0.0.1");
    const blocker = await startSmtpServer({ port: localPort });
    try {
      const smtp = client(port, { settings: { LocalPort: localPort } });
      const err = await rejectsWith(smtp.send(), ErrorCode.AddressInUse);
      expect(err.message).toMatch(/EADDRINUSE/);
    } finally {
      await blocker.close();
    }
  });
});

/** Writes `text` one byte every `ms` milliseconds (stops when the socket goes). */
function trickle(conn: Connection, text: string, ms: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (conn.socket.destroyed || i >= text.length) {
      clearInterval(timer);
      return;
    }
    conn.socket.write(text.slice(i, i + 1));
    i++;
  }, ms);
  conn.socket.once("close", () => clearInterval(timer));
}

/** Answers `text` after `ms` milliseconds. */
const later = (text: string, ms: number) => (conn: Connection) => {
  const t = setTimeout(() => conn.reply(text), ms);
  conn.socket.once("close", () => clearTimeout(t));
};

describe("AbsoluteTimeout", () => {
  // Every reply comes 500 ms late: no single wait reaches Timeout (2 s), the
  // whole send (greeting, EHLO, MAIL, RCPT, DATA, end of data) takes ~3 s.
  const slowServer = () =>
    track(
      scriptedSmtp({
        greeting: later("220 slow.test ESMTP", 500),
        EHLO: later("250-slow.test\r\n250 8BITMIME", 500),
        MAIL: later("250 2.1.0 ok", 500),
        RCPT: later("250 2.1.5 ok", 500),
        DATA: (conn) => {
          setTimeout(() => {
            conn.reply("354 go ahead");
            conn.startData();
          }, 500);
        },
        endOfData: later("250 2.0.0 queued", 500),
      }),
    );

  it("without it, Timeout bounds each wait: a slow session longer than Timeout succeeds", async () => {
    const server = await slowServer();
    const smtp = client(server.port, { timeout: 2 });
    const started = Date.now();
    const result = await smtp.send();
    expect(result.accepted).toEqual(["rcpt@example.com"]);
    expect(Date.now() - started).toBeGreaterThan(2000);
  });

  it("with it, Timeout bounds the whole send: 10060 after about Timeout seconds", async () => {
    const server = await slowServer();
    const smtp = client(server.port, { timeout: 2, settings: { AbsoluteTimeout: true } });
    const started = Date.now();
    const err = await rejectsWith(smtp.send(), ErrorCode.TimedOut);
    const elapsed = Date.now() - started;
    expect(err.message).toMatch(/AbsoluteTimeout/);
    // Not before Timeout; that it is the whole-operation timer (not one wait) the message says.
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    // The connection was dropped before any message data was sent.
    await waitFor(() => server.connections[0]?.socket.destroyed === true, 5000, "the connection to close");
    expect(server.connections[0]?.dataBytes).toBe(0);
  });

  // A multi-line EHLO reply, one byte every 300 ms (~4.2 s in all): data
  // keeps flowing, no pause comes near Timeout.
  const EHLO_REPLY = "250-a\r\n250 b\r\n";
  const tricklingServer = () =>
    track(
      scriptedSmtp({
        EHLO: (conn) => trickle(conn, EHLO_REPLY, 300),
      }),
    );

  it("with it, a server that trickles its EHLO reply byte by byte: 10060 after about Timeout seconds", async () => {
    const server = await tricklingServer();
    const smtp = client(server.port, { timeout: 2, settings: { AbsoluteTimeout: true } });
    const started = Date.now();
    const err = await rejectsWith(smtp.send(), ErrorCode.TimedOut);
    expect(err.message).toMatch(/AbsoluteTimeout/);
    expect(Date.now() - started).toBeLessThan(EHLO_REPLY.length * 300);
  });

  it("without it, the same trickling server is slow but succeeds (Timeout is an inactivity timeout, as in IP*Works)", async () => {
    const server = await tricklingServer();
    const smtp = client(server.port, { timeout: 2 });
    const result = await smtp.send();
    expect(result.accepted).toEqual(["rcpt@example.com"]);
  });
});

describe("Linger", () => {
  /** A server that answers QUIT but leaves the closing to the client, recording how the client closed. */
  async function closeWatcher() {
    const seen = { resets: 0, fins: 0, errors: [] as string[] };
    const server = await track(
      scriptedSmtp({
        QUIT: (conn) => conn.reply("221 2.0.0 bye"),
      }),
    );
    return { server, seen };
  }

  function watch(server: TcpServer, seen: { resets: number; fins: number; errors: string[] }): void {
    const conn = server.connections[0];
    if (!conn) throw new Error("no connection");
    conn.socket.on("end", () => seen.fins++);
    conn.socket.on("error", (e: NodeJS.ErrnoException) => {
      seen.errors.push(e.code ?? e.message);
      if (e.code === "ECONNRESET") seen.resets++;
    });
  }

  it("Linger=false: after QUIT the server sees a reset (ECONNRESET), not a FIN", async () => {
    const { server, seen } = await closeWatcher();
    const smtp = client(server.port, { settings: { Linger: false } });
    await smtp.connect();
    watch(server, seen);
    await smtp.send();
    await smtp.disconnect();
    await waitFor(() => seen.resets > 0 || seen.fins > 0, 5000, "the client's close");
    await waitFor(() => server.connections[0]?.socket.destroyed === true, 5000, "the server socket to close");
    expect(seen.errors).toContain("ECONNRESET");
    expect(seen.fins).toBe(0);
    expect(server.connections[0]?.lines.at(-1)).toBe("QUIT");
  });

  it("Linger=false over TLS: the send still resolves (the message was delivered) and the connection is reset", async () => {
    const tls = await startSmtpServer({ mode: "implicit" });
    try {
      const smtp = client(tls.port, { mailServer: "localhost", sslStartMode: 1, sendTo: "tls-linger@example.com", settings: { Linger: false, SSLCACerts: tlsFixtures.caCert } });
      const outcome = await smtp.send().then(
        (r) => r.accepted,
        (e: unknown) => e,
      );
      expect(tls.received.filter((m) => m.rcptTo.includes("tls-linger@example.com"))).toHaveLength(1);
      expect(outcome).toEqual(["tls-linger@example.com"]);
    } finally {
      await tls.close();
    }
  });

  it("Linger=true (default): the server sees a FIN and no error", async () => {
    const { server, seen } = await closeWatcher();
    const smtp = client(server.port);
    await smtp.connect();
    watch(server, seen);
    await smtp.send();
    await smtp.disconnect();
    await waitFor(() => server.connections[0]?.socket.destroyed === true, 5000, "the server socket to close");
    expect(seen.fins).toBe(1);
    expect(seen.errors).toEqual([]);
  });
});

describe("socket options", () => {
  it("TcpNoDelay=false, TCPKeepAlive with KeepAliveTime / KeepAliveInterval, InBufferSize / OutBufferSize: accepted, and a send works", async () => {
    const body = "0123456789abcdefghijklmnopqrstuvwxyz\r\n".repeat(8000); // ~300 KB
    const smtp = client(port, {
      sendTo: "sockopts@example.com",
      messageText: body,
      settings: { TcpNoDelay: false, TCPKeepAlive: true, KeepAliveTime: 30, KeepAliveInterval: 5, InBufferSize: 4096, OutBufferSize: 8192 },
    });
    expect(smtp.config("TcpNoDelay")).toBe("false");
    expect(smtp.config("InBufferSize")).toBe("4096");
    const result = await smtp.send();
    expect(result.accepted).toEqual(["sockopts@example.com"]);
    const m = delivered(v4, "sockopts@example.com");
    expect(m).toHaveLength(1);
    expect(m[0]?.raw.toString("utf8").endsWith(body)).toBe(true);
  });

  it("MaxTransferRate=1000000: a send works (the pace itself is measured by bench/transfer-rate.mjs)", async () => {
    const body = "x".repeat(76) + "\r\n";
    const smtp = client(port, { sendTo: "rate@example.com", messageText: body.repeat(1000), settings: { MaxTransferRate: 1_000_000 } });
    const result = await smtp.send();
    expect(result.accepted).toEqual(["rate@example.com"]);
    expect(delivered(v4, "rate@example.com")[0]?.raw.toString("utf8").endsWith(body.repeat(1000))).toBe(true);
  });
});

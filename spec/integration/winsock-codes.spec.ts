/**
 * Winsock codes for the socket and DNS failures Node reports, as IP*Works
 * reports them: EADDRINUSE 10048 (a LocalPort bind conflict, not 162),
 * ECONNABORTED 10053, EWOULDBLOCK / EAGAIN 10035, DNS no-data 11004. The
 * conflicts and the DNS answer are real (sockets and a DNS responder on
 * 127.0.0.1); the errno values no test can provoke on demand are checked on
 * the table.
 */
import { Resolver } from "node:dns/promises";
import { createServer, type AddressInfo, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES, ErrorCode, SmtpError } from "../../src/errors.js";
import { socketError } from "../../src/transport/socket-errors.js";
import { client, rejectsWith } from "../support/client.js";
import { startDnsResponder, type DnsResponder } from "../support/dns-responder.js";
import { startSmtpServer, type Harness } from "../support/smtp-server-harness.js";

let relay: Harness;
let dns: DnsResponder;
const blockers: Server[] = [];

beforeAll(async () => {
  [relay, dns] = await Promise.all([startSmtpServer(), startDnsResponder()]);
});

afterAll(async () => {
  await Promise.all([relay?.close(), dns?.close(), ...blockers.map((b) => new Promise<void>((resolve) => b.close(() => resolve())))]);
});

/** A TCP listener on 127.0.0.1 and a port the system picks: that port is then in use. */
async function listening(): Promise<number> {
  const server = createServer((s) => s.destroy());
  blockers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** The error a real operation rejects with. */
async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    if (e instanceof Error) return e;
    throw new Error(`rejected with a non-Error: ${String(e)}`);
  }
  throw new Error("expected the operation to fail");
}

/** An errno-style error as Node builds them. */
function errno(code: string, syscall: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${syscall} ${code}`);
  e.code = code;
  e.syscall = syscall;
  return e;
}

describe("EADDRINUSE: 10048", () => {
  it("LocalPort already bound by another socket: send() fails with 10048 (not 162), naming LocalPort; nothing reached the relay", async () => {
    const busy = await listening();
    const before = relay.connections;
    const smtp = client(relay.port, { settings: { LocalPort: busy } });
    const err = await rejectsWith(smtp.send(), ErrorCode.AddressInUse);
    expect(err.code).toBe(10048);
    expect(err.message).toMatch(/already in use/);
    expect(err.message).toMatch(/LocalPort/);
    expect(err.message).toMatch(/EADDRINUSE/);
    expect(relay.connections).toBe(before);
  });

  it("a real bind conflict from node:net maps to 10048", async () => {
    const busy = await listening();
    const second = createServer();
    const e = await failure(new Promise<void>((resolve, reject) => {
      second.once("error", reject);
      second.listen(busy, "127.0.0.1", () => resolve());
    }));
    expect((e as NodeJS.ErrnoException).code).toBe("EADDRINUSE");
    const err = socketError(e, "binding");
    expect(err).toBeInstanceOf(SmtpError);
    expect(err.code).toBe(ErrorCode.AddressInUse);
    expect(err.cause).toBe(e);
  });
});

describe("DNS no-data: 11004", () => {
  it("a name that exists without an address record (a real NODATA answer) maps to 11004, not 11001", async () => {
    dns.zone.set("noaddress.test", { MX: [{ preference: 10, exchange: "mx.noaddress.test" }] });
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([dns.server]);
    const e = await failure(resolver.resolve4("noaddress.test"));
    expect((e as NodeJS.ErrnoException).code).toBe("ENODATA");
    const err = socketError(e, "resolving noaddress.test");
    expect(err.code).toBe(ErrorCode.NoData);
    expect(err.code).toBe(11004);
    expect(err.message).toMatch(/no address/);

    // NXDOMAIN stays 11001.
    const nx = await failure(resolver.resolve4("missing.test"));
    expect(socketError(nx, "resolving missing.test").code).toBe(ErrorCode.HostNotFound);
  });

  it("getaddrinfo's EAI_NODATA maps to 11004 too", () => {
    expect(socketError(errno("EAI_NODATA", "getaddrinfo"), "resolving").code).toBe(11004);
  });
});

describe("ECONNABORTED 10053, EWOULDBLOCK / EAGAIN 10035", () => {
  it("map to their Winsock numbers with a readable reason and the cause kept", () => {
    const cases: [string, number, RegExp][] = [
      ["ECONNABORTED", 10053, /aborted/],
      ["EWOULDBLOCK", 10035, /would block/],
      ["EAGAIN", 10035, /would block/],
    ];
    for (const [code, expected, text] of cases) {
      const e = errno(code, "read");
      const err = socketError(e, "connection error");
      expect({ code, got: err.code }).toEqual({ code, got: expected });
      expect(err.message).toMatch(text);
      expect(err.message).toMatch(/^connection error: /);
      expect(err.cause).toBe(e);
    }
  });

  it("the unchanged mappings stay: ECONNRESET 10054, ECONNREFUSED 10061, EADDRNOTAVAIL 162", () => {
    expect(socketError(errno("ECONNRESET", "read"), "x").code).toBe(10054);
    expect(socketError(errno("ECONNREFUSED", "connect"), "x").code).toBe(10061);
    expect(socketError(errno("EADDRNOTAVAIL", "connect"), "x").code).toBe(162);
  });
});

describe("the error table", () => {
  it("documents each new code with a name, a meaning and a retry class", () => {
    const byCode = new Map(ERROR_CODES.map((row) => [row.code, row]));
    expect(byCode.get(10035)).toMatchObject({ name: "WouldBlock", retry: "transient" });
    expect(byCode.get(10048)).toMatchObject({ name: "AddressInUse", retry: "depends" });
    expect(byCode.get(10053)).toMatchObject({ name: "ConnectionAborted", retry: "transient" });
    expect(byCode.get(11004)).toMatchObject({ name: "NoData", retry: "permanent" });
    for (const code of [10035, 10048, 10053, 11004]) expect(byCode.get(code)?.meaning.length).toBeGreaterThan(20);
    expect(new Set(ERROR_CODES.map((row) => row.code)).size).toBe(ERROR_CODES.length);
  });
});

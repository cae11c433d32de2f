/**
 * FirewallType / Firewall* / FirewallAutoDetect against real proxies:
 * Debian's microsocks (SOCKS5) and tinyproxy (HTTP CONNECT) as child processes,
 * and in-process SOCKS4 / SOCKS4A / SOCKS5 / HTTP proxies that record exactly
 * what they were asked and can misbehave. Behind them: smtp-server in clear
 * text, with STARTTLS and with implicit TLS, reached as "localhost".
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isIPv4 } from "node:net";
import { ErrorCode, SmtpError } from "../../src/index.js";
import type { Smtp } from "../../src/smtp.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";
import { client, record, rejectsWith } from "../support/client.js";
import { closedPort } from "../support/tcp-server.js";
import { tlsFixtures } from "../support/tls-fixtures.js";
import {
  startHttpProxy,
  startMicrosocks,
  startSocksProxy,
  startTinyproxy,
  type HttpProxy,
  type ProxyProcess,
  type SocksProxy,
} from "../support/proxies.js";
import { startSmtpServer, type Harness } from "../support/smtp-server-harness.js";

const FW = { Tunnel: 1, Socks4: 2, Socks5: 3, Socks4A: 10 } as const;

let microsocks: ProxyProcess;
let microsocksAuth: ProxyProcess;
let tinyproxy: ProxyProcess;
let tinyproxyAuth: ProxyProcess;
let tinyproxyTlsOnly: ProxyProcess;
let socks4: SocksProxy;
let socks4a: SocksProxy;
let socks5: SocksProxy;
let socks5Auth: SocksProxy;
let http: HttpProxy;
let plain: Harness;
let starttls: Harness;
let implicit: Harness;
let wrongHost: Harness;

const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  // Reached as "localhost": the proxies may resolve it to 127.0.0.1 or ::1.
  const dual = { alsoOn: ["::1"] };
  [microsocks, microsocksAuth, tinyproxy, tinyproxyAuth, tinyproxyTlsOnly, socks4, socks4a, socks5, socks5Auth, http, plain, starttls, implicit, wrongHost] = await Promise.all([
    startMicrosocks(),
    startMicrosocks({ user: "fwuser", password: "fwpass" }),
    startTinyproxy(),
    startTinyproxy({ user: "webuser", password: "webpass" }),
    startTinyproxy({ connectPorts: [443] }),
    startSocksProxy({ accept: ["4"] }),
    startSocksProxy({ accept: ["4", "4a"] }),
    startSocksProxy({ accept: ["5"] }),
    startSocksProxy({ accept: ["5"], user: "envuser", password: "env pass" }),
    startHttpProxy(),
    startSmtpServer({ mode: "plain", ...dual }),
    startSmtpServer({ mode: "starttls", ...dual }),
    startSmtpServer({ mode: "implicit", ...dual }),
    startSmtpServer({ mode: "implicit", cert: "wronghost", ...dual }),
  ]);
  closers.push(
    () => microsocks.stop(),
    () => microsocksAuth.stop(),
    () => tinyproxy.stop(),
    () => tinyproxyAuth.stop(),
    () => tinyproxyTlsOnly.stop(),
    () => socks4.close(),
    () => socks4a.close(),
    () => socks5.close(),
    () => socks5Auth.close(),
    () => http.close(),
    () => plain.close(),
    () => starttls.close(),
    () => implicit.close(),
    () => wrongHost.close(),
  );
});

afterAll(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

afterEach(() => {
  // In-process proxies go back to good behaviour after a failure test.
  for (const p of [socks4, socks4a, socks5, socks5Auth]) p.behaviour = "relay";
  http.behaviour = "tunnel";
});

interface Firewall {
  type: (typeof FW)[keyof typeof FW];
  port: number;
  user?: string;
  password?: string;
}

let seq = 0;

/** A client for `target` reached as `host` (default "localhost") through the proxy. */
function viaProxy(target: Harness, fw: Firewall, options: SmtpOptions = {}): { smtp: Smtp; rcpt: string } {
  const rcpt = `rcpt${++seq}@example.com`;
  const smtp = client(target.port, {
    mailServer: "localhost",
    firewallType: fw.type,
    firewallHost: "127.0.0.1",
    firewallPort: fw.port,
    firewallUser: fw.user ?? "",
    firewallPassword: fw.password ?? "",
    sendTo: rcpt,
    sslStartMode: target === plain ? 3 : target === starttls ? 2 : 1,
    ...options,
    settings: { SSLCACerts: tlsFixtures.caCert, ...options.settings },
  });
  return { smtp, rcpt };
}

function receivedBy(target: Harness, rcpt: string) {
  return target.received.filter((m) => m.rcptTo.includes(rcpt));
}

describe("SOCKS5 through microsocks", () => {
  it("without authentication: the message arrives at the server behind it", async () => {
    const { smtp, rcpt } = viaProxy(plain, { type: FW.Socks5, port: microsocks.port });
    const result = await smtp.send();
    expect(result.accepted).toEqual([rcpt]);
    expect(receivedBy(plain, rcpt)).toHaveLength(1);
  });

  it("with FirewallUser / FirewallPassword: the message arrives", async () => {
    const { smtp, rcpt } = viaProxy(plain, { type: FW.Socks5, port: microsocksAuth.port, user: "fwuser", password: "fwpass" });
    await smtp.send();
    expect(receivedBy(plain, rcpt)).toHaveLength(1);
  });

  it("a wrong password: 118, the message says the proxy refused the authentication, nothing reaches the server", async () => {
    const before = plain.connections;
    const { smtp, rcpt } = viaProxy(plain, { type: FW.Socks5, port: microsocksAuth.port, user: "fwuser", password: "wrong" });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/SOCKS5/);
    expect(err.message).toMatch(/authentication refused/i);
    expect(err.hint).toMatch(/FirewallUser and FirewallPassword/);
    expect(plain.connections).toBe(before);
    expect(receivedBy(plain, rcpt)).toHaveLength(0);
  });

  it("no credentials where the proxy requires them: 118 naming the authentication methods", async () => {
    const { smtp } = viaProxy(plain, { type: FW.Socks5, port: microsocksAuth.port });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/none of the offered authentication methods/);
  });
});

describe("HTTP CONNECT through tinyproxy", () => {
  it("without authentication: the message arrives", async () => {
    const { smtp, rcpt } = viaProxy(plain, { type: FW.Tunnel, port: tinyproxy.port });
    await smtp.send();
    expect(receivedBy(plain, rcpt)).toHaveLength(1);
  });

  it("with Basic authentication: the message arrives", async () => {
    const { smtp, rcpt } = viaProxy(plain, { type: FW.Tunnel, port: tinyproxyAuth.port, user: "webuser", password: "webpass" });
    await smtp.send();
    expect(receivedBy(plain, rcpt)).toHaveLength(1);
  });

  it("wrong credentials: 118 saying the proxy refused FirewallUser / FirewallPassword", async () => {
    // tinyproxy (1.11) answers wrong Basic credentials with "401 Unauthorized", not 407.
    const { smtp, rcpt } = viaProxy(plain, { type: FW.Tunnel, port: tinyproxyAuth.port, user: "webuser", password: "nope" });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/HTTP proxy answered 40[17]/);
    expect(err.message).toMatch(/refused FirewallUser \/ FirewallPassword/);
    expect(receivedBy(plain, rcpt)).toHaveLength(0);
  });

  it("no credentials: 118 with the 407 saying authentication is required (Basic)", async () => {
    const { smtp } = viaProxy(plain, { type: FW.Tunnel, port: tinyproxyAuth.port });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/407/);
    expect(err.message).toMatch(/requires authentication \(Basic\)/);
  });

  it("CONNECT to a port the proxy does not allow (ConnectPort 443 only): 118 with the 403", async () => {
    const { smtp } = viaProxy(plain, { type: FW.Tunnel, port: tinyproxyTlsOnly.port });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/403/);
    expect(err.message).toContain(`CONNECT localhost:${plain.port}`);
  });
});

describe("SOCKS4 and SOCKS4A (in-process proxies)", () => {
  it("SOCKS4 carries an IPv4 address: MailServer localhost is resolved here; FirewallUser is the user id", async () => {
    const before = socks4.requests.length;
    const { smtp, rcpt } = viaProxy(plain, { type: FW.Socks4, port: socks4.port, user: "ident" });
    await smtp.send();
    const req = socks4.requests[before];
    expect(req).toMatchObject({ variant: "4", addressType: "ipv4", port: plain.port, userId: "ident" });
    expect(isIPv4(req?.host ?? "")).toBe(true);
    expect(req?.host).toBe("127.0.0.1");
    expect(receivedBy(plain, rcpt)).toHaveLength(1);
  });

  it("SOCKS4A carries the host name unresolved", async () => {
    const before = socks4a.requests.length;
    const { smtp, rcpt } = viaProxy(plain, { type: FW.Socks4A, port: socks4a.port });
    await smtp.send();
    expect(socks4a.requests[before]).toMatchObject({ variant: "4a", addressType: "domain", host: "localhost", port: plain.port });
    expect(receivedBy(plain, rcpt)).toHaveLength(1);
  });

  it("SOCKS4 with an IPv6 MailServer: refused here, never sent to the proxy as a SOCKS4A host name", async () => {
    const before = socks4.requests.length;
    const { smtp } = viaProxy(plain, { type: FW.Socks4, port: socks4.port }, { mailServer: "::1" });
    const err = await smtp.send().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SmtpError);
    // FirewallType 2 must speak plain SOCKS4: an IPv6 destination cannot be expressed in it.
    expect(socks4.requests.slice(before).map((r) => r.variant)).not.toContain("4a");
    expect((err as SmtpError).message).toMatch(/IPv6|IPv4/);
  });

  it("SOCKS4A to a proxy that only speaks SOCKS4 (it refuses host names): 118", async () => {
    const before = socks4.requests.length;
    const { smtp } = viaProxy(plain, { type: FW.Socks4A, port: socks4.port });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/SOCKS4A/);
    expect(err.message).toMatch(/refused to connect/);
    expect(socks4.requests[before]).toMatchObject({ variant: "4a", host: "localhost" });
  });
});

describe("each proxy type with clear text, STARTTLS and implicit TLS", () => {
  const proxies: [string, () => Firewall][] = [
    ["HTTP CONNECT (tinyproxy)", () => ({ type: FW.Tunnel, port: tinyproxy.port })],
    ["SOCKS4", () => ({ type: FW.Socks4, port: socks4.port })],
    ["SOCKS5 (microsocks)", () => ({ type: FW.Socks5, port: microsocks.port })],
    ["SOCKS4A", () => ({ type: FW.Socks4A, port: socks4a.port })],
  ];
  const modes: ["plain" | "starttls" | "implicit", () => Harness][] = [
    ["plain", () => plain],
    ["starttls", () => starttls],
    ["implicit", () => implicit],
  ];
  for (const [proxyName, fw] of proxies) {
    for (const [mode, target] of modes) {
      it(`${proxyName}, ${mode}`, async () => {
        const t = target();
        const handshakesBefore = t.handshakes.length;
        const { smtp, rcpt } = viaProxy(t, fw());
        const r = record(smtp);
        await smtp.send();
        const got = receivedBy(t, rcpt);
        expect(got).toHaveLength(1);
        expect(got[0]?.secure).toBe(mode !== "plain");
        if (mode === "plain") {
          expect(t.handshakes.length).toBe(handshakesBefore);
          expect(r.status.map((s) => s.connectionEvent)).not.toContain("SSL handshake complete");
        } else {
          // SNI and the certificate check ran end to end against the server's name.
          expect(got[0]?.servername).toBe("localhost");
          expect(smtp.getSSLServerCert()?.subject).toMatch(/localhost/);
          expect(r.status.map((s) => s.connectionEvent)).toContain("SSL handshake complete");
        }
      });
    }
  }

  it("the certificate is still checked through the tunnel: a certificate for another host is refused (274)", async () => {
    const { smtp, rcpt } = viaProxy(wrongHost, { type: FW.Socks5, port: microsocks.port });
    await rejectsWith(smtp.send(), ErrorCode.TlsHostMismatch);
    expect(receivedBy(wrongHost, rcpt)).toHaveLength(0);
  });

  it("through HTTP CONNECT as well (274)", async () => {
    const { smtp } = viaProxy(wrongHost, { type: FW.Tunnel, port: tinyproxy.port });
    await rejectsWith(smtp.send(), ErrorCode.TlsHostMismatch);
  });

  it("the server's greeting arriving in the same segment as the SOCKS5 reply is not lost", async () => {
    socks5.behaviour = "coalesce";
    const { smtp, rcpt } = viaProxy(starttls, { type: FW.Socks5, port: socks5.port });
    await smtp.send();
    expect(receivedBy(starttls, rcpt)).toHaveLength(1);
  });

  it("the server's greeting arriving in the same segment as the HTTP 200 is not lost", async () => {
    http.behaviour = "coalesce";
    const { smtp, rcpt } = viaProxy(starttls, { type: FW.Tunnel, port: http.port });
    await smtp.send();
    expect(receivedBy(starttls, rcpt)).toHaveLength(1);
  });
});

describe("a MailServer starting with '*' is passed to the proxy unresolved", () => {
  it("SOCKS5: the proxy gets the name; TLS still checks 'localhost' (without the '*')", async () => {
    const before = socks5.requests.length;
    const { smtp, rcpt } = viaProxy(implicit, { type: FW.Socks5, port: socks5.port }, { mailServer: "*localhost" });
    await smtp.send();
    expect(socks5.requests[before]).toMatchObject({ variant: "5", addressType: "domain", host: "localhost", port: implicit.port });
    const got = receivedBy(implicit, rcpt);
    expect(got).toHaveLength(1);
    expect(got[0]?.servername).toBe("localhost");
  });

  it("SOCKS4A: the proxy gets the name", async () => {
    const before = socks4a.requests.length;
    const { smtp, rcpt } = viaProxy(plain, { type: FW.Socks4A, port: socks4a.port }, { mailServer: "*localhost" });
    await smtp.send();
    expect(socks4a.requests[before]).toMatchObject({ variant: "4a", addressType: "domain", host: "localhost" });
    expect(receivedBy(plain, rcpt)).toHaveLength(1);
  });

  it("HTTP CONNECT: the CONNECT line names the host", async () => {
    const before = http.requests.length;
    const { smtp, rcpt } = viaProxy(plain, { type: FW.Tunnel, port: http.port }, { mailServer: "*localhost" });
    await smtp.send();
    expect(http.requests[before]?.requestLine).toBe(`CONNECT localhost:${plain.port} HTTP/1.1`);
    expect(http.requests[before]?.headers["host"]).toBe(`localhost:${plain.port}`);
    expect(http.requests[before]?.headers["proxy-authorization"]).toBeUndefined();
    expect(receivedBy(plain, rcpt)).toHaveLength(1);
  });

  it("HTTP CONNECT with FirewallUser sends Basic credentials", async () => {
    const before = http.requests.length;
    const { smtp } = viaProxy(plain, { type: FW.Tunnel, port: http.port, user: "ü user", password: "p:w" });
    await smtp.send();
    expect(http.requests[before]?.headers["proxy-authorization"]).toBe(`Basic ${Buffer.from("ü user:p:w", "utf8").toString("base64")}`);
  });
});

describe("failing proxies: SmtpError 118", () => {
  it("SOCKS5 reply 5 (connection refused)", async () => {
    socks5.behaviour = "refuse";
    const { smtp } = viaProxy(plain, { type: FW.Socks5, port: socks5.port });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/refused to connect to the server/);
    expect(err.message).toMatch(/ConnectionRefused/);
  });

  it("SOCKS4 reply 0x5B (rejected)", async () => {
    socks4.behaviour = "refuse";
    const { smtp } = viaProxy(plain, { type: FW.Socks4, port: socks4.port });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/SOCKS4: the proxy refused to connect/);
  });

  it("a SOCKS5 proxy that answers garbage", async () => {
    socks5.behaviour = "garbage";
    const { smtp } = viaProxy(plain, { type: FW.Socks5, port: socks5.port });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/SOCKS5: .*invalid/i);
  });

  it("a SOCKS5 proxy that closes as soon as the client speaks", async () => {
    socks5.behaviour = "close";
    const { smtp } = viaProxy(plain, { type: FW.Socks5, port: socks5.port });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/closed the connection/);
  });

  it("an HTTP proxy that answers garbage", async () => {
    http.behaviour = "garbage";
    const { smtp } = viaProxy(plain, { type: FW.Tunnel, port: http.port });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/not an HTTP answer to CONNECT/);
  });

  it("an HTTP proxy that closes before answering", async () => {
    http.behaviour = "close";
    const { smtp } = viaProxy(plain, { type: FW.Tunnel, port: http.port });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/closed the connection before answering CONNECT/);
  });

  it("an HTTP proxy whose header block never ends within 16 KB", async () => {
    http.behaviour = "oversized-open";
    const { smtp } = viaProxy(plain, { type: FW.Tunnel, port: http.port });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/exceeded 16384 bytes/);
  });

  it("an HTTP proxy whose (complete) header block is larger than 16 KB", async () => {
    http.behaviour = "oversized-complete";
    const { smtp } = viaProxy(plain, { type: FW.Tunnel, port: http.port }, { timeout: 1 });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/16384 bytes/);
  });

  it("an HTTP proxy that answers 502", async () => {
    http.behaviour = "status";
    http.statusLine = "HTTP/1.1 502 Bad Gateway";
    const { smtp } = viaProxy(plain, { type: FW.Tunnel, port: http.port });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toContain("HTTP proxy answered 502 Bad Gateway");
  });

  it("an HTTP proxy that never answers: 118 after Timeout", async () => {
    http.behaviour = "silent";
    const { smtp } = viaProxy(plain, { type: FW.Tunnel, port: http.port }, { timeout: 1 });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/did not answer CONNECT within 1 s/);
  });

  it("AbsoluteTimeout also bounds a SOCKS handshake the proxy never answers", async () => {
    socks5.behaviour = "silent";
    const { smtp } = viaProxy(plain, { type: FW.Socks5, port: socks5.port }, { timeout: 1, settings: { AbsoluteTimeout: true } });
    const started = Date.now();
    const outcome = await Promise.race([
      smtp.send().then(
        () => "resolved",
        (e: unknown) => e,
      ),
      new Promise((r) => setTimeout(() => r("still pending after 3 s"), 3000)),
    ]);
    expect(outcome).toBeInstanceOf(SmtpError);
    expect((outcome as SmtpError).code).toBe(ErrorCode.TimedOut);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("nothing listening at FirewallHost:FirewallPort", async () => {
    const port = await closedPort();
    const { smtp } = viaProxy(plain, { type: FW.Socks5, port });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toContain(`cannot reach the SOCKS5 at 127.0.0.1:${port}`);
  });

  it("FirewallType set but FirewallHost empty", async () => {
    const { smtp } = viaProxy(plain, { type: FW.Socks5, port: socks5.port }, { firewallHost: "" });
    const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
    expect(err.message).toMatch(/FirewallHost is empty/);
  });
});

describe("FirewallPort 0 is filled in: 80 for a tunnel, 1080 for SOCKS", () => {
  // The well-known ports are bound on a loopback address of their own when the
  // machine allows it (root, or a lowered ip_unprivileged_port_start); else the
  // error must still name the port that was tried.
  const HOST = "127.0.0.77";

  it("FirewallType 1 (tunnel) with FirewallPort 0 goes to port 80", async () => {
    let proxy: HttpProxy | undefined;
    try {
      proxy = await startHttpProxy({ host: HOST, port: 80 });
    } catch {
      proxy = undefined;
    }
    try {
      const { smtp, rcpt } = viaProxy(plain, { type: FW.Tunnel, port: 0 }, { firewallHost: HOST });
      if (proxy) {
        await smtp.send();
        expect(proxy.requests).toHaveLength(1);
        expect(receivedBy(plain, rcpt)).toHaveLength(1);
      } else {
        const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
        expect(err.message).toContain(`${HOST}:80`);
      }
      expect(smtp.getFirewallPort()).toBe(0);
    } finally {
      await proxy?.close();
    }
  });

  it("FirewallType 3 (SOCKS5) with FirewallPort 0 goes to port 1080", async () => {
    let proxy: SocksProxy | undefined;
    try {
      proxy = await startSocksProxy({ host: HOST, port: 1080 });
    } catch {
      proxy = undefined;
    }
    try {
      const { smtp, rcpt } = viaProxy(plain, { type: FW.Socks5, port: 0 }, { firewallHost: HOST });
      if (proxy) {
        await smtp.send();
        expect(proxy.requests).toHaveLength(1);
        expect(receivedBy(plain, rcpt)).toHaveLength(1);
      } else {
        const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
        expect(err.message).toContain(`${HOST}:1080`);
      }
    } finally {
      await proxy?.close();
    }
  });
});

describe("ConnectionStatus", () => {
  it('"Firewall connection complete" comes before "Remote host connection complete"', async () => {
    const { smtp } = viaProxy(plain, { type: FW.Socks5, port: socks5.port });
    const r = record(smtp);
    await smtp.send();
    const events = r.status.map((s) => s.connectionEvent);
    const fw = events.indexOf("Firewall connection complete");
    const remote = events.indexOf("Remote host connection complete");
    expect(fw).toBeGreaterThanOrEqual(0);
    expect(remote).toBeGreaterThan(fw);
    expect(r.status[fw]?.description).toBe(`SOCKS5 127.0.0.1:${socks5.port}`);
  });

  it("without a proxy there is no firewall event", async () => {
    const smtp = client(plain.port, { sslStartMode: 3 });
    const r = record(smtp);
    await smtp.send();
    expect(r.status.map((s) => s.connectionEvent)).not.toContain("Firewall connection complete");
  });
});

describe("FirewallAutoDetect", () => {
  const NAMES = ["ALL_PROXY", "all_proxy", "SOCKS_PROXY", "socks_proxy", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"] as const;
  let saved: Record<string, string | undefined>;

  const withEnv = async (env: Partial<Record<(typeof NAMES)[number], string>>, body: () => Promise<void>): Promise<void> => {
    saved = Object.fromEntries(NAMES.map((n) => [n, process.env[n]]));
    for (const n of NAMES) delete process.env[n];
    Object.assign(process.env, env);
    try {
      await body();
    } finally {
      for (const n of NAMES) {
        if (saved[n] === undefined) delete process.env[n];
        else process.env[n] = saved[n];
      }
    }
  };

  it("ALL_PROXY=socks5h://user:pass@127.0.0.1:PORT: the proxy and its credentials come from the environment (socks5h: the proxy resolves)", async () => {
    await withEnv({ ALL_PROXY: `socks5h://envuser:env%20pass@127.0.0.1:${socks5Auth.port}` }, async () => {
      const before = socks5Auth.requests.length;
      const rcpt = "auto@example.com";
      const smtp = client(plain.port, { mailServer: "localhost", firewallAutoDetect: true, sslStartMode: 3, sendTo: rcpt });
      const r = record(smtp);
      await smtp.send();
      expect(socks5Auth.requests[before]).toMatchObject({ variant: "5", username: "envuser", password: "env pass", host: "localhost", port: plain.port });
      expect(r.status.map((s) => s.connectionEvent)).toContain("Firewall connection complete");
      expect(receivedBy(plain, rcpt)).toHaveLength(1);
    });
    expect(process.env["ALL_PROXY"]).toBe(saved["ALL_PROXY"]);
  });

  it("ALL_PROXY=socks5://: the name is resolved here (curl's convention), the proxy gets an address", async () => {
    await withEnv({ ALL_PROXY: `socks5://envuser:env%20pass@127.0.0.1:${socks5Auth.port}` }, async () => {
      const before = socks5Auth.requests.length;
      const rcpt = "auto-local@example.com";
      const smtp = client(plain.port, { mailServer: "localhost", firewallAutoDetect: true, sslStartMode: 3, sendTo: rcpt });
      await smtp.send();
      const req = socks5Auth.requests[before] as { host: string };
      expect(["127.0.0.1", "::1"]).toContain(req.host);
      expect(receivedBy(plain, rcpt)).toHaveLength(1);
    });
  });

  it("NO_PROXY naming the server: a direct connection", async () => {
    await withEnv({ ALL_PROXY: `socks5://envuser:env%20pass@127.0.0.1:${socks5Auth.port}`, NO_PROXY: "example.org, localhost" }, async () => {
      const before = socks5Auth.connections;
      const rcpt = "bypass@example.com";
      const smtp = client(plain.port, { mailServer: "localhost", firewallAutoDetect: true, sslStartMode: 3, sendTo: rcpt });
      const r = record(smtp);
      await smtp.send();
      expect(socks5Auth.connections).toBe(before);
      expect(r.status.map((s) => s.connectionEvent)).not.toContain("Firewall connection complete");
      expect(receivedBy(plain, rcpt)).toHaveLength(1);
    });
  });

  it("HTTPS_PROXY=http://127.0.0.1:PORT: an HTTP CONNECT tunnel", async () => {
    await withEnv({ HTTPS_PROXY: `http://127.0.0.1:${http.port}` }, async () => {
      const before = http.requests.length;
      const rcpt = "https-proxy@example.com";
      const smtp = client(plain.port, { mailServer: "localhost", firewallAutoDetect: true, sslStartMode: 3, sendTo: rcpt });
      await smtp.send();
      expect(http.requests[before]?.requestLine).toBe(`CONNECT localhost:${plain.port} HTTP/1.1`);
      expect(receivedBy(plain, rcpt)).toHaveLength(1);
    });
  });

  it("wrong credentials in ALL_PROXY: 118 from the proxy", async () => {
    await withEnv({ ALL_PROXY: `socks5://fwuser:bad@127.0.0.1:${microsocksAuth.port}` }, async () => {
      const smtp = client(plain.port, { mailServer: "localhost", firewallAutoDetect: true, sslStartMode: 3 });
      const err = await rejectsWith(smtp.send(), ErrorCode.Firewall);
      expect(err).toBeInstanceOf(SmtpError);
      expect(err.message).toMatch(/authentication refused/);
    });
  });

  it("FirewallAutoDetect=false ignores the environment", async () => {
    await withEnv({ ALL_PROXY: `socks5://127.0.0.1:${socks5.port}` }, async () => {
      const before = socks5.connections;
      const rcpt = "noauto@example.com";
      const smtp = client(plain.port, { mailServer: "localhost", sslStartMode: 3, sendTo: rcpt });
      await smtp.send();
      expect(socks5.connections).toBe(before);
      expect(receivedBy(plain, rcpt)).toHaveLength(1);
    });
  });
});

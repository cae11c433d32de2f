/**
 * Proxies for the FirewallType specs, all on 127.0.0.1 with ports chosen at
 * run time:
 *
 * - `startMicrosocks()`: Debian's microsocks (SOCKS5, optional user / password),
 *   run as a child process and stopped by PID.
 * - `startTinyproxy()`: Debian's tinyproxy (HTTP CONNECT, optional Basic auth,
 *   optional ConnectPort list) from a config file written to a temp dir, run in
 *   the foreground (`-d -c conf`) and stopped by PID.
 * - `startSocksProxy()`: an in-process SOCKS4 / SOCKS4A / SOCKS5 server that
 *   records every request exactly as it arrived (address type, host, port,
 *   credentials) and can misbehave on demand.
 * - `startHttpProxy()`: an in-process HTTP CONNECT proxy that records the
 *   request head and can misbehave on demand (oversized header block, garbage,
 *   early close, silence, any status line).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

// --------------------------------------------------------------- utilities

/** A TCP port that was free on `host` a moment ago (bound to port 0, then closed). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** SIGTERM the child by its PID, SIGKILL after 3 s; resolves once it has exited. */
export function stopByPid(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  const pid = child.pid;
  return new Promise<void>((resolve) => {
    const killTimer = setTimeout(() => {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, 3_000);
    child.once("exit", () => {
      clearTimeout(killTimer);
      resolve();
    });
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      clearTimeout(killTimer);
      resolve();
    }
  });
}

export interface ProxyProcess {
  port: number;
  pid: number;
  /** What the process wrote so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;

/**
 * Starts `command args(port)` on a free port and waits until the port accepts
 * connections. A lost race for the port (another process took it) is retried.
 */
async function startListeningProcess(name: string, command: string, args: (port: number) => string[], cleanup: () => void = () => undefined): Promise<ProxyProcess> {
  let lastError = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn(command, args(port), { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.setEncoding("utf8").on("data", (c: string) => (output += c));
    child.stderr!.setEncoding("utf8").on("data", (c: string) => (output += c));
    let spawnError: Error | undefined;
    child.once("error", (e) => (spawnError = e));
    const started = Date.now();
    let ready = false;
    while (Date.now() - started < READY_TIMEOUT_MS) {
      if (spawnError) throw new Error(`cannot run ${command}: ${spawnError.message}`);
      if (child.exitCode !== null || child.signalCode !== null) break;
      if (await canConnect("127.0.0.1", port)) {
        ready = true;
        break;
      }
      await sleep(25);
    }
    if (ready && child.pid !== undefined) {
      let stopped: Promise<void> | undefined;
      return {
        port,
        pid: child.pid,
        output: () => output,
        stop() {
          stopped ??= stopByPid(child).then(cleanup);
          return stopped;
        },
      };
    }
    lastError = `${name} did not listen on 127.0.0.1:${port} (exit ${child.exitCode ?? child.signalCode ?? "none"}); output:\n${output}`;
    await stopByPid(child);
  }
  cleanup();
  throw new Error(lastError);
}

// --------------------------------------------------------------- Debian proxies

export const MICROSOCKS = "/usr/bin/microsocks";
export const TINYPROXY = "/usr/bin/tinyproxy";

/** microsocks (SOCKS5) on 127.0.0.1; with user and password it requires RFC 1929 authentication. */
export function startMicrosocks(opts: { user?: string; password?: string } = {}): Promise<ProxyProcess> {
  return startListeningProcess("microsocks", MICROSOCKS, (port) => {
    const args = ["-i", "127.0.0.1", "-p", String(port)];
    if (opts.user !== undefined) args.push("-u", opts.user, "-P", opts.password ?? "");
    return args;
  });
}

export interface TinyproxyOptions {
  /** BasicAuth user / password: without them in the request tinyproxy answers 407. */
  user?: string;
  password?: string;
  /** ConnectPort lines: CONNECT only to these ports (403 otherwise). Absent: every port. */
  connectPorts?: number[];
}

/** tinyproxy (HTTP CONNECT) on 127.0.0.1, configured from a temp-dir config file, in the foreground. */
export function startTinyproxy(opts: TinyproxyOptions = {}): Promise<ProxyProcess> {
  const dir = mkdtempSync(join(tmpdir(), "smtpkit-tinyproxy-"));
  const conf = join(dir, "tinyproxy.conf");
  return startListeningProcess(
    "tinyproxy",
    TINYPROXY,
    (port) => {
      const lines = [
        `Port ${port}`,
        "Listen 127.0.0.1",
        "Allow 127.0.0.1",
        "Timeout 30",
        "MaxClients 50",
        "LogLevel Info",
        // No User / Group: as root tinyproxy warns and keeps the current user.
      ];
      for (const p of opts.connectPorts ?? []) lines.push(`ConnectPort ${p}`);
      if (opts.user !== undefined) lines.push(`BasicAuth ${opts.user} ${opts.password ?? ""}`);
      writeFileSync(conf, lines.join("\n") + "\n");
      return ["-d", "-c", conf];
    },
    () => rmSync(dir, { recursive: true, force: true }),
  );
}

// --------------------------------------------------------------- in-process helpers

/** Reads a socket as a byte stream: exactly n bytes, or up to a NUL. */
class ByteReader {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(private readonly socket: Socket) {
    socket.on("data", this.onData);
    socket.once("close", () => {
      this.closed = true;
      this.wake?.();
    });
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buf = Buffer.concat([this.buf, chunk]);
    this.wake?.();
  };

  /** Anything already received: stop reading and hand it back. */
  detach(): Buffer {
    this.socket.off("data", this.onData);
    this.socket.pause();
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }

  private async waitFor(cond: () => boolean): Promise<void> {
    while (!cond()) {
      if (this.closed) throw new Error("client closed");
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }

  async bytes(n: number): Promise<Buffer> {
    await this.waitFor(() => this.buf.length >= n);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async untilNul(): Promise<string> {
    await this.waitFor(() => this.buf.indexOf(0) >= 0);
    const at = this.buf.indexOf(0);
    const out = this.buf.subarray(0, at).toString("latin1");
    this.buf = this.buf.subarray(at + 1);
    return out;
  }

  async untilHeadEnd(): Promise<string> {
    await this.waitFor(() => this.buf.indexOf("\r\n\r\n") >= 0);
    const at = this.buf.indexOf("\r\n\r\n");
    const out = this.buf.subarray(0, at).toString("latin1");
    this.buf = this.buf.subarray(at + 4);
    return out;
  }
}

function openUpstream(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    s.once("connect", () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", reject);
  });
}

/** Waits for the first bytes the upstream sends (its greeting), up to `ms`. */
function firstChunk(upstream: Socket, ms: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      upstream.off("data", onData);
      upstream.pause();
      resolve(Buffer.alloc(0));
    }, ms);
    const onData = (c: Buffer): void => {
      clearTimeout(timer);
      upstream.pause();
      resolve(c);
    };
    upstream.once("data", onData);
  });
}

/** Client <-> upstream, both ways, until either side closes. */
function relay(client: Socket, upstream: Socket, pending: Buffer): void {
  upstream.on("error", () => client.destroy());
  if (pending.length) upstream.write(pending);
  client.pipe(upstream);
  upstream.pipe(client);
  upstream.resume();
  client.resume();
  client.once("close", () => upstream.destroy());
  upstream.once("close", () => client.destroy());
}

interface Tracked {
  server: Server;
  sockets: Set<Socket>;
}

async function listenTracked(onConnection: (s: Socket) => void, host = "127.0.0.1", port = 0): Promise<Tracked & { port: number }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
    s.on("error", () => undefined);
    onConnection(s);
  });
  server.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return { server, sockets, port: (server.address() as AddressInfo).port };
}

function closeTracked(t: Tracked): Promise<void> {
  return new Promise<void>((resolve) => {
    for (const s of t.sockets) s.destroy();
    t.server.close(() => resolve());
  });
}

// --------------------------------------------------------------- SOCKS

export interface SocksRequest {
  /** "4" (IPv4 address), "4a" (0.0.0.x + host name) or "5". */
  variant: "4" | "4a" | "5";
  /** How the destination was given. */
  addressType: "ipv4" | "ipv6" | "domain";
  host: string;
  port: number;
  /** SOCKS4 user id. */
  userId?: string;
  /** SOCKS5 RFC 1929 credentials, when the client sent them. */
  username?: string;
  password?: string;
  /** SOCKS5 methods the client offered. */
  methods?: number[];
}

/**
 * relay: tunnel to the destination.
 * coalesce: tunnel, but the success reply and the server's greeting leave in ONE write.
 * refuse: SOCKS5 reply 5 (connection refused) / SOCKS4 reply 0x5B.
 * garbage: answer the first bytes with text that is no SOCKS reply.
 * close: close the connection as soon as the client speaks.
 * silent: read whatever comes and never answer.
 */
export type SocksBehaviour = "relay" | "coalesce" | "refuse" | "garbage" | "close" | "silent";

export interface SocksProxyOptions {
  /** Versions accepted: [5], [4] (plain SOCKS4: host names refused with 0x5B), [4, "4a"], ... Default all. */
  accept?: ("4" | "4a" | "5")[];
  /** SOCKS5: require these credentials (method 2). */
  user?: string;
  password?: string;
  /** Listen here instead of 127.0.0.1:0. */
  host?: string;
  port?: number;
}

export interface SocksProxy {
  port: number;
  requests: SocksRequest[];
  /** Connections accepted. */
  readonly connections: number;
  behaviour: SocksBehaviour;
  close(): Promise<void>;
}

export async function startSocksProxy(opts: SocksProxyOptions = {}): Promise<SocksProxy> {
  const accept = new Set(opts.accept ?? ["4", "4a", "5"]);
  const requests: SocksRequest[] = [];
  let connections = 0;
  const state = { behaviour: "relay" as SocksBehaviour };

  const handle = async (client: Socket): Promise<void> => {
    connections++;
    const behaviour = state.behaviour;
    const reader = new ByteReader(client);
    const [version] = await reader.bytes(1);
    if (behaviour === "silent") return;
    if (behaviour === "close") {
      client.destroy();
      return;
    }
    if (behaviour === "garbage") {
      client.write("HTTP/1.1 400 this is not a SOCKS server\r\n\r\n");
      return;
    }
    let request: SocksRequest;
    if (version === 5) {
      const [n] = await reader.bytes(1);
      const methods = [...(await reader.bytes(n ?? 0))];
      const needAuth = opts.user !== undefined;
      const method = needAuth ? (methods.includes(2) ? 2 : 0xff) : methods.includes(0) ? 0 : 0xff;
      client.write(Buffer.from([5, method]));
      if (method === 0xff) {
        requests.push({ variant: "5", addressType: "domain", host: "", port: 0, methods });
        client.end();
        return;
      }
      let username: string | undefined;
      let password: string | undefined;
      if (method === 2) {
        await reader.bytes(1); // sub-negotiation version 1
        const [ulen] = await reader.bytes(1);
        username = (await reader.bytes(ulen ?? 0)).toString("utf8");
        const [plen] = await reader.bytes(1);
        password = (await reader.bytes(plen ?? 0)).toString("utf8");
        const ok = username === opts.user && password === (opts.password ?? "");
        client.write(Buffer.from([1, ok ? 0 : 1]));
        if (!ok) {
          requests.push({ variant: "5", addressType: "domain", host: "", port: 0, methods, username, password });
          client.end();
          return;
        }
      }
      const head = await reader.bytes(4); // VER CMD RSV ATYP
      const atyp = head[3];
      let host: string;
      let addressType: SocksRequest["addressType"];
      if (atyp === 1) {
        host = [...(await reader.bytes(4))].join(".");
        addressType = "ipv4";
      } else if (atyp === 4) {
        const b = await reader.bytes(16);
        const groups: string[] = [];
        for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
        host = new URL(`http://[${groups.join(":")}]/`).hostname.slice(1, -1);
        addressType = "ipv6";
      } else {
        const [len] = await reader.bytes(1);
        host = (await reader.bytes(len ?? 0)).toString("latin1");
        addressType = "domain";
      }
      const port = (await reader.bytes(2)).readUInt16BE(0);
      request = { variant: "5", addressType, host, port, methods, ...(username !== undefined ? { username, password } : {}) };
    } else if (version === 4) {
      const head = await reader.bytes(7); // CMD PORT(2) IP(4)
      const port = head.readUInt16BE(1);
      const ip = [...head.subarray(3, 7)].join(".");
      const userId = await reader.untilNul();
      const is4a = ip.startsWith("0.0.0.") && ip !== "0.0.0.0";
      const host = is4a ? await reader.untilNul() : ip;
      request = { variant: is4a ? "4a" : "4", addressType: is4a ? "domain" : "ipv4", host, port, userId };
    } else {
      client.destroy();
      return;
    }
    requests.push(request);
    const v5 = request.variant === "5";
    const success = v5 ? Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]) : Buffer.from([0, 0x5a, 0, 0, 0, 0, 0, 0]);
    const failure = (rep: number): Buffer => (v5 ? Buffer.from([5, rep, 0, 1, 0, 0, 0, 0, 0, 0]) : Buffer.from([0, 0x5b, 0, 0, 0, 0, 0, 0]));
    if (!accept.has(request.variant) || behaviour === "refuse") {
      // 5 = connection refused; 2 = not allowed by ruleset.
      client.end(failure(behaviour === "refuse" ? 5 : 2));
      return;
    }
    let upstream: Socket;
    try {
      upstream = await openUpstream(request.host, request.port);
    } catch {
      client.end(failure(5));
      return;
    }
    const pending = reader.detach();
    if (behaviour === "coalesce") {
      const greeting = await firstChunk(upstream, 2000);
      client.write(Buffer.concat([success, greeting]));
    } else {
      client.write(success);
    }
    relay(client, upstream, pending);
  };

  const t = await listenTracked((s) => {
    handle(s).catch(() => s.destroy());
  }, opts.host, opts.port);
  return {
    port: t.port,
    requests,
    get connections() {
      return connections;
    },
    get behaviour() {
      return state.behaviour;
    },
    set behaviour(b: SocksBehaviour) {
      state.behaviour = b;
    },
    close: () => closeTracked(t),
  };
}

// --------------------------------------------------------------- HTTP CONNECT

export interface HttpConnectRequest {
  /** "CONNECT host:port HTTP/1.1" */
  requestLine: string;
  /** Lower-cased header name -> value. */
  headers: Record<string, string>;
}

/**
 * tunnel: 200, then relay.
 * coalesce: 200 and the server's greeting in ONE write.
 * oversized-open: 20 KB of header lines that never end.
 * oversized-complete: a 200 whose header block is 20 KB but complete, in one write.
 * garbage: "\r\n\r\n"-terminated text that is no HTTP status line.
 * close: close as soon as the request head has arrived.
 * silent: read the request and never answer.
 * status: answer with `statusLine` and close.
 */
export type HttpBehaviour = "tunnel" | "coalesce" | "oversized-open" | "oversized-complete" | "garbage" | "close" | "silent" | "status";

export interface HttpProxy {
  port: number;
  requests: HttpConnectRequest[];
  behaviour: HttpBehaviour;
  /** For behaviour "status", e.g. "HTTP/1.1 502 Bad Gateway". */
  statusLine: string;
  close(): Promise<void>;
}

export async function startHttpProxy(opts: { host?: string; port?: number } = {}): Promise<HttpProxy> {
  const requests: HttpConnectRequest[] = [];
  const state = { behaviour: "tunnel" as HttpBehaviour, statusLine: "HTTP/1.1 502 Bad Gateway" };
  const filler = (bytes: number): string => {
    let s = "";
    for (let i = 0; s.length < bytes; i++) s += `X-Filler-${i}: ${"f".repeat(100)}\r\n`;
    return s;
  };

  const handle = async (client: Socket): Promise<void> => {
    const behaviour = state.behaviour;
    const reader = new ByteReader(client);
    const head = await reader.untilHeadEnd();
    const [requestLine = "", ...rest] = head.split("\r\n");
    const headers: Record<string, string> = {};
    for (const line of rest) {
      const colon = line.indexOf(":");
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    requests.push({ requestLine, headers });
    switch (behaviour) {
      case "close":
        client.destroy();
        return;
      case "silent":
        return;
      case "garbage":
        client.write("SSH-2.0-OpenSSH_9.2 definitely not HTTP\r\n\r\n");
        return;
      case "status":
        client.end(`${state.statusLine}\r\nContent-Length: 0\r\n\r\n`);
        return;
      case "oversized-open":
        client.write("HTTP/1.1 200 Connection established\r\n" + filler(20 * 1024));
        return;
      case "oversized-complete":
        client.write("HTTP/1.1 200 Connection established\r\n" + filler(20 * 1024) + "\r\n");
        // No tunnel behind it: a client that accepted this waits for a greeting in vain.
        return;
      default:
        break;
    }
    const m = /^CONNECT (\[[^\]]+\]|[^\s:]+):(\d+) HTTP\/1\.[01]$/.exec(requestLine);
    if (!m) {
      client.end("HTTP/1.1 400 Bad Request\r\n\r\n");
      return;
    }
    const host = (m[1] as string).replace(/^\[(.*)\]$/, "$1");
    let upstream: Socket;
    try {
      upstream = await openUpstream(host, Number(m[2]));
    } catch {
      client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n");
      return;
    }
    const pending = reader.detach();
    const ok = "HTTP/1.1 200 Connection established\r\nProxy-Agent: spec-proxy\r\n\r\n";
    if (behaviour === "coalesce") {
      const greeting = await firstChunk(upstream, 2000);
      client.write(Buffer.concat([Buffer.from(ok), greeting]));
    } else {
      client.write(ok);
    }
    relay(client, upstream, pending);
  };

  const t = await listenTracked((s) => {
    handle(s).catch(() => s.destroy());
  }, opts.host, opts.port);
  return {
    port: t.port,
    requests,
    get behaviour() {
      return state.behaviour;
    },
    set behaviour(b: HttpBehaviour) {
      state.behaviour = b;
    },
    get statusLine() {
      return state.statusLine;
    },
    set statusLine(s: string) {
      state.statusLine = s;
    },
    close: () => closeTracked(t),
  };
}

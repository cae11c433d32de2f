/**
 * Reaches the SMTP server through a firewall / proxy (IP*Works FirewallType):
 * an HTTP CONNECT tunnel (written here: status line, Basic auth, bounded
 * headers) or SOCKS 4 / 4A / 5 (through the `socks` package). The result is a
 * plain socket to the server; TLS, implicit or STARTTLS, runs over it end to end.
 */
import { lookup } from "node:dns/promises";
import { isIP, type Socket } from "node:net";
import { abortReason, ErrorCode, SmtpError } from "../errors.js";
import { assertNoLineBreak } from "../message/header-block.js";
import { FirewallType, firewallType } from "./firewall-types.js";
import { connectTcp, normalizeHost, type SocketOptions } from "./tcp-connector.js";

export { FirewallType };

export interface ProxySettings {
  type: number;
  host: string;
  port: number;
  user: string;
  password: string;
  /** Let the proxy resolve MailServer even without a leading "*" (socks5h:// in the environment). */
  remoteDns?: boolean;
}

export interface ProxyTarget {
  /** MailServer; a leading "*" asks for the name to be resolved by the proxy. */
  host: string;
  port: number;
}

export interface ProxyConnectOptions extends SocketOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** ConnectionStatus "Firewall connection complete". */
  onProxyConnected(description: string): void;
}

/** An HTTP proxy's answer to CONNECT is a status line and a few headers; more is an attack or a bug. */
const MAX_HTTP_RESPONSE = 16 * 1024;

export async function connectThroughProxy(proxy: ProxySettings, target: ProxyTarget, opts: ProxyConnectOptions): Promise<Socket> {
  const name = firewallType(proxy.type)?.label;
  if (!name) throw new SmtpError(ErrorCode.Firewall, `FirewallType ${proxy.type} is not supported`);
  if (proxy.host.trim() === "") throw new SmtpError(ErrorCode.Firewall, `FirewallType is ${name} but FirewallHost is empty`);
  const remoteResolve = target.host.startsWith("*") || proxy.remoteDns === true;
  const host = normalizeHost(target.host.replace(/^\*/, ""));
  if (proxy.type === FirewallType.Socks4 && isIP(host) === 6) {
    throw new SmtpError(ErrorCode.Firewall, `SOCKS4 carries IPv4 addresses only and ${host} is IPv6: use FirewallType 3 (SOCKS5)`);
  }
  // SOCKS4 carries only IPv4 addresses, so the name is resolved here; SOCKS5
  // resolves here too unless MailServer starts with "*" (IP*Works). SOCKS4A
  // and HTTP CONNECT exist to let the proxy resolve it.
  const destination = isIP(host) !== 0 ? host
    : proxy.type === FirewallType.Socks4 ? await resolveLocally(host, 4)
      : proxy.type === FirewallType.Socks5 && !remoteResolve ? await resolveLocally(host, opts.useIPv6 === 1 ? 6 : opts.useIPv6 === 0 ? 4 : 0)
        : host;

  let socket: Socket;
  try {
    socket = await connectTcp({ ...opts, host: proxy.host, port: proxy.port });
  } catch (e) {
    const err = e instanceof SmtpError ? e : undefined;
    throw new SmtpError(ErrorCode.Firewall, `cannot reach the ${name} at ${proxy.host}:${proxy.port}: ${err?.message ?? String(e)}`, { cause: e });
  }
  try {
    const tunnel = proxy.type === FirewallType.Tunnel
      ? await httpConnect(socket, proxy, destination, target.port, opts)
      : await socksConnect(socket, proxy, destination, target.port, opts);
    opts.onProxyConnected(`${name} ${proxy.host}:${proxy.port}`);
    return tunnel;
  } catch (e) {
    socket.destroy();
    throw e;
  }
}

async function resolveLocally(host: string, family: 0 | 4 | 6): Promise<string> {
  try {
    return (await lookup(host, { family })).address;
  } catch (e) {
    throw new SmtpError(ErrorCode.HostNotFound, `${host} could not be resolved here (start MailServer with "*" to let a SOCKS5 proxy resolve it, or use SOCKS4A)`, { cause: e });
  }
}

async function socksConnect(socket: Socket, proxy: ProxySettings, host: string, port: number, opts: ProxyConnectOptions): Promise<Socket> {
  const version = proxy.type === FirewallType.Socks5 ? 5 : 4;
  const label = firewallType(proxy.type)?.label ?? "SOCKS";
  const timeoutMs = opts.timeoutMs;
  // The socks package has no signal: destroying its socket ends the handshake.
  const onAbort = (): void => {
    socket.destroy();
  };
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    // Loaded on first use: only proxy users pay for it.
    const { SocksClient } = await import("socks");
    const { socket: tunnel } = await SocksClient.createConnection({
      command: "connect",
      existing_socket: socket,
      proxy: { host: proxy.host, port: proxy.port, type: version, userId: proxy.user || undefined, password: proxy.password || undefined },
      destination: { host, port },
      timeout: timeoutMs > 0 ? timeoutMs : undefined,
      set_tcp_nodelay: true,
    });
    return tunnel;
  } catch (e) {
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    const message = e instanceof Error ? e.message : String(e);
    throw new SmtpError(ErrorCode.Firewall, `${label}: ${describeSocksError(message)}`, {
      hint: /auth/i.test(message) ? "check FirewallUser and FirewallPassword" : undefined,
      // The socks package's error carries its options, FirewallPassword included: keep only its message.
      cause: new Error(message),
    });
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }
}

function describeSocksError(message: string): string {
  if (/Authentication failed/i.test(message)) return "authentication refused (wrong FirewallUser / FirewallPassword)";
  if (/no accepted authentication type/i.test(message)) return "the proxy accepts none of the offered authentication methods (does it need FirewallUser / FirewallPassword?)";
  if (/rejected connection/i.test(message)) return `the proxy refused to connect to the server (${message.replace(/^.*rejected connection\s*-?\s*/i, "") || "rejected"})`;
  if (/timed out/i.test(message)) return "the proxy did not answer in time";
  if (/Socket closed/i.test(message)) return "the proxy closed the connection";
  return message;
}

/** HTTP CONNECT (RFC 9110 §9.3.6): 2xx opens the tunnel, anything else is the proxy's refusal. */
function httpConnect(socket: Socket, proxy: ProxySettings, host: string, port: number, opts: ProxyConnectOptions): Promise<Socket> {
  const authority = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
  if (proxy.user) lines.push(`Proxy-Authorization: Basic ${Buffer.from(`${proxy.user}:${proxy.password}`, "utf8").toString("base64")}`);
  for (const l of lines) assertNoLineBreak("proxy settings", l);
  return new Promise<Socket>((resolve, reject) => {
    let received = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    const done = (err?: SmtpError, rest?: Buffer): void => {
      if (timer) clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("error", onError);
      opts.signal?.removeEventListener("abort", onAbort);
      if (err) {
        reject(err);
        return;
      }
      // Bytes after the header block already belong to the SMTP server (its greeting).
      if (rest && rest.length) socket.unshift(rest);
      resolve(socket);
    };
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf("\r\n\r\n");
      if (end < 0) {
        if (received.length > MAX_HTTP_RESPONSE) done(new SmtpError(ErrorCode.Firewall, `HTTP proxy: the answer to CONNECT exceeded ${MAX_HTTP_RESPONSE} bytes without ending its headers`));
        return;
      }
      if (end + 4 > MAX_HTTP_RESPONSE) {
        done(new SmtpError(ErrorCode.Firewall, `HTTP proxy: the answer to CONNECT has more than ${MAX_HTTP_RESPONSE} bytes of headers`));
        return;
      }
      socket.pause();
      const head = received.subarray(0, end).toString("latin1");
      const status = /^HTTP\/1\.[01] (\d{3})(?: ([^\r\n]*))?/.exec(head);
      if (!status) {
        done(new SmtpError(ErrorCode.Firewall, `HTTP proxy: not an HTTP answer to CONNECT: ${JSON.stringify(head.slice(0, 80))}`));
        return;
      }
      const code = Number(status[1]);
      const reason = (status[2] ?? "").trim();
      if (code >= 200 && code < 300) {
        // Left paused: the SMTP connection resumes it once it listens.
        done(undefined, received.subarray(end + 4));
        return;
      }
      const text = `HTTP proxy answered ${code}${reason ? " " + reason : ""}`;
      // 407 is the standard refusal; some proxies (tinyproxy) answer wrong credentials with 401.
      if (code === 407 || (code === 401 && proxy.user)) {
        const scheme = /^proxy-authenticate:\s*(\S+)/im.exec(head)?.[1] ?? "an unknown scheme";
        done(new SmtpError(ErrorCode.Firewall, proxy.user ? `${text}: the proxy refused FirewallUser / FirewallPassword` : `${text}: the proxy requires authentication (${scheme})`, {
          hint: proxy.user ? "check FirewallUser and FirewallPassword" : "set FirewallUser and FirewallPassword (Basic authentication)",
        }));
        return;
      }
      done(new SmtpError(ErrorCode.Firewall, `${text} to CONNECT ${authority}`, {
        hint: code === 403 ? "the proxy does not allow tunnels to this host or port" : undefined,
      }));
    };
    const onClose = (): void => done(new SmtpError(ErrorCode.Firewall, "HTTP proxy closed the connection before answering CONNECT"));
    const onError = (e: Error): void => done(new SmtpError(ErrorCode.Firewall, `HTTP proxy: ${e.message}`, { cause: e }));
    const onAbort = (): void => {
      socket.destroy();
      done(abortReason(opts.signal));
    };
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.once("error", onError);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.timeoutMs > 0) {
      timer = setTimeout(() => {
        socket.destroy();
        done(new SmtpError(ErrorCode.Firewall, `HTTP proxy did not answer CONNECT within ${opts.timeoutMs / 1000} s`));
      }, opts.timeoutMs);
    }
    socket.write(lines.join("\r\n") + "\r\n\r\n");
  });
}

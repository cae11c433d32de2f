/**
 * An SMTP session on one connection: connect, greeting, EHLO / HELO, then
 * commands until QUIT. The mail transaction itself is in transaction.ts.
 */
import { hostname } from "node:os";
import { isIPv4, isIPv6, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { abortReason, ErrorCode, SmtpError } from "../errors.js";
import { connectThroughProxy, type ProxySettings } from "../transport/proxy-connector.js";
import { connectTcp, normalizeHost, whenConnected, type SocketOptions } from "../transport/tcp-connector.js";
import { startTls, type TlsOptions, type TlsResult } from "../transport/tls-upgrade.js";
import { endpoints, type Connector } from "../transport/connector.js";
import { heloCapabilities, parseEhloReply, type ServerCapabilities } from "./capabilities.js";
import { SmtpConnection, type CommandOptions } from "./connection.js";
import type { SmtpReply } from "./reply.js";
import { Ehlo, Helo, QUIT, replyError, RSET, STARTTLS, type SmtpCommand } from "./smtp-commands.js";

export { replyError } from "./smtp-commands.js";

/** How TLS is used on this connection, resolved from SSLStartMode / SSLEnabled / MailPort. */
export type TlsMode = "implicit" | "starttls-required" | "starttls-opportunistic" | "none";

export function resolveTlsMode(startMode: number, sslEnabled: boolean, port: number): TlsMode {
  switch (startMode) {
    case 1:
      return "implicit";
    case 2:
      return "starttls-required";
    case 3:
      return "none";
    default:
      if (port === 465) return "implicit";
      return sslEnabled ? "starttls-required" : "starttls-opportunistic";
  }
}

export interface SessionOptions {
  host: string;
  port: number;
  localAddress: string;
  /** 0 = no limit. */
  connectTimeoutMs: number;
  /** Per-reply limit; 0 = no limit. */
  timeoutMs: number;
  maxLineLength: number;
  /** Bounds of one reply (all its lines): bytes and lines. */
  maxReplyLength: number;
  maxReplyLines: number;
  /** Longest total wait for one reply in ms; 0: four times timeoutMs. */
  maxReplyMs: number;
  /** EHLO / HELO argument; "" = worked out from the host name or local address. */
  hello: string;
  allowExtensions: boolean;
  tlsMode: TlsMode;
  /** Everything startTls() needs but the timeout, the signal and the mode (tlsMode says it). */
  tls: Omit<TlsOptions, "timeoutMs" | "signal" | "opportunistic">;
  /** Socket options (family, local port, keep-alive, buffers). */
  socket: SocketOptions;
  /** Reach the server through this proxy. */
  proxy: ProxySettings | undefined;
  /** Bytes per second for message data; 0 = unlimited. */
  maxTransferRate: number;
  linger: boolean;
  lingerMs: number;
  /** Opens the stream the session runs on instead of TCP / the proxy (see transport/connector.ts). */
  connector?: Connector;
}

export interface SessionEvents {
  trail(direction: 0 | 1 | 2, message: string): void;
  reply(reply: SmtpReply): void;
  connectionStatus(connectionEvent: string, statusCode: number, description: string): void;
  /** The connection is gone (QUIT, server close, failure). */
  closed(reason: SmtpError | undefined): void;
  /** TLS is up (implicit or after STARTTLS). */
  secured(result: TlsResult): void;
}

export class SmtpSession {
  capabilities: ServerCapabilities;
  /** Mail transactions started on this connection (SendRSET needs to know). */
  transactions = 0;
  /** AUTH succeeded on this connection. */
  authenticated = false;

  private constructor(
    readonly connection: SmtpConnection,
    readonly options: SessionOptions,
    capabilities: ServerCapabilities,
    /** The TLS state, when the connection is encrypted. */
    readonly tls: TlsResult | undefined,
  ) {
    this.capabilities = capabilities;
  }

  get secure(): boolean {
    return this.tls !== undefined;
  }

  static async open(opts: SessionOptions, events: SessionEvents, signal?: AbortSignal): Promise<SmtpSession> {
    const host = normalizeHost(opts.host);
    events.trail(2, `connecting to ${host} port ${opts.port}`);
    const tcp = opts.connector
      ? await openWithConnector(opts.connector, opts, signal)
      : opts.proxy
      ? await connectThroughProxy(opts.proxy, { host: opts.host, port: opts.port }, {
          ...opts.socket,
          localAddress: opts.localAddress,
          timeoutMs: opts.connectTimeoutMs,
          signal,
          onProxyConnected: (description) => events.connectionStatus("Firewall connection complete", 0, description),
        })
      : await connectTcp({
          ...opts.socket,
          host: host.replace(/^\*/, ""),
          port: opts.port,
          localAddress: opts.localAddress,
          timeoutMs: opts.connectTimeoutMs,
          signal,
        });
    const ends = endpoints(tcp);
    events.connectionStatus("Remote host connection complete", 0, `connected to ${ends.remoteAddress || host}:${ends.remotePort ?? opts.port}`);
    let tls: TlsResult | undefined;
    if (opts.tlsMode === "implicit") {
      tls = await startTls(tcp, { ...opts.tls, timeoutMs: opts.connectTimeoutMs || opts.timeoutMs, signal });
      events.secured(tls);
    }
    let closedReported = false;
    const conn = new SmtpConnection(tls?.socket ?? tcp, {
      maxLineLength: opts.maxLineLength,
      maxReplyLength: opts.maxReplyLength,
      maxReplyLines: opts.maxReplyLines,
      maxReplyMs: opts.maxReplyMs,
      linger: opts.linger,
      lingerMs: opts.lingerMs,
      tcp,
      hooks: {
        trail: events.trail,
        reply: events.reply,
        closed: (reason) => {
          if (closedReported) return;
          closedReported = true;
          events.connectionStatus("Remote host disconnected", reason?.code ?? 0, reason ? reason.message : "disconnected");
          events.closed(reason);
        },
      },
    });
    const onAbort = (): void => conn.abort(abortReason(signal));
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal?.aborted) onAbort();
      const greeting = await greet(conn, opts, tls !== undefined);
      if (greeting.code !== 220) {
        throw replyError(greeting, "the server refused the session in its greeting", "greeting");
      }
      let caps = await hello(conn, opts, ends.localAddress);
      if (opts.tlsMode === "starttls-required" || opts.tlsMode === "starttls-opportunistic") {
        const upgraded = await startTlsIfOffered(conn, caps, opts, signal);
        if (upgraded) {
          tls = upgraded;
          if (!tls.verified) {
            events.trail(2, `the TLS certificate of ${opts.tls.host} was not verified (${tls.certStatus}): the connection is encrypted but the server is not authenticated; no credentials will be sent over it`);
          }
          events.secured(tls);
          // RFC 3207 §4.2: forget everything learned in clear text and ask again.
          caps = await hello(conn, opts, ends.localAddress);
        }
      }
      return new SmtpSession(conn, opts, caps, tls);
    } catch (e) {
      conn.destroy();
      throw e;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  get isOpen(): boolean {
    return this.connection.isOpen;
  }

  command(line: string, opts?: Partial<CommandOptions>): Promise<SmtpReply> {
    return this.connection.command(line, { timeoutMs: this.options.timeoutMs, ...opts });
  }

  /** Sends one command; its reply, whatever the code (the caller asks the command what it means). */
  send(command: SmtpCommand): Promise<SmtpReply> {
    return sendOne(this.connection, command, this.options.timeoutMs);
  }

  /** Sends RSET and requires 250. */
  async rset(): Promise<void> {
    const reply = await this.send(RSET);
    if (!RSET.accepts(reply)) throw RSET.refused(reply);
  }

  /** QUIT, then close; a server that does not answer or has gone is not an error here. */
  async quit(): Promise<void> {
    await closePolitely(this.connection, this.options.timeoutMs);
  }

  abort(err: SmtpError): void {
    this.connection.abort(err);
  }
}

/** A connector's stream; a socket it returned still connecting is waited for like our own. */
async function openWithConnector(connector: Connector, opts: SessionOptions, signal: AbortSignal | undefined): Promise<Duplex> {
  const stream = await connector({ host: opts.host, port: opts.port, signal });
  return stream instanceof Socket ? whenConnected(stream, `connecting through the connector to ${opts.host}`, opts.connectTimeoutMs, signal) : stream;
}

async function greet(conn: SmtpConnection, opts: SessionOptions, secure: boolean): Promise<SmtpReply> {
  try {
    return await conn.expectReply("the greeting", opts.connectTimeoutMs || opts.timeoutMs);
  } catch (e) {
    if (e instanceof SmtpError && e.code === ErrorCode.TimedOut && !secure) {
      // An implicit-TLS port waits for our TLS hello and never greets in clear text.
      throw e.derive(e.reason, {
        command: "greeting",
        hint: opts.port === 465
          ? "port 465 speaks implicit TLS: use SSLStartMode=1 (or 0, automatic); see docs/troubleshooting.md#wrong-tls-mode"
          : "if this port speaks implicit TLS, use SSLStartMode=1; otherwise check MailServer, MailPort and any firewall; see docs/troubleshooting.md#timeouts",
        cause: e,
      });
    }
    throw e;
  }
}

/** STARTTLS when offered; required mode never continues in clear text. */
async function startTlsIfOffered(conn: SmtpConnection, caps: ServerCapabilities, opts: SessionOptions, signal: AbortSignal | undefined): Promise<TlsResult | undefined> {
  const required = opts.tlsMode === "starttls-required";
  if (!caps.has("STARTTLS")) {
    if (!required) return undefined;
    await quietQuit(conn, opts);
    throw new SmtpError(ErrorCode.TlsNotOffered, `TLS is required but ${opts.host} does not offer STARTTLS; nothing else was sent`, {
      hint: "use port 465 with SSLStartMode=1 if the server has implicit TLS, or SSLStartMode=0 with SSLEnabled=false to allow clear text; see docs/troubleshooting.md#wrong-tls-mode",
    });
  }
  const reply = await sendOne(conn, STARTTLS, opts.timeoutMs);
  if (!STARTTLS.accepts(reply)) {
    if (!required) return undefined;
    await quietQuit(conn, opts);
    throw STARTTLS.refused(reply);
  }
  // RFC 7435: without SSLEnabled / SSLStartMode 2, a certificate that does not verify still encrypts.
  const result = await startTls(conn.socket, { ...opts.tls, timeoutMs: opts.timeoutMs, signal, opportunistic: !required });
  conn.upgrade(result.socket);
  return result;
}

/** Before giving up on a session: a short QUIT, then close. */
function quietQuit(conn: SmtpConnection, opts: SessionOptions): Promise<void> {
  return closePolitely(conn, Math.min(opts.timeoutMs || 5000, 5000));
}

/** QUIT, then close; a server that does not answer or has gone is not an error here. */
async function closePolitely(conn: SmtpConnection, timeoutMs: number): Promise<void> {
  if (conn.isOpen) {
    try {
      await sendOne(conn, QUIT, timeoutMs);
    } catch {
      // The goodbye is a courtesy: the connection closes either way.
    }
  }
  try {
    await conn.end();
  } catch {
    // Closing must never turn a finished operation (a delivered message) into an error.
    conn.destroy();
  }
}

async function hello(conn: SmtpConnection, opts: SessionOptions, localAddress: string): Promise<ServerCapabilities> {
  const name = opts.hello || defaultHelloName(localAddress);
  if (opts.allowExtensions) {
    const ehlo = new Ehlo(name);
    const reply = await sendOne(conn, ehlo, opts.timeoutMs);
    if (ehlo.accepts(reply)) return parseEhloReply(reply);
    // 421 means the server is going away: HELO would only fail too.
    if (reply.code === 421) throw ehlo.closing(reply);
  }
  const helo = new Helo(name);
  const reply = await sendOne(conn, helo, opts.timeoutMs);
  if (!helo.accepts(reply)) throw helo.refused(reply);
  return heloCapabilities(reply);
}

function sendOne(conn: SmtpConnection, command: SmtpCommand, timeoutMs: number): Promise<SmtpReply> {
  return conn.send([command], timeoutMs)[0] as Promise<SmtpReply>;
}

/** RFC 1035 label: letters, digits, inner hyphens, at most 63 characters. */
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * RFC 5321 §4.1.4: the EHLO argument is the client's fully qualified domain
 * name, or an address literal when it has none. Container and VM names ("vm",
 * "3f2a9c1b7d4e") are single labels, and names with underscores or non-ASCII
 * letters are refused by strict servers (Postfix reject_non_fqdn_helo_hostname,
 * reject_invalid_helo_hostname): all of those fall back to the local address.
 * A name counts as qualified with two or more valid labels, the last one not
 * all digits (that would be an IPv4 address or a bogus TLD).
 */
export function defaultHelloName(localAddress: string, host: string = hostname()): string {
  return isQualifiedName(host) ? host.replace(/\.$/, "") : addressLiteral(localAddress);
}

function isQualifiedName(host: string): boolean {
  const name = host.replace(/\.$/, "");
  const labels = name.split(".");
  return name.length <= 253 && labels.length >= 2 && labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1] ?? "");
}

/** The local address as an RFC 5321 address literal: [192.0.2.1], [IPv6:2001:db8::1]. */
export function addressLiteral(address: string): string {
  // A zone id (fe80::1%eth0) means nothing to the server and is not valid in a literal.
  const plain = address.replace(/%.*$/, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain);
  if (mapped?.[1]) return `[${mapped[1]}]`;
  if (isIPv4(plain)) return `[${plain}]`;
  if (isIPv6(plain)) return `[IPv6:${plain}]`;
  return "[127.0.0.1]";
}

export { interrupted } from "../errors.js";

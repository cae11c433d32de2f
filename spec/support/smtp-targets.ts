/**
 * SMTP servers (the `smtp-server` package) on a chosen address and port, for
 * the network-reach specs: they record who connected (remote address and
 * port, as the server saw them), the SNI name of every TLS handshake and every
 * message. `startOnSamePort()` puts several of them (and raw TCP servers, e.g.
 * one that greets with 421) on different loopback addresses with ONE port, as
 * direct delivery needs (DirectDeliveryPort is one port for all MX hosts).
 */
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { SMTPServer, type SMTPServerSession } from "smtp-server";
import { serverCertPair, type ServerCertName } from "./tls-server.js";

export interface TargetConnection {
  remoteAddress: string;
  remotePort: number;
}

export interface TargetMessage {
  mailFrom: string;
  rcptTo: string[];
  raw: Buffer;
  secure: boolean;
  /** SNI the client sent (undefined without TLS or without SNI). */
  servername: string | undefined;
  remoteAddress: string;
}

export interface SmtpTargetOptions {
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 0 (any). */
  port?: number;
  /** "plain" (default): no STARTTLS; "starttls"; "implicit": TLS from the first byte. */
  mode?: "plain" | "starttls" | "implicit";
  cert?: ServerCertName;
  /** Name in the greeting. */
  name?: string;
  /**
   * Also accept connections on these addresses, same port (e.g. ["::1"] for a
   * server reached as "localhost", which a proxy may resolve to either family).
   */
  alsoOn?: string[];
  /** Leave 8BITMIME out of the EHLO reply. */
  hide8BITMIME?: boolean;
}

export interface SmtpTarget {
  host: string;
  port: number;
  connections: TargetConnection[];
  /** SNI names of completed handshakes ("" when the client sent none). */
  handshakes: string[];
  received: TargetMessage[];
  errors: Error[];
  close(): Promise<void>;
}

interface Pending {
  listen(port: number): Promise<number>;
  close(): Promise<void>;
}

function createTarget(opts: SmtpTargetOptions): SmtpTarget & Pending {
  const host = opts.host ?? "127.0.0.1";
  const mode = opts.mode ?? "plain";
  const { key, cert } = serverCertPair(opts.cert ?? "server");
  const connections: TargetConnection[] = [];
  const handshakes: string[] = [];
  const received: TargetMessage[] = [];
  const errors: Error[] = [];
  const servername = (session: SMTPServerSession): string | undefined => (session as SMTPServerSession & { servername?: string }).servername || undefined;
  const server = new SMTPServer({
    name: opts.name ?? "target.test",
    secure: mode === "implicit",
    ...(mode === "plain" ? {} : { key, cert }),
    disabledCommands: mode === "plain" ? ["STARTTLS", "AUTH"] : ["AUTH"],
    hideSTARTTLS: mode === "plain",
    hide8BITMIME: opts.hide8BITMIME === true,
    authOptional: true,
    logger: false,
    closeTimeout: 300,
    disableReverseLookup: true,
    onConnect(session, callback) {
      connections.push({ remoteAddress: session.remoteAddress, remotePort: session.remotePort });
      callback();
    },
    onSecure(_socket, session, callback) {
      handshakes.push(servername(session) ?? "");
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        received.push({
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
          secure: session.secure,
          servername: servername(session),
          remoteAddress: session.remoteAddress,
        });
        callback(null, "OK: queued by target");
      });
      stream.on("error", (err: Error) => callback(err));
    },
  });
  // Client sockets that go away mid-handshake make smtp-server emit "error": record, never crash.
  server.on("error", (err: Error) => errors.push(err));
  // Extra listeners hand their sockets to the SMTP server (plain or TLS) as its own.
  const extra = (opts.alsoOn ?? []).map(() => createServer((s) => server.server.emit("connection", s)));
  const target: SmtpTarget & Pending = {
    host,
    port: 0,
    connections,
    handshakes,
    received,
    errors,
    listen: async (port) => {
      target.port = await listenOn(server.server, port, host);
      try {
        for (const [i, e] of extra.entries()) await listenOn(e, target.port, (opts.alsoOn ?? [])[i] as string);
      } catch (e) {
        await target.close();
        throw e;
      }
      return target.port;
    },
    close: async () => {
      await Promise.all(extra.filter((e) => e.listening).map((e) => new Promise<void>((resolve) => e.close(() => resolve()))));
      if (server.server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return target;
}

function listenOn(server: Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startSmtpTarget(opts: SmtpTargetOptions = {}): Promise<SmtpTarget> {
  let lastError: unknown;
  // With alsoOn, the port chosen on the first address may be taken on another: try again.
  for (let attempt = 0; attempt < 10; attempt++) {
    const t = createTarget(opts);
    try {
      await t.listen(opts.port ?? 0);
      return t;
    } catch (e) {
      lastError = e;
      if (opts.port) break;
    }
  }
  throw lastError;
}

export interface RawTarget {
  host: string;
  port: number;
  connections: number;
  close(): Promise<void>;
}

/** A TCP server that writes `greeting` (CRLF appended) on connect and closes. */
function createGreeter(host: string, greeting: string): RawTarget & Pending {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
    s.on("error", () => undefined);
    target.connections++;
    s.end(greeting + "\r\n");
  });
  server.on("error", () => undefined);
  const target: RawTarget & Pending = {
    host,
    port: 0,
    connections: 0,
    listen: (port) => listenOn(server, port, host).then((p) => (target.port = p)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return target;
}

export type SamePortSpec = ({ kind: "smtp" } & SmtpTargetOptions) | { kind: "greeter"; host: string; greeting: string };

/**
 * Starts every spec on its own address and ONE common port (chosen at run
 * time; a port taken on one of the addresses means another try).
 */
export async function startOnSamePort(specs: SamePortSpec[]): Promise<{ port: number; servers: (SmtpTarget | RawTarget)[]; close(): Promise<void> }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 10; attempt++) {
    const servers = specs.map((s) => (s.kind === "smtp" ? createTarget(s) : createGreeter(s.host, s.greeting)));
    const started: Pending[] = [];
    try {
      let port = 0;
      for (const s of servers) {
        port = await s.listen(port);
        started.push(s);
      }
      return { port, servers, close: async () => void (await Promise.all(servers.map((s) => s.close()))) };
    } catch (e) {
      lastError = e;
      await Promise.all(started.map((s) => s.close()));
    }
  }
  throw new Error(`no common free port for ${specs.length} servers: ${String(lastError)}`);
}

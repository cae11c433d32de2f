/**
 * A real SMTP server (the `smtp-server` package) in this process, on
 * 127.0.0.1 and a port the system picks unless told otherwise, recording what
 * it ACTUALLY received (smtp-server removes the dot-stuffing and the
 * end-of-data marker itself):
 *
 *  - every accepted message: envelope with parameters, raw bytes (all, up to a
 *    limit, or none for large-message tests), header block, sha256 of the
 *    whole and of the body, Message-ID, Subject, session, TLS and SNI, the
 *    AUTH user, and when it arrived (performance.now(), the client's clock);
 *  - every session (remote address and port, EHLO name, messages, open or
 *    not), how many were open at once, every MAIL FROM / RCPT TO address and
 *    the time of every MAIL FROM;
 *  - every AUTH attempt and every TLS handshake (protocol, cipher, client
 *    certificate, SNI); errors smtp-server emitted.
 *
 * It speaks plain SMTP, STARTTLS or implicit TLS with the fixture
 * certificates, optionally requiring a client certificate and offering AUTH.
 * Recipients starting with "reject" get 550 5.1.1 and "busy..." 450 4.2.1,
 * unless `hooks.rcptTo` decides; hooks can refuse any step (changed at run
 * time: 451 first, 250 later), stall a verdict, or see DATA start.
 *
 * startOnSamePort() puts several servers (and TCP greeters) on different
 * loopback addresses with ONE port, as direct delivery needs.
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:net";
import type { TLSSocket } from "node:tls";
import {
  SMTPServer,
  type SMTPServerAddress,
  type SMTPServerAuthentication,
  type SMTPServerAuthenticationResponse,
  type SMTPServerError,
  type SMTPServerOptions,
  type SMTPServerSession,
} from "smtp-server";
import { countById, listenOn, messageIdOf, step, stepServer, type TcpServer } from "./tcp-server.js";
import { readFixture, serverCertPair, type ServerCertName } from "./tls-fixtures.js";

/** undefined: accept; otherwise refuse with this code and text. */
export type Verdict = { code: number; text: string } | undefined;

export interface Hooks {
  mailFrom?(address: string): Verdict;
  /** Replaces the default rule (reject... 550, busy... 450). */
  rcptTo?(address: string): Verdict;
  /** The whole message arrived; a verdict refuses it (it is then not recorded as received). */
  endOfData?(m: { messageId: string; rcptTo: string[] }): Verdict;
  /** The first bytes of a message arrived (the client is in DATA). */
  dataStarted?(): void;
  /**
   * The whole message arrived; true stalls: the end of data is never answered
   * (the client's verdict is lost). Asked before endOfData; counted in heldVerdicts.
   */
  holdVerdict?(m: { messageId: string; rcptTo: string[] }): boolean;
  /**
   * The whole message arrived and is recorded as received (the server took
   * it); its 250 is sent this many ms later, so a client can die before it.
   */
  verdictDelayMs?(m: { messageId: string; rcptTo: string[] }): number;
}

export interface HarnessOptions {
  /** Default "127.0.0.1". */
  host?: string;
  /** Default 0 (the system picks). */
  port?: number;
  /**
   * Also accept connections on these addresses, same port (e.g. ["::1"] for a
   * server reached as "localhost", which a proxy may resolve to either family).
   */
  alsoOn?: string[];
  /** Name in the greeting (default: smtp-server's, the host name). */
  name?: string;
  /** "plain" (default): no STARTTLS; "starttls"; "implicit": TLS from the first byte. */
  mode?: "plain" | "starttls" | "implicit";
  /** Server certificate (default "server": CA-signed, localhost / 127.0.0.1 / ::1). */
  cert?: ServerCertName;
  /** Ask for a client certificate and refuse the handshake without one signed by the test CA. */
  requireClientCert?: boolean;
  /** AUTH mechanisms to offer; empty or absent: no AUTH at all. */
  authMethods?: string[];
  /** user -> password accepted by PLAIN, LOGIN and CRAM-MD5. */
  users?: Record<string, string>;
  /** user -> the one XOAUTH2 token accepted; other tokens get EXPIRED_TOKEN_JSON (status 401). */
  tokens?: Record<string, string>;
  /** Accept MAIL without AUTH (default true). */
  authOptional?: boolean;
  /** Let smtp-server take AUTH on an unencrypted connection (default false: it answers 538). */
  allowInsecureAuth?: boolean;
  /** Leave 8BITMIME out of the EHLO reply. */
  hide8BITMIME?: boolean;
  /** smtp-server's idle timeout (ms): a silent session gets "421 Timeout" and is closed. */
  socketTimeout?: number;
  /** Keep each message's raw bytes: true (default), false, or only messages up to this many bytes. */
  keepRaw?: boolean | number;
  hooks?: Hooks;
  /** Extra smtp-server options (size, minVersion, ...). */
  extra?: Partial<SMTPServerOptions>;
}

export interface ReceivedMessage {
  /** smtp-server's session id. */
  session: string;
  mailFrom: string;
  /** MAIL FROM parameters as the server parsed them (BODY, SIZE, ...). */
  mailFromArgs: Record<string, string | true>;
  rcptTo: string[];
  rcptArgs: Record<string, string | true>[];
  /** The whole message as received; empty when not kept (see rawKept). */
  raw: Buffer;
  rawKept: boolean;
  /** The header block up to and including the empty line that ends it. */
  head: Buffer;
  /** Bytes of the whole message. */
  totalBytes: number;
  /** sha256 (hex) of the whole message. */
  sha256: string;
  /** Bytes after the header block. */
  bodyBytes: number;
  /** sha256 (hex) of the bytes after the header block, computed as they arrived. */
  bodySha256: string;
  messageId: string;
  subject: string;
  /** The session was encrypted. */
  secure: boolean;
  /** SNI the client sent (undefined without TLS or without SNI). */
  servername: string | undefined;
  /** The `user` onAuth returned for this session (undefined without AUTH). */
  user: unknown;
  remoteAddress: string;
  /** performance.now() when the whole message was in. */
  at: number;
}

export interface Session {
  id: string;
  remoteAddress: string;
  remotePort: number;
  /** EHLO / HELO argument, as of the session's first MAIL FROM. */
  hello: string;
  messages: number;
  open: boolean;
}

export interface AuthAttempt {
  method: string;
  username: string | undefined;
  password: string | undefined;
  accessToken: string | undefined;
  /** The session was encrypted when AUTH arrived. */
  secure: boolean;
  /** The server accepted the credentials. */
  accepted: boolean;
}

export interface Handshake {
  protocol: string;
  cipher: string;
  /** CN of the client certificate, when one was presented. */
  clientCertCN: string | undefined;
  /** SNI the client sent ("" when none). */
  servername: string;
}

export interface Harness {
  host: string;
  port: number;
  received: ReceivedMessage[];
  /** Every session in the order they connected. */
  sessions: Session[];
  /** Number of sessions the server accepted. */
  readonly connections: number;
  /** Sessions open now, at most at once, closed so far. */
  readonly active: number;
  readonly maxActive: number;
  readonly closedSessions: number;
  /** Every MAIL FROM / RCPT TO address the server saw, in order, duplicates and refused ones included. */
  mailCommands: string[];
  rcptCommands: string[];
  /** performance.now() of every MAIL FROM, in arrival order. */
  mailTimes: number[];
  auths: AuthAttempt[];
  handshakes: Handshake[];
  /** Errors smtp-server emitted (client sockets that went away mid-handshake, ...). */
  errors: Error[];
  /** Changeable at run time. */
  hooks: Hooks;
  /** Messages whose end of data the endOfData hook refused. */
  refusedData: number;
  /** Whole messages left without a verdict by the holdVerdict hook. */
  heldVerdicts: number;
  /** Message transfers that broke off before the end-of-data marker (never received). */
  abortedData: number;
  /** Transfers in progress (data started, not ended). */
  inData: number;
  /** How often each Message-ID was received. */
  countById(): Map<string, number>;
  /** Stops the server; client sessions still open are closed. */
  close(): Promise<void>;
}

export const EXPIRED_TOKEN_JSON = { status: "401", schemes: "bearer", scope: "https://mail.example.test/" };

const HEAD_END = Buffer.from("\r\n\r\n");

function smtpError(v: NonNullable<Verdict>): SMTPServerError {
  const err: SMTPServerError = new Error(v.text);
  err.responseCode = v.code;
  return err;
}

/** The default recipient rule: "reject..." 550, "busy..." 450, the rest accepted. */
export function rejectOrBusy(address: string): Verdict {
  const lower = address.toLowerCase();
  if (lower.startsWith("reject")) return { code: 550, text: "5.1.1 mailbox unavailable" };
  if (lower.startsWith("busy")) return { code: 450, text: "4.2.1 mailbox busy, try later" };
  return undefined;
}

interface Pending {
  listen(port: number): Promise<number>;
  close(): Promise<void>;
}

function createHarness(opts: HarnessOptions): Harness & Pending {
  const host = opts.host ?? "127.0.0.1";
  const mode = opts.mode ?? "plain";
  const keepRaw = opts.keepRaw === undefined || opts.keepRaw === true ? Infinity : opts.keepRaw === false ? 0 : opts.keepRaw;
  const authMethods = opts.authMethods ?? [];
  const users = opts.users ?? {};
  const tokens = opts.tokens ?? {};
  const sessionOf = new Map<string, Session>();
  const servernameOf = (session: SMTPServerSession): string | undefined => (session as SMTPServerSession & { servername?: string }).servername || undefined;
  let active = 0;
  let maxActive = 0;
  let closedSessions = 0;

  const disabled: string[] = [];
  if (mode === "plain") disabled.push("STARTTLS");
  if (authMethods.length === 0) disabled.push("AUTH");

  const h: Harness & Pending = {
    host,
    port: 0,
    received: [],
    sessions: [],
    get connections() {
      return h.sessions.length;
    },
    get active() {
      return active;
    },
    get maxActive() {
      return maxActive;
    },
    get closedSessions() {
      return closedSessions;
    },
    mailCommands: [],
    rcptCommands: [],
    mailTimes: [],
    auths: [],
    handshakes: [],
    errors: [],
    hooks: opts.hooks ?? {},
    refusedData: 0,
    heldVerdicts: 0,
    abortedData: 0,
    inData: 0,
    countById: () => countById(h.received),
    listen: async (port) => {
      h.port = await listenOn(server.server, port, host);
      try {
        for (const [i, e] of extra.entries()) await listenOn(e, h.port, (opts.alsoOn ?? [])[i] as string);
      } catch (e) {
        await h.close();
        throw e;
      }
      return h.port;
    },
    close: async () => {
      await Promise.all(extra.filter((e) => e.listening).map((e) => new Promise<void>((resolve) => e.close(() => resolve()))));
      if (server.server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server = new SMTPServer({
    ...(opts.name === undefined ? {} : { name: opts.name }),
    secure: mode === "implicit",
    ...(mode === "plain" ? {} : serverCertPair(opts.cert ?? "server")),
    ...(opts.requireClientCert ? { requestCert: true, rejectUnauthorized: true, ca: readFixture("ca.pem") } : {}),
    hideSTARTTLS: mode === "plain",
    hide8BITMIME: opts.hide8BITMIME === true,
    disabledCommands: disabled,
    authMethods: authMethods.length > 0 ? authMethods : undefined,
    authOptional: opts.authOptional ?? true,
    allowInsecureAuth: opts.allowInsecureAuth ?? false,
    logger: false,
    closeTimeout: 300,
    disableReverseLookup: true,
    ...(opts.socketTimeout ? { socketTimeout: opts.socketTimeout } : {}),
    ...opts.extra,
    onConnect(session, callback) {
      active++;
      maxActive = Math.max(maxActive, active);
      const s: Session = { id: session.id, remoteAddress: session.remoteAddress, remotePort: session.remotePort, hello: "", messages: 0, open: true };
      sessionOf.set(session.id, s);
      h.sessions.push(s);
      callback();
    },
    onClose(session) {
      const s = sessionOf.get(session.id);
      if (s?.open) {
        s.open = false;
        active--;
        closedSessions++;
      }
    },
    onSecure(socket, session, callback) {
      const tls = socket as TLSSocket;
      const peer = tls.getPeerCertificate();
      const cn = peer && peer.subject ? peer.subject.CN : undefined;
      h.handshakes.push({
        protocol: tls.getProtocol() ?? "",
        cipher: tls.getCipher()?.name ?? "",
        clientCertCN: Array.isArray(cn) ? cn[0] : cn,
        servername: servernameOf(session) ?? "",
      });
      callback();
    },
    onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, callback: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void) {
      const attempt: AuthAttempt = {
        method: auth.method,
        username: auth.username,
        password: auth.password ?? undefined,
        accessToken: auth.accessToken,
        secure: session.secure,
        accepted: false,
      };
      h.auths.push(attempt);
      const user = auth.username ?? "";
      let ok: boolean;
      if (auth.method === "XOAUTH2") {
        ok = tokens[user] !== undefined && tokens[user] === auth.accessToken;
        if (!ok) {
          callback(null, { data: EXPIRED_TOKEN_JSON });
          return;
        }
      } else if ((auth.method as string) === "CRAM-MD5") {
        ok = users[user] !== undefined && auth.validatePassword(users[user]);
      } else {
        ok = users[user] !== undefined && users[user] === auth.password;
      }
      if (!ok) {
        callback(new Error("5.7.8 Error: authentication failed: bad credentials for test server"));
        return;
      }
      attempt.accepted = true;
      callback(null, { user });
    },
    onMailFrom(address: SMTPServerAddress, session, callback) {
      h.mailCommands.push(address.address);
      h.mailTimes.push(performance.now());
      const s = sessionOf.get(session.id);
      if (s && !s.hello) s.hello = session.hostNameAppearsAs;
      const v = h.hooks.mailFrom?.(address.address);
      callback(v ? smtpError(v) : undefined);
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      h.rcptCommands.push(address.address);
      const v = h.hooks.rcptTo ? h.hooks.rcptTo(address.address) : rejectOrBusy(address.address);
      callback(v ? smtpError(v) : undefined);
    },
    onData(stream, session, callback) {
      const whole = createHash("sha256");
      const body = createHash("sha256");
      const kept: Buffer[] = [];
      // The header block is small: it is kept until its end is found; the
      // body after it is only hashed (and kept when raw bytes are).
      let headParts: Buffer[] = [];
      let headLen = 0;
      let head: Buffer | undefined;
      let bodyBytes = 0;
      let total = 0;
      let started = false;
      h.inData++;
      stream.on("data", (chunk: Buffer) => {
        if (!started) {
          started = true;
          h.hooks.dataStarted?.();
        }
        whole.update(chunk);
        total += chunk.length;
        if (total <= keepRaw) kept.push(chunk);
        if (head) {
          body.update(chunk);
          bodyBytes += chunk.length;
          return;
        }
        headParts.push(chunk);
        headLen += chunk.length;
        const joined = Buffer.concat(headParts, headLen);
        const at = joined.indexOf(HEAD_END);
        if (at >= 0) {
          head = joined.subarray(0, at + HEAD_END.length);
          const rest = joined.subarray(at + HEAD_END.length);
          body.update(rest);
          bodyBytes += rest.length;
          headParts = [];
        } else {
          headParts = [joined];
          if (headLen > 1024 * 1024) {
            // No header/body boundary in the first MiB: treat it all as head.
            head = joined;
            headParts = [];
          }
        }
      });
      stream.on("end", () => {
        h.inData--;
        const headBytes = head ?? Buffer.concat(headParts);
        const envelope = session.envelope;
        const rcptTo = envelope.rcptTo.map((r) => r.address);
        const messageId = messageIdOf(headBytes);
        if (h.hooks.holdVerdict?.({ messageId, rcptTo })) {
          // No callback: the client waits for a verdict that never comes.
          h.heldVerdicts++;
          return;
        }
        const v = h.hooks.endOfData?.({ messageId, rcptTo });
        if (v) {
          h.refusedData++;
          callback(smtpError(v));
          return;
        }
        const s = sessionOf.get(session.id);
        if (s) s.messages++;
        const from = envelope.mailFrom;
        const rawKept = total <= keepRaw;
        h.received.push({
          session: session.id,
          mailFrom: from ? from.address : "",
          mailFromArgs: from && from.args ? { ...(from.args as Record<string, string | true>) } : {},
          rcptTo,
          rcptArgs: envelope.rcptTo.map((r) => (r.args ? { ...(r.args as Record<string, string | true>) } : {})),
          raw: rawKept ? Buffer.concat(kept, total) : Buffer.alloc(0),
          rawKept,
          head: headBytes,
          totalBytes: total,
          sha256: whole.digest("hex"),
          bodyBytes,
          bodySha256: body.digest("hex"),
          messageId,
          subject: /^subject: *(.*)$/im.exec(headBytes.toString("utf8").replace(/\r\n(?=[ \t])/g, ""))?.[1]?.trim() ?? "",
          secure: session.secure,
          servername: servernameOf(session),
          user: session.user,
          remoteAddress: session.remoteAddress,
          at: performance.now(),
        });
        const delay = h.hooks.verdictDelayMs?.({ messageId, rcptTo }) ?? 0;
        if (delay > 0) setTimeout(() => callback(null, "OK: queued as test"), delay);
        else callback(null, "OK: queued as test");
      });
      stream.on("error", () => {
        // The client went away mid-message: nothing was received.
        h.inData--;
        h.abortedData++;
      });
    },
  });
  // Client sockets that reset or go away mid-handshake make smtp-server emit "error": record, never crash.
  server.on("error", (err: Error) => h.errors.push(err));
  // Extra listeners hand their sockets to the SMTP server (plain or TLS) as its own.
  const extra: Server[] = (opts.alsoOn ?? []).map(() => createServer((s) => server.server.emit("connection", s)));
  return h;
}

/** Starts a harness (with alsoOn, a port taken on another address means another try). */
export async function startSmtpServer(opts: HarnessOptions = {}): Promise<Harness> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 10; attempt++) {
    const h = createHarness(opts);
    try {
      await h.listen(opts.port ?? 0);
      return h;
    } catch (e) {
      lastError = e;
      if (opts.port || !opts.alsoOn?.length) break;
    }
  }
  throw lastError;
}

export type SamePortSpec = ({ kind: "smtp" } & HarnessOptions) | { kind: "greeter"; host: string; greeting: string };

/**
 * Starts every spec on its own address and ONE common port (chosen at run
 * time; a port taken on one of the addresses means another try). A greeter
 * is a TCP server that writes its greeting on connect and closes.
 */
export async function startOnSamePort(specs: SamePortSpec[]): Promise<{ port: number; servers: (Harness | TcpServer)[]; close(): Promise<void> }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 10; attempt++) {
    const servers: (Harness | TcpServer)[] = [];
    try {
      let port = 0;
      for (const s of specs) {
        const started =
          s.kind === "smtp"
            ? await startSmtpServer({ ...s, port })
            : await stepServer([step.reply(s.greeting), step.close()], { host: s.host, port });
        servers.push(started);
        port = started.port;
      }
      return { port, servers, close: async () => void (await Promise.all(servers.map((s) => s.close()))) };
    } catch (e) {
      lastError = e;
      await Promise.all(servers.map((s) => s.close()));
    }
  }
  throw new Error(`no common free port for ${specs.length} servers: ${String(lastError)}`);
}

// ---------------------------------------------------------------- reading what was received

/** The raw message as text (headers and body). */
export function rawText(m: ReceivedMessage | undefined): string {
  if (!m?.rawKept) throw new Error("no raw message recorded");
  return m.raw.toString("utf8");
}

/** The header block, unfolded, as lower-cased name -> values. */
export function headerMap(m: ReceivedMessage | undefined): Map<string, string[]> {
  if (!m) throw new Error("no message");
  const text = m.head.toString("utf8").replace(/\r\n(?=[ \t])/g, "");
  const map = new Map<string, string[]>();
  for (const line of text.split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    const list = map.get(name) ?? [];
    list.push(line.slice(colon + 1).trim());
    map.set(name, list);
  }
  return map;
}

/** The body of a kept raw message (after the empty line). */
export function bodyOf(m: ReceivedMessage | undefined): Buffer {
  if (!m?.rawKept) throw new Error("no raw message recorded");
  return m.raw.subarray(m.head.length);
}

/** The longest line of `bytes` split at CRLF, CR or LF: what SMTP's 998-octet limit applies to. */
export function longestLine(bytes: Buffer): number {
  let longest = 0;
  for (const line of bytes.toString("latin1").split(/\r\n|\r|\n/)) longest = Math.max(longest, line.length);
  return longest;
}

/**
 * TLS / AUTH test servers on 127.0.0.1 (ephemeral ports):
 *
 * - `startTlsSmtpServer()`: the real `smtp-server` package with STARTTLS,
 *   without it, or with implicit TLS, using the fixture certificates; it
 *   optionally requires a client certificate and offers AUTH. It records what
 *   it received: every AUTH attempt (method, user, password / token, whether
 *   the session was encrypted), every MAIL FROM, every accepted message and
 *   every TLS handshake (protocol, cipher, client certificate subject).
 *
 * - `rawStartTlsServer()`: a hand-written SMTP server on `net` whose STARTTLS
 *   reply is written by the test as raw bytes (response injection), which then
 *   does the TLS handshake with `new tls.TLSSocket(socket, { isServer: true })`.
 *   It records every command line and whether it arrived over TLS.
 */
import { createServer, type Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerAuthenticationResponse, type SMTPServerOptions, type SMTPServerSession } from "smtp-server";
import { readFixture, type FixtureName } from "./tls-fixtures.js";
import { listenLocal } from "./listen.js";

/** Which server certificate to present. */
export type ServerCertName = "server" | "expired" | "wronghost" | "selfsigned";

export function serverCertPair(name: ServerCertName): { key: Buffer; cert: Buffer } {
  return { key: readFixture(`${name}.key` as FixtureName), cert: readFixture(`${name}.pem` as FixtureName) };
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

export interface TlsHandshake {
  protocol: string;
  cipher: string;
  /** CN of the client certificate, when one was presented. */
  clientCertCN: string | undefined;
}

export interface TlsMessage {
  mailFrom: string;
  rcptTo: string[];
  raw: Buffer;
  secure: boolean;
  /** The `user` value onAuth returned for this session (undefined without AUTH). */
  user: unknown;
}

export interface TlsSmtpServerOptions {
  /** "starttls" (default): clear text with STARTTLS; "plain": no STARTTLS; "implicit": TLS from the first byte. */
  mode?: "starttls" | "plain" | "implicit";
  /** Server certificate (default "server": CA-signed, localhost / 127.0.0.1 / ::1). */
  cert?: ServerCertName;
  /** Ask for a client certificate and refuse the handshake without one signed by the test CA. */
  requireClientCert?: boolean;
  /** AUTH mechanisms to offer; empty or absent: no AUTH at all. */
  authMethods?: string[];
  /** user -> password accepted by PLAIN, LOGIN and CRAM-MD5. */
  users?: Record<string, string>;
  /** user -> the one XOAUTH2 token accepted; other tokens get the "expired" JSON (status 401). */
  tokens?: Record<string, string>;
  /** Accept MAIL without AUTH (default true). */
  authOptional?: boolean;
  /** Let smtp-server take AUTH on an unencrypted connection (default false: it answers 538). */
  allowInsecureAuth?: boolean;
  /** Extra smtp-server options (minVersion, ...). */
  extra?: Partial<SMTPServerOptions>;
}

export interface TlsSmtpServer {
  port: number;
  auths: AuthAttempt[];
  /** Every MAIL FROM address, with whether the session was encrypted. */
  mailFrom: { address: string; secure: boolean }[];
  received: TlsMessage[];
  handshakes: TlsHandshake[];
  /** Errors smtp-server emitted (client sockets that went away mid-handshake, ...). */
  errors: Error[];
  connections: number;
  close(): Promise<void>;
}

export const EXPIRED_TOKEN_JSON = { status: "401", schemes: "bearer", scope: "https://mail.example.test/" };

export async function startTlsSmtpServer(opts: TlsSmtpServerOptions = {}): Promise<TlsSmtpServer> {
  const mode = opts.mode ?? "starttls";
  const { key, cert } = serverCertPair(opts.cert ?? "server");
  const authMethods = opts.authMethods ?? [];
  const users = opts.users ?? {};
  const tokens = opts.tokens ?? {};
  const auths: AuthAttempt[] = [];
  const mailFrom: { address: string; secure: boolean }[] = [];
  const received: TlsMessage[] = [];
  const handshakes: TlsHandshake[] = [];
  const errors: Error[] = [];
  let connections = 0;

  const disabled: string[] = [];
  if (mode === "plain") disabled.push("STARTTLS");
  if (authMethods.length === 0) disabled.push("AUTH");

  const server = new SMTPServer({
    secure: mode === "implicit",
    key,
    cert,
    ...(opts.requireClientCert ? { requestCert: true, rejectUnauthorized: true, ca: readFixture("ca.pem") } : {}),
    hideSTARTTLS: mode === "plain",
    disabledCommands: disabled,
    authMethods: authMethods.length > 0 ? authMethods : undefined,
    authOptional: opts.authOptional ?? true,
    allowInsecureAuth: opts.allowInsecureAuth ?? false,
    logger: false,
    closeTimeout: 500,
    disableReverseLookup: true,
    ...opts.extra,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onSecure(socket, _session, callback) {
      const tls = socket as TLSSocket;
      const peer = tls.getPeerCertificate();
      const cn = peer && peer.subject ? peer.subject.CN : undefined;
      handshakes.push({
        protocol: tls.getProtocol() ?? "",
        cipher: tls.getCipher()?.name ?? "",
        clientCertCN: Array.isArray(cn) ? cn[0] : cn,
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
      auths.push(attempt);
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
    onMailFrom(address, session, callback) {
      mailFrom.push({ address: address.address, secure: session.secure });
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
          user: session.user,
        });
        callback(null, "OK: queued as tls-test");
      });
      stream.on("error", (err: Error) => callback(err));
    },
  });
  // A client aborting a TLS handshake makes smtp-server emit "error": record, never crash.
  server.on("error", (err: Error) => errors.push(err));

  const port = await listenLocal(server.server);
  return {
    port,
    auths,
    mailFrom,
    received,
    handshakes,
    errors,
    get connections() {
      return connections;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------------------

export interface RawLine {
  line: string;
  /** Arrived over TLS. */
  secure: boolean;
}

export interface RawStartTlsOptions {
  /** Raw bytes written (in ONE write) in answer to STARTTLS; the handshake follows when it starts with "220". */
  starttlsReply?: string;
  /** Offer STARTTLS in the clear-text EHLO reply (default true). */
  offerStartTls?: boolean;
  cert?: ServerCertName;
}

export interface RawStartTlsServer {
  port: number;
  lines: RawLine[];
  /** Number of completed TLS handshakes. */
  readonly handshakes: number;
  close(): Promise<void>;
}

/** A minimal SMTP server (one message per DATA) with a test-written STARTTLS reply. */
export async function rawStartTlsServer(opts: RawStartTlsOptions = {}): Promise<RawStartTlsServer> {
  const starttlsReply = opts.starttlsReply ?? "220 2.0.0 ready to start TLS\r\n";
  const offer = opts.offerStartTls ?? true;
  const { key, cert } = serverCertPair(opts.cert ?? "server");
  const lines: RawLine[] = [];
  const sockets = new Set<Socket>();
  let handshakes = 0;

  const server = createServer((raw) => {
    sockets.add(raw);
    raw.on("close", () => sockets.delete(raw));
    raw.on("error", () => undefined);
    let io: Socket = raw;
    let secure = false;
    let buf = "";
    let inData = false;
    const write = (text: string): void => {
      if (!io.destroyed && io.writable) io.write(text);
    };
    const onLine = (line: string): void => {
      if (inData) {
        if (line === ".") {
          inData = false;
          write("250 2.0.0 queued\r\n");
        }
        return;
      }
      lines.push({ line, secure });
      const verb = line.split(/[ :]/, 1)[0]?.toUpperCase() ?? "";
      switch (verb) {
        case "EHLO":
          write(`250-raw.test hello${offer && !secure ? "\r\n250-STARTTLS" : ""}\r\n250 8BITMIME\r\n`);
          break;
        case "HELO":
          write("250 raw.test\r\n");
          break;
        case "STARTTLS": {
          io.off("data", onData);
          buf = "";
          write(starttlsReply);
          if (!starttlsReply.startsWith("220")) {
            io.on("data", onData);
            break;
          }
          const tls = new TLSSocket(raw, { isServer: true, key, cert });
          tls.on("error", () => undefined);
          tls.on("secure", () => {
            handshakes++;
          });
          io = tls;
          secure = true;
          tls.on("data", onData);
          break;
        }
        case "MAIL":
        case "RCPT":
        case "RSET":
        case "NOOP":
          write("250 2.0.0 ok\r\n");
          break;
        case "DATA":
          inData = true;
          write("354 go ahead\r\n");
          break;
        case "QUIT":
          write("221 2.0.0 bye\r\n");
          io.end();
          break;
        default:
          write("502 5.5.2 command not implemented\r\n");
      }
    };
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString("latin1");
      let nl: number;
      while ((nl = buf.indexOf("\r\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        onLine(line);
        // STARTTLS swapped the reader: anything after it in this chunk is not ours.
        if (line.toUpperCase() === "STARTTLS") return;
      }
    };
    raw.on("data", onData);
    write("220 raw.test ESMTP ready\r\n");
  });
  const port = await listenLocal(server);
  return {
    port,
    lines,
    get handshakes() {
      return handshakes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * An in-process `smtp-server` on 127.0.0.1 (ephemeral port) that counts what
 * a connection pool needs checked: sessions open at once (onConnect /
 * onClose), messages per session, the EHLO name of each session, and the
 * time (performance.now(), the same clock as the client's) of every MAIL FROM
 * and of every message's arrival.
 */
import { SMTPServer } from "smtp-server";
import { listenLocal } from "./listen.js";

export interface PoolServerMessage {
  session: string;
  mailFrom: string;
  rcptTo: string[];
  subject: string;
  /** performance.now() when the whole message was in. */
  at: number;
}

export interface PoolServerSession {
  id: string;
  /** EHLO / HELO argument, as of the session's first MAIL FROM. */
  hello: string;
  messages: number;
  open: boolean;
}

export interface PoolServerOptions {
  /** smtp-server's idle timeout (ms): a silent session gets "421 Timeout" and is closed. */
  socketTimeout?: number;
}

export interface PoolServer {
  port: number;
  readonly messages: PoolServerMessage[];
  readonly sessions: Map<string, PoolServerSession>;
  /** performance.now() of every MAIL FROM, in arrival order. */
  readonly mailTimes: number[];
  readonly active: number;
  readonly maxActive: number;
  readonly closedSessions: number;
  close(): Promise<void>;
}

export async function startPoolServer(opts: PoolServerOptions = {}): Promise<PoolServer> {
  const messages: PoolServerMessage[] = [];
  const sessions = new Map<string, PoolServerSession>();
  const mailTimes: number[] = [];
  let active = 0;
  let maxActive = 0;
  let closedSessions = 0;

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    hideSTARTTLS: true,
    logger: false,
    closeTimeout: 500,
    disableReverseLookup: true,
    ...(opts.socketTimeout ? { socketTimeout: opts.socketTimeout } : {}),
    onConnect(session, callback) {
      active++;
      maxActive = Math.max(maxActive, active);
      sessions.set(session.id, { id: session.id, hello: "", messages: 0, open: true });
      callback();
    },
    onClose(session) {
      const s = sessions.get(session.id);
      if (s?.open) {
        s.open = false;
        active--;
        closedSessions++;
      }
    },
    onMailFrom(_address, session, callback) {
      mailTimes.push(performance.now());
      const s = sessions.get(session.id);
      if (s && !s.hello) s.hello = session.hostNameAppearsAs;
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const subject = /^Subject: *(.*)$/im.exec(text)?.[1]?.trim() ?? "";
        const s = sessions.get(session.id);
        if (s) s.messages++;
        messages.push({
          session: session.id,
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          subject,
          at: performance.now(),
        });
        callback(null, "OK: queued");
      });
      stream.on("error", (err: Error) => callback(err));
    },
  });

  const port = await listenLocal(server.server);
  // Client sockets that reset must not crash the test process.
  server.on("error", () => undefined);

  return {
    port,
    messages,
    sessions,
    mailTimes,
    get active() {
      return active;
    },
    get maxActive() {
      return maxActive;
    },
    get closedSessions() {
      return closedSessions;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

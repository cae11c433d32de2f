/**
 * A real SMTP server (the `smtp-server` package) on 127.0.0.1 and an
 * ephemeral port that keeps every delivered message with its MAIL FROM
 * parameters, optionally without 8BITMIME in its EHLO reply. sinkFixture()
 * gives a spec file servers and clients that are all closed in afterAll.
 */
import { SMTPServer } from "smtp-server";
import { listenLocal } from "./listen.js";
import { serverFixture, type Fixture } from "./recording-fixture.js";

export interface SinkOptions {
  /** Leave 8BITMIME out of the EHLO reply. */
  hide8BITMIME?: boolean;
}

export interface SinkMessage {
  /** MAIL FROM parameters as the server parsed them (BODY, SIZE, ...). */
  mailFromArgs: Record<string, string | true>;
  /** The message as received (dot-stuffing removed). */
  raw: Buffer;
}

export interface Sink {
  port: number;
  readonly messages: SinkMessage[];
  close(): Promise<void>;
}

export async function sinkServer(opts: SinkOptions = {}): Promise<Sink> {
  const messages: SinkMessage[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    hideSTARTTLS: true,
    hide8BITMIME: opts.hide8BITMIME === true,
    logger: false,
    closeTimeout: 500,
    disableReverseLookup: true,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const from = session.envelope.mailFrom;
        messages.push({ mailFromArgs: from && from.args ? { ...from.args } : {}, raw: Buffer.concat(chunks) });
        callback(null, "OK: queued");
      });
      stream.on("error", (err: Error) => callback(err));
    },
  });
  server.on("error", () => undefined);
  const port = await listenLocal(server.server);
  return { port, messages, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** serve() and smtp() against sink servers (see recording-fixture.ts). */
export function sinkFixture(): Fixture<Sink, SinkOptions> {
  return serverFixture(sinkServer, {});
}

/** Lines of `bytes` split at CRLF, CR or LF, longest first: what SMTP's 998-octet limit applies to. */
export function longestLine(bytes: Buffer): number {
  let longest = 0;
  for (const line of bytes.toString("latin1").split(/\r\n|\r|\n/)) longest = Math.max(longest, line.length);
  return longest;
}

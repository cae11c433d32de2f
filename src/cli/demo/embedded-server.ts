/**
 * The demo's SMTP server: the smtp-server package, in this process, on
 * 127.0.0.1 and a free port. Every message it receives goes to `inbox`.
 */
import type { AddressInfo } from "node:net";
import { importDevDependency } from "./dev-dependency.js";

export interface ReceivedMail {
  raw: Buffer;
  mailFrom: string;
  rcptTo: string[];
}

export interface EmbeddedServer {
  port: number;
  inbox: ReceivedMail[];
  close(): Promise<void>;
}

export async function startEmbeddedServer(): Promise<EmbeddedServer> {
  const { SMTPServer } = await importDevDependency("smtp-server", () => import("smtp-server"));
  const inbox: ReceivedMail[] = [];
  const server = new SMTPServer({
    name: "mx.demo.test",
    banner: "embedded smtp-server for the smtpkit demo",
    size: 10 * 1024 * 1024,
    disabledCommands: ["AUTH", "STARTTLS"],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", (err: Error) => callback(err));
      stream.on("end", () => {
        const from = session.envelope.mailFrom;
        inbox.push({
          raw: Buffer.concat(chunks),
          mailFrom: from ? from.address : "",
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
        });
        callback(null, `OK: queued as demo-${inbox.length}`);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    inbox,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * SmtpPool's pipelined series under random faults, against smtp-server in
 * process: refused recipients, refused messages, a 421 and a close, the
 * connection dropped while the envelope arrives, and dropped right after a
 * message arrived (with the server keeping it or not, the verdict never sent).
 * Whatever the interleaving, every message settles once and what the client
 * reports matches what the server kept:
 *
 *  - fulfilled: the server kept it exactly once;
 *  - rejected, deliveryUnknown false: the server never kept it;
 *  - rejected, deliveryUnknown true: kept at most once.
 *
 * The faults come from a seeded generator, so each run injects the same ones
 * in the order the server meets them; the assertions are invariants and hold
 * for any timing.
 */
import type { Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { SMTPServer } from "smtp-server";
import { SmtpError, SmtpPool, type SendResult } from "../../src/index.js";
import { mulberry32 } from "../support/seeded-random.js";
import { listenLocal } from "../support/tcp-server.js";

interface FaultServer {
  port: number;
  /** Subject -> copies kept. */
  kept: Map<string, number>;
  faults: Map<string, number>;
  close(): Promise<void>;
}

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

async function faultServer(seed: number): Promise<FaultServer> {
  const next = mulberry32(seed);
  const random = (): number => next() / 4294967296;
  const kept = new Map<string, number>();
  const faults = new Map<string, number>();
  const sockets = new Map<number, Socket>();
  const fault = (name: string): void => void faults.set(name, (faults.get(name) ?? 0) + 1);
  const socketOf = (remotePort: number): Socket | undefined => sockets.get(remotePort);

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    hideSTARTTLS: true,
    logger: false,
    disableReverseLookup: true,
    closeTimeout: 200,
    onMailFrom(_address, session, callback) {
      if (random() < 0.03) {
        fault("drop during the envelope");
        socketOf(session.remotePort)?.destroy();
        return;
      }
      callback();
    },
    onRcptTo(_address, _session, callback) {
      const r = random();
      if (r < 0.04) {
        fault("550 recipient");
        callback(smtpError("no such user", 550));
      } else if (r < 0.07) {
        fault("450 recipient");
        callback(smtpError("mailbox busy", 450));
      } else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const subject = /^Subject: *(.*)$/im.exec(Buffer.concat(chunks).toString("utf8"))?.[1]?.trim() ?? "";
        const keep = (): void => void kept.set(subject, (kept.get(subject) ?? 0) + 1);
        const r = random();
        if (r < 0.05) {
          fault("554 message");
          callback(smtpError("content rejected", 554));
        } else if (r < 0.09) {
          fault("kept, verdict lost");
          keep();
          socketOf(session.remotePort)?.destroy();
        } else if (r < 0.12) {
          fault("not kept, verdict lost");
          socketOf(session.remotePort)?.destroy();
        } else if (r < 0.15) {
          fault("421 and close");
          callback(smtpError("shutting down", 421));
          setImmediate(() => socketOf(session.remotePort)?.end());
        } else {
          keep();
          callback(null, "queued");
        }
      });
      stream.on("error", (err: Error) => callback(err));
    },
  });
  server.server.on("connection", (socket: Socket) => {
    const port = socket.remotePort ?? 0;
    sockets.set(port, socket);
    socket.on("close", () => sockets.delete(port));
  });
  server.on("error", () => undefined);
  const port = await listenLocal(server.server);
  return {
    port,
    kept,
    faults,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const servers: FaultServer[] = [];
const pools: SmtpPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close({ force: true }).catch(() => undefined)));
  await Promise.all(servers.map((s) => s.close()));
});

describe("SmtpPool under random faults: what the client reports matches what the server kept", () => {
  for (const [seed, connections] of [[1, 1], [2, 2], [3, 4]] as const) {
    it(`seed ${seed}, ${connections} connection(s), 300 messages`, async () => {
      const server = await faultServer(seed);
      servers.push(server);
      const pool = new SmtpPool({ mailServer: "127.0.0.1", mailPort: server.port, timeout: 10 }, { maxConnections: connections, maxMessagesPerConnection: 0 });
      pools.push(pool);
      const subjects = Array.from({ length: 300 }, (_, i) => `fault test ${seed}-${i}`);
      const outcomes = await Promise.allSettled(subjects.map((subject, i) => pool.send({ from: "sender@example.com", sendTo: `rcpt${i}@example.com`, subject, messageText: `body ${i}\r\n` })));
      await pool.close();

      let sent = 0;
      let unknown = 0;
      let failed = 0;
      outcomes.forEach((o, i) => {
        const subject = subjects[i] as string;
        const copies = server.kept.get(subject) ?? 0;
        if (o.status === "fulfilled") {
          sent++;
          expect((o.value as SendResult).replyCode, subject).toBe(250);
          expect(copies, `${subject} was reported sent`).toBe(1);
        } else {
          const err = o.reason as SmtpError;
          expect(err, subject).toBeInstanceOf(SmtpError);
          if (err.deliveryUnknown) {
            unknown++;
            expect(copies, `${subject}: delivery unknown`).toBeLessThanOrEqual(1);
          } else {
            failed++;
            expect(copies, `${subject} was reported not sent: ${err.message}`).toBe(0);
          }
        }
      });
      // Every kind of fault was met, and most messages still went through.
      expect(server.faults.size, JSON.stringify([...server.faults])).toBeGreaterThanOrEqual(5);
      expect(sent).toBeGreaterThan(200);
      expect(sent + unknown + failed).toBe(300);
      expect([...server.kept.values()].every((n) => n === 1)).toBe(true);
    });
  }
});

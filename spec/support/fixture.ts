import { afterAll } from "vitest";
import type { Smtp } from "../../src/index.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";
import { client } from "./client.js";
import { startSmtpServer, type Harness, type HarnessOptions } from "./smtp-server-harness.js";
import { esmtpServer, type EsmtpOptions, type TcpServer } from "./tcp-server.js";

/** serve() and smtp() for a spec file; every client is disconnected and every server closed in afterAll. */
export interface Fixture<S, O> {
  serve(opts?: O): Promise<S>;
  smtp(port: number, options?: SmtpOptions): Smtp;
}

/** A fixture for the servers `start` makes. */
export function serverFixture<S extends { close(): Promise<void> }, O>(start: (opts: O) => Promise<S>, defaults: O): Fixture<S, O> {
  const servers: S[] = [];
  const clients: Smtp[] = [];
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((m) => m.disconnect().catch(() => undefined)));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return {
    async serve(opts = defaults) {
      const s = await start(opts);
      servers.push(s);
      return s;
    },
    smtp(port, options = {}) {
      const m = client(port, options);
      clients.push(m);
      return m;
    },
  };
}

/** serve() and smtp() against recording ESMTP servers (tcp-server.ts). */
export function esmtpFixture(): Fixture<TcpServer, EsmtpOptions> {
  return serverFixture(esmtpServer, {});
}

/** serve() and smtp() against smtp-server harnesses. */
export function harnessFixture(): Fixture<Harness, HarnessOptions> {
  return serverFixture(startSmtpServer, {});
}

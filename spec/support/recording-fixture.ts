import { afterAll } from "vitest";
import type { Smtp } from "../../src/index.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";
import { client } from "./client.js";
import { recordingServer, type RecordingServer, type RecordingServerOptions } from "./recording-server.js";

/**
 * serve() and smtp() for a spec file that runs clients against recording
 * servers; every client is disconnected and every server closed in afterAll.
 */
export function recordingFixture(): { serve(opts?: RecordingServerOptions): Promise<RecordingServer>; smtp(port: number, options?: SmtpOptions): Smtp } {
  const servers: RecordingServer[] = [];
  const clients: Smtp[] = [];
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((m) => m.disconnect().catch(() => undefined)));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return {
    async serve(opts = {}) {
      const s = await recordingServer(opts);
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

// A queue worker in its own process, for spec/integration/queue.spec.ts:
// runs Smtp.processQueue() from the built package on a directory shared with
// other workers. The package is "smtpkit" (the self-reference resolves to
// dist/), or the entry file named by SMTPKIT_ENTRY (the spec passes a private
// copy of dist/esm, so a concurrent `npm run build` cannot pull it away).
//
//   node queue-worker.mjs <dir> <port> [settings-json]
//
// Prints one JSON line {"ready":pid} once loaded, waits for a line "go" on
// stdin (so several workers can be started at the same moment), runs
// processQueue(dir) and prints {"result":{sent,deferred,failed,partial}} or
// {"error":{code,message}}, then exits (0 or 2).
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const { Smtp } = await import(process.env.SMTPKIT_ENTRY ? pathToFileURL(process.env.SMTPKIT_ENTRY).href : "smtpkit");

const [dir, port, settingsJson] = process.argv.slice(2);
if (!dir || !port) {
  process.stderr.write("usage: queue-worker.mjs <dir> <port> [settings-json]\n");
  process.exit(64);
}

const smtp = new Smtp({ mailServer: "127.0.0.1", mailPort: Number(port), timeout: 20 });
for (const [name, value] of Object.entries(JSON.parse(settingsJson || "{}"))) smtp.config(`${name}=${value}`);

const say = (obj) => new Promise((resolve) => process.stdout.write(JSON.stringify(obj) + "\n", resolve));

const lines = createInterface({ input: process.stdin });
await say({ ready: process.pid });
const go = await new Promise((resolve) => {
  lines.on("line", (line) => {
    if (line.trim() === "go") resolve(true);
  });
  // The test went away before "go": nothing to do.
  lines.on("close", () => resolve(false));
});
lines.close();
if (!go) process.exit(0);

try {
  const result = await smtp.processQueue(dir);
  await say({ result });
  process.exit(0);
} catch (e) {
  await say({ error: { code: e?.code, message: String(e?.message ?? e) } });
  process.exit(2);
}

// MaxTransferRate check, run by hand:
//
//   npm run build && node bench/transfer-rate.mjs
//
// Sends a 1 MB and a 4 MB message with MaxTransferRate 1 MB/s and 4 MB/s
// (MB = 1,000,000 bytes) to an in-process smtp-server on 127.0.0.1 and prints
// the rate achieved over the message data (StartTransfer -> EndTransfer, i.e.
// from the first body byte written to the last one handed to the socket) and
// its deviation from the target. Exit code 1 when a deviation exceeds 10 %.
// Loopback only; nothing is left running.
import { SMTPServer } from "smtp-server";
import { Smtp } from "../dist/esm/index.js";

const MB = 1_000_000;
const SIZES = [1 * MB, 4 * MB];
const RATES = [1 * MB, 4 * MB];
const TOLERANCE = 0.1;

/** `bytes` of body text in 78-byte CRLF lines. */
function body(bytes) {
  const line = "x".repeat(76) + "\r\n";
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes - 2) + "\r\n";
}

function startServer() {
  const received = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    hideSTARTTLS: true,
    logger: false,
    disableReverseLookup: true,
    size: 64 * MB,
    onData(stream, _session, callback) {
      let bytes = 0;
      stream.on("data", (c) => (bytes += c.length));
      stream.on("end", () => {
        received.push({ bytes, at: performance.now() });
        callback(null, "OK");
      });
    },
  });
  server.on("error", () => undefined);
  return new Promise((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve({ server, received, port: server.server.address().port }));
  });
}

async function measure(port, received, size, rate) {
  const smtp = new Smtp({
    mailServer: "127.0.0.1",
    mailPort: port,
    timeout: 60,
    from: "bench@example.test",
    sendTo: "rate@example.test",
    subject: `transfer rate ${size} @ ${rate}`,
    messageText: body(size),
    settings: { MaxTransferRate: rate },
  });
  let start = 0;
  let end = 0;
  smtp.on("StartTransfer", () => (start = performance.now()));
  smtp.on("EndTransfer", () => (end = performance.now()));
  const before = received.length;
  const result = await smtp.send();
  const arrived = received[before];
  const seconds = (end - start) / 1000;
  const achieved = result.messageBytes / seconds;
  return {
    size,
    rate,
    bytes: result.messageBytes,
    seconds,
    achieved,
    deviation: (achieved - rate) / rate,
    serverBytes: arrived?.bytes ?? 0,
    serverSeconds: arrived ? (arrived.at - start) / 1000 : NaN,
  };
}

const { server, received, port } = await startServer();
const rows = [];
try {
  for (const rate of RATES) {
    for (const size of SIZES) rows.push(await measure(port, received, size, rate));
  }
} finally {
  await new Promise((resolve) => server.close(resolve));
}

const pad = (s, n) => String(s).padStart(n);
console.log(`MaxTransferRate on 127.0.0.1 (node ${process.version}); tolerance ±${TOLERANCE * 100} %`);
console.log(`${pad("message", 10)} ${pad("target B/s", 11)} ${pad("bytes sent", 11)} ${pad("seconds", 8)} ${pad("achieved B/s", 13)} ${pad("deviation", 10)} ${pad("server s", 9)}  ok`);
let failed = false;
for (const r of rows) {
  const ok = Math.abs(r.deviation) <= TOLERANCE && r.serverBytes > 0;
  failed ||= !ok;
  console.log(
    `${pad(`${r.size / MB} MB`, 10)} ${pad(r.rate, 11)} ${pad(r.bytes, 11)} ${pad(r.seconds.toFixed(3), 8)} ${pad(Math.round(r.achieved), 13)} ${pad(`${(r.deviation * 100).toFixed(2)} %`, 10)} ${pad(r.serverSeconds.toFixed(3), 9)}  ${ok ? "yes" : "NO"}`,
  );
}
if (failed) {
  console.error("transfer-rate: a deviation exceeds the tolerance");
  process.exitCode = 1;
}

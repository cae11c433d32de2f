#!/usr/bin/env node
// Throughput, latency and memory of smtpkit next to Nodemailer, in the same run.
//
//   npm run build && node bench/throughput.mjs [--messages 2000] [--runs 3] [--big-mib 50]
//
// The sink is Postfix's smtp-sink when installed (apt-get install postfix),
// otherwise smtp-server in a child process. Each scenario runs in its own
// child process so peak RSS belongs to that client alone. Loopback only.
import { spawn } from "node:child_process";
import { connect, createServer } from "node:net";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Readable } from "node:stream";

const self = fileURLToPath(import.meta.url);
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);

if (args.child) await child(JSON.parse(args.child));
else await main();

async function main() {
  const messages = Number(args.messages ?? 2000);
  const runs = Number(args.runs ?? 3);
  const bigMiB = Number(args["big-mib"] ?? 50);
  const sink = await startSink();
  console.log(`sink: ${sink.kind} on 127.0.0.1:${sink.port}; node ${process.version}; ${runs} runs each, median shown\n`);
  const scenarios = [
    { name: "1 conn, 1 rcpt, 2 KB", kind: "stream", messages, rcpts: 1 },
    { name: "1 conn, 5 rcpt, 2 KB", kind: "stream", messages, rcpts: 5 },
    { name: "new conn per message (latency)", kind: "latency", messages: 200, rcpts: 1 },
    { name: `1 x ${bigMiB} MiB streamed body`, kind: "big", mib: bigMiB, rcpts: 1 },
  ];
  try {
    for (const sc of scenarios) {
      console.log(`== ${sc.name}`);
      for (const client of ["smtpkit", "nodemailer"]) {
        const results = [];
        for (let r = 0; r < runs; r++) results.push(await runChild({ ...sc, client, port: sink.port }));
        console.log(`  ${client.padEnd(10)} ${format(sc, median(results, sc))}   (runs: ${results.map((x) => format(sc, x, true)).join(", ")})`);
      }
    }
  } finally {
    sink.stop();
  }
}

function format(sc, r, short = false) {
  if (sc.kind === "stream") return `${Math.round(r.rate)} msg/s${short ? "" : `, peak RSS ${r.rssMiB.toFixed(1)} MiB`}`;
  if (sc.kind === "latency") return `${r.medianMs.toFixed(2)} ms median${short ? "" : `, p90 ${r.p90Ms.toFixed(2)} ms`}`;
  return `${r.seconds.toFixed(2)} s${short ? "" : `, peak RSS ${r.rssMiB.toFixed(1)} MiB`}`;
}

function median(results, sc) {
  const key = sc.kind === "stream" ? "rate" : sc.kind === "latency" ? "medianMs" : "seconds";
  const sorted = [...results].sort((a, b) => a[key] - b[key]);
  return sorted[Math.floor(sorted.length / 2)];
}

function runChild(sc) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--expose-gc", self, "--child", JSON.stringify(sc)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child ${sc.client} failed (${code})`))));
  });
}

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startSink() {
  const port = await freePort();
  const smtpSink = ["/usr/sbin/smtp-sink", "/usr/bin/smtp-sink"].find((p) => existsSync(p));
  let proc;
  let kind;
  if (smtpSink) {
    const asRoot = process.getuid?.() === 0;
    proc = spawn(smtpSink, [...(asRoot ? ["-u", "nobody"] : []), `127.0.0.1:${port}`, "1000"], { stdio: "ignore" });
    kind = "smtp-sink";
  } else {
    const code = `const {SMTPServer}=require("smtp-server");new SMTPServer({authOptional:true,disabledCommands:["STARTTLS"],logger:false,size:0,onData(s,_x,cb){s.on("data",()=>{});s.on("end",()=>cb())}}).listen(${port},"127.0.0.1")`;
    proc = spawn(process.execPath, ["-e", code], { stdio: "ignore" });
    kind = "smtp-server (child process)";
  }
  for (let i = 0; i < 100; i++) {
    if (await canConnect(port)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, kind, stop: () => proc.kill() };
}

function canConnect(port) {
  return new Promise((resolve) => {
    const c = connect(port, "127.0.0.1");
    c.on("connect", () => (c.destroy(), resolve(true)));
    c.on("error", () => resolve(false));
  });
}

// ---------------------------------------------------------------- child side

function trackRss() {
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  return () => (clearInterval(t), Math.max(peak, process.memoryUsage().rss) / 1048576);
}

function body2k() {
  const line = "The quick brown fox jumps over the lazy dog. 0123456789 abcdefghij\r\n";
  return line.repeat(Math.ceil(2048 / line.length)).slice(0, 2048);
}

function bigStream(mib) {
  const line = Buffer.from("x".repeat(76) + "\r\n");
  const chunk = Buffer.concat(Array.from({ length: 820 }, () => line)); // ~64 KB
  let left = mib * 1048576;
  return new Readable({
    read() {
      if (left <= 0) return this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

async function child(sc) {
  const rcpts = Array.from({ length: sc.rcpts }, (_, i) => `rcpt${i}@example.test`);
  const stopRss = trackRss();
  let result;
  if (sc.client === "smtpkit") result = await smtpkitRun(sc, rcpts);
  else result = await nodemailerRun(sc, rcpts);
  result.rssMiB = stopRss();
  process.stdout.write(JSON.stringify(result));
  process.exit(0);
}

async function smtpkitRun(sc, rcpts) {
  const { Smtp } = await import("smtpkit");
  const smtp = new Smtp({ mailServer: "127.0.0.1", mailPort: sc.port, from: "bench@example.test", sendTo: rcpts.join(", "), subject: "bench" });
  if (sc.kind === "stream") {
    smtp.messageText = body2k();
    await smtp.connect();
    const t0 = performance.now();
    for (let i = 0; i < sc.messages; i++) await smtp.send();
    const ms = performance.now() - t0;
    await smtp.disconnect();
    return { rate: (sc.messages * 1000) / ms };
  }
  if (sc.kind === "latency") {
    smtp.messageText = body2k();
    const times = [];
    for (let i = 0; i < sc.messages; i++) {
      const t0 = performance.now();
      await smtp.send();
      times.push(performance.now() - t0);
    }
    return latency(times);
  }
  smtp.setMessageStream(bigStream(sc.mib));
  const t0 = performance.now();
  await smtp.send();
  return { seconds: (performance.now() - t0) / 1000 };
}

async function nodemailerRun(sc, rcpts) {
  const nodemailer = (await import("nodemailer")).default;
  const mail = { from: "bench@example.test", to: rcpts.join(", "), subject: "bench" };
  if (sc.kind === "stream") {
    const t = nodemailer.createTransport({ host: "127.0.0.1", port: sc.port, pool: true, maxConnections: 1, maxMessages: Infinity, ignoreTLS: true });
    const text = body2k();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: sc.messages }, () => t.sendMail({ ...mail, text })));
    const ms = performance.now() - t0;
    t.close();
    return { rate: (sc.messages * 1000) / ms };
  }
  if (sc.kind === "latency") {
    const t = nodemailer.createTransport({ host: "127.0.0.1", port: sc.port, ignoreTLS: true });
    const text = body2k();
    const times = [];
    for (let i = 0; i < sc.messages; i++) {
      const t0 = performance.now();
      await t.sendMail({ ...mail, text });
      times.push(performance.now() - t0);
    }
    return latency(times);
  }
  const t = nodemailer.createTransport({ host: "127.0.0.1", port: sc.port, ignoreTLS: true });
  const t0 = performance.now();
  await t.sendMail({ ...mail, text: bigStream(sc.mib) });
  return { seconds: (performance.now() - t0) / 1000 };
}

function latency(times) {
  const s = [...times].sort((a, b) => a - b);
  return { medianMs: s[Math.floor(s.length / 2)], p90Ms: s[Math.floor(s.length * 0.9)] };
}


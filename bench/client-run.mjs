// Child side of the benchmark: runs ONE scenario with ONE client and prints a
// JSON result on stdout. Started by bench/throughput.mjs as
//   node --expose-gc bench/client-run.mjs '<scenario json>'
//
// scenario: { client: "smtpkit" | "nodemailer", kind: "stream" | "latency" | "big" | "pool" | "ratelimit",
//             port, rcpts, messages, warmup, mib, settings, nmBody, connections, rateLimit, pooled }
// pooled (smtpkit, "stream"): SmtpPool with one connection and every send()
// queued at once instead of one awaited send() at a time.
//
// "pool" and "ratelimit" use the clients' pools: smtpkit's SmtpPool and
// Nodemailer's pool: true transport, with every message queued at once.
import { Readable } from "node:stream";

const sc = JSON.parse(process.argv[2]);
const rcpts = Array.from({ length: sc.rcpts ?? 1 }, (_, i) => `rcpt${i}@example.test`);
const FROM = "bench@example.test";

const run = sc.client === "smtpkit" ? smtpkitRun : nodemailerRun;
const result = await run();
result.peakRssMiB = process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
process.stdout.write(JSON.stringify(result));
process.exit(0);

// ---------------------------------------------------------------- helpers

/** RSS once everything is loaded and set up, before the first byte is sent. */
function baseline() {
  globalThis.gc?.();
  return process.memoryUsage().rss / 1048576;
}

function body2k() {
  const line = "The quick brown fox jumps over the lazy dog. 0123456789 abcdefghij\r\n";
  return line.repeat(Math.ceil(2048 / line.length)).slice(0, 2048);
}

/**
 * `mib` MiB of 78-byte CRLF lines, produced as it is read, in ~64 KB pieces.
 * Each piece is a new Buffer, as fs.createReadStream() and sockets deliver
 * them: a source that pushed one Buffer over and over would hide the cost of
 * garbage from the memory figures.
 */
function bigStream(mib, prefix = "") {
  const line = Buffer.from("x".repeat(76) + "\r\n");
  const chunk = Buffer.concat(Array.from({ length: 820 }, () => line));
  let left = mib * 1048576;
  let head = prefix ? Buffer.from(prefix) : undefined;
  return new Readable({
    read() {
      if (head) {
        this.push(head);
        head = undefined;
        return;
      }
      if (left <= 0) return this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(Buffer.from(chunk.subarray(0, n)));
    },
  });
}

/** Client CPU time (user + system) per message since `start`, in microseconds. */
function cpuPerMessage(start, messages) {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / messages;
}

function latency(times) {
  const s = [...times].sort((a, b) => a - b);
  return { medianMs: s[Math.floor(s.length / 2)], p90Ms: s[Math.floor(s.length * 0.9)] };
}

// ---------------------------------------------------------------- smtpkit

async function smtpkitRun() {
  // The snapshot of dist/ taken at start (see snapshotSmtpkit in lib.mjs).
  const { Smtp, SmtpPool } = await import(sc.smtpkitUrl ?? "smtpkit");
  if (sc.kind === "pool" || sc.kind === "ratelimit" || sc.pooled) return smtpkitPoolRun(SmtpPool);
  const smtp = new Smtp({
    mailServer: "127.0.0.1",
    mailPort: sc.port,
    from: FROM,
    sendTo: rcpts.join(", "),
    subject: "bench",
    settings: sc.settings ?? {},
  });

  if (sc.kind === "stream") {
    // How the component is used: one explicit connection, one awaited send() at a time.
    smtp.messageText = body2k();
    await smtp.connect();
    for (let i = 0; i < (sc.warmup ?? 0); i++) await smtp.send();
    const baseMiB = baseline();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < sc.messages; i++) await smtp.send();
    const ms = performance.now() - t0;
    const cpuUsPerMsg = cpuPerMessage(cpu0, sc.messages);
    await smtp.disconnect();
    return { rate: (sc.messages * 1000) / ms, cpuUsPerMsg, baseMiB };
  }

  if (sc.kind === "latency") {
    // No connect(): every send() opens, greets, sends, QUITs and waits for the close.
    smtp.messageText = body2k();
    for (let i = 0; i < (sc.warmup ?? 0); i++) await smtp.send();
    const times = [];
    for (let i = 0; i < sc.messages; i++) {
      const t0 = performance.now();
      await smtp.send();
      times.push(performance.now() - t0);
    }
    return latency(times);
  }

  // "big": one streamed body, read as it is sent
  const baseMiB = baseline();
  smtp.setMessageStream(bigStream(sc.mib));
  const t0 = performance.now();
  const r = await smtp.send();
  return { seconds: (performance.now() - t0) / 1000, baseMiB, bytes: r.messageBytes };
}

/**
 * SmtpPool, every send() queued at once. "pool": throughput after a warm-up
 * that opens the connections; "ratelimit": no warm-up (it would use up rate),
 * the time of each completion.
 */
async function smtpkitPoolRun(SmtpPool) {
  const pool = new SmtpPool(
    { mailServer: "127.0.0.1", mailPort: sc.port, settings: sc.settings ?? {} },
    { maxConnections: sc.connections ?? 1, maxMessagesPerConnection: 0, ...(sc.rateLimit ? { rateLimit: sc.rateLimit } : {}) },
  );
  const text = body2k();
  const one = () => pool.send({ from: FROM, sendTo: rcpts.join(", "), subject: "bench", messageText: text });
  const r = await poolBatch(one);
  await pool.close();
  return r;
}

/** The timed part of "pool" / "ratelimit", the same for both clients. */
async function poolBatch(one) {
  if (sc.kind === "pool" || sc.kind === "stream") {
    if (sc.warmup) await Promise.all(Array.from({ length: sc.warmup }, one));
    const baseMiB = baseline();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: sc.messages }, one));
    const ms = performance.now() - t0;
    return { rate: (sc.messages * 1000) / ms, cpuUsPerMsg: cpuPerMessage(cpu0, sc.messages), baseMiB };
  }
  // "ratelimit": completion times in ms since the first send was queued
  const done = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: sc.messages }, () => one().then(() => done.push(performance.now() - t0))));
  return { seconds: (performance.now() - t0) / 1000, done };
}

// ---------------------------------------------------------------- Nodemailer

async function nodemailerRun() {
  const nodemailer = (await import("nodemailer")).default;
  const mail = { from: FROM, to: rcpts.join(", "), subject: "bench" };

  if (sc.kind === "pool" || sc.kind === "ratelimit") {
    const rate = sc.rateLimit ? { rateDelta: sc.rateLimit.intervalMs, rateLimit: sc.rateLimit.messages } : {};
    const t = nodemailer.createTransport({ host: "127.0.0.1", port: sc.port, pool: true, maxConnections: sc.connections, maxMessages: Infinity, ignoreTLS: true, ...rate });
    const text = body2k();
    const r = await poolBatch(() => t.sendMail({ ...mail, text }));
    t.close();
    return r;
  }

  if (sc.kind === "stream") {
    // Its best case: pooled, one connection, every sendMail() queued at once.
    const t = nodemailer.createTransport({ host: "127.0.0.1", port: sc.port, pool: true, maxConnections: 1, maxMessages: Infinity, ignoreTLS: true });
    const text = body2k();
    const batch = (n) => Promise.all(Array.from({ length: n }, () => t.sendMail({ ...mail, text })));
    if (sc.warmup) await batch(sc.warmup);
    const baseMiB = baseline();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await batch(sc.messages);
    const ms = performance.now() - t0;
    const cpuUsPerMsg = cpuPerMessage(cpu0, sc.messages);
    t.close();
    return { rate: (sc.messages * 1000) / ms, cpuUsPerMsg, baseMiB };
  }

  if (sc.kind === "latency") {
    // A new connection per message. Note: sendMail() resolves once the message
    // is accepted; QUIT goes out afterwards, without waiting for its reply.
    const t = nodemailer.createTransport({ host: "127.0.0.1", port: sc.port, ignoreTLS: true });
    const text = body2k();
    for (let i = 0; i < (sc.warmup ?? 0); i++) await t.sendMail({ ...mail, text });
    const times = [];
    for (let i = 0; i < sc.messages; i++) {
      const t0 = performance.now();
      await t.sendMail({ ...mail, text });
      times.push(performance.now() - t0);
    }
    return latency(times);
  }

  // "big"
  const t = nodemailer.createTransport({ host: "127.0.0.1", port: sc.port, ignoreTLS: true });
  const baseMiB = baseline();
  let message;
  if (sc.nmBody === "text") {
    // text: <stream> — Nodemailer cannot inspect a stream, so it quoted-printable encodes it
    message = { ...mail, text: bigStream(sc.mib) };
  } else {
    // Like for like with smtpkit's setMessageStream(): headers + the body as is (raw).
    const head = `From: ${FROM}\r\nTo: ${mail.to}\r\nSubject: bench\r\nDate: ${new Date().toUTCString()}\r\nMessage-ID: <${Date.now()}@bench.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n`;
    message = { envelope: { from: FROM, to: rcpts }, raw: bigStream(sc.mib, head) };
  }
  const t0 = performance.now();
  await t.sendMail(message);
  return { seconds: (performance.now() - t0) / 1000, baseMiB };
}

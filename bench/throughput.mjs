#!/usr/bin/env node
// Throughput, latency, memory and round trips of smtpkit next to Nodemailer,
// in the same run, over loopback.
//
//   npm run bench                      (builds dist/, then runs this)
//   node bench/throughput.mjs [--runs 3] [--messages 2000] [--big-mib 50]
//                             [--latency-messages 200] [--flight-messages 200]
//                             [--pool-messages 10000] [--rate-messages 2000]
//                             [--warmup 2000] [--only a,b,c,d,e,f,g,h]
//
// Scenarios (each for smtpkit and for Nodemailer, runs interleaved, medians):
//   a  --messages x 2 KB, 1 recipient, one connection, to Postfix's smtp-sink:
//      smtpkit's Smtp with one awaited send() at a time, smtpkit's SmtpPool
//      with 1 connection and every send() queued at once (Nodemailer's model)
//   b  the same with 5 recipients
//   c  one message per new connection: latency of a send
//   d  one --big-mib MiB streamed body: time and peak RSS (smtp-sink: DATA;
//      and the counting sink with CHUNKING: BDAT for smtpkit)
//   e  msg/s against bench/counting-sink.mjs offering PIPELINING + CHUNKING
//   f  round trips ("flights") per message, per protocol mode, counted by
//      bench/counting-sink.mjs
//   g  pools: --pool-messages x 2 KB to smtp-sink, all queued at once, with 1
//      and with 4 connections: smtpkit SmtpPool (maxMessagesPerConnection 0)
//      vs Nodemailer pool: true (maxMessages Infinity): msg/s, CPU, peak RSS
//   h  rate limit: --rate-messages x 2 KB over 4 pooled connections, limit 200
//      per 1000 ms (smtpkit rateLimit; Nodemailer rateLimit / rateDelta), to
//      smtp-sink through bench/mail-clock.mjs, which times every MAIL FROM:
//      the most MAIL FROMs in any sliding 1 s window, and the rates achieved
//
// smtpkit is used the way the component is used: one explicit connect(), then
// one awaited send() at a time (a-f), or its SmtpPool (a, b, e as a second
// row, g, h). Timed batches start after --warmup messages on the same
// connection (V8 is still compiling the hot paths of both clients during the
// first thousand or two). Nodemailer gets
// its best case: pool: true, maxConnections 1 (g, h: 1 or 4), maxMessages
// Infinity, every sendMail() queued at once.
// Every client run is a fresh child process (bench/client-run.mjs), so peak
// RSS is that client's alone. Sinks are child processes on 127.0.0.1 with
// ports chosen at run time; all of them are stopped at the end.
import { fileURLToPath } from "node:url";
import { machine, maxInWindow, median, parseArgs, runClient, snapshotSmtpkit, startCountingSink, startMailClock, startSmtpSink } from "./lib.mjs";

const CLIENTS = ["smtpkit", "nodemailer"];
const WITH_POOL = ["smtpkit", "smtpkit-pool", "nodemailer"];
const opts = parseArgs(process.argv.slice(2));
if (opts.help) {
  console.log(
    "usage: node bench/throughput.mjs [--runs 3] [--messages 5000] [--warmup 2000] [--big-mib 50] [--latency-messages 200] [--flight-messages 200] [--pool-messages 10000] [--rate-messages 2000] [--only a,b,c,d,e,f,g,h]",
  );
  process.exit(0);
}
const runs = int(opts.runs, 3);
const messages = int(opts.messages, 5000);
const bigMiB = int(opts["big-mib"], 50);
const latencyMessages = int(opts["latency-messages"], 200);
const flightMessages = int(opts["flight-messages"], 200);
const poolMessages = int(opts["pool-messages"], 10000);

const rateMessages = int(opts["rate-messages"], 2000);
const RATE = { messages: 200, intervalMs: 1000 };
const RATE_CONNECTIONS = 4;
const only = opts.only ? new Set(String(opts.only).split(",")) : undefined;
const want = (id) => !only || only.has(id);
// Warm-up messages before a timed batch, on the same connection(s): both clients run
// their first thousand or two messages partly unoptimized (V8 compiles as it goes).
const warmup = opts.warmup === "0" ? 0 : int(opts.warmup, 2000);
const poolWarmup = warmup;

const smtpkit = await snapshotSmtpkit(fileURLToPath(new URL("..", import.meta.url)));
const m = machine();
console.log(`machine: ${m.cores} cores (${m.model}), ${m.memGiB.toFixed(1)} GiB RAM, node ${m.node}, load average ${m.load}`);
console.log(`note: figures vary ±15-20 % run to run on a ${m.cores}-core VM like this one; compare the two clients within one run.`);
console.log(`${runs} run(s) per client and scenario, interleaved, median shown; ${warmup} warm-up messages before timed streams.\n`);

const sinks = [];
const rows = [];
const flights = [];
const rateRows = [];
try {
  const smtpSink = await startSmtpSink();
  sinks.push(smtpSink);
  const countingC = await startCountingSink({ chunking: true });
  sinks.push(countingC);
  const countingP = await startCountingSink({ chunking: false });
  sinks.push(countingP);
  console.log(`sinks: ${smtpSink.kind} :${smtpSink.port}; ${countingC.kind} :${countingC.port}; ${countingP.kind} :${countingP.port}\n`);

  if (want("a")) {
    const r = await compare(`(a) ${messages} x 2 KB, 1 rcpt, 1 connection`, smtpSink, { kind: "stream", messages, warmup, rcpts: 1 }, WITH_POOL);
    streamRows("(a)", "1 rcpt, smtp-sink", r);
  }
  if (want("b")) {
    const r = await compare(`(b) ${messages} x 2 KB, 5 rcpt, 1 connection`, smtpSink, { kind: "stream", messages, warmup, rcpts: 5 }, WITH_POOL);
    streamRows("(b)", "5 rcpt, smtp-sink", r);
  }
  if (want("c")) {
    const r = await compare(`(c) new connection per message, ${latencyMessages} sends`, smtpSink, { kind: "latency", messages: latencyMessages, warmup: 10, rcpts: 1 });
    rows.push(row("(c) new conn per message, median", "ms", r, "medianMs", "lower"));
    rows.push(row("(c) new conn per message, p90", "ms", r, "p90Ms", "lower"));
  }
  if (want("d")) {
    const r = await compare(`(d) 1 x ${bigMiB} MiB streamed body, smtp-sink (DATA)`, smtpSink, { kind: "big", mib: bigMiB, rcpts: 1 });
    rows.push(row(`(d) ${bigMiB} MiB stream, smtp-sink (DATA)`, "s", r, "seconds", "lower"));
    rows.push(row(`(d) ${bigMiB} MiB stream, peak RSS`, "MiB", r, "peakRssMiB", "lower"));
    rows.push(row(`(d) ${bigMiB} MiB stream, RSS before send`, "MiB", r, "baseMiB", "lower"));
    const c = await compare(`(d) 1 x ${bigMiB} MiB streamed body, counting sink with CHUNKING (smtpkit: BDAT)`, countingC, { kind: "big", mib: bigMiB, rcpts: 1 });
    rows.push(row(`(d) ${bigMiB} MiB stream, CHUNKING sink (BDAT)`, "s", c, "seconds", "lower"));
    rows.push(row(`(d) ${bigMiB} MiB stream, CHUNKING sink, peak RSS`, "MiB", c, "peakRssMiB", "lower"));
    const qp = await measure(countingP, { client: "nodemailer", kind: "big", mib: bigMiB, rcpts: 1, nmBody: "text" }).catch((e) => ({ error: e.message }));
    console.log(`  nodemailer with text: <stream> (quoted-printable encoded), one run: ${qp.error ?? `${qp.seconds.toFixed(2)} s, peak RSS ${qp.peakRssMiB.toFixed(1)} MiB`}\n`);
  }
  if (want("e")) {
    const r = await compare(`(e) ${messages} x 2 KB, 1 rcpt, counting sink with PIPELINING + CHUNKING`, countingC, { kind: "stream", messages, warmup, rcpts: 1 }, WITH_POOL);
    streamRows("(e)", "1 rcpt, counting sink +CHUNKING", r);
    rows.push(row("(e) flights per message (steady state)", "", r, "flightsPerMessage", "lower", 2));
    rows.push(row("(e) pool, flights per message (steady state)", "", r, "flightsPerMessage", "lower", 2, "smtpkit-pool"));
  }
  if (want("f")) {
    console.log(`== (f) flights per message, ${flightMessages} messages on one connection, counting sink`);
    const modes = [
      { mode: "smtpkit, PIPELINING + CHUNKING (defaults)", client: "smtpkit", sink: countingC, settings: {} },
      { mode: "smtpkit, PIPELINING + CHUNKING, StopOnToErrors=false", client: "smtpkit", sink: countingC, settings: { StopOnToErrors: false } },
      { mode: "smtpkit, PIPELINING + DATA (UseChunking=false)", client: "smtpkit", sink: countingC, settings: { UseChunking: false } },
      { mode: "smtpkit, defaults, server without CHUNKING", client: "smtpkit", sink: countingP, settings: {} },
      { mode: "smtpkit SmtpPool (1 connection, queued), server without CHUNKING", client: "smtpkit", pooled: true, sink: countingP, settings: {} },
      { mode: "smtpkit SmtpPool (1 connection, queued), PIPELINING + CHUNKING", client: "smtpkit", pooled: true, sink: countingC, settings: {} },
      { mode: "smtpkit, no pipelining, DATA (UsePipelining=false, UseChunking=false)", client: "smtpkit", sink: countingC, settings: { UsePipelining: false, UseChunking: false } },
      { mode: "smtpkit, no pipelining, DATA, SendRSET=false", client: "smtpkit", sink: countingC, settings: { UsePipelining: false, UseChunking: false, SendRSET: false } },
      { mode: "smtpkit, no pipelining, BDAT (UsePipelining=false)", client: "smtpkit", sink: countingC, settings: { UsePipelining: false } },
      { mode: "Nodemailer, pooled, server with CHUNKING", client: "nodemailer", sink: countingC },
      { mode: "Nodemailer, pooled, server without CHUNKING", client: "nodemailer", sink: countingP },
    ];
    for (const md of modes) {
      const cells = [];
      for (const n of [1, 5]) {
        try {
          const r = await measure(md.sink, { client: md.client, kind: "stream", messages: flightMessages, warmup: 0, rcpts: n, settings: md.settings, ...(md.pooled ? { pooled: true } : {}) });
          cells.push({ n, steady: r.flightsPerMessage, first: r.firstFlights, messages: r.sink.messages });
        } catch (e) {
          cells.push({ n, error: e.message });
        }
      }
      flights.push({ mode: md.mode, sink: md.sink.kind, cells });
      console.log(`  ${md.mode}: ${cells.map((c) => `${c.n} rcpt ${flightCell(c)}`).join(", ")}`);
    }
    console.log("");
  }
  if (want("g")) {
    for (const n of [1, 4]) {
      const r = await compare(`(g) pool, ${poolMessages} x 2 KB, all queued at once, ${n} connection${n > 1 ? "s" : ""}`, smtpSink, {
        kind: "pool", messages: poolMessages, warmup: poolWarmup, rcpts: 1, connections: n,
      });
      rows.push(row(`(g) pool, ${n} conn, ${poolMessages} x 2 KB, smtp-sink`, "msg/s", r, "rate", "higher"));
      rows.push(row(`(g) pool, ${n} conn, client CPU per message`, "µs", r, "cpuUsPerMsg", "lower", 0));
      rows.push(row(`(g) pool, ${n} conn, peak RSS`, "MiB", r, "peakRssMiB", "lower"));
    }
  }
  if (want("h")) {
    const clock = await startMailClock(smtpSink);
    sinks.push(clock);
    console.log(`== (h) rate limit ${RATE.messages} per ${RATE.intervalMs} ms, ${rateMessages} x 2 KB, ${RATE_CONNECTIONS} pooled connections, ${clock.kind} :${clock.port}`);
    const res = { smtpkit: [], nodemailer: [] };
    for (let i = 0; i < runs; i++) {
      for (const client of CLIENTS) {
        try {
          const r = await measureRate(clock, client);
          res[client].push(r);
          console.log(`  ${client.padEnd(10)} run ${i + 1}: ${describeRate(r)}`);
        } catch (e) {
          console.log(`  ${client} run ${i + 1} failed: ${e.message}`);
        }
      }
    }
    for (const client of CLIENTS) rateRows.push({ client, runs: res[client] });
    console.log("");
  }
} finally {
  await Promise.all(sinks.map((s) => s.stop()));
}

printTable();
if (flights.length) printFlights();
if (rateRows.length) printRate();

// ---------------------------------------------------------------- running

/** One client run against `sink`; with the counting sink, its counters for that run. */
async function measure(sink, scenario) {
  if (sink.stats) await sink.stats(); // start from zero
  const r = await runClient({ ...scenario, port: sink.port, smtpkitUrl: smtpkit.url });
  if (sink.stats) {
    const s = await sink.stats();
    r.sink = s;
    r.flightsPerMessage = s.laterMessages ? s.laterMessageFlights / s.laterMessages : s.firstMessageFlights / s.firstMessages;
    r.firstFlights = s.firstMessages ? s.firstMessageFlights / s.firstMessages : NaN;
  }
  return r;
}

/**
 * One rate-limited run of `client` through the MAIL FROM clock. Windows are
 * [t, t + intervalMs) at any t. Two rates:
 *  - wall: messages / time from queueing everything to the last completion;
 *  - paced: MAIL FROMs / (first to last MAIL FROM + intervalMs). N sends whose
 *    MAIL FROMs span S fit in ceil(S / interval) windows, so a limiter that
 *    keeps every window at or under `limit` has N <= limit * (S / interval + 1):
 *    this rate cannot exceed limit / interval (200/s) for a correct limiter,
 *    and an ideal one that always uses its full allowance reaches it.
 */
async function measureRate(clock, client) {
  await clock.stats(); // start from zero
  const r = await runClient({
    client, kind: "ratelimit", port: clock.port, smtpkitUrl: smtpkit.url,
    messages: rateMessages, rcpts: 1, connections: RATE_CONNECTIONS, rateLimit: RATE,
  });
  const s = await clock.stats();
  const mails = [...s.times].sort((a, b) => a - b);
  const w = maxInWindow(mails, RATE.intervalMs);
  return {
    mails: mails.length,
    connections: s.connections,
    maxMail: w.max,
    maxMailAtS: (w.at - mails[0]) / 1000,
    maxDone: maxInWindow(r.done, RATE.intervalMs).max,
    completed: r.done.length,
    seconds: r.seconds,
    avgRate: r.done.length / r.seconds,
    spanS: (mails[mails.length - 1] - mails[0]) / 1000,
    paced: mails.length / ((mails[mails.length - 1] - mails[0] + RATE.intervalMs) / 1000),
    peakRssMiB: r.peakRssMiB,
  };
}

function describeRate(r) {
  const ok = r.maxMail <= RATE.messages ? "ok" : `OVER ${RATE.messages}`;
  return `most MAIL FROM in 1 s ${r.maxMail} (${ok}, at +${r.maxMailAtS.toFixed(2)} s), most completions in 1 s ${r.maxDone}, ` +
    `${r.completed} sent in ${r.seconds.toFixed(2)} s = ${r.avgRate.toFixed(1)} msg/s, ` +
    `${r.mails} MAIL FROM on ${r.connections} connections over ${r.spanS.toFixed(2)} s: paced ${r.paced.toFixed(1)} msg/s`;
}

/**
 * `runs` runs per client, interleaved so background load hits them alike.
 * "smtpkit-pool" is smtpkit's SmtpPool with one connection and every send()
 * queued at once: the same sending model as Nodemailer's pooled transport.
 */
async function compare(title, sink, scenario, clients = CLIENTS) {
  console.log(`== ${title}`);
  const res = Object.fromEntries(clients.map((c) => [c, []]));
  for (let i = 0; i < runs; i++) {
    for (const name of clients) {
      const pooled = name === "smtpkit-pool";
      try {
        const r = await measure(sink, { ...scenario, client: pooled ? "smtpkit" : name, ...(pooled ? { pooled: true } : {}) });
        res[name].push({ ...r, round: i });
      } catch (e) {
        console.log(`  ${name} run ${i + 1} failed: ${e.message}`);
      }
    }
  }
  for (const name of clients) console.log(`  ${name.padEnd(12)} ${res[name].map(describe).join(" | ") || "no result"}`);
  console.log("");
  return res;
}

function describe(r) {
  const parts = [];
  if (r.rate !== undefined) parts.push(`${Math.round(r.rate)} msg/s`);
  if (r.cpuUsPerMsg !== undefined) parts.push(`${Math.round(r.cpuUsPerMsg)} µs CPU/msg`);
  if (r.medianMs !== undefined) parts.push(`median ${r.medianMs.toFixed(2)} ms, p90 ${r.p90Ms.toFixed(2)} ms`);
  if (r.seconds !== undefined) parts.push(`${r.seconds.toFixed(2)} s`);
  if (r.rate !== undefined && r.flightsPerMessage !== undefined) parts.push(`${fmt(r.flightsPerMessage, 2, true)} flights/msg`);
  if (r.baseMiB !== undefined) parts.push(`RSS ${r.baseMiB.toFixed(0)}->${r.peakRssMiB.toFixed(0)} MiB`);
  return parts.join(", ");
}

// ---------------------------------------------------------------- output

/** msg/s and CPU rows of a one-connection scenario, for Smtp (awaited sends) and SmtpPool (queued). */
function streamRows(id, what, r) {
  rows.push(row(`${id} 1 conn, ${what}: Smtp, awaited sends`, "msg/s", r, "rate", "higher"));
  rows.push(row(`${id} Smtp, client CPU per message`, "µs", r, "cpuUsPerMsg", "lower", 0));
  rows.push(row(`${id} 1 conn, ${what}: SmtpPool, queued`, "msg/s", r, "rate", "higher", undefined, "smtpkit-pool"));
  rows.push(row(`${id} SmtpPool, client CPU per message`, "µs", r, "cpuUsPerMsg", "lower", 0, "smtpkit-pool"));
}

/**
 * One table row. Besides the ratio of the two medians, the median of the
 * per-round ratios: the runs of one round are back to back, so they share
 * the machine's load of the moment, and on a noisy VM that pairing is the
 * steadier comparison.
 */
function row(label, unit, res, key, better, digits, who = "smtpkit") {
  const s = median(res[who].map((r) => r[key]));
  const n = median(res.nodemailer.map((r) => r[key]));
  const ratioOf = (a, b) => (better === "higher" ? a / b : b / a);
  const paired = res[who].flatMap((r) => {
    const other = res.nodemailer.find((x) => x.round === r.round);
    return other && Number.isFinite(r[key]) && Number.isFinite(other[key]) ? [ratioOf(r[key], other[key])] : [];
  });
  return {
    label, unit, s, n, ratio: ratioOf(s, n), pairedRatio: paired.length ? median(paired) : NaN,
    strip: digits !== undefined, digits: digits ?? (unit === "msg/s" ? 0 : unit === "MiB" ? 1 : 2),
  };
}

/** Fixed decimals; `strip` drops trailing zeros (counts: "2", "2.5"). */
function fmt(v, digits, strip = false) {
  if (!Number.isFinite(v)) return "n/a";
  const s = v.toFixed(digits);
  return strip ? String(Number(s)) : s;
}

function printTable() {
  if (!rows.length) return;
  const head = ["scenario", "unit", "smtpkit", "Nodemailer", "ratio", "per round"];
  const x = (v) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : "n/a");
  const body = rows.map((r) => [r.label, r.unit, fmt(r.s, r.digits, r.strip), fmt(r.n, r.digits, r.strip), x(r.ratio), x(r.pairedRatio)]);
  console.log(`Results (median of ${runs}; ratio > 1 means smtpkit is ahead: faster, fewer round trips or less memory)`);
  console.log("ratio: of the two medians; per round: the median of the ratios of runs made back to back (same load)");
  console.log(`machine: ${m.cores} cores, node ${m.node}; figures vary ±15-20 % run to run on this ${m.cores}-core VM\n`);
  table(head, body, [false, false, true, true, true, true]);
  console.log("");
}

function printRate() {
  console.log(`Rate limit ${RATE.messages} per ${RATE.intervalMs} ms, ${rateMessages} messages, ${RATE_CONNECTIONS} connections (${runs} run(s) each)`);
  console.log("window: any [t, t + 1 s); MAIL FROM timed by bench/mail-clock.mjs on the way to smtp-sink; completions timed by the client");
  console.log("largest window: worst run [each run]; rates: median. wall msg/s = messages / (queueing to last completion);");
  const cap = RATE.messages / (RATE.intervalMs / 1000);
  console.log(`paced msg/s = MAIL FROMs / (first to last MAIL FROM + ${RATE.intervalMs / 1000} s): a correct limiter stays at or under ${cap}; ${cap} = the allowance fully used\n`);
  const head = ["client", "most MAIL FROM in 1 s", "most completions in 1 s", "wall msg/s", "paced msg/s", "wall s"];
  const body = rateRows.map(({ client, runs: rs }) => {
    if (!rs.length) return [client, "n/a", "n/a", "n/a", "n/a", "n/a"];
    const worst = Math.max(...rs.map((r) => r.maxMail));
    return [
      client,
      `${worst}${worst > RATE.messages ? " (OVER)" : ""}  [${rs.map((r) => r.maxMail).join(", ")}]`,
      `${Math.max(...rs.map((r) => r.maxDone))}  [${rs.map((r) => r.maxDone).join(", ")}]`,
      fmt(median(rs.map((r) => r.avgRate)), 1),
      fmt(median(rs.map((r) => r.paced)), 1),
      fmt(median(rs.map((r) => r.seconds)), 2),
    ];
  });
  table(head, body, [false, true, true, true, true, true]);
  console.log("");
}

function flightCell(c) {
  if (c.error) return `failed (${c.error})`;
  const steady = fmt(c.steady, 2, true);
  const first = fmt(c.first, 2, true);
  return first === steady ? steady : `${steady} (first message: ${first})`;
}

function printFlights() {
  console.log(`Flights (client write bursts after all awaited replies) per message, steady state, ${flightMessages} messages on one connection`);
  console.log("smtpkit Smtp sends one message at a time (await send()); SmtpPool and Nodemailer have every message queued at once\n");
  const head = ["mode", "1 rcpt", "5 rcpt"];
  table(head, flights.map((f) => [f.mode, ...f.cells.map(flightCell)]), [false, true, true]);
  console.log("");
}

function table(head, body, right) {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (right[i] ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join("  ");
  console.log(line(head));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of body) console.log(line(r));
}

// ---------------------------------------------------------------- arguments


function int(v, dflt) {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`not a positive integer: ${v}`);
    process.exit(2);
  }
  return n;
}

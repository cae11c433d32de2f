#!/usr/bin/env node
// Soak under faults: thousands of sends through SmtpPool against a local SMTP
// server that misbehaves at random, checking the product's invariant.
//
//   npm run build && node bench/soak-faults.mjs [--messages 5000] [--seed N]
//                                              [--chunking | --pipelining]
//   node bench/soak-faults.mjs --help
//
// The invariant: every message ends in exactly one verdict, and it is true:
//   sent              send() resolves: the server kept the message exactly once
//   refused           send() rejects with an SmtpError, deliveryUnknown false:
//                     the server never kept it
//   delivery unknown  send() rejects with deliveryUnknown true: the server kept
//                     it at most once
// A retried message keeps its Message-ID (every copy the server saw, even a
// partial one, carries the same one), and every send settles in bounded time.
//
// The server is in this file (plain node:net) and runs in a child process, so
// the RSS figures are the client's own. It offers PIPELINING (and, in the
// "chunking" mode, CHUNKING), parses pipelined commands, DATA with
// dot-unstuffing and BDAT payloads by byte count, and records every message it
// keeps (its Subject, Message-ID and body hash) and every Message-ID it saw
// for each Subject, partial data included. A seeded PRNG (mulberry32, one per
// connection, from --seed) picks a fault for some transactions (--fault-rate)
// and some connections (--conn-fault-rate):
//   rcpt550 / rcpt450      the recipient refused
//   data554                refused at the end of data
//   close421@point         421 and close at MAIL, RCPT, DATA, the end of data
//                          or the command after it (NOOP / RSET)
//   dropEnvelope@point     the connection destroyed at MAIL, RCPT or DATA/BDAT
//   dropData               destroyed in the middle of the message data
//   dropAfterEodKept/Lost  destroyed right after the end of data, with and
//                          without having kept the message
//   stray@point/where      an extra "250" before or after the reply, or a
//                          little later
//   malformed@point        a garbled reply instead of the real one (at the end
//                          of data, the message is kept or not at random)
//   silence@point          never answers again (the client's Timeout ends it)
//   trickle@point          the reply written one byte at a time
//   connection faults      421 / silence / trickle at the greeting; drop,
//                          trickle, stray or 421 at EHLO
//
// By default both modes run one after the other, each in a fresh process
// (PIPELINING with DATA, then PIPELINING + CHUNKING with BDAT), with the same
// seed, and --window sends outstanding at a time (bodies of 300 B to 400 KB,
// with lines ".", ".." and ".x"; 1 % need two BDAT chunks). --faults narrows
// the faults to reproduce one kind. Printed per mode: the verdict counts, the
// violations (the first --show in detail, with the server's transactions on
// that connection: a stray reply earlier on a connection shifts the later
// ones), elapsed time, msg/s, send() to settlement times, peak RSS (sampled
// every 100 ms) and RSS after gc at the end. The fault schedule depends on
// timing too (which message lands on which connection), so a seed reproduces
// the mix of faults, not every message's fate.
// The exit code is 1 on any violation or any send left unsettled.
// Only 127.0.0.1 is used; every process and server started is stopped.
import { fork, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parseArgs } from "./lib.mjs";

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FROM = "soak@example.test";
const RCPT = "rcpt@example.test";

const opts = parseArgs(process.argv.slice(2));

if (opts.help) {
  console.log(`usage: node bench/soak-faults.mjs [options]

  --messages N         messages per mode (default 5000)
  --seed N             PRNG seed (default: random; printed)
  --chunking           only the PIPELINING + CHUNKING (BDAT) mode
  --pipelining         only the PIPELINING (DATA) mode
                       (default: both modes, one after the other)
  --connections N      SmtpPool maxConnections (default 4)
  --timeout S          the client's Timeout in seconds (default 2)
  --fault-rate F       share of transactions given a fault (default 0.2)
  --conn-fault-rate F  share of connections given a fault (default 0.05)
  --window N           sends outstanding at once (default 500; 0 = all queued at once)
  --faults A,B,-C      only faults whose label starts with A or B, and none starting
                       with C (labels as printed: "stray", "malformed@eod/v3",
                       "conn:ehlo", ...); to reproduce one kind of fault
  --stall S            no send settling for S seconds counts as a hang (default 60)
  --show N             violations listed in detail (default 5)
  --help               this text

Builds nothing: run "npm run build" first (it warns when dist/ is older than src/).`);
  process.exit(0);
}

const config = {
  messages: int(opts.messages, 5000),
  seed: opts.seed === undefined ? (Math.random() * 2 ** 32) >>> 0 : uint(opts.seed),
  connections: int(opts.connections, 4),
  timeout: num(opts.timeout, 2),
  faultRate: num(opts["fault-rate"], 0.2),
  connFaultRate: num(opts["conn-fault-rate"], 0.05),
  stallS: num(opts.stall, 60),
  window: opts.window === "0" ? 0 : int(opts.window, 500),
  faults: typeof opts.faults === "string" ? opts.faults.split(",").map((f) => f.trim()).filter(Boolean) : undefined,
  show: opts.show === "0" ? 0 : int(opts.show, 5),
};

if (opts.serve) {
  serve(JSON.parse(opts.serve));
} else if (opts.mode) {
  process.exitCode = await runMode(opts.mode, opts["smtpkit-url"]);
} else {
  process.exitCode = await orchestrate();
}

// ================================================================ orchestration

/** Both modes (or the one asked for), each in a fresh process, the same seed and the same build. */
async function orchestrate() {
  const modes = opts.chunking ? ["chunking"] : opts.pipelining ? ["pipelining"] : ["pipelining", "chunking"];
  warnIfStale();
  const { snapshotSmtpkit } = await import("./lib.mjs");
  const snap = await snapshotSmtpkit(ROOT);
  console.log(`soak under faults: seed ${config.seed}, ${config.messages} messages per mode, modes: ${modes.join(", ")}`);
  const extra = process.argv.slice(2).filter((a, i, all) => !["--seed", "--messages"].includes(a) && !["--seed", "--messages"].includes(all[i - 1]) && !/^--(seed|messages)=/.test(a));
  console.log(`rerun with: node bench/soak-faults.mjs --seed ${config.seed} --messages ${config.messages}${extra.length ? ` ${extra.join(" ")}` : ""}\n`);
  const passOn = ["connections", "window", "timeout", "fault-rate", "conn-fault-rate", "faults", "stall", "show"].flatMap((k) => (opts[k] === undefined ? [] : [`--${k}`, String(opts[k])]));
  let worst = 0;
  for (const mode of modes) {
    const args = ["--expose-gc", SELF, "--mode", mode, "--seed", String(config.seed), "--messages", String(config.messages), "--smtpkit-url", snap.url, ...passOn];
    const code = await new Promise((resolve) => {
      const child = spawn(process.execPath, args, { stdio: "inherit" });
      const stop = () => child.kill("SIGTERM");
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      child.on("exit", (c, sig) => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        resolve(c ?? (sig ? 1 : 0));
      });
    });
    worst = Math.max(worst, code);
    console.log("");
  }
  console.log(worst === 0 ? "soak: PASS (no violation, every send settled)" : `soak: FAIL (exit ${worst})`);
  return worst === 0 ? 0 : 1;
}

function warnIfStale() {
  const entry = join(ROOT, "dist", "esm", "index.js");
  if (!existsSync(entry)) {
    console.error("dist/esm/index.js is missing: run npm run build first");
    process.exit(2);
  }
  const built = statSync(entry).mtimeMs;
  const newer = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts") && statSync(p).mtimeMs > built) newer.push(p.slice(ROOT.length));
    }
  };
  walk(join(ROOT, "src"));
  if (newer.length) console.log(`warning: dist/ is older than ${newer.length} file(s) under src/ (${newer.slice(0, 3).join(", ")}${newer.length > 3 ? ", ..." : ""}): run npm run build\n`);
}

// ================================================================ one mode (client side)

async function runMode(mode, smtpkitUrl) {
  const chunking = mode === "chunking";
  if (mode !== "chunking" && mode !== "pipelining") throw new Error(`unknown mode ${mode}`);
  let url = smtpkitUrl;
  if (!url) {
    warnIfStale();
    const { snapshotSmtpkit } = await import("./lib.mjs");
    url = (await snapshotSmtpkit(ROOT)).url;
  }
  const { Smtp, SmtpPool, SmtpError } = await import(url);
  const gc = globalThis.gc ?? exposeGc();
  const modeName = chunking ? "PIPELINING + CHUNKING (BDAT)" : "PIPELINING (DATA)";
  const N = config.messages;
  console.log(`== mode ${mode}: server offers ${modeName}; seed ${config.seed}; ${N} messages, ${config.window || "all"} outstanding at once; SmtpPool maxConnections ${config.connections}; Timeout ${config.timeout} s`);
  console.log(`   faults: ${config.faultRate} of transactions, ${config.connFaultRate} of connections${config.faults ? `; only ${config.faults.join(", ")}` : ""}`);

  const server = await startServer({ seed: config.seed, chunking, faultRate: config.faultRate, connFaultRate: config.connFaultRate, faults: config.faults });
  let exit = 0;
  try {
    // ---- the messages (bodies are made when sent, so they do not weigh on the client's memory)
    const msgs = Array.from({ length: N }, (_, i) => ({ i, subject: `soak ${mode} ${config.seed} #${i}`, hash: "", verdict: "pending", detail: undefined, queuedAt: NaN, settledAt: NaN }));

    // ---- memory
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
    gc?.();
    const baseRss = process.memoryUsage().rss;

    // ---- send: at most --window sends outstanding (0: all queued at once)
    const template = new Smtp({ mailServer: "127.0.0.1", mailPort: server.port, timeout: config.timeout, from: FROM });
    const pool = new SmtpPool(template, { maxConnections: config.connections });
    let settled = 0;
    let lastSettle = performance.now();
    let longestGap = 0;
    let nextIndex = 0;
    let outstanding = 0;
    let allDone;
    const done = new Promise((r) => (allDone = r));
    const t0 = performance.now();
    const settle = (m, verdict, detail) => {
      if (m.verdict !== "pending") {
        m.double = (m.double ?? 0) + 1; // cannot happen with a Promise; kept as a guard
        return;
      }
      const now = performance.now();
      longestGap = Math.max(longestGap, now - lastSettle);
      lastSettle = now;
      m.verdict = verdict;
      m.detail = detail;
      m.settledAt = now - t0;
      outstanding--;
      if (++settled === N) allDone();
      else launch();
    };
    const launch = () => {
      while (nextIndex < N && (config.window === 0 || outstanding < config.window)) {
        const m = msgs[nextIndex++];
        const body = makeBody(mulberry32(mix(config.seed, m.i + (chunking ? 1e7 : 0))), m.subject);
        m.hash = sha1(body);
        m.queuedAt = performance.now() - t0;
        outstanding++;
        let p;
        try {
          // `from` goes with each message: the pool resets the message headers (From included) before each one.
          p = pool.send({ from: FROM, sendTo: RCPT, subject: m.subject, messageText: body });
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(
          (r) => settle(m, "sent", { reply: r.reply, replyCode: r.replyCode }),
          (e) => {
            if (!(e instanceof SmtpError)) settle(m, "other", { message: String(e?.stack ?? e) });
            else settle(m, e.deliveryUnknown ? "unknown" : "refused", errorDetail(e));
          },
        );
      }
    };
    launch();

    // ---- wait: all settled, or no progress for --stall seconds
    let hung = false;
    await new Promise((resolve) => {
      const check = setInterval(() => {
        if (performance.now() - lastSettle > config.stallS * 1000) {
          hung = true;
          clearInterval(check);
          resolve();
        }
      }, 250);
      done.then(() => {
        clearInterval(check);
        resolve();
      });
    });
    const elapsedS = (performance.now() - t0) / 1000;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);

    // ---- close the pool (bounded), then the server's records
    let closeProblem;
    const closed = await Promise.race([pool.close().then(() => true, (e) => (closeProblem = `pool.close() rejected: ${e?.message ?? e}`)), sleep(20_000).then(() => false)]);
    if (closed === false) {
      closeProblem = "pool.close() did not finish within 20 s";
      await Promise.race([pool.close({ force: true }).catch(() => undefined), sleep(5_000)]);
    }
    clearInterval(sampler);
    const report = await server.report();

    // ---- verdicts against the server's records
    const check = verify(msgs, report);
    gc?.();
    await sleep(50);
    gc?.();
    const endRss = process.memoryUsage().rss;
    const endHeap = process.memoryUsage().heapUsed;

    // ---- figures
    const count = (v) => msgs.filter((m) => m.verdict === v).length;
    const unsettled = msgs.filter((m) => m.verdict === "pending");
    const others = msgs.filter((m) => m.verdict === "other");
    const MiB = (b) => (b / 1048576).toFixed(1);
    console.log(`   sent ${count("sent")}, refused ${count("refused")}, delivery unknown ${count("unknown")}` +
      `${others.length ? `, rejected with a non-SmtpError ${others.length}` : ""}, unsettled ${unsettled.length}${hung ? ` (no send settled for ${config.stallS} s: HANG)` : ""}`);
    console.log(`   violations ${check.violations.length}`);
    const lat = msgs.filter((m) => Number.isFinite(m.settledAt)).map((m) => m.settledAt - m.queuedAt).sort((a, b) => a - b);
    const pct = (q) => (lat.length ? (lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] / 1000).toFixed(2) : "n/a");
    console.log(`   elapsed ${elapsedS.toFixed(2)} s, ${(settled / elapsedS).toFixed(1)} msg/s (settled sends per second); ` +
      `send() to settlement: median ${pct(0.5)} s, p99 ${pct(0.99)} s, max ${pct(1)} s; longest gap between two settlements ${(longestGap / 1000).toFixed(2)} s`);
    console.log(`   RSS: before sending ${MiB(baseRss)} MiB, peak ${MiB(peakRss)} MiB (sampled every 100 ms), at the end ${gc ? "after gc " : "(no gc available) "}${MiB(endRss)} MiB (heap used ${MiB(endHeap)} MiB, the server's records included)`);
    printServer(report, check);
    printCauses(msgs);
    if (closeProblem) console.log(`   ${closeProblem}`);

    if (check.violations.length) {
      console.log(`\n   first ${Math.min(config.show, check.violations.length)} violation(s) (seed ${config.seed}, mode ${mode}):`);
      for (const v of check.violations.slice(0, config.show)) printViolation(v, report, mode);
    }
    if (unsettled.length) {
      console.log(`\n   unsettled sends (first ${Math.min(config.show, unsettled.length)}):`);
      for (const m of unsettled.slice(0, config.show)) printViolation({ m, problem: "never settled" }, report, mode);
    }
    for (const m of others.slice(0, config.show)) console.log(`   message ${m.i} rejected with a non-SmtpError: ${m.detail.message}`);
    if (check.violations.length || unsettled.length || others.length || closeProblem || hung) exit = 1;
    console.log(`   result: ${exit ? "FAIL" : "PASS"}`);
  } finally {
    await server.stop();
  }
  return exit;
}

function errorDetail(e) {
  return {
    code: e.code,
    replyCode: e.replyCode,
    lastReply: e.lastReply,
    command: e.command,
    message: e.message,
  };
}

/** Every check of the invariant, per message, against what the server recorded. */
function verify(msgs, report) {
  const bySubject = new Map(); // subject -> { kept, ids: Set, txns: [], hashes: [] }
  for (const t of report.txns) {
    if (t.subject === undefined) continue;
    let s = bySubject.get(t.subject);
    if (!s) bySubject.set(t.subject, (s = { kept: 0, ids: new Set(), txns: [], hashes: [] }));
    s.txns.push(t);
    if (t.id !== undefined) s.ids.add(t.id);
    if (t.kept) {
      s.kept++;
      s.hashes.push(t.bodyHash);
    }
  }
  const ours = new Set(msgs.map((m) => m.subject));
  const violations = [];
  let retried = 0;
  for (const m of msgs) {
    const s = bySubject.get(m.subject) ?? { kept: 0, ids: new Set(), txns: [], hashes: [] };
    m.server = s;
    if (s.txns.length > 1) retried++;
    const problems = [];
    if (m.verdict === "sent" && s.kept !== 1) problems.push(`the client says SENT but the server kept it ${s.kept} time(s)`);
    if (m.verdict === "refused" && s.kept !== 0) problems.push(`the client says REFUSED but the server kept it ${s.kept} time(s)`);
    if (m.verdict === "unknown" && s.kept > 1) problems.push(`the client says DELIVERY UNKNOWN but the server kept it ${s.kept} times`);
    if (s.ids.size > 1) problems.push(`its copies carried ${s.ids.size} different Message-IDs: ${[...s.ids].join(", ")}`);
    for (const h of s.hashes) if (h !== m.hash) problems.push(`a kept copy's body differs from the body sent (sha1 ${h} != ${m.hash})`);
    if (m.double) problems.push(`settled ${m.double + 1} times`);
    if (problems.length) violations.push({ m, problem: problems.join("; ") });
  }
  // Kept messages nobody sent (or whose Subject could not be read): the server kept something the client never asked for.
  const strays = report.txns.filter((t) => t.kept && (t.subject === undefined || !ours.has(t.subject)));
  for (const t of strays) violations.push({ m: undefined, txn: t, problem: `the server kept a message with ${t.subject === undefined ? "no readable Subject" : `an unknown Subject "${t.subject}"`}` });
  return { violations, retried };
}

function printServer(report, check) {
  const s = report.stats;
  console.log(`   server: ${s.connections} connections, ${report.txns.length} transactions, ${s.kept} messages kept; ` +
    `${check.retried} message(s) seen in more than one transaction (retries), each with one Message-ID unless listed above`);
  const fired = Object.entries(s.fired).sort((a, b) => b[1] - a[1]);
  console.log(`   faults fired (${fired.reduce((n, [, c]) => n + c, 0)}): ${fired.map(([k, c]) => `${k} ${c}`).join(", ") || "none"}`);
  const unfired = Object.entries(s.unfired).sort((a, b) => b[1] - a[1]);
  if (unfired.length) console.log(`   faults drawn but not reached (the transaction ended first): ${unfired.map(([k, c]) => `${k} ${c}`).join(", ")}`);
}

/** Refusals and unknowns grouped by error code and reply code. */
function printCauses(msgs) {
  for (const verdict of ["refused", "unknown"]) {
    const groups = new Map();
    for (const m of msgs) {
      if (m.verdict !== verdict) continue;
      const d = m.detail;
      const key = `${d.code}${d.replyCode !== undefined ? `/${d.replyCode}` : ""}`;
      const g = groups.get(key) ?? { n: 0, sample: d.message };
      g.n++;
      groups.set(key, g);
    }
    if (!groups.size) continue;
    const list = [...groups.entries()].sort((a, b) => b[1].n - a[1].n);
    console.log(`   ${verdict === "refused" ? "refused" : "delivery unknown"} by error code/reply code: ${list.map(([k, g]) => `${k} x${g.n}`).join(", ")}`);
  }
}

function printViolation(v, report, mode) {
  const { m } = v;
  if (!m) {
    console.log(`   - ${v.problem}: conn ${v.txn.c} txn ${v.txn.n}, fault ${v.txn.fault ?? "none"}, result ${v.txn.result}`);
    printHistory(v.txn, report);
    return;
  }
  const d = m.detail ?? {};
  const client = m.verdict === "sent"
    ? `resolved (${d.replyCode} ${JSON.stringify(d.reply)})`
    : m.verdict === "pending" ? "never settled"
    : `rejected: deliveryUnknown ${m.verdict === "unknown"}, code ${d.code}, replyCode ${d.replyCode ?? "-"}, lastReply ${JSON.stringify(d.lastReply ?? "")}, "${d.message}"`;
  const s = m.server ?? { kept: 0, ids: new Set(), txns: [] };
  console.log(`   - mode ${mode}, seed ${config.seed}, message #${m.i} "${m.subject}"${Number.isFinite(m.settledAt) ? ` (settled at +${(m.settledAt / 1000).toFixed(2)} s)` : ""}`);
  console.log(`     ${v.problem}`);
  console.log(`     client: ${client}`);
  console.log(`     server: kept ${s.kept} time(s); Message-IDs seen ${[...s.ids].join(", ") || "none"}; ${s.txns.length} transaction(s) carried its data:`);
  for (const t of s.txns) printHistory(t, report);
  if (!s.txns.length) console.log("       (no transaction got as far as its Subject line)");
}

/** A transaction with the ones before it on the same connection (a stray reply there shifts the later ones). */
function printHistory(t, report) {
  const conn = report.conns[t.c] ?? {};
  const before = report.txns.filter((x) => x.c === t.c && x.n < t.n).slice(-4);
  console.log(`       conn ${t.c}${conn.fault ? ` (connection fault ${conn.fault}${conn.fired ? "" : ", not reached"})` : ""}: ${conn.log?.length ? `commands ${conn.log}` : ""}`);
  for (const x of [...before, t]) {
    console.log(`       ${x === t ? "=>" : "  "} txn ${x.n}: fault ${x.fault ?? "none"}${x.fault && !x.fired ? " (not reached)" : ""}; ${x.result}; ${x.bytes} data bytes; ` +
      `Subject ${x.subject === undefined ? "-" : JSON.stringify(x.subject)}; Message-ID ${x.id ?? "-"}`);
  }
}

/** A message body: the dot lines test stuffing (DATA) and byte counts (BDAT); sizes vary, 1 % exceed one BDAT chunk (256 KiB). */
function makeBody(rng, subject) {
  const r = rng();
  const size = r < 0.9 ? 300 + Math.floor(rng() * 3700) : r < 0.99 ? 4096 + Math.floor(rng() * 60_000) : 270_000 + Math.floor(rng() * 130_000);
  const lines = [`Soak message ${subject}`, ".", "..two dots", ".one dot", "", "."];
  let n = lines.reduce((s, l) => s + l.length + 2, 0);
  const filler = "The quick brown fox jumps over the lazy dog. 0123456789 abcdefghijklmn";
  for (let k = 0; n < size; k++) {
    const l = k % 9 === 8 ? `.${k} ${filler.slice(0, 40)}` : `${k} ${filler}`;
    lines.push(l);
    n += l.length + 2;
  }
  lines.push(".");
  return lines.join("\r\n") + "\r\n";
}

function exposeGc() {
  try {
    // Without --expose-gc on the command line: turn it on, then take gc from a fresh context.
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc");
  } catch {
    return undefined;
  }
}

// ================================================================ the faulting server (child process)

/** Forks this file as the server; report() collects its records once its connections are closed. */
function startServer(cfg) {
  return new Promise((resolve, reject) => {
    const child = fork(SELF, ["--serve", JSON.stringify(cfg)], { stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" });
    const kill = () => child.kill("SIGKILL");
    process.once("exit", kill);
    let waiting;
    child.on("message", (msg) => {
      if (msg.type === "listening") {
        resolve({
          port: msg.port,
          report: () => new Promise((r) => {
            waiting = r;
            child.send({ type: "report" });
          }),
          stop: () => new Promise((r) => {
            if (child.exitCode !== null || child.signalCode !== null) return r();
            const hard = setTimeout(() => child.kill("SIGKILL"), 3000);
            child.once("exit", () => {
              clearTimeout(hard);
              process.off("exit", kill);
              r();
            });
            child.send({ type: "stop" });
          }),
        });
      } else if (msg.type === "report") waiting?.(msg);
    });
    child.once("exit", (code) => reject(new Error(`the soak server exited (${code}) before listening`)));
  });
}

const STRAY = "250 2.0.0 stray reply\r\n";
const MALFORMED = [
  "25O 2.0.0 a letter O in the code\r\n",
  "hello, this is not an SMTP reply\r\n",
  "2500 five-digit code\r\n",
  "250-a continuation that never ends\r\n",
  "250-first line\r\n354 mixed codes\r\n",
  `250 ${"x".repeat(20_000)}\r\n`,
];

const FAULTS = [
  ["rcpt550", 1], ["rcpt450", 1], ["data554", 1], ["close421", 1], ["dropEnvelope", 1], ["dropData", 1],
  ["dropAfterEodKept", 1], ["dropAfterEodLost", 1], ["stray", 1], ["malformed", 1], ["silence", 0.3], ["trickle", 1],
];
const CONN_FAULTS = [["greet421", 1], ["greetSilence", 0.3], ["greetTrickle", 1], ["ehloDrop", 1], ["ehloTrickle", 1], ["ehloStray", 1], ["ehlo421", 1]];

function serve(cfg) {
  const stats = { connections: 0, kept: 0, fired: {}, unfired: {} };
  const txns = [];
  const conns = {};
  const sockets = new Set();
  let connSeq = 0;
  const trickleMs = 1;

  class Conn {
    constructor(sock, id) {
      this.sock = sock;
      this.id = id;
      this.rng = mulberry32(mix(cfg.seed, id * 2 + (cfg.chunking ? 1 : 0)));
      this.buf = Buffer.alloc(0);
      this.state = "cmd"; // cmd | data | bdat | silent | closed
      this.out = [];
      this.trickling = false;
      this.txn = undefined;
      this.txnSeq = 0;
      this.post = undefined;
      this.info = { fault: undefined, fired: false, log: "" };
      conns[id] = this.info;
      if (this.rng() < cfg.connFaultRate) {
        const f = pick(this.rng, CONN_FAULTS);
        if (!cfg.faults || allowed(cfg.faults, `conn:${f}`)) this.info.fault = f;
      }
      sock.setNoDelay(true);
      sock.on("data", (d) => this.onData(d));
      sock.on("error", () => undefined);
      sock.on("close", () => {
        sockets.delete(sock);
        this.dropPost();
        this.endTxn(this.txn?.result ? `${this.txn.result}; then the connection closed` : "the connection closed mid-transaction");
        this.state = "closed";
      });
      const f = this.info.fault;
      if (f === "greet421") {
        this.connFired();
        this.send("421 4.3.2 soak: too busy, closing\r\n");
        this.closeAfterFlush();
      } else if (f === "greetSilence") {
        this.connFired();
        this.state = "silent";
      } else if (f === "greetTrickle") {
        this.connFired();
        this.send("220 soak.example.test ESMTP soak\r\n", true);
      } else {
        this.send("220 soak.example.test ESMTP soak\r\n");
      }
    }

    connFired() {
      this.info.fired = true;
      stats.fired[`conn:${this.info.fault}`] = (stats.fired[`conn:${this.info.fault}`] ?? 0) + 1;
    }

    // ---- output, in order, some of it byte by byte
    send(text, trickle = false) {
      if (this.state === "closed" || this.state === "silent" || this.sock.destroyed) return;
      if (!trickle && !this.trickling && this.out.length === 0) {
        this.sock.write(text);
        return;
      }
      this.out.push({ text, trickle });
      this.pump();
    }

    pump() {
      while (!this.trickling && this.out.length) {
        const item = this.out[0];
        if (this.sock.destroyed) return;
        if (item.end) {
          this.out.shift();
          this.sock.end();
          return;
        }
        if (!item.trickle) {
          this.out.shift();
          this.sock.write(item.text);
          continue;
        }
        this.trickling = true;
        const bytes = Buffer.from(item.text, "latin1");
        let k = 0;
        const step = () => {
          if (this.sock.destroyed) return;
          this.sock.write(bytes.subarray(k, k + 1));
          if (++k < bytes.length) setTimeout(step, trickleMs);
          else {
            this.out.shift();
            this.trickling = false;
            this.pump();
          }
        };
        step();
      }
    }

    closeAfterFlush() {
      this.state = "closed";
      this.out.push({ end: true });
      this.pump();
    }

    drop(result) {
      this.endTxn(result);
      this.state = "closed";
      if (this.rng() < 0.5) this.sock.resetAndDestroy();
      else this.sock.destroy();
    }

    // ---- transactions
    newTxn() {
      const plan = drawPlan(this.rng, cfg);
      this.txn = { c: this.id, n: ++this.txnSeq, plan, fault: plan && label(plan), fired: false, rcpts: 0, data: [], bytes: 0, result: undefined, cut: Infinity, kept: false };
    }

    /** The transaction's fault, if it is due at `point` (marked fired). */
    fault(point) {
      const t = this.txn;
      const p = t?.plan;
      if (!p || t.fired || p.point !== point) return undefined;
      t.fired = true;
      stats.fired[t.fault] = (stats.fired[t.fault] ?? 0) + 1;
      return p;
    }

    /** The fault left for the command after the end of data (NOOP / RSET), if any; it belongs to the finished transaction. */
    takePost(verb) {
      const p = this.post;
      this.post = undefined;
      if (!p) return undefined;
      p.rec.fired = true;
      stats.fired[p.rec.fault] = (stats.fired[p.rec.fault] ?? 0) + 1;
      p.rec.result += `; then ${p.plan.kind} at the next command (${verb})`;
      return p.plan;
    }

    /** A post-end-of-data fault that never met its NOOP / RSET. */
    dropPost() {
      if (this.post) stats.unfired[this.post.rec.fault] = (stats.unfired[this.post.rec.fault] ?? 0) + 1;
      this.post = undefined;
    }

    endTxn(result, postPending = false) {
      const t = this.txn;
      if (!t) return;
      this.txn = undefined;
      if (result !== undefined) t.result = result;
      if (t.plan && !t.fired && !postPending) stats.unfired[t.fault] = (stats.unfired[t.fault] ?? 0) + 1;
      const data = Buffer.concat(t.data);
      const h = headersOf(data);
      const rec = { c: t.c, n: t.n, fault: t.fault, fired: t.fired, result: t.result ?? "ended", bytes: data.length, subject: h.subject, id: h.id, kept: t.kept };
      if (t.kept) rec.bodyHash = h.body ? sha1(h.body) : "(no body)";
      t.rec = rec;
      txns.push(rec);
    }

    /** Answers a command, applying a reply fault. */
    reply(text, f) {
      if (!f) return this.send(text);
      switch (f.kind) {
        case "close421":
          this.send("421 4.3.2 soak: shutting down\r\n");
          if (this.txn) this.endTxn(`421 at ${f.point}`);
          this.closeAfterFlush();
          return;
        case "stray":
          if (f.where === "before") this.send(STRAY + text);
          else if (f.where === "after") this.send(text + STRAY);
          else {
            this.send(text);
            setTimeout(() => this.send(STRAY), 5);
          }
          return;
        case "malformed":
          this.send(MALFORMED[f.variant]);
          return;
        case "silence":
          this.state = "silent";
          return;
        case "trickle":
          this.send(text, true);
          return;
        default:
          this.send(text);
      }
    }

    // ---- input
    onData(d) {
      if (this.state === "closed" || this.state === "silent") return;
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      for (;;) {
        if (this.state === "cmd") {
          const i = this.buf.indexOf(0x0a);
          if (i < 0) {
            if (this.buf.length > 65536) this.drop("command line too long");
            break;
          }
          const line = this.buf.subarray(0, i).toString("latin1").replace(/\r$/, "");
          this.buf = this.buf.subarray(i + 1);
          this.command(line);
        } else if (this.state === "data") {
          const i = this.buf.indexOf(0x0a);
          if (i < 0) break;
          let line = this.buf.subarray(0, i + 1);
          this.buf = this.buf.subarray(i + 1);
          if (line.length === 3 && line[0] === 0x2e && line[1] === 0x0d) {
            this.state = "cmd";
            this.endOfData();
            continue;
          }
          if (line[0] === 0x2e) line = line.subarray(1);
          this.take(line);
        } else if (this.state === "bdat") {
          if (this.buf.length === 0 && this.bdatLeft > 0) break;
          const n = Math.min(this.bdatLeft, this.buf.length);
          const chunk = this.buf.subarray(0, n);
          this.buf = this.buf.subarray(n);
          this.bdatLeft -= n;
          if (this.bdatOk) this.take(chunk);
          if (this.state !== "bdat") break; // dropped or silenced in the middle
          if (this.bdatLeft === 0) {
            this.state = "cmd";
            if (!this.bdatOk) this.send(this.txn ? "554 5.5.1 no valid recipients\r\n" : "503 5.5.1 MAIL first\r\n");
            else if (this.bdatLast) this.endOfData();
            else this.send(`250 2.0.0 ${this.bdatSize} octets received\r\n`);
          }
        } else break;
      }
      if (this.state === "closed" || this.state === "silent") this.buf = Buffer.alloc(0);
    }

    /** Message data (unstuffed); a cut point set by dropData / silence@bytes ends it there. */
    take(bytes) {
      const t = this.txn;
      if (!t) return;
      if (t.bytes + bytes.length >= t.cut) {
        const keep = t.cut - t.bytes;
        if (keep > 0) t.data.push(Buffer.from(bytes.subarray(0, keep)));
        t.bytes = t.cut;
        const f = this.fault("bytes");
        if (f.kind === "silence") {
          t.result = `silent after ${t.cut} data bytes`;
          this.state = "silent";
        } else this.drop(`dropped after ${t.cut} data bytes`);
        return;
      }
      t.data.push(Buffer.from(bytes));
      t.bytes += bytes.length;
    }

    command(line) {
      const verb = line.slice(0, 4).toUpperCase();
      this.info.log.length < 200 && (this.info.log += (this.info.log ? " " : "") + verb);
      switch (verb) {
        case "EHLO":
        case "HELO": {
          this.endTxn("reset by EHLO");
          const caps = ["250-soak.example.test", "250-PIPELINING", ...(cfg.chunking ? ["250-CHUNKING"] : []), "250-8BITMIME", "250 ENHANCEDSTATUSCODES"];
          const text = verb === "HELO" ? "250 soak.example.test\r\n" : caps.join("\r\n") + "\r\n";
          const f = this.info.fault;
          if (f === "ehloDrop") {
            this.connFired();
            return this.drop();
          }
          if (f === "ehlo421") {
            this.connFired();
            this.send("421 4.3.2 soak: closing at EHLO\r\n");
            return this.closeAfterFlush();
          }
          if (f === "ehloTrickle") {
            this.connFired();
            return this.send(text, true);
          }
          if (f === "ehloStray") {
            this.connFired();
            return this.send(text + STRAY);
          }
          return this.send(text);
        }
        case "MAIL": {
          if (this.txn) return this.send("503 5.5.1 nested MAIL\r\n");
          this.dropPost();
          this.newTxn();
          const f = this.fault("mail");
          if (f?.kind === "dropEnvelope") return this.drop("dropped at MAIL");
          this.txn.result = "MAIL accepted";
          return this.reply("250 2.1.0 sender ok\r\n", f);
        }
        case "RCPT": {
          const t = this.txn;
          if (!t) return this.send("503 5.5.1 MAIL first\r\n");
          const f = this.fault("rcpt");
          if (f?.kind === "dropEnvelope") return this.drop("dropped at RCPT");
          if (f?.kind === "rcpt550") {
            t.result = "recipient refused 550";
            return this.send("550 5.1.1 soak: no such user\r\n");
          }
          if (f?.kind === "rcpt450") {
            t.result = "recipient refused 450";
            return this.send("450 4.2.1 soak: mailbox busy, try later\r\n");
          }
          t.rcpts++;
          t.result = "RCPT accepted";
          return this.reply("250 2.1.5 recipient ok\r\n", f);
        }
        case "DATA": {
          const t = this.txn;
          if (!t) return this.send("503 5.5.1 MAIL first\r\n");
          if (t.rcpts === 0) {
            t.result += "; DATA refused (no valid recipients)";
            return this.send("554 5.5.1 no valid recipients\r\n");
          }
          const f = this.fault("data");
          if (f?.kind === "dropEnvelope") return this.drop("dropped at DATA");
          if (f?.kind === "close421") return this.reply("", f);
          this.state = "data";
          this.cutFor(t, 2500);
          t.result = "in DATA";
          return this.reply("354 2.0.0 go ahead, end with <CRLF>.<CRLF>\r\n", f);
        }
        case "BDAT": {
          const m = /^BDAT\s+(\d+)(\s+LAST)?\s*$/i.exec(line);
          if (!m) return this.send("501 5.5.4 syntax: BDAT <size> [LAST]\r\n");
          const t = this.txn;
          this.bdatLeft = Number(m[1]);
          this.bdatSize = this.bdatLeft;
          this.bdatLast = m[2] !== undefined;
          this.bdatOk = t !== undefined && t.rcpts > 0;
          this.state = "bdat";
          if (this.bdatOk && t.bytes === 0 && t.cut === Infinity) {
            const f = this.fault("bdat");
            if (f?.kind === "dropEnvelope") return this.drop("dropped at BDAT (no payload read)");
            this.cutFor(t, this.bdatSize);
            t.result = "in BDAT";
          }
          return; // the payload (even an empty one) is read by onData()
        }
        case "RSET": {
          const f = this.takePost("RSET");
          this.endTxn("reset (RSET)");
          return this.reply("250 2.0.0 reset\r\n", f);
        }
        case "NOOP":
          return this.reply("250 2.0.0 ok\r\n", this.takePost("NOOP"));
        case "QUIT":
          this.endTxn("QUIT");
          this.send("221 2.0.0 bye\r\n");
          return this.closeAfterFlush();
        default:
          return this.send("500 5.5.2 unknown command\r\n");
      }
    }

    /** Where dropData / silence@bytes cut the data: a share of the first BDAT chunk, or of 2,500 bytes for DATA. */
    cutFor(t, size) {
      const p = t.plan;
      if (p && p.point === "bytes") t.cut = Math.floor(p.fraction * Math.max(1, size));
      if (t.cut === 0) t.cut = 1;
    }

    endOfData() {
      const t = this.txn;
      if (!t) return this.send("503 5.5.1 no transaction\r\n");
      const f = this.fault("eod");
      let keep = true;
      let text = "250 2.0.0 kept, queued as soak\r\n";
      if (f) {
        if (f.kind === "data554" || f.kind === "dropAfterEodLost" || f.kind === "close421") keep = false;
        if (f.kind === "silence" || f.kind === "malformed") keep = f.keep;
      }
      if (f?.kind === "data554") text = "554 5.7.1 soak: message refused\r\n";
      if (keep) {
        t.kept = true;
        stats.kept++;
      }
      t.result = keep ? "KEPT" : "not kept";
      if (f?.kind === "dropAfterEodKept" || f?.kind === "dropAfterEodLost") return this.drop(`${t.result}, then dropped without a reply`);
      if (f?.kind === "silence") t.result += ", then silent";
      else if (f?.kind === "malformed") t.result += ", answered with a malformed reply";
      else if (f?.kind === "close421") t.result += ", answered 421 and closed";
      else if (f?.kind === "data554") t.result += " (554)";
      const post = t.plan && !t.fired && t.plan.point === "post" ? t.plan : undefined;
      this.endTxn(undefined, post !== undefined);
      if (post) this.post = { plan: post, rec: t.rec };
      this.reply(text, f);
    }
  }

  const server = createServer((sock) => {
    stats.connections++;
    sockets.add(sock);
    new Conn(sock, ++connSeq);
  });
  server.listen(0, "127.0.0.1", () => process.send({ type: "listening", port: server.address().port }));
  const stop = () => {
    server.close();
    for (const s of sockets) s.destroy();
    process.exit(0);
  };
  process.on("message", async (msg) => {
    if (msg.type === "report") {
      // The client has closed its pool: give its connections a moment to finish closing.
      for (let i = 0; i < 60 && sockets.size; i++) await sleep(50);
      for (const s of sockets) s.destroy();
      await sleep(20);
      process.send({ type: "report", stats, txns, conns });
    } else if (msg.type === "stop") stop();
  });
  process.on("disconnect", stop);
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

/** A fault for a new transaction, or none; with --faults, only those whose label starts with one of the given prefixes. */
function drawPlan(rng, cfg) {
  if (rng() >= cfg.faultRate) return undefined;
  if (!cfg.faults) return drawFault(rng, cfg);
  for (let k = 0; k < 10_000; k++) {
    const p = drawFault(rng, cfg);
    if (p && allowed(cfg.faults, label(p))) return p;
  }
  return undefined;
}

/** --faults: "a,b" only labels starting with a or b; "-c" never those starting with c. */
function allowed(filters, name) {
  const only = filters.filter((f) => !f.startsWith("-"));
  const never = filters.filter((f) => f.startsWith("-")).map((f) => f.slice(1));
  return (!only.length || only.some((f) => name.startsWith(f))) && !never.some((f) => name.startsWith(f));
}

/** Points: mail, rcpt, data (DATA only), bdat, eod, post (the next NOOP / RSET), bytes. */
function drawFault(rng, cfg) {
  const kind = pick(rng, FAULTS);
  const reply = cfg.chunking ? ["mail", "rcpt", "eod", "post"] : ["mail", "rcpt", "data", "eod", "post"];
  const choose = (list) => list[Math.floor(rng() * list.length)];
  switch (kind) {
    case "rcpt550":
    case "rcpt450":
      return { kind, point: "rcpt" };
    case "data554":
    case "dropAfterEodKept":
    case "dropAfterEodLost":
      return { kind, point: "eod" };
    case "dropEnvelope":
      return { kind, point: choose(["mail", "rcpt", cfg.chunking ? "bdat" : "data"]) };
    case "dropData":
      return { kind, point: "bytes", fraction: rng() };
    case "close421":
    case "trickle":
      return { kind, point: choose(reply) };
    case "stray":
      return { kind, point: choose(reply), where: choose(["before", "after", "late"]) };
    case "malformed":
      return { kind, point: choose(reply), variant: Math.floor(rng() * MALFORMED.length), keep: rng() < 0.5 };
    case "silence":
      return { kind, point: choose([...reply, "bytes"]), fraction: rng(), keep: rng() < 0.5 };
  }
  return undefined;
}

function label(p) {
  let s = `${p.kind}@${p.point}`;
  if (p.where) s += `/${p.where}`;
  if (p.kind === "malformed") s += `/v${p.variant}`;
  if ((p.kind === "malformed" || p.kind === "silence") && p.point === "eod") s += p.keep ? "/kept" : "/lost";
  return s;
}

/** Subject and Message-ID from the complete header lines received, and the body when the header ended. */
function headersOf(buf) {
  const text = buf.subarray(0, 16384).toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  const head = end >= 0 ? text.slice(0, end + 2) : text.slice(0, text.lastIndexOf("\r\n") + 2);
  let subject;
  let id;
  for (const line of head.split("\r\n")) {
    if (subject === undefined) {
      const m = /^Subject:[ \t]*(.*)$/i.exec(line);
      if (m) subject = m[1];
    }
    if (id === undefined) {
      const m = /^Message-ID:[ \t]*(\S.*)$/i.exec(line);
      if (m) id = m[1].trim();
    }
  }
  return { subject, id, body: end >= 0 ? buf.subarray(end + 4) : undefined };
}

// ================================================================ small helpers

function mulberry32(a) {
  return function () {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Two 32-bit numbers to one well-mixed seed. */
function mix(a, b) {
  let h = (a ^ Math.imul((b + 0x9e3779b9) | 0, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function pick(rng, table) {
  const total = table.reduce((s, [, w]) => s + w, 0);
  let r = rng() * total;
  for (const [k, w] of table) if ((r -= w) < 0) return k;
  return table[table.length - 1][0];
}

function sha1(data) {
  return createHash("sha1").update(data).digest("hex");
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}


function int(v, dflt) {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) usage(`not a positive integer: ${v}`);
  return n;
}

function uint(v) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) usage(`--seed must be an integer from 0 to 4294967295: ${v}`);
  return n;
}

function num(v, dflt) {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) usage(`not a number >= 0: ${v}`);
  return n;
}

function usage(msg) {
  console.error(`${msg} (see --help)`);
  process.exit(2);
}

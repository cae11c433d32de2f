// Plumbing for the benchmark: child processes (tracked, always stopped),
// the two sinks, free ports, medians. Loopback only.
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const CLIENT = fileURLToPath(new URL("./client-run.mjs", import.meta.url));
const COUNTING_SINK = fileURLToPath(new URL("./counting-sink.mjs", import.meta.url));
const MAIL_CLOCK = fileURLToPath(new URL("./mail-clock.mjs", import.meta.url));

// ------------------------------------------------------------ smtpkit snapshot

/**
 * Copies dist/esm to a temporary package and returns the URL of its entry
 * point. Other work on this tree may rebuild dist/ (it is deleted first)
 * while the benchmark runs; every run then still loads the same build. The
 * copy's node_modules links to the project's, for the runtime dependencies.
 */
export async function snapshotSmtpkit(root) {
  const src = join(root, "dist", "esm");
  let lastError;
  for (let attempt = 0; attempt < 10; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), "smtpkit-bench-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    try {
      if (!existsSync(join(src, "index.js"))) throw new Error(`${src}/index.js is missing: run npm run build (npm run bench does)`);
      const pkg = join(dir, "node_modules", "smtpkit");
      cpSync(src, join(pkg, "dist", "esm"), { recursive: true });
      writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "smtpkit", private: true, type: "module" }) + "\n");
      symlinkSync(join(root, "node_modules"), join(pkg, "node_modules"), "dir");
      const url = pathToFileURL(join(pkg, "dist", "esm", "index.js")).href;
      const { Smtp } = await import(url); // a half-written build fails here
      if (typeof Smtp !== "function") throw new Error("the snapshot does not export Smtp");
      return { url, dir };
    } catch (e) {
      lastError = e;
      rmSync(dir, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  throw lastError;
}

// ------------------------------------------------------------ child processes

const children = new Set();

/** spawn(), remembered until it exits so that nothing outlives the benchmark. */
function track(proc) {
  children.add(proc);
  proc.once("exit", () => children.delete(proc));
  return proc;
}

export function stopAllChildren() {
  for (const p of children) p.kill("SIGTERM");
}

process.once("exit", stopAllChildren);
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, () => {
    stopAllChildren();
    process.exit(130);
  });
}

/** Resolves once `proc` has exited, killing it first (then harder after 2 s). */
function stopChild(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const hard = setTimeout(() => proc.kill("SIGKILL"), 2000);
    proc.once("exit", () => {
      clearTimeout(hard);
      resolve();
    });
    proc.kill("SIGTERM");
  });
}

/**
 * Runs one client scenario in a fresh Node process (so its peak RSS is its
 * own) and resolves with the JSON it prints.
 */
export function runClient(scenario, { timeoutMs = 300_000 } = {}) {
  return new Promise((resolve, reject) => {
    const p = track(spawn(process.execPath, ["--expose-gc", CLIENT, JSON.stringify(scenario)], { stdio: ["ignore", "pipe", "pipe"] }));
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => {
      err += `\n(killed after ${timeoutMs / 1000} s)`;
      p.kill("SIGKILL");
    }, timeoutMs);
    p.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) {
        try {
          return resolve(JSON.parse(out));
        } catch {
          /* fall through */
        }
      }
      // The thrown error's own lines, without Node's source excerpt and version footer.
      const lines = err.split("\n").map((l) => l.trim()).filter((l) => l && !/^Node\.js v|^\^+$|^at /.test(l));
      const why = lines.find((l) => /^\w*Error\b.*:/.test(l)) ?? lines.find((l) => /error|ERR_/i.test(l)) ?? lines.slice(-2).join(" | ");
      reject(new Error(`${scenario.client} child failed (exit ${code}): ${why || out.slice(0, 200)}`));
    });
  });
}

// ---------------------------------------------------------------- ports

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const c = connect(port, "127.0.0.1");
    c.on("connect", () => (c.destroy(), resolve(true)));
    c.on("error", () => resolve(false));
  });
}

async function waitForPort(port, proc, what) {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`${what} exited (${proc.exitCode}) before listening`);
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} is not listening on 127.0.0.1:${port}`);
}

// ---------------------------------------------------------------- sinks

/**
 * Postfix's smtp-sink when installed (it needs `-u nobody` as root),
 * otherwise smtp-server in a child process.
 */
export async function startSmtpSink() {
  const port = await freePort();
  const bin = ["/usr/sbin/smtp-sink", "/usr/bin/smtp-sink"].find((p) => existsSync(p));
  let proc;
  let kind;
  if (bin) {
    const asRoot = process.getuid?.() === 0;
    // backlog 1000; the sink answers everything with 250 and discards the mail
    proc = track(spawn(bin, [...(asRoot ? ["-u", "nobody"] : []), `127.0.0.1:${port}`, "1000"], { stdio: "ignore" }));
    kind = "Postfix smtp-sink (PIPELINING, no CHUNKING)";
  } else {
    const code = `const {SMTPServer}=require("smtp-server");new SMTPServer({authOptional:true,disabledCommands:["STARTTLS"],logger:false,size:0,onData(s,_x,cb){s.on("data",()=>{});s.on("end",()=>cb())}}).listen(${port},"127.0.0.1")`;
    proc = track(spawn(process.execPath, ["-e", code], { stdio: "ignore" }));
    kind = "smtp-server in a child process (smtp-sink not installed)";
  }
  try {
    await waitForPort(port, proc, kind);
  } catch (e) {
    await stopChild(proc);
    throw e;
  }
  return { port, kind, stop: () => stopChild(proc) };
}

/** bench/counting-sink.mjs in a child process; stats() reads and zeroes its counters. */
export async function startCountingSink({ chunking }) {
  const proc = track(spawn(process.execPath, [COUNTING_SINK, ...(chunking ? ["--chunking"] : [])], { stdio: ["pipe", "pipe", "inherit"] }));
  return controlled(proc, `counting sink (PIPELINING${chunking ? " + CHUNKING" : ""})`);
}

/**
 * bench/mail-clock.mjs in a child process: a relay in front of the sink on
 * `targetPort` that notes when each MAIL FROM passes. stats() returns
 * { connections, mails, times } and zeroes them.
 */
export async function startMailClock(target) {
  const proc = track(spawn(process.execPath, [MAIL_CLOCK, "--target", String(target.port)], { stdio: ["pipe", "pipe", "inherit"] }));
  return controlled(proc, `MAIL FROM clock (relay) in front of ${target.kind} :${target.port}`);
}

/**
 * A child that prints "listening <port>", then answers "peek" / "take" on
 * stdin with one JSON line each (counting-sink.mjs, mail-clock.mjs).
 */
async function controlled(proc, kind) {
  const lines = createInterface({ input: proc.stdout });
  const waiting = [];
  const ready = new Promise((resolve, reject) => {
    proc.once("exit", (code) => reject(new Error(`${kind} exited (${code})`)));
    lines.on("line", (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (m) resolve(Number(m[1]));
      else waiting.shift()?.(JSON.parse(line));
    });
  });
  const ask = (cmd) =>
    new Promise((resolve) => {
      waiting.push(resolve);
      proc.stdin.write(cmd + "\n");
    });
  const port = await ready;
  return {
    port,
    kind,
    /** Waits (up to 2 s) for the client's connections to close, then takes the counters. */
    async stats() {
      for (let i = 0; i < 40 && (await ask("peek")).open > 0; i++) await new Promise((r) => setTimeout(r, 50));
      return ask("take");
    },
    stop() {
      proc.stdin.end();
      return stopChild(proc);
    },
  };
}

// ---------------------------------------------------------------- arguments

/** `--name value`, `--name=value` and bare `--flag` (true) into an object. */
export function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) continue;
    const eq = a.indexOf("=");
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else if (argv[i + 1] !== undefined && !argv[i + 1].startsWith("--")) out[a.slice(2)] = argv[++i];
    else out[a.slice(2)] = true;
  }
  return out;
}

// ---------------------------------------------------------------- numbers

export function median(values) {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function machine() {
  const list = cpus();
  return {
    cores: list.length,
    model: (list[0]?.model ?? "unknown CPU").replace(/\s+/g, " ").trim(),
    memGiB: totalmem() / 2 ** 30,
    node: process.version,
    load: loadavg().map((x) => x.toFixed(2)).join(" "),
  };
}

/**
 * The most entries of the sorted list `times` (ms) that fall in one window
 * [t, t + windowMs), over every t, and where the first such window starts.
 */
export function maxInWindow(times, windowMs) {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  let at = NaN;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (j < t.length && t[j] < t[i] + windowMs) j++;
    if (j - i > best) {
      best = j - i;
      at = t[i];
    }
  }
  return { max: best, at };
}

/**
 * A private redis-server (Debian's redis-server, installed by scripts/install-peers.sh) for the
 * BullMQ outbox specs, on 127.0.0.1 at a port picked at run time.
 *
 * Each instance has its own temp dir (the AOF lives there) and no config file: everything is
 * on the command line, with AOF persistence on and RDB snapshots off, so restart() and
 * kill() + start() show what a real Redis keeps across a restart or a crash. Logging goes to
 * stdout, captured for `log()`. Runs fine as root (redis-server switches no user by itself).
 *
 * Only processes started here are ever signalled, by PID; stop() in afterAll ends the instance
 * and removes its temp dir, and any instance still running is SIGKILLed when this process exits.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, stopByPid } from "../proxies.js";

export const REDIS_SERVER = "/usr/bin/redis-server";
export const REDIS_CLI = "/usr/bin/redis-cli";

export interface RedisOptions {
  /** requirepass: clients must AUTH (url() and cli() do). */
  password?: string;
  /** AOF fsync policy. "always" makes a write durable before its reply (survives kill()). Default "everysec". */
  appendfsync?: "always" | "everysec";
  /** More redis-server arguments, appended last (so they win), e.g. ["--maxmemory", "10mb"]. */
  extraArgs?: string[];
}

export interface RedisPeer {
  host: "127.0.0.1";
  port: number;
  /** The instance's --dir (Redis 7: the AOF is in appendonlydir/ there). */
  dir: string;
  /** redis://[:password@]127.0.0.1:port/db[?queue=name]; db defaults to 0. */
  url(db?: number, queue?: string): string;
  /** PID of the running redis-server, undefined while it is down. */
  readonly pid: number | undefined;
  /** Graceful shutdown (SIGTERM: Redis fsyncs the AOF), optional pause, then the same port and dir again. */
  restart(opts?: { downMs?: number }): Promise<void>;
  /** SIGKILL (a crash: only what reached the AOF survives) and wait for the exit. */
  kill(): Promise<void>;
  /** Start again after kill() on the same port and dir; resolves once PING answers. */
  start(): Promise<void>;
  /** Stop for good and remove the temp dir. */
  stop(): Promise<void>;
  /** redis-cli -h 127.0.0.1 -p port ARGS (authenticated when a password is set); stdout without the final newline. */
  cli(...args: string[]): Promise<string>;
  /** Everything the server processes logged so far (all starts). */
  log(): string;
}

const READY_TIMEOUT_MS = 15_000;
/** restart()/start(): how long the port may stay busy before giving up. */
const REBIND_TIMEOUT_MS = 5_000;
/** Graceful shutdown gets this long before SIGKILL (the AOF fsync is quick; this is a safety net). */
const SHUTDOWN_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 5;

const live = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;

export async function startRedis(opts: RedisOptions = {}): Promise<RedisPeer> {
  const dir = await mkdtemp(join(tmpdir(), "smtpkit-redis-"));
  liveDirs.add(dir);
  installExitHook();
  let output = "";
  const args = (port: number): string[] => [
    "--port", String(port),
    "--bind", "127.0.0.1",
    "--dir", dir,
    "--appendonly", "yes",
    "--appendfsync", opts.appendfsync ?? "everysec",
    "--save", "",
    "--daemonize", "no",
    "--protected-mode", "no",
    "--logfile", "",
    ...(opts.password !== undefined ? ["--requirepass", opts.password] : []),
    ...(opts.extraArgs ?? []),
  ];
  const launch = (port: number): Launched => {
    const child = spawn(REDIS_SERVER, args(port), { stdio: ["ignore", "pipe", "pipe"] });
    live.add(child);
    child.once("exit", () => live.delete(child));
    let own = "";
    const collect = (c: string): void => {
      own += c;
      output += c;
    };
    child.stdout!.setEncoding("utf8").on("data", collect);
    child.stderr!.setEncoding("utf8").on("data", collect);
    return { child, log: () => own };
  };

  let child: ChildProcess | undefined;
  let port = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const started = launch(port);
      const outcome = await waitReady(started, port, opts.password);
      if (outcome === "ready") {
        child = started.child;
        break;
      }
      // Another process took the port between freePort() and the bind: try a new one.
      if (outcome === "port-busy" && attempt < PORT_ATTEMPTS) continue;
      await stopByPid(started.child);
      throw new Error(`redis-server did not answer PING on 127.0.0.1:${port} (${outcome}); log:\n${output}`);
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    liveDirs.delete(dir);
    throw err;
  }

  let stopped: Promise<void> | undefined;
  const running = (): ChildProcess | undefined => (child && !hasExited(child) ? child : undefined);
  const assertUsable = (what: string): void => {
    if (stopped) throw new Error(`redis ${port}: ${what}() after stop()`);
  };
  /** Same port and dir; the old socket may linger a moment, so "Address already in use" is retried. */
  const relaunch = async (): Promise<void> => {
    const deadline = Date.now() + REBIND_TIMEOUT_MS;
    for (;;) {
      const started = launch(port);
      const outcome = await waitReady(started, port, opts.password);
      if (outcome === "ready") {
        child = started.child;
        return;
      }
      if (outcome !== "port-busy" || Date.now() > deadline) {
        await stopByPid(started.child);
        throw new Error(`redis-server did not come back on 127.0.0.1:${port} (${outcome}); log:\n${output}`);
      }
      await sleep(100);
    }
  };

  const peer: RedisPeer = {
    host: "127.0.0.1",
    port,
    dir,
    url(db = 0, queue) {
      const auth = opts.password !== undefined ? `:${encodeURIComponent(opts.password)}@` : "";
      const query = queue !== undefined ? `?queue=${encodeURIComponent(queue)}` : "";
      return `redis://${auth}127.0.0.1:${port}/${db}${query}`;
    },
    get pid() {
      return running()?.pid;
    },
    async restart({ downMs = 0 } = {}) {
      assertUsable("restart");
      const current = running();
      if (current) await signalAndWait(current, "SIGTERM", SHUTDOWN_TIMEOUT_MS);
      if (downMs > 0) await sleep(downMs);
      await relaunch();
    },
    async kill() {
      assertUsable("kill");
      const current = running();
      if (current) await signalAndWait(current, "SIGKILL", SHUTDOWN_TIMEOUT_MS);
    },
    async start() {
      assertUsable("start");
      if (running()) throw new Error(`redis ${port}: start() while running (pid ${running()?.pid}); kill() first`);
      await relaunch();
    },
    stop() {
      stopped ??= (async () => {
        const current = running();
        if (current) await stopByPid(current);
        await rm(dir, { recursive: true, force: true });
        liveDirs.delete(dir);
      })();
      return stopped;
    },
    cli(...cliArgs) {
      const env: NodeJS.ProcessEnv = { ...process.env };
      // REDISCLI_AUTH instead of -a: no password on the command line, no warning on stderr.
      if (opts.password !== undefined) env.REDISCLI_AUTH = opts.password;
      else delete env.REDISCLI_AUTH;
      return new Promise<string>((resolve, reject) => {
        execFile(REDIS_CLI, ["-h", "127.0.0.1", "-p", String(port), ...cliArgs], { env, encoding: "utf8" }, (err, stdout, stderr) => {
          if (err) reject(new Error(`redis-cli ${cliArgs.join(" ")} failed: ${err.message}\n${stderr}`));
          else resolve(stdout.replace(/\n$/, ""));
        });
      });
    },
    log: () => output,
  };
  return peer;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Sends `signal` by PID and waits for the exit; SIGKILL if it is still there after `timeoutMs`. */
async function signalAndWait(child: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (hasExited(child) || child.pid === undefined) return;
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    process.kill(pid, signal);
  } catch {
    return; // already gone
  }
  const timer = setTimeout(() => {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }, timeoutMs);
  await exited;
  clearTimeout(timer);
}

interface Launched {
  child: ChildProcess;
  /** This process's own output (the instance log spans every start). */
  log(): string;
}

type Outcome = "ready" | "port-busy" | "exited" | "timeout";

/**
 * Until our process has logged "Ready to accept connections" (so a PONG cannot come from
 * whoever else holds the port, and the AOF is loaded) and PING answers +PONG, after AUTH
 * when a password is set. "port-busy": the process died of a taken port.
 */
async function waitReady({ child, log }: Launched, port: number, password: string | undefined): Promise<Outcome> {
  let spawnError: Error | undefined;
  child.once("error", (e) => (spawnError = e));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError) throw new Error(`cannot run ${REDIS_SERVER}: ${spawnError.message} (bash scripts/install-peers.sh)`);
    if (hasExited(child)) {
      await sleep(50); // let the pipes drain into the log
      return /Address already in use/i.test(log()) ? "port-busy" : "exited";
    }
    if (/Ready to accept connections/.test(log()) && (await pingOk(port, password))) return "ready";
    await sleep(25);
  }
  await stopByPid(child);
  return "timeout";
}

/** One RESP exchange on a fresh connection: PING, on -NOAUTH AUTH + PING; true on +PONG. */
function pingOk(port: number, password: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: "127.0.0.1", port });
    let buf = "";
    let authSent = false;
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 1_000);
    sock.setEncoding("utf8");
    sock.once("connect", () => sock.write(resp("PING")));
    sock.on("data", (c: string) => {
      buf += c;
      for (let nl = buf.indexOf("\r\n"); nl >= 0; nl = buf.indexOf("\r\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        if (line === "+PONG") return done(true);
        if (line.startsWith("-NOAUTH") && password !== undefined && !authSent) {
          authSent = true;
          sock.write(resp("AUTH", password) + resp("PING"));
        } else if (!(line === "+OK" && authSent)) {
          return done(false); // -LOADING, -WRONGPASS, ...: not (yet) usable
        }
      }
    });
    sock.on("error", () => done(false));
    sock.on("close", () => done(false));
  });
}

function resp(...parts: string[]): string {
  return `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join("")}`;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of live) {
      try {
        if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  });
}

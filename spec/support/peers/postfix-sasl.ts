/**
 * A real Postfix smtpd (Debian's postfix 3.7) with Cyrus SASL verifying AUTH against a
 * private sasldb2, on 127.0.0.1 at a port picked at run time.
 *
 * Each instance lives in its own temp dir (config, queue_directory, data_directory, sasldb2,
 * maillog), so /etc/postfix is never read or touched and several instances can run at once.
 * Its master(8) runs in the foreground (`master -c DIR -d`) as a child of this process, in its
 * own process group; stop() SIGTERMs the master by PID (it takes its children with it), then
 * SIGKILLs the group if anything is left, and removes the temp dir. As a safety net the
 * master exits by itself after `maxLifetimeSeconds` (master -e) and every instance still
 * running is killed when this process exits.
 *
 * Needs root (master(8) starts as root and drops to the postfix user). Nothing is delivered:
 * every transport is discard(8); only SASL-authenticated clients may send at all
 * (mynetworks is empty, smtpd_relay_restrictions = permit_sasl_authenticated, reject:
 * RCPT from an unauthenticated client gets 554 5.7.1).
 *
 * SASL: `pwcheck_method: auxprop`, `auxprop_plugin: sasldb`, `mech_list` = opts.mechanisms.
 * The user is stored in realm `realm` (default "localhost", which is also myhostname and
 * smtpd_sasl_local_domain), so the client authenticates as the bare `user` (Cyrus appends
 * "@localhost"; "user@localhost" works too). A `user` containing "@" is stored as
 * local part + realm = domain, and must then be used in full.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tlsFixtures } from "../tls-fixtures.js";

export const POSTFIX_BIN = "/usr/sbin/postfix";
export const POSTFIX_MASTER = "/usr/lib/postfix/sbin/master";
export const SASLPASSWD2 = "/usr/sbin/saslpasswd2";

/** Every mechanism Debian's libsasl2-modules server side verifies against sasldb here. */
export const ALL_CYRUS_MECHANISMS = [
  "PLAIN",
  "LOGIN",
  "CRAM-MD5",
  "DIGEST-MD5",
  "NTLM",
  "SCRAM-SHA-1",
  "SCRAM-SHA-256",
] as const;

export interface PostfixSaslOptions {
  user: string;
  password: string;
  /** Cyrus mech_list, e.g. ["PLAIN","LOGIN","CRAM-MD5","DIGEST-MD5","NTLM","SCRAM-SHA-1","SCRAM-SHA-256"]. */
  mechanisms: string[];
  /** Offer STARTTLS (smtpd_tls_security_level = may) with the fixture server cert. Default false. */
  tls?: boolean;
  /**
   * smtpd_tls_auth_only: offer/accept AUTH only after STARTTLS. Default: true when `tls`,
   * false otherwise (without TLS it is always "no", or AUTH could never be used).
   */
  authOnlyAfterTls?: boolean;
  /** SASL realm (= myhostname = smtpd_sasl_local_domain). Default "localhost". */
  realm?: string;
  /** The master exits by itself after this long, in case stop() is never called. Default 900. */
  maxLifetimeSeconds?: number;
  /** Extra main.cf settings (appended last, so they win). */
  mainCf?: Record<string, string>;
}

export interface PostfixSaslPeer {
  port: number;
  /** PID of master(8) (also its process group id). */
  pid: number;
  /** The instance's temp dir (etc/, queue/, data/, maillog). */
  dir: string;
  realm: string;
  /** The instance's maillog so far (plus master's own stderr, if any). */
  log(): string;
  /**
   * Resolves with the log once it matches (postlogd writes asynchronously, so a line can
   * appear a little after the SMTP reply it belongs to); rejects after timeoutMs (default 5 s).
   */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const live = new Set<number>();
let exitHookInstalled = false;

/** True when this machine can run startPostfixSasl (binaries present, running as root). */
export function postfixSaslAvailable(): boolean {
  return (
    process.getuid?.() === 0 &&
    existsSync(POSTFIX_BIN) &&
    existsSync(POSTFIX_MASTER) &&
    existsSync(SASLPASSWD2)
  );
}

export async function startPostfixSasl(opts: PostfixSaslOptions): Promise<PostfixSaslPeer> {
  if (process.getuid?.() !== 0) {
    throw new Error("startPostfixSasl needs root (postfix master(8) starts as root); CI runs as root");
  }
  for (const bin of [POSTFIX_BIN, POSTFIX_MASTER, SASLPASSWD2]) {
    if (!existsSync(bin)) throw new Error(`${bin} missing: run \`bash scripts/install-peers.sh\``);
  }
  if (opts.mechanisms.length === 0) throw new Error("startPostfixSasl: mechanisms must not be empty");
  for (const m of opts.mechanisms) {
    if (!/^[A-Z0-9_-]+$/i.test(m)) throw new Error(`startPostfixSasl: bad mechanism name ${JSON.stringify(m)}`);
  }
  if (/[\r\n\0]/.test(opts.password) || /[\s\0]/.test(opts.user) || opts.user === "") {
    throw new Error("startPostfixSasl: user must be non-empty without whitespace; password without CR/LF/NUL");
  }

  const realm = opts.realm ?? "localhost";
  const tls = opts.tls ?? false;
  const authOnly = tls && (opts.authOnlyAfterTls ?? true);
  const postfixUid = numericId("-u");
  const postfixGid = numericId("-g");

  const dir = mkdtempSync(join(tmpdir(), "smtpkit-postfix-"));
  try {
    chmodSync(dir, 0o755); // postfix daemons run as "postfix" and must reach etc/ and the queue
    const etc = join(dir, "etc");
    const sasl = join(etc, "sasl");
    const queue = join(dir, "queue");
    const data = join(dir, "data");
    mkdirSync(sasl, { recursive: true, mode: 0o755 });
    mkdirSync(queue, { mode: 0o755 });
    mkdirSync(data, { mode: 0o755 });
    chownSync(data, postfixUid, postfixGid);

    // ---- Cyrus SASL: private smtpd.conf + sasldb2 (read by smtpd as user postfix)
    const sasldb = join(sasl, "sasldb2");
    writeFileSync(
      join(sasl, "smtpd.conf"),
      [
        "pwcheck_method: auxprop",
        "auxprop_plugin: sasldb",
        `sasldb_path: ${sasldb}`,
        `mech_list: ${opts.mechanisms.join(" ")}`,
        "",
      ].join("\n"),
      { mode: 0o644 },
    );
    const at = opts.user.lastIndexOf("@");
    const [sasUser, sasRealm] = at > 0 ? [opts.user.slice(0, at), opts.user.slice(at + 1)] : [opts.user, realm];
    const pw = spawnSync(SASLPASSWD2, ["-f", sasldb, "-c", "-p", "-u", sasRealm, sasUser], {
      input: opts.password,
      encoding: "utf8",
    });
    if (pw.status !== 0) throw new Error(`saslpasswd2 failed (${pw.status}): ${pw.stderr}${pw.error ?? ""}`);
    chownSync(sasldb, 0, postfixGid);
    chmodSync(sasldb, 0o640);

    const instance = dir.slice(dir.lastIndexOf("-") + 1);
    const mainCf = renderMainCf({
      compatibility_level: "3.6",
      queue_directory: queue,
      data_directory: data,
      mail_owner: "postfix",
      setgid_group: "postdrop",
      syslog_name: `smtpkit-postfix-${instance}`,
      maillog_file: join(dir, "maillog"),
      maillog_file_prefixes: dir,
      myhostname: realm,
      mydomain: realm.includes(".") ? realm.slice(realm.indexOf(".") + 1) : "localdomain",
      myorigin: "$myhostname",
      mydestination: "",
      relay_domains: "",
      mynetworks: "",
      inet_interfaces: "127.0.0.1",
      inet_protocols: "ipv4",
      alias_maps: "",
      alias_database: "",
      local_recipient_maps: "",
      default_transport: "discard",
      relay_transport: "discard",
      local_transport: "discard",
      virtual_transport: "discard",
      biff: "no",
      append_dot_mydomain: "no",
      smtpd_banner: "$myhostname ESMTP smtpkit test Postfix",
      smtpd_peername_lookup: "no",
      smtpd_error_sleep_time: "0s",
      smtpd_client_restrictions: "",
      smtpd_helo_restrictions: "",
      smtpd_sender_restrictions: "",
      smtpd_relay_restrictions: "permit_sasl_authenticated, reject",
      smtpd_recipient_restrictions: "",
      smtpd_sasl_auth_enable: "yes",
      smtpd_sasl_type: "cyrus",
      smtpd_sasl_path: "smtpd",
      cyrus_sasl_config_path: sasl,
      smtpd_sasl_local_domain: realm,
      smtpd_sasl_security_options: "noanonymous",
      smtpd_sasl_tls_security_options: "$smtpd_sasl_security_options",
      smtpd_sasl_authenticated_header: "no",
      broken_sasl_auth_clients: "no",
      smtpd_tls_auth_only: authOnly ? "yes" : "no",
      ...(tls
        ? {
            smtpd_tls_security_level: "may",
            smtpd_tls_cert_file: tlsFixtures.serverCert,
            smtpd_tls_key_file: tlsFixtures.serverKey,
            smtpd_tls_loglevel: "1",
            smtpd_tls_received_header: "yes",
          }
        : { smtpd_tls_security_level: "none" }),
      ...(opts.mainCf ?? {}),
    });

    const lifetime = String(opts.maxLifetimeSeconds ?? 900);
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 4; attempt++) {
      const port = await freePort();
      writeFileSync(join(etc, "main.cf"), mainCf, { mode: 0o644 });
      writeFileSync(join(etc, "master.cf"), renderMasterCf(port), { mode: 0o644 });
      // Postfix re-reads a config file whose mtime is "now" (in case it is still being written),
      // sleeping 300 ms each time for up to ~1.5 s: backdate them.
      const past = new Date(Date.now() - 60_000);
      utimesSync(join(etc, "main.cf"), past, past);
      utimesSync(join(etc, "master.cf"), past, past);
      if (attempt === 0) makeQueueDirs(queue, postfixUid);

      const child = spawn(POSTFIX_MASTER, ["-c", etc, "-d", "-e", lifetime], {
        detached: true, // own process group: master's SIGTERM handler kills its group
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, MAIL_CONFIG: etc },
      });
      let masterOutput = "";
      child.stdout!.setEncoding("utf8").on("data", (c: string) => (masterOutput += c));
      child.stderr!.setEncoding("utf8").on("data", (c: string) => (masterOutput += c));
      child.unref();
      (child.stdout as unknown as { unref?: () => void }).unref?.();
      (child.stderr as unknown as { unref?: () => void }).unref?.();
      if (child.pid === undefined) {
        await onceExitOrError(child);
        throw new Error(`cannot start ${POSTFIX_MASTER}: ${masterOutput}`);
      }
      const pid = child.pid;
      live.add(pid);
      installExitHook();
      const readLog = () => {
        const file = join(dir, "maillog");
        const text = existsSync(file) ? readFileSync(file, "utf8") : "";
        return masterOutput ? `${text}${masterOutput}` : text;
      };

      try {
        await waitForBanner(port, child);
      } catch (err) {
        await killMaster(child, pid);
        if (/address already in use/i.test(readLog())) {
          lastError = new Error(`${(err as Error).message}\n--- postfix log ---\n${readLog()}`);
          continue; // lost the port race: try a new port
        }
        postfixCheck(etc, dir); // throws with postfix's own complaint if the config is at fault
        throw new Error(`${(err as Error).message}\n--- postfix log ---\n${readLog()}`);
      }

      let stopped: Promise<void> | undefined;
      return {
        port,
        pid,
        dir,
        realm,
        log: readLog,
        async waitForLog(pattern: RegExp, timeoutMs = 5_000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const text = readLog();
            if (pattern.test(text)) return text;
            if (Date.now() > deadline) {
              throw new Error(`postfix log did not match ${pattern} within ${timeoutMs} ms:\n${text}`);
            }
            await new Promise((r) => setTimeout(r, 25));
          }
        },
        stop() {
          stopped ??= (async () => {
            await killMaster(child, pid);
            rmSync(dir, { recursive: true, force: true });
          })();
          return stopped;
        },
      };
    }
    throw lastError ?? new Error("startPostfixSasl: could not start");
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function renderMainCf(settings: Record<string, string>): string {
  return (
    "# generated by spec/support/peers/postfix-sasl.ts (test instance)\n" +
    Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}`)
      .join("\n") +
    "\n"
  );
}

/** Only what a discard-everything smtpd needs; chroot column "n" everywhere. */
function renderMasterCf(port: number): string {
  return `# generated by spec/support/peers/postfix-sasl.ts (test instance)
# service        type  private unpriv chroot wakeup maxproc command
127.0.0.1:${port} inet n       -      n      -      -       smtpd
cleanup          unix  n       -      n      -      0       cleanup
qmgr             unix  n       -      n      300    1       qmgr
tlsmgr           unix  -       -      n      1000?  1       tlsmgr
rewrite          unix  -       -      n      -      -       trivial-rewrite
bounce           unix  -       -      n      -      0       bounce
defer            unix  -       -      n      -      0       bounce
trace            unix  -       -      n      -      0       bounce
verify           unix  -       -      n      -      1       verify
proxymap         unix  -       -      n      -      -       proxymap
error            unix  -       -      n      -      -       error
retry            unix  -       -      n      -      -       error
discard          unix  -       -      n      -      -       discard
anvil            unix  -       -      n      -      1       anvil
scache           unix  -       -      n      -      1       scache
postlog          unix-dgram n  -      n      -      1       postlogd
`;
}

/**
 * The queue layout `postfix check` (post-install create-missing) would make, minus its
 * ~2.5 s of shell: created directly.
 */
function makeQueueDirs(queue: string, uid: number): void {
  const postdropGid = numericGroup("postdrop");
  const dirs: [string, number, number, number][] = [
    ["pid", 0, 0, 0o755],
    ["public", uid, postdropGid, 0o710],
    ["maildrop", uid, postdropGid, 0o730],
  ];
  for (const d of ["active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private", "saved", "trace"]) {
    dirs.push([d, uid, 0, 0o700]);
  }
  for (const [name, owner, group, mode] of dirs) {
    const p = join(queue, name);
    mkdirSync(p, { recursive: true });
    chownSync(p, owner, group);
    chmodSync(p, mode);
  }
}

/** `postfix -c etc check` (slow): used only to explain a master that would not start. */
function postfixCheck(etc: string, dir: string): void {
  const env = { ...process.env, MAIL_CONFIG: etc };
  const r = spawnSync(POSTFIX_BIN, ["-c", etc, "check"], { encoding: "utf8", env });
  if (r.status === 0) return;
  // postfix only prints its complaints when stderr is a terminal: re-run under script(1).
  let why = `${r.stdout}${r.stderr}`;
  if (existsSync("/usr/bin/script")) {
    const t = spawnSync("/usr/bin/script", ["-qec", `${POSTFIX_BIN} -c ${etc} check`, "/dev/null"], {
      encoding: "utf8",
      env,
    });
    why += t.stdout;
  }
  const log = existsSync(join(dir, "maillog")) ? readFileSync(join(dir, "maillog"), "utf8") : "";
  throw new Error(`postfix -c ${etc} check failed (${r.status ?? r.signal}): ${why.trim()}\n${log}`);
}

function numericGroup(name: string): number {
  const line = readFileSync("/etc/group", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  const n = line ? Number.parseInt(line.split(":")[2] ?? "", 10) : Number.NaN;
  if (!Number.isInteger(n)) throw new Error(`no '${name}' group: run \`bash scripts/install-peers.sh\``);
  return n;
}

function numericId(flag: "-u" | "-g"): number {
  const r = spawnSync("id", [flag, "postfix"], { encoding: "utf8" });
  const n = Number.parseInt(r.stdout, 10);
  if (r.status !== 0 || !Number.isInteger(n)) throw new Error("no 'postfix' user: run `bash scripts/install-peers.sh`");
  return n;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Connects until the 220 greeting arrives (then QUITs), or fails if master dies / times out. */
async function waitForBanner(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`postfix master exited (${child.exitCode ?? child.signalCode}) before listening on ${port}`);
    }
    const greeting = await new Promise<string | null>((resolve) => {
      const sock = createConnection({ host: "127.0.0.1", port });
      let buf = "";
      const done = (v: string | null) => {
        clearTimeout(timer);
        sock.destroy();
        resolve(v);
      };
      const timer = setTimeout(() => done(null), 2_000);
      sock.setEncoding("utf8");
      sock.on("data", (c: string) => {
        buf += c;
        const m = /^(\d{3})[ -].*\r?\n/m.exec(buf);
        if (m) {
          sock.write("QUIT\r\n");
          setTimeout(() => done(buf), 10);
        }
      });
      sock.on("error", () => done(null));
      sock.on("close", () => done(buf || null));
    });
    if (greeting?.startsWith("220")) return;
    if (greeting) throw new Error(`postfix on ${port} greeted with ${JSON.stringify(greeting.trim())}`);
    if (Date.now() > deadline) throw new Error(`postfix not listening on 127.0.0.1:${port} after ${READY_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function onceExitOrError(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
}

/** Live (non-zombie) processes in process group `pgid`, from /proc. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false; // no process at all
  }
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return true;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, "utf8");
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp ..." -- comm may contain spaces/parens: parse after the last ')'
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] !== "Z" && Number(fields[2]) === pgid) return true;
  }
  return false; // only zombies left, waiting for init to reap them
}

/** SIGTERM master (it kills its process group), SIGKILL the group after 5 s; waits until all are gone. */
async function killMaster(child: ChildProcess, pid: number): Promise<void> {
  const exited =
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : onceExitOrError(child);
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    /* already gone */
  }
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 5_000));
  if ((await Promise.race([exited.then(() => "exited" as const), timeout])) === "timeout") {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      /* gone */
    }
    await exited;
  }
  // Children exit on master's SIGTERM (or once they notice it is gone); make sure none linger.
  const deadline = Date.now() + 3_000;
  while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  if (groupAlive(pid)) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  live.delete(pid);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const pid of live) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        /* gone */
      }
    }
  });
}

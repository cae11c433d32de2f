/**
 * A real aiosmtpd server (Debian's python3-aiosmtpd, run by /usr/bin/python3) on 127.0.0.1
 * with kernel-chosen ports, using the fixture server certificate (spec/fixtures/tls/server.pem,
 * signed by ca.pem, names localhost / 127.0.0.1 / ::1).
 *
 *   port           STARTTLS offered; AUTH PLAIN/LOGIN advertised and accepted only after
 *                  STARTTLS (538 before it); MAIL needs AUTH (530) unless authRequired=false.
 *                  requireTls: every command but EHLO/HELO/NOOP/RSET/QUIT/STARTTLS gets
 *                  "530 Must issue a STARTTLS command first" before STARTTLS.
 *   smtpsPort      (smtps) implicit TLS; AUTH PLAIN/LOGIN right away.
 *   plainAuthPort  (authWithoutTls) clear text, no STARTTLS, AUTH PLAIN/LOGIN allowed.
 *
 * Only `user` / `password` authenticate (535 5.7.8 otherwise). Every accepted message is
 * written to a temp dir before the 250 reply to DATA, so `messages()` sees it as soon as the
 * client has its 250.
 *
 * Call `stop()` in afterAll: it SIGTERMs the peer by PID (SIGKILL after 3 s) and removes
 * the temp dir. The peer also exits by itself if this process dies (its stdin closes).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tlsFixtures } from "../tls-fixtures.js";

export const SYSTEM_PYTHON = "/usr/bin/python3";
export const AIOSMTPD_PEER_SCRIPT: string = fileURLToPath(new URL("./aiosmtpd-peer.py", import.meta.url));

export interface AiosmtpdOptions {
  user: string;
  password: string;
  /** Refuse MAIL etc. on the main port until STARTTLS (530). Default false. */
  requireTls?: boolean;
  /** Also listen with implicit TLS (SMTPS) -> smtpsPort. Default false. */
  smtps?: boolean;
  /** Also listen in clear text with AUTH allowed without TLS -> plainAuthPort. Default false. */
  authWithoutTls?: boolean;
  /** MAIL requires a successful AUTH (530 5.7.0 otherwise). Default true. */
  authRequired?: boolean;
  /** Host name in the greeting and EHLO reply. Default "localhost". */
  hostname?: string;
  /** aiosmtpd debug log to the captured stderr (see `stderr()`). Default false. */
  verbose?: boolean;
  /** Leave 8BITMIME out of the EHLO reply. Default false. */
  no8BitMime?: boolean;
}

export interface AiosmtpdMessage {
  mailFrom: string;
  rcptTos: string[];
  /** Raw DATA bytes as received (dot-stuffing and the final "." line removed). */
  data: Buffer;
  /** MAIL FROM parameters (e.g. "SIZE=123", "BODY=8BITMIME"). */
  mailOptions: string[];
  /** Which listener took it. */
  listener: "starttls" | "smtps" | "plain-auth";
  /** Whether the session was encrypted (STARTTLS or SMTPS). */
  tls: boolean;
  /** The login that authenticated, or null. */
  authLogin: string | null;
  /** EHLO/HELO name the client gave. */
  heloName: string | null;
}

export interface AiosmtpdPeer {
  /** Main port (STARTTLS). */
  port: number;
  smtpsPort?: number;
  plainAuthPort?: number;
  pid: number;
  /** Messages accepted so far, in arrival order. */
  messages(): Promise<AiosmtpdMessage[]>;
  /** What the peer wrote on stderr so far (errors, or the debug log with verbose). */
  stderr(): string;
  stop(): Promise<void>;
}

interface ReadyLine {
  port: number;
  smtpsPort?: number;
  plainAuthPort?: number;
  pid: number;
}

interface SavedMeta {
  listener: AiosmtpdMessage["listener"];
  mailFrom: string;
  mailOptions: string[];
  rcptTos: string[];
  tls: boolean;
  authLogin: string | null;
  heloName: string | null;
}

const READY_TIMEOUT_MS = 15_000;

export async function startAiosmtpd(opts: AiosmtpdOptions): Promise<AiosmtpdPeer> {
  const saveDir = mkdtempSync(join(tmpdir(), "smtpkit-aiosmtpd-"));
  const args = [
    AIOSMTPD_PEER_SCRIPT,
    "--cert", tlsFixtures.serverCert,
    "--key", tlsFixtures.serverKey,
    "--user", opts.user,
    "--password", opts.password,
    "--save-dir", saveDir,
    "--hostname", opts.hostname ?? "localhost",
    "--exit-on-stdin-eof",
  ];
  if (opts.requireTls) args.push("--require-tls");
  if (opts.smtps) args.push("--smtps");
  if (opts.authWithoutTls) args.push("--auth-without-tls");
  if (opts.authRequired === false) args.push("--no-auth-required");
  if (opts.verbose) args.push("--verbose");
  if (opts.no8BitMime) args.push("--no-8bitmime");

  // Debian's python3 with its dist-packages, whatever python is first on PATH.
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: "1", PYTHONNOUSERSITE: "1" };
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  delete env.VIRTUAL_ENV;

  const child = spawn(SYSTEM_PYTHON, args, { env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    stderr += chunk;
  });

  let ready: ReadyLine;
  try {
    ready = await waitForReady(child, () => stderr);
  } catch (err) {
    await killAndWait(child);
    rmSync(saveDir, { recursive: true, force: true });
    throw err;
  }

  let stopped: Promise<void> | undefined;
  return {
    port: ready.port,
    ...(ready.smtpsPort !== undefined ? { smtpsPort: ready.smtpsPort } : {}),
    ...(ready.plainAuthPort !== undefined ? { plainAuthPort: ready.plainAuthPort } : {}),
    pid: ready.pid,
    async messages() {
      const names = readdirSync(saveDir)
        .filter((n) => n.endsWith(".json"))
        .sort();
      return names.map((name) => {
        const meta = JSON.parse(readFileSync(join(saveDir, name), "utf8")) as SavedMeta;
        const data = readFileSync(join(saveDir, name.replace(/\.json$/, ".eml")));
        return {
          mailFrom: meta.mailFrom,
          rcptTos: meta.rcptTos,
          data,
          mailOptions: meta.mailOptions,
          listener: meta.listener,
          tls: meta.tls,
          authLogin: meta.authLogin,
          heloName: meta.heloName,
        };
      });
    },
    stderr: () => stderr,
    stop() {
      stopped ??= (async () => {
        await killAndWait(child);
        rmSync(saveDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

function waitForReady(child: ChildProcess, stderr: () => string): Promise<ReadyLine> {
  return new Promise<ReadyLine>((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => {
      finish(new Error(`aiosmtpd peer not READY after ${READY_TIMEOUT_MS} ms; stderr:\n${stderr()}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      const line = buf.slice(0, nl).trim();
      if (!line.startsWith("READY ")) {
        finish(new Error(`aiosmtpd peer: unexpected output ${JSON.stringify(line)}; stderr:\n${stderr()}`));
        return;
      }
      try {
        finish(undefined, JSON.parse(line.slice(6)) as ReadyLine);
      } catch (err) {
        finish(err as Error);
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      // Let stderr drain before reporting.
      setTimeout(() => finish(new Error(`aiosmtpd peer exited (${code ?? signal}) before READY; stderr:\n${stderr()}`)), 50);
    };
    const onError = (err: Error) => finish(new Error(`cannot run ${SYSTEM_PYTHON}: ${err.message}`));
    function finish(err: Error | undefined, value?: ReadyLine) {
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      child.off("exit", onExit);
      child.off("error", onError);
      if (err) reject(err);
      else resolve(value!);
    }
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", onData);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}

/** SIGTERM the child by PID, SIGKILL after 3 s; resolves once it has exited. */
function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const killTimer = setTimeout(() => {
      try {
        process.kill(child.pid!, "SIGKILL");
      } catch {
        /* already gone */
      }
    }, 3_000);
    child.once("exit", () => {
      clearTimeout(killTimer);
      resolve();
    });
    try {
      process.kill(child.pid!, "SIGTERM");
    } catch {
      clearTimeout(killTimer);
      resolve();
    }
    child.stdin?.end();
  });
}

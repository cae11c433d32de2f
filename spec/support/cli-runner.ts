/**
 * Runs the smtpkit command as a user does: `node bin/smtpkit.mjs ...` in a
 * child process (dist/ must be built), with an environment that has no
 * SMTPKIT_* variables, NO_COLOR set and HOME pointing to an empty directory,
 * so nothing of the machine's own configuration leaks in.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { headerMap, type Harness, type ReceivedMessage } from "./smtp-server-harness.js";

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  /** Written to stdin (a pipe, never a terminal), which is then closed. */
  input?: string | Buffer;
  env?: Record<string, string>;
  /** Called with the child once it runs (to signal it). */
  onSpawn?: (child: ChildProcessWithoutNullStreams) => void;
}

/** The environment of a run: this process's, without SMTPKIT_* and FORCE_COLOR, with `home` and `extra`. */
export function cliEnvironment(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("SMTPKIT_") && k !== "FORCE_COLOR") env[k] = v;
  return Object.assign(env, { HOME: home, NO_COLOR: "1" }, extra);
}

/** A runner for the smtpkit of checkout `root`; the children it started are tracked for afterAll. */
export function cliRunner(root: string, home: () => string): { run(args: string[], opts?: CliRun): Promise<CliResult>; children: Set<ChildProcessWithoutNullStreams> } {
  const bin = join(root, "bin", "smtpkit.mjs");
  const children = new Set<ChildProcessWithoutNullStreams>();
  const run = (args: string[], opts: CliRun = {}): Promise<CliResult> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: cliEnvironment(home(), opts.env), stdio: ["pipe", "pipe", "pipe"] });
      children.add(child);
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
      child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
      opts.onSpawn?.(child);
      child.on("error", reject);
      child.on("close", (code, signal) => {
        children.delete(child);
        resolve({ code, signal, stdout, stderr });
      });
      child.stdin.on("error", () => undefined);
      child.stdin.end(opts.input ?? "");
    });
  return { run, children };
}

/** Writes `content` to `dir/name` and returns the path. */
export function fileIn(dir: string, name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** The message the harness received with this subject. */
export function bySubject(server: Harness, subject: string): ReceivedMessage {
  const found = server.received.find((m) => headerMap(m).get("subject")?.[0] === subject);
  if (!found) throw new Error(`no message with subject ${subject}`);
  return found;
}

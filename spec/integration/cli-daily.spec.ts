/**
 * The smtpkit flags for daily work (issue 17): --data / -t, --dry-run,
 * --quit-after, the password prompt, --server host:port and certificate
 * fingerprints, progress, --profile. Driven as a user drives them:
 * `node bin/smtpkit.mjs ...` in a child process (dist/ must be built) against
 * servers in this process on 127.0.0.1.
 *
 * Every run gets an environment without SMTPKIT_* variables, NO_COLOR set and
 * HOME pointing to an empty directory, plus whatever the test adds.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bySubject, cliEnvironment, cliRunner, fileIn, type CliResult } from "../support/cli-runner.js";
import { rawText, startSmtpServer, type Harness } from "../support/smtp-server-harness.js";
import { goodDialogue, step, stepServer, type Step, type TcpServer } from "../support/tcp-server.js";
import { selfSignedFingerprint256, tlsFixtures } from "../support/tls-fixtures.js";

// SMTPKIT_CLI_ROOT: a checkout whose dist/ is built (default: this one).
const ROOT = process.env["SMTPKIT_CLI_ROOT"] ?? fileURLToPath(new URL("../../", import.meta.url));
const BIN = join(ROOT, "bin", "smtpkit.mjs");
const PASSWORD = "pw-Daily-17";
const TOKEN = "ya29.daily-token-17";

let home: string;
let work: string;
const cli = cliRunner(ROOT, () => home);
const children = cli.children;
const smtpkit = cli.run;
const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => cliEnvironment(home, extra);

/** POSIX shell quoting, for the command line `script` runs. */
function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, "'\\''")}'`;
}

/**
 * Runs `smtpkit args...` on a real terminal: util-linux `script` gives it a
 * pseudo-terminal; `answer` is typed once `prompt` appears on it.
 */
function smtpkitOnTerminal(args: string[], prompt: string, answer: string): Promise<CliResult> {
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-q", "-e", "-c", command, "/dev/null"], { cwd: ROOT, env: cleanEnv(), stdio: ["pipe", "pipe", "pipe"] });
    children.add(child);
    let stdout = "";
    let typed = false;
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
      if (!typed && stdout.includes(prompt)) {
        typed = true;
        child.stdin.write(answer);
      }
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const file = (name: string, content: string | Buffer): string => fileIn(work, name, content);

function expectCleanError(stderr: string, code: string): void {
  expect(stderr).toMatch(new RegExp(`^error ${code}: `, "m"));
  expect(stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
}

/** A ready-made message with CRLF line ends. */
function eml(lines: string[]): string {
  return lines.join("\r\n") + "\r\n";
}

let plain: Harness;
let tls: Harness;
/** STARTTLS with a self-signed certificate. */
let selfSigned: Harness;
/** Plain, on 127.0.0.1 and ::1. */
let dualStack: Harness;
/** Reads the first MiB of the message data, pauses 1.5 s, reads the rest: the transfer takes long enough for a rate. */
let slowReader: TcpServer;
/** Takes the whole message and never answers it; tells messageInNeverAnswered. */
let neverAnswers: TcpServer;
let messageInNeverAnswered: () => void = () => undefined;
/** Nothing may connect to it (the dry-run and "no password" tests check that nothing did). */
let untouched: Harness;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "smtpkit-daily-home-"));
  work = mkdtempSync(join(tmpdir(), "smtpkit-daily-work-"));
  plain = await startSmtpServer();
  tls = await startSmtpServer({ mode: "starttls", authMethods: ["PLAIN", "LOGIN", "XOAUTH2"], users: { ann: PASSWORD }, tokens: { ann: TOKEN } });
  untouched = await startSmtpServer({ mode: "starttls", authMethods: ["PLAIN", "LOGIN"], users: { ann: PASSWORD } });
  selfSigned = await startSmtpServer({ mode: "starttls", cert: "selfsigned" });
  dualStack = await startSmtpServer({ alsoOn: ["::1"] });
  const withData = (data: Step[]): Step[] => goodDialogue().flatMap((s) => (s.kind === "expectData" ? data : [s]));
  slowReader = await stepServer(withData([step.expectData({ stopAfter: 1024 * 1024 }), step.wait(1500), step.expectData()]));
  neverAnswers = await stepServer([...goodDialogue().slice(0, goodDialogue().findIndex((s) => s.kind === "expectData") + 1), step.run(() => messageInNeverAnswered())]);
});

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await Promise.all([plain?.close(), tls?.close(), untouched?.close(), selfSigned?.close(), dualStack?.close(), slowReader?.close(), neverAnswers?.close()]);
  rmSync(home, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

const server = (): string[] => ["--server", "127.0.0.1", "--port", String(plain.port), "--tls", "none"];

describe.concurrent("send --data / -t", () => {
  it("sends a .eml file as it is, with the envelope from --from / --to", async () => {
    const message = eml(["From: Someone <someone@example.test>", "To: list@example.test", "Subject: data file", "Message-ID: <data-file@example.test>", "X-Kept: yes", "", "Body line", ".leading dot", "Grüße"]);
    const r = await smtpkit(["send", ...server(), "--data", file("data.eml", message), "--from", "ann@example.test", "--to", "bob@example.test"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const m = bySubject(plain, "data file");
    expect(m.mailFrom).toBe("ann@example.test");
    expect(m.rcptTo).toEqual(["bob@example.test"]);
    expect(m.raw.toString("utf8")).toBe(message);
  });

  it("--data - reads the message from standard input", async () => {
    const message = eml(["From: ann@example.test", "To: bob@example.test", "Subject: data stdin", "", "from a pipe"]);
    const r = await smtpkit(["send", ...server(), "--data", "-", "--from", "ann@example.test", "--to", "carol@example.test"], { input: message });
    expect(r.code).toBe(0);
    const m = bySubject(plain, "data stdin");
    expect(m.rcptTo).toEqual(["carol@example.test"]);
    expect(m.raw.toString("utf8")).toBe(message);
  });

  it("-t takes the recipients from To / Cc / Bcc and the sender from From, and removes the Bcc lines", async () => {
    const message = eml([
      "From: Ann Example <ann@example.test>",
      "To: Bob <bob@example.test>, carol@example.test",
      "Cc: dan@example.test",
      "Bcc: hidden@example.test,",
      "  also-hidden@example.test",
      "Subject: read recipients",
      "",
      "Bcc: this line is body text and stays",
    ]);
    const r = await smtpkit(["send", ...server(), "--data", "-", "-t"], { input: message });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const m = bySubject(plain, "read recipients");
    expect(m.mailFrom).toBe("ann@example.test");
    expect(m.rcptTo).toEqual(["bob@example.test", "carol@example.test", "dan@example.test", "hidden@example.test", "also-hidden@example.test"]);
    expect(rawText(m)).not.toMatch(/hidden@example\.test/);
    expect(rawText(m)).toBe(message.replace("Bcc: hidden@example.test,\r\n  also-hidden@example.test\r\n", ""));
    expect(rawText(m)).toContain("\r\n\r\nBcc: this line is body text and stays\r\n");
  });

  it("-t with --from: the option wins over the From header", async () => {
    const message = eml(["From: header@example.test", "To: bob@example.test", "Subject: t with from", "", "x"]);
    const r = await smtpkit(["send", ...server(), "--data", file("t-from.eml", message), "-t", "--from", "bounce@example.test"]);
    expect(r.code).toBe(0);
    expect(bySubject(plain, "t with from").mailFrom).toBe("bounce@example.test");
  });

  it("usage errors: -t without --data, --data with --subject, no recipient, missing file", async () => {
    const noData = await smtpkit(["send", ...server(), "-t", "--from", "a@example.test", "--to", "b@example.test", "--body", "x"]);
    expect(noData.code).toBe(1);
    expectCleanError(noData.stderr, "usage");
    expect(noData.stderr).toContain("--data");

    const clash = await smtpkit(["send", ...server(), "--data", "-", "--subject", "x", "--from", "a@example.test", "--to", "b@example.test"], { input: "Subject: y\r\n\r\nz\r\n" });
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain("--subject cannot change it");

    const none = await smtpkit(["send", ...server(), "--data", "-", "-t"], { input: eml(["From: a@example.test", "Subject: nobody", "", "x"]) });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no recipient given/);

    const missing = await smtpkit(["send", ...server(), "--data", join(work, "no-such.eml"), "--from", "a@example.test", "--to", "b@example.test"]);
    expect(missing.code).toBe(6);
    expectCleanError(missing.stderr, "302");
  });

  it("a refused recipient of a --data message exits 2", async () => {
    const r = await smtpkit(["send", ...server(), "--data", "-", "--from", "a@example.test", "--to", "reject@example.test"], { input: eml(["Subject: refused data", "", "x"]) });
    expect(r.code).toBe(2);
    expectCleanError(r.stderr, "\\d+");
  });
});

describe.concurrent("send --dry-run", () => {
  it("prints the built message's exact bytes on stdout and the envelope on stderr, without a server", async () => {
    const attachment = file("dry.txt", "attached text\n");
    const r = await smtpkit(["send", "--from", "Ann <ann@example.test>", "--to", "bob@example.test", "--bcc", "hidden@example.test", "--subject", "dry run", "--body", "Hello", "--attach", attachment, "--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("dry run: nothing was sent");
    expect(r.stderr).toContain("MAIL FROM:<ann@example.test>");
    expect(r.stderr).toContain("RCPT TO:<bob@example.test>  (To)");
    expect(r.stderr).toContain("RCPT TO:<hidden@example.test>  (Bcc)");
    expect(r.stdout).toMatch(/^(?:[^\r\n]+\r\n)*Subject: dry run\r\n/);
    expect(r.stdout).toContain("Hello");
    expect(r.stdout).toContain(Buffer.from("attached text\n").toString("base64"));
    expect(r.stdout).not.toContain("hidden@example.test");
    expect(r.stderr).toContain(`message: ${Buffer.byteLength(r.stdout)} bytes`);
  });

  it("the printed bytes are what the server receives: sending them with --data gives the same message", async () => {
    const dry = await smtpkit(["send", "--from", "ann@example.test", "--to", "bob@example.test", "--subject", "dry then data", "--body", "Round trip", "--dry-run"]);
    expect(dry.code).toBe(0);
    const sent = await smtpkit(["send", ...server(), "--data", "-", "--from", "ann@example.test", "--to", "bob@example.test"], { input: dry.stdout });
    expect(sent.code).toBe(0);
    expect(rawText(bySubject(plain, "dry then data"))).toBe(dry.stdout);
  });

  it("--data -t --dry-run shows the envelope from the headers and the message without Bcc; --json gives both", async () => {
    const message = eml(["From: ann@example.test", "To: bob@example.test", "Bcc: secret@example.test", "Subject: dry data", "", "x"]);
    const r = await smtpkit(["send", "--data", "-", "-t", "--dry-run", "--json"], { input: message });
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { envelope: { sender: string; recipients: { address: string; type: number }[] }; message: string; messageBytes: number };
    expect(json.envelope).toEqual({ sender: "ann@example.test", recipients: [{ address: "bob@example.test", type: 0 }, { address: "secret@example.test", type: 2 }] });
    expect(json.message).toBe(message.replace("Bcc: secret@example.test\r\n", ""));
    expect(json.messageBytes).toBe(Buffer.byteLength(json.message));
  });

  it("a --data message with LF line ends is shown with the CRLF line ends the server stores", async () => {
    const message = "From: ann@example.test\nTo: bob@example.test\nSubject: lf dry run\n\nline one\n.dot line\nlast";
    const dry = await smtpkit(["send", "--data", "-", "-t", "--dry-run"], { input: message });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe(message.replace(/\n/g, "\r\n") + "\r\n");
    const sent = await smtpkit(["send", ...server(), "--data", "-", "-t"], { input: message });
    expect(sent.code).toBe(0);
    expect(rawText(bySubject(plain, "lf dry run"))).toBe(dry.stdout);
  });

  it("never connects: a --server that cannot be reached does not matter", async () => {
    const r = await smtpkit(["send", "--server", "127.0.0.1", "--port", String(untouched.port), "--from", "a@example.test", "--to", "b@example.test", "--body", "x", "--dry-run"]);
    expect(r.code).toBe(0);
    expect(untouched.connections).toBe(0);
    const unreachable = await smtpkit(["send", "--server", "127.0.0.1", "--port", "1", "--from", "a@example.test", "--to", "b@example.test", "--body", "x", "--dry-run"]);
    expect(unreachable.code).toBe(0);
  });
});

describe.concurrent("send --quit-after", () => {
  const tlsServer = (): string[] => ["--server", "127.0.0.1", "--port", String(tls.port), "--ca", tlsFixtures.caCert];

  it("CONNECT: greeting and EHLO, no STARTTLS, no login, then QUIT (exit 0)", async () => {
    const r = await smtpkit(["send", ...tlsServer(), "--user", "ann", "--password-env", "PW", "--quit-after", "connect", "--trace"], { env: { PW: PASSWORD } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("every step up to CONNECT succeeded");
    expect(r.stderr).toContain("C: EHLO");
    expect(r.stderr).not.toContain("C: STARTTLS");
    expect(r.stderr).not.toContain("C: AUTH");
    expect(r.stderr).toContain("C: QUIT");
  });

  it("TLS: STARTTLS is up (exit 0); a server without STARTTLS is a TLS failure (exit 4)", async () => {
    const ok = await smtpkit(["send", ...tlsServer(), "--quit-after", "TLS", "--json"]);
    expect(ok.code).toBe(0);
    const report = JSON.parse(ok.stdout) as { quitAfter: string; tls: { version: string } | null; authenticated: boolean };
    expect(report).toMatchObject({ quitAfter: "TLS", authenticated: false });
    expect(report.tls?.version).toMatch(/^TLSv1\.[23]$/);

    const none = await smtpkit(["send", ...server(), "--quit-after", "TLS"]);
    expect(none.code).toBe(4);
    expectCleanError(none.stderr, "275");
  });

  it("EHLO after STARTTLS, without logging in", async () => {
    const r = await smtpkit(["send", ...tlsServer(), "--user", "ann", "--password-env", "PW", "--quit-after", "EHLO", "--trace"], { env: { PW: PASSWORD } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("C: STARTTLS");
    expect(r.stderr).not.toContain("C: AUTH");
  });

  it("AUTH tests a login: accepted (0), refused (5), no --user (1); nothing is sent", async () => {
    const ok = await smtpkit(["send", ...tlsServer(), "--user", "ann", "--password-env", "PW", "--quit-after", "AUTH", "--trace"], { env: { PW: PASSWORD } });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("logged in");
    expect(ok.stderr).toContain("C: AUTH");
    expect(ok.stderr).not.toContain("C: MAIL");
    const bad = await smtpkit(["send", ...tlsServer(), "--user", "ann", "--password-env", "PW", "--quit-after", "AUTH"], { env: { PW: "wrong" } });
    expect(bad.code).toBe(5);
    const noUser = await smtpkit(["send", ...tlsServer(), "--quit-after", "AUTH"]);
    expect(noUser.code).toBe(1);
    expectCleanError(noUser.stderr, "usage");
  });

  it("MAIL and RCPT: the transaction is reset before DATA (exit 0), a refused recipient exits 2", async () => {
    const mail = await smtpkit(["send", ...server(), "--from", "quit-mail@example.test", "--quit-after", "MAIL", "--trace"]);
    expect(mail.code).toBe(0);
    expect(plain.mailCommands).toContain("quit-mail@example.test");
    expect(mail.stderr).toContain("C: RSET");

    const rcpt = await smtpkit(["send", ...server(), "--from", "ann@example.test", "--to", "quit-rcpt@example.test", "--cc", "quit-cc@example.test", "--quit-after", "RCPT", "--trace"]);
    expect(rcpt.code).toBe(0);
    expect(rcpt.stdout).toMatch(/RCPT TO:<quit-rcpt@example\.test>\s+250/);
    expect(rcpt.stderr).not.toContain("C: DATA");
    expect(rcpt.stderr).toMatch(/C: RSET[\s\S]*C: QUIT/);
    expect(plain.rcptCommands).toEqual(expect.arrayContaining(["quit-rcpt@example.test", "quit-cc@example.test"]));

    const refused = await smtpkit(["send", ...server(), "--from", "ann@example.test", "--to", "reject-quit@example.test", "--quit-after", "RCPT"]);
    expect(refused.code).toBe(2);
    expectCleanError(refused.stderr, "161");
    expect(refused.stderr).toContain("RCPT TO:<reject-quit@example.test>");
    const quitAddresses = ["quit-mail@example.test", "quit-rcpt@example.test", "quit-cc@example.test"];
    expect(plain.received.filter((m) => quitAddresses.includes(m.mailFrom) || m.rcptTo.some((a) => quitAddresses.includes(a)))).toEqual([]);
  });

  it("RCPT with --data -t tests the message's recipients; an unknown stage is a usage error", async () => {
    const r = await smtpkit(["send", ...server(), "--data", "-", "-t", "--quit-after", "rcpt"], { input: eml(["From: ann@example.test", "To: quit-t@example.test", "Subject: never sent", "", "x"]) });
    expect(r.code).toBe(0);
    expect(plain.rcptCommands).toContain("quit-t@example.test");
    expect(plain.received.some((m) => m.subject === "never sent")).toBe(false);
    const unknown = await smtpkit(["send", ...server(), "--quit-after", "DATA"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("CONNECT, TLS, EHLO, AUTH, MAIL, RCPT");
  });
});

describe.concurrent("passwords", () => {
  const tlsServer = (): string[] => ["--server", "127.0.0.1", "--port", String(tls.port), "--ca", tlsFixtures.caCert];

  it("--user without a password and without a terminal: usage error before connecting, no AUTH with an empty password", async () => {
    const untouchedServer = ["--server", "127.0.0.1", "--port", String(untouched.port), "--ca", tlsFixtures.caCert];
    const r = await smtpkit(["send", ...untouchedServer, "--user", "ann", "--from", "ann@example.test", "--to", "bob@example.test", "--body", "x"]);
    expect(r.code).toBe(1);
    expectCleanError(r.stderr, "usage");
    expect(r.stderr).toContain("--password-env");
    expect(r.stderr).toContain("--password-file");
    const fromEnv = await smtpkit(["verify", "ann", ...untouchedServer], { env: { SMTPKIT_USER: "ann" } });
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).toContain("user ann has no password");
    expect(untouched.connections).toBe(0);
    expect(untouched.auths).toEqual([]);
  });

  it("on a terminal it asks for the password without echoing it, and logs in with it", async () => {
    const r = await smtpkitOnTerminal(["send", ...tlsServer(), "--user", "ann", "--from", "ann@example.test", "--to", "bob@example.test", "--subject", "prompted", "--body", "x"], "Password for ann: ", `${PASSWORD}\r`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("sent: 250");
    expect(r.stdout).not.toContain(PASSWORD);
    expect(tls.auths.find((a) => a.password === PASSWORD && a.accepted)).toBeDefined();
    expect(bySubject(tls, "prompted").user).toBe("ann");
  });

  it("XOAUTH2: the token from config AuthorizationIdentity needs no password; without any token it is asked for, or refused", async () => {
    const r = await smtpkit(["send", ...tlsServer(), "--user", "ann", "--auth", "xoauth2", "--config", `AuthorizationIdentity=${TOKEN}`, "--from", "ann@example.test", "--to", "bob@example.test", "--subject", "token login", "--body", "x"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(tls.auths.find((a) => a.method === "XOAUTH2" && a.accessToken === TOKEN && a.accepted)).toBeDefined();
    const none = await smtpkit(["send", "--server", "127.0.0.1", "--port", String(untouched.port), "--user", "ann", "--auth", "xoauth2", "--from", "ann@example.test", "--to", "bob@example.test", "--body", "x"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("user ann has no oauth token");
    expect(untouched.connections).toBe(0);
  });

  it("--password and --password=x are answered with --password-env / --password-file, on every command", async () => {
    for (const args of [["send", ...server(), "--password", "x"], ["send", ...server(), "--password=x"], ["capabilities", "127.0.0.1", "--password", "x"], ["verify", "ann", ...server(), "--password"]]) {
      const r = await smtpkit(args);
      expect(r.code).toBe(1);
      expectCleanError(r.stderr, "usage");
      expect(r.stderr).toContain("there is no --password option");
      expect(r.stderr).toContain("--password-env VAR or --password-file FILE");
      expect(r.stderr).not.toContain("unknown option");
    }
  });
});

describe.concurrent("--server host:port and certificates", () => {
  const message = (subject: string): string[] => ["--from", "ann@example.test", "--to", "bob@example.test", "--subject", subject, "--body", "x"];

  it("--server HOST:PORT and [IPv6]:PORT, also in SMTPKIT_SERVER and as the capabilities HOST", async () => {
    const v4 = await smtpkit(["send", "--server", `127.0.0.1:${dualStack.port}`, "--tls", "none", ...message("host colon port")]);
    expect(v4.code).toBe(0);
    const v6 = await smtpkit(["send", "--server", `[::1]:${dualStack.port}`, "--tls", "none", ...message("bracketed v6")]);
    expect(v6.stderr).toBe("");
    expect(v6.code).toBe(0);
    expect(bySubject(dualStack, "bracketed v6").remoteAddress).toMatch(/::1$/);
    const env = await smtpkit(["send", "--tls", "none", ...message("server from env")], { env: { SMTPKIT_SERVER: `127.0.0.1:${dualStack.port}` } });
    expect(env.code).toBe(0);
    expect(bySubject(dualStack, "host colon port").mailFrom).toBe("ann@example.test");
    expect(bySubject(dualStack, "server from env").mailFrom).toBe("ann@example.test");
    const caps = await smtpkit(["capabilities", `127.0.0.1:${dualStack.port}`, "--tls", "none", "--json"]);
    expect(caps.code).toBe(0);
    expect(JSON.parse(caps.stdout)).toMatchObject({ server: "127.0.0.1", port: dualStack.port });
  });

  it("two different ports on the command line, or a bad one, are usage errors", async () => {
    const both = await smtpkit(["send", "--server", `127.0.0.1:${dualStack.port}`, "--port", "2525", ...message("never")]);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain("name different ports");
    const bad = await smtpkit(["send", "--server", "127.0.0.1:smtp", ...message("never")]);
    expect(bad.code).toBe(1);
    expectCleanError(bad.stderr, "usage");
  });

  it("a self-signed certificate: the error shows its SHA-256 fingerprint and the pin option, which then works", async () => {
    const r = await smtpkit(["send", "--server", `127.0.0.1:${selfSigned.port}`, "--tls", "starttls", ...message("pinned")]);
    expect(r.code).toBe(4);
    expectCleanError(r.stderr, "273");
    expect(r.stderr).toContain(`server certificate SHA-256 fingerprint: ${selfSignedFingerprint256}`);
    const pin = /--pin-cert ([0-9A-F:]+)/.exec(r.stderr)?.[1];
    expect(pin).toBe(selfSignedFingerprint256);
    const pinned = await smtpkit(["send", "--server", `127.0.0.1:${selfSigned.port}`, "--tls", "starttls", "--pin-cert", pin ?? "", ...message("pinned")]);
    expect(pinned.stderr).toBe("");
    expect(pinned.code).toBe(0);
    expect(bySubject(selfSigned, "pinned").secure).toBe(true);
  });

  it("capabilities shows an untrusted certificate's details and says it is not trusted", async () => {
    const required = await smtpkit(["capabilities", "127.0.0.1", "--port", String(selfSigned.port), "--tls", "starttls"]);
    expect(required.code).toBe(4);
    expect(required.stdout).toMatch(/^\s+subject\s+.*CN=/m);
    expect(required.stdout).toMatch(/^\s+issuer\s+/m);
    expect(required.stdout).toMatch(/^\s+valid\s+\d{4}-\d\d-\d\dT.* \.\. \d{4}-/m);
    expect(required.stdout).toContain(`sha256   ${selfSignedFingerprint256}`);
    expect(required.stdout).toMatch(/trusted\s+NO: self-signed certificate/);
    expectCleanError(required.stderr, "273");
    expect(required.stderr).toContain(`--pin-cert ${selfSignedFingerprint256}`);

    const opportunistic = await smtpkit(["capabilities", "127.0.0.1", "--port", String(selfSigned.port), "--json"]);
    expect(opportunistic.code).toBe(0);
    const report = JSON.parse(opportunistic.stdout) as { certificateTrusted: boolean; certificateStatus: string; certificates: { fingerprint256: string }[] };
    expect(report.certificateTrusted).toBe(false);
    expect(report.certificateStatus).toMatch(/self-signed/);
    expect(report.certificates[0]?.fingerprint256).toBe(selfSignedFingerprint256);

    const trusted = await smtpkit(["capabilities", "127.0.0.1", "--port", String(tls.port), "--ca", tlsFixtures.caCert]);
    expect(trusted.code).toBe(0);
    expect(trusted.stdout).toMatch(/trusted\s+yes \(OK\)/);
  });
});

describe.concurrent("progress", () => {
  /** A file that makes a message of about `mib` MiB. */
  const bigFile = (name: string, mib: number): string => file(name, Buffer.alloc(mib * 1024 * 1024, "smtpkit progress line\n"));
  const to = (port: number): string[] => ["--server", `127.0.0.1:${port}`, "--tls", "none", "--from", "ann@example.test", "--to", "bob@example.test"];

  it("in a log (--progress, stderr a pipe): rate and ETA while sending, 100 % once the server took it", async () => {
    const r = await smtpkit(["send", ...to(slowReader.port), "--subject", "slow", "--body", "x", "--attach", bigFile("slow.txt", 24), "--progress"]);
    expect(r.code).toBe(0);
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    expect(lines.some((l) => /^\[#*-+\]\s+\d+% [\d.]+ MiB of ~?[\d.]+ MiB, [\d.]+ [KM]iB\/s, ETA \d+:\d\d$/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^\[#{30}\] 100% [\d.]+ MiB sent, [\d.]+ [KM]iB\/s$/);
    expect(lines.slice(0, -1).some((l) => l.includes("100%"))).toBe(false);
  });

  it("after Ctrl-C it never shows 100 %, even when every byte was written (exit code 130)", async () => {
    const messageIn = new Promise<void>((resolve) => (messageInNeverAnswered = resolve));
    const r = await smtpkit(["send", ...to(neverAnswers.port), "--subject", "interrupted", "--body", "x", "--attach", bigFile("interrupt.txt", 2), "--progress"], {
      // Ctrl-C once every byte is in and the client waits for an answer that never comes.
      onSpawn: (child) => void messageIn.then(() => child.kill("SIGINT")),
    });
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/\d+% interrupted after [\d.]+ MiB\n/);
    expect(r.stderr).not.toContain("100%");
    expectCleanError(r.stderr, "301");
  });

  it("on a terminal, trace lines never land on the bar's line", async () => {
    const r = await smtpkitOnTerminal(["send", ...to(plain.port), "--subject", "terminal progress", "--body", "x", "--attach", bigFile("terminal.txt", 3), "--trace"], "", "");
    expect(r.code).toBe(0);
    // What stays on the screen: each line from its last carriage return, without the erase codes.
    const visible = r.stdout.split("\n").map((line) => (line.replace(/\r$/, "").split("\r").at(-1) ?? "").replaceAll("\x1b[K", ""));
    const bars = visible.filter((l) => /^\[[#-]+\]/.test(l));
    expect(bars.at(-1)).toMatch(/100% [\d.]+ MiB sent/);
    expect(visible.filter((l) => /^\[[#-]+\]/.test(l) && /[CS]: /.test(l))).toEqual([]);
    expect(visible.some((l) => /^S: 250 .*queued/i.test(l) || /^S: 250 /.test(l))).toBe(true);
    expect(r.stdout).toMatch(/\r\x1b\[KS: 250 /);
  });
});

describe.concurrent("--profile", () => {
  /** Shared lines, then [default], [work] (the plain server) and [tls] (the STARTTLS one, with a login). */
  // A file per call: the tests run at the same time and must not read one while another rewrites it.
  let written = 0;
  const config = (): string =>
    file(`profiles-${++written}.conf`, [
      "# shared by every profile",
      "server = 127.0.0.1",
      "Hello = shared.test",
      "",
      "[default]",
      `port = ${plain.port}`,
      "tls = none",
      "from = default@example.test",
      "",
      "[work]",
      `port = ${plain.port}`,
      "tls = none",
      "from = work@example.test",
      "",
      "[tls]",
      `port = ${tls.port}`,
      `ca = ${tlsFixtures.caCert}`,
      "user = ann",
      "password-env = DAILY_PW",
      "from = tls@example.test",
      "",
    ].join("\n"));
  const send = (subject: string): string[] => ["send", "--config-file", config(), "--to", "bob@example.test", "--subject", subject, "--body", "x", "--trace"];

  it("without --profile the [default] section applies, with the shared lines", async () => {
    const r = await smtpkit(send("profile default"));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("C: EHLO shared.test");
    expect(bySubject(plain, "profile default").mailFrom).toBe("default@example.test");
  });

  it("--profile NAME (or SMTPKIT_PROFILE) picks a section; the command line still wins", async () => {
    const work = await smtpkit([...send("profile work"), "--profile", "work"]);
    expect(work.code).toBe(0);
    expect(bySubject(plain, "profile work").mailFrom).toBe("work@example.test");
    const login = await smtpkit(send("profile tls"), { env: { SMTPKIT_PROFILE: "tls", DAILY_PW: PASSWORD } });
    expect(login.code).toBe(0);
    expect(login.stderr).toContain("C: EHLO shared.test");
    expect(bySubject(tls, "profile tls")).toMatchObject({ mailFrom: "tls@example.test", user: "ann", secure: true });
    const override = await smtpkit([...send("profile override"), "--profile", "work", "--from", "cli@example.test"]);
    expect(override.code).toBe(0);
    expect(bySubject(plain, "profile override").mailFrom).toBe("cli@example.test");
  });

  it("an unknown profile is a usage error listing the known ones (6 when it comes from SMTPKIT_PROFILE)", async () => {
    const r = await smtpkit([...send("never"), "--profile", "wrok"]);
    expect(r.code).toBe(1);
    expectCleanError(r.stderr, "usage");
    expect(r.stderr).toContain('unknown profile "wrok"');
    expect(r.stderr).toContain('"default", "work", "tls"');
    const env = await smtpkit(send("never"), { env: { SMTPKIT_PROFILE: "nope" } });
    expect(env.code).toBe(6);
    expect(env.stderr).toContain("SMTPKIT_PROFILE: unknown profile");
    const none = await smtpkit(["send", "--profile", "work", "--server", "127.0.0.1", "--from", "a@example.test", "--to", "b@example.test", "--body", "x"]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no config file");
  });

  it("JSON: \"profiles\": { name: { ... } }", async () => {
    const json = file("profiles.json", JSON.stringify({
      server: "127.0.0.1",
      tls: "none",
      profiles: { work: { port: plain.port, from: "json-work@example.test", config: { Hello: "json.test" } } },
    }));
    const r = await smtpkit(["send", "--config-file", json, "--profile", "work", "--to", "bob@example.test", "--subject", "json profile", "--body", "x", "--trace"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("C: EHLO json.test");
    expect(bySubject(plain, "json profile").mailFrom).toBe("json-work@example.test");
  });
});

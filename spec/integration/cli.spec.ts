/**
 * The smtpkit command, driven as a user drives it: `node bin/smtpkit.mjs ...`
 * in a child process (dist/ must be built: `npm test` runs after the build),
 * against SMTP servers in this process on 127.0.0.1.
 *
 * Every run gets an environment without SMTPKIT_* variables, NO_COLOR set,
 * and HOME pointing to an empty directory (so no ~/.smtpkitrc of the machine
 * leaks in), plus whatever the test adds.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bySubject, cliRunner, fileIn } from "../support/cli-runner.js";
import { headerMap, rawText, startSmtpServer, type Harness } from "../support/smtp-server-harness.js";
import { closedPort, lineServer, type TcpServer } from "../support/tcp-server.js";
import { tlsFixtures } from "../support/tls-fixtures.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PASSWORD = "pw-Geheim-42";

let home: string;
let work: string;
const smtpkit = cliRunner(ROOT, () => home).run;

const file = (name: string, content: string | Buffer): string => fileIn(work, name, content);

/** The user-facing error block: `error <code>: ...`, never a stack trace. */
function expectCleanError(stderr: string, code: string | RegExp): void {
  expect(stderr).toMatch(typeof code === "string" ? new RegExp(`^error ${code}: `, "m") : code);
  expect(stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
}

let plain: Harness;
let tls: Harness;
let scripted: TcpServer;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "smtpkit-cli-home-"));
  work = mkdtempSync(join(tmpdir(), "smtpkit-cli-work-"));
  plain = await startSmtpServer();
  tls = await startSmtpServer({ mode: "starttls", authMethods: ["PLAIN", "LOGIN"], users: { ann: PASSWORD }, extra: { size: 5 * 1024 * 1024 } });
  // VRFY / EXPN are answered by a script: smtp-server does not implement them.
  scripted = await lineServer({
    onConnect: (conn) => conn.reply("220 scripted.test ESMTP"),
    onLine: (line, conn) => {
    const [verb = "", arg = ""] = line.split(" ", 2);
    switch (verb.toUpperCase()) {
      case "EHLO":
        return conn.reply("250-scripted.test\r\n250-ENHANCEDSTATUSCODES\r\n250 VRFY");
      case "VRFY":
        return conn.reply(arg === "ann" ? "250 2.1.5 Ann Example <ann@example.test>" : "550 5.1.1 no such user here");
      case "EXPN":
        return conn.reply(arg === "staff" ? "250-2.1.5 Ann Example <ann@example.test>\r\n250 2.1.5 Bob <bob@example.test>" : "550 5.1.1 no such list");
      case "QUIT":
        conn.reply("221 2.0.0 bye");
        return conn.end();
      default:
        return conn.reply("502 5.5.2 not implemented");
    }
    },
  });
});

afterAll(async () => {
  await Promise.all([plain?.close(), tls?.close(), scripted?.close()]);
  rmSync(home, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** The options that reach the plain harness. */
const server = (): string[] => ["--server", "127.0.0.1", "--port", String(plain.port), "--tls", "none"];

describe.concurrent("smtpkit send", () => {
  it("sends a body read from stdin (--body-file -)", async () => {
    const ok = await smtpkit(["send", ...server(), "--from", "Ann <ann@example.test>", "--to", "bob@example.test", "--subject", "stdin body", "--body-file", "-"], {
      input: "Hello from stdin\n.a line that starts with a dot\n",
    });
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^sent: 250 /);
    const m = bySubject(plain, "stdin body");
    expect(m.mailFrom).toBe("ann@example.test");
    expect(m.rcptTo).toEqual(["bob@example.test"]);
    expect(rawText(m)).toContain("\r\n\r\nHello from stdin\r\n.a line that starts with a dot\r\n");
  });

  it("sends a body from a file to repeated --to / --cc / --bcc with extra headers", async () => {
    const body = file("body.txt", "Grüße aus der Datei\n");
    const r = await smtpkit([
      "send", ...server(), "--from", "ann@example.test",
      "--to", "bob@example.test", "--to", "carol@example.test, dan@example.test", "--cc", "erin@example.test", "--bcc", "hidden@example.test",
      "--subject", "file body", "--body-file", body, "--header", "X-Ticket: 4711", "-H", "X-Source: cli",
    ]);
    expect(r.code).toBe(0);
    const m = bySubject(plain, "file body");
    expect(m.rcptTo).toEqual(["bob@example.test", "carol@example.test", "dan@example.test", "erin@example.test", "hidden@example.test"]);
    const headers = headerMap(m);
    expect(headers.get("x-ticket")).toEqual(["4711"]);
    expect(headers.get("x-source")).toEqual(["cli"]);
    expect(headers.get("to")?.[0]).toContain("carol@example.test");
    expect(rawText(m)).not.toContain("hidden@example.test");
    expect(rawText(m)).toContain("Grüße aus der Datei");
  });

  it("attaches a file and prints the SendResult as JSON", async () => {
    const data = randomBytes(3000);
    const attachment = file("data.bin", data);
    const r = await smtpkit(["send", ...server(), "--from", "ann@example.test", "--to", "bob@example.test", "--subject", "with attachment", "--body", "see attached", "--attach", attachment, "--json"]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { accepted: string[]; rejected: unknown[]; replyCode: number; messageBytes: number; enhancedStatus: unknown };
    expect(result.accepted).toEqual(["bob@example.test"]);
    expect(result.rejected).toEqual([]);
    expect(result.replyCode).toBe(250);
    expect(result.messageBytes).toBeGreaterThan(4000);
    expect(result).toHaveProperty("enhancedStatus");
    const text = rawText(bySubject(plain, "with attachment"));
    expect(text).toMatch(/multipart\/mixed/i);
    expect(text).toContain("data.bin");
    expect(text.replace(/\r\n/g, "")).toContain(data.toString("base64").slice(0, 76));
  });

  it("--trace prints the conversation on stderr (C: / S:), in colour with --color", async () => {
    const r = await smtpkit(["send", ...server(), "--from", "ann@example.test", "--to", "bob@example.test", "--subject", "traced", "--body", "x", "--trace"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("C: MAIL FROM:<ann@example.test>");
    expect(r.stderr).toContain("C: RCPT TO:<bob@example.test>");
    expect(r.stderr).toMatch(/^S: 250 /m);
    expect(r.stderr).not.toContain("\x1b[");
    expect(r.stdout).not.toContain("MAIL FROM");
    const coloured = await smtpkit(["send", ...server(), "--from", "ann@example.test", "--to", "bob@example.test", "--subject", "traced in colour", "--body", "x", "--trace", "--color"]);
    expect(coloured.code).toBe(0);
    expect(coloured.stderr).toContain("\x1b[36mC: MAIL FROM:<ann@example.test>");
  });

  it("logs in over STARTTLS with the password from --password-env; the trace never shows it", async () => {
    const r = await smtpkit(
      ["send", "--server", "127.0.0.1", "--port", String(tls.port), "--ca", tlsFixtures.caCert, "--user", "ann", "--password-env", "CLI_TEST_PW", "--auth", "plain",
        "--from", "ann@example.test", "--to", "bob@example.test", "--subject", "authenticated", "--body", "x", "--trace"],
      { env: { CLI_TEST_PW: PASSWORD } },
    );
    expect(r.stderr).toContain("C: STARTTLS");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("C: AUTH PLAIN");
    expect(r.stderr).not.toContain(PASSWORD);
    expect(r.stderr).not.toContain(Buffer.from(`\0ann\0${PASSWORD}`).toString("base64"));
    const attempt = tls.auths.find((a) => a.password === PASSWORD && a.method === "PLAIN");
    expect(attempt).toMatchObject({ method: "PLAIN", username: "ann", password: PASSWORD, secure: true, accepted: true });
  });

  it("takes the password from SMTPKIT_PASSWORD and the server from the other SMTPKIT_* variables", async () => {
    const r = await smtpkit(["send", "--to", "bob@example.test", "--subject", "from the environment", "--body", "x"], {
      env: {
        SMTPKIT_SERVER: "127.0.0.1",
        SMTPKIT_PORT: String(tls.port),
        SMTPKIT_TLS: "starttls",
        SMTPKIT_CA: tlsFixtures.caCert,
        SMTPKIT_USER: "ann",
        SMTPKIT_PASSWORD: PASSWORD,
        SMTPKIT_FROM: "env-sender@example.test",
      },
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(tls.received.find((m) => m.mailFrom === "env-sender@example.test")).toMatchObject({ secure: true, user: "ann" });
  });

  it("reads a config file: Name=Value lines, option keys and settings; options > environment > file", async () => {
    const config = file("smtpkit.conf", [
      "# test configuration",
      "server = 127.0.0.1",
      `port = ${plain.port}`,
      "tls = none",
      "from = file@example.test",
      "Hello = cli-config.test",
      "",
    ].join("\n"));
    const fromFile = await smtpkit(["send", "--config-file", config, "--to", "bob@example.test", "--subject", "config file", "--body", "x", "--trace"]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stderr).toContain("C: EHLO cli-config.test");
    expect(bySubject(plain, "config file").mailFrom).toBe("file@example.test");

    const env = { SMTPKIT_FROM: "env@example.test", SMTPKIT_CONFIG_FILE: config };
    expect((await smtpkit(["send", "--to", "bob@example.test", "--subject", "env over file", "--body", "x"], { env })).code).toBe(0);
    expect(bySubject(plain, "env over file").mailFrom).toBe("env@example.test");
    expect((await smtpkit(["send", "--from", "cli@example.test", "--to", "bob@example.test", "--subject", "option over env", "--body", "x"], { env })).code).toBe(0);
    expect(bySubject(plain, "option over env").mailFrom).toBe("cli@example.test");
  });

  it("reads ~/.smtpkitrc as JSON when it exists", async () => {
    const ownHome = mkdtempSync(join(tmpdir(), "smtpkit-cli-rc-"));
    try {
      writeFileSync(join(ownHome, ".smtpkitrc"), JSON.stringify({ server: "127.0.0.1", port: plain.port, tls: "none", from: "rc@example.test", config: { Hello: "rc.test" } }));
      const r = await smtpkit(["send", "--to", "bob@example.test", "--subject", "rc file", "--body", "x", "--trace"], { env: { HOME: ownHome } });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("C: EHLO rc.test");
      expect(bySubject(plain, "rc file").mailFrom).toBe("rc@example.test");
    } finally {
      rmSync(ownHome, { recursive: true, force: true });
    }
  });

  it("shows a progress bar for a message over 1 MiB (--progress when stderr is not a terminal)", async () => {
    const big = file("big.bin", randomBytes(1536 * 1024));
    const r = await smtpkit(["send", ...server(), "--from", "ann@example.test", "--to", "bob@example.test", "--subject", "big", "--body", "x", "--attach", big, "--progress"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^\[#+-+\]\s+\d+% \d/m);
    expect(r.stderr).toMatch(/\[#{30}\] 100% /);
    const small = await smtpkit(["send", ...server(), "--from", "ann@example.test", "--to", "bob@example.test", "--subject", "small", "--body", "x", "--progress"]);
    expect(small.stderr).toBe("");
  });

  it("exit code 7 for a partial delivery (--allow-partial)", async () => {
    const r = await smtpkit(["send", ...server(), "--from", "ann@example.test", "--to", "bob@example.test", "--to", "reject-me@example.test", "--subject", "partial", "--body", "x", "--allow-partial", "--json"]);
    expect(r.code).toBe(7);
    const result = JSON.parse(r.stdout) as { accepted: string[]; rejected: { address: string; replyCode: number }[] };
    expect(result.accepted).toEqual(["bob@example.test"]);
    expect(result.rejected).toMatchObject([{ address: "reject-me@example.test", replyCode: 550 }]);
    expect(r.stderr).toContain("partial delivery");
  });
});

describe.concurrent("exit codes and error messages", () => {
  it("2 when the server refuses a recipient, with the server's reply", async () => {
    const r = await smtpkit(["send", ...server(), "--from", "ann@example.test", "--to", "reject-me@example.test", "--body", "x"]);
    expect(r.code).toBe(2);
    expectCleanError(r.stderr, /^error \d+: /m);
    expect(r.stderr).toMatch(/server: 550 /);
    expect(r.stderr).toContain("reject-me@example.test");
  });

  it("3 when nothing listens on the port", async () => {
    const port = await closedPort();
    const r = await smtpkit(["send", "--server", "127.0.0.1", "--port", String(port), "--from", "ann@example.test", "--to", "bob@example.test", "--body", "x"]);
    expect(r.code).toBe(3);
    expectCleanError(r.stderr, "10061");
  });

  it("4 when the server's certificate is not trusted", async () => {
    const r = await smtpkit(["send", "--server", "127.0.0.1", "--port", String(tls.port), "--tls", "starttls", "--from", "ann@example.test", "--to", "bob@example.test", "--body", "x"]);
    expect(r.code).toBe(4);
    expectCleanError(r.stderr, /^error 27\d: /m);
    expect(r.stderr).toMatch(/hint: /);
  });

  it("5 when the server refuses the credentials", async () => {
    const r = await smtpkit(
      ["send", "--server", "127.0.0.1", "--port", String(tls.port), "--ca", tlsFixtures.caCert, "--user", "ann", "--password-env", "CLI_TEST_PW", "--from", "ann@example.test", "--to", "bob@example.test", "--body", "x"],
      { env: { CLI_TEST_PW: "wrong-password" } },
    );
    expect(r.code).toBe(5);
    expectCleanError(r.stderr, /^error \d+: /m);
    expect(r.stderr).toMatch(/server: 535 /);
    expect(r.stderr).not.toContain("wrong-password");
  });

  it("6 for a bad address, a missing file or a missing password variable", async () => {
    const bad = await smtpkit(["send", ...server(), "--from", "ann@example.test", "--to", "not an address", "--body", "x"]);
    expect(bad.code).toBe(6);
    expectCleanError(bad.stderr, "604");

    const missing = await smtpkit(["send", ...server(), "--from", "ann@example.test", "--to", "bob@example.test", "--attach", join(work, "no-such-file.pdf")]);
    expect(missing.code).toBe(6);
    expectCleanError(missing.stderr, "302");
    expect(missing.stderr).toContain("no such file");

    const unset = await smtpkit(["send", ...server(), "--user", "ann", "--password-env", "CLI_TEST_UNSET_VARIABLE", "--from", "ann@example.test", "--to", "bob@example.test"]);
    expect(unset.code).toBe(6);
    expect(unset.stderr).toContain("CLI_TEST_UNSET_VARIABLE is not set");
  });

  it("1 for usage errors: unknown option, bad --tls value, no recipient, no command", async () => {
    const unknown = await smtpkit(["send", "--form", "ann@example.test"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error usage: unknown option '--form'/m);
    expect(unknown.stderr).toContain("--from");

    const tlsMode = await smtpkit(["send", ...server().slice(0, 4), "--tls", "sometimes", "--from", "a@example.test", "--to", "b@example.test"]);
    expect(tlsMode.code).toBe(1);
    expectCleanError(tlsMode.stderr, "usage");
    // A built-in object name is not a mode either.
    const inherited = await smtpkit(["send", ...server().slice(0, 4), "--tls", "constructor", "--from", "a@example.test", "--to", "b@example.test"]);
    expect(inherited.code).toBe(1);
    expect(inherited.stderr).toContain('unknown TLS mode "constructor"');

    const noRecipient = await smtpkit(["send", ...server(), "--from", "ann@example.test", "--body", "x"]);
    expect(noRecipient.code).toBe(1);
    expect(noRecipient.stderr).toContain("no recipient");

    const none = await smtpkit([]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("Usage: smtpkit");
  });

  it("prints the stack only with --debug", async () => {
    const r = await smtpkit(["send", ...server(), "--from", "ann@example.test", "--to", "not an address", "--debug"]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  });
});

describe.concurrent("smtpkit capabilities", () => {
  it("shows EHLO, STARTTLS, TLS version / cipher, the certificate, AUTH and SIZE", async () => {
    const r = await smtpkit(["capabilities", "127.0.0.1", "--port", String(tls.port), "--ca", tlsFixtures.caCert]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/STARTTLS\s+offered, in use/);
    expect(r.stdout).toMatch(/version\s+TLSv1\.[23]/);
    expect(r.stdout).toMatch(/cipher\s+TLS_\w+/);
    expect(r.stdout).toMatch(/subject\s+.*CN=localhost$/m);
    expect(r.stdout).toMatch(/issuer\s+.*CN=smtpkit test CA/);
    expect(r.stdout).toMatch(/valid\s+\d{4}-\d\d-\d\dT.* \.\. \d{4}-/);
    expect(r.stdout).toMatch(/^ {2}PLAIN LOGIN$/m);
    expect(r.stdout).toMatch(/^ {2}SIZE 5242880$/m);
    expect(r.stdout).toContain("5242880 bytes (5.0 MiB)");

    const json = await smtpkit(["caps", "127.0.0.1", "--port", String(tls.port), "--config", `SSLCACerts=${tlsFixtures.caCert}`, "--json"]);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { startTls: string; tls: { version: string }; certificates: { subject: string }[]; auth: string[]; sizeLimit: number };
    expect(report).toMatchObject({ startTls: "offered", auth: ["PLAIN", "LOGIN"], sizeLimit: 5242880 });
    expect(report.tls.version).toMatch(/^TLSv1\.[23]$/);
    expect(report.certificates[0]?.subject).toMatch(/CN=localhost$/);
  });

  it("--tls none shows STARTTLS offered but not used; an untrusted certificate is shown in auto mode (opportunistic TLS) and exit code 4 when TLS is required", async () => {
    const clear = await smtpkit(["capabilities", "127.0.0.1", "--port", String(tls.port), "--tls", "none"]);
    expect(clear.code).toBe(0);
    expect(clear.stdout).toMatch(/STARTTLS\s+offered, not used/);
    const opportunistic = await smtpkit(["capabilities", "127.0.0.1", "--port", String(tls.port)]);
    expect(opportunistic.code).toBe(0);
    expect(opportunistic.stdout).toMatch(/subject\s+.*CN=localhost/);
    const untrusted = await smtpkit(["capabilities", "127.0.0.1", "--port", String(tls.port), "--tls", "starttls"]);
    expect(untrusted.code).toBe(4);
    expectCleanError(untrusted.stderr, "273");
  });
});

describe.concurrent("smtpkit verify / expand", () => {
  const at = (): string[] => ["--server", "127.0.0.1", "--port", String(scripted.port), "--tls", "none"];

  it("verify prints the server's answer; a refusal is exit code 2", async () => {
    const ok = await smtpkit(["verify", "ann", ...at()]);
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toBe("250 2.1.5 Ann Example <ann@example.test>");
    const refused = await smtpkit(["verify", "nobody", ...at()]);
    expect(refused.code).toBe(2);
    expectCleanError(refused.stderr, /^error \d+: .*nobody/m);
    expect(refused.stderr).toContain("server: 550 5.1.1 no such user here");
    expect(scripted.lines).toContain("VRFY nobody");
  });

  it("expand prints one member per line (or JSON)", async () => {
    const r = await smtpkit(["expand", "staff", ...at()]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["Ann Example <ann@example.test>", "Bob <bob@example.test>"]);
    const json = await smtpkit(["expand", "staff", ...at(), "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ list: "staff", members: ["Ann Example <ann@example.test>", "Bob <bob@example.test>"] });
  });
});

describe.concurrent("smtpkit queue / process-queue", () => {
  it("queues messages, then sends them with a summary of sent / partial files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "smtpkit-cli-queue-"));
    try {
      const one = await smtpkit(["queue", dir, "--from", "shop@example.test", "--to", "q1@example.test", "--subject", "queued one", "--body", "first"]);
      expect(one.code).toBe(0);
      const path1 = one.stdout.trim();
      expect(path1).toMatch(/\.queued$/);
      const two = await smtpkit(["queue", dir, "--from", "shop@example.test", "--to", "q2@example.test", "--to", "reject-q@example.test", "--subject", "queued two", "--body-file", "-"], { input: "second\n" });
      expect(two.code).toBe(0);
      const path2 = two.stdout.trim();
      expect(readdirSync(dir).sort()).toEqual([basename(path1), basename(path2)].sort());

      // As send(): a refused To stops its message unless StopOnToErrors is false; then the others get it (partial).
      const r = await smtpkit(["process-queue", dir, ...server(), "--progress", "--config", "StopOnToErrors=false"]);
      expect(r.code).toBe(7);
      expect(r.stdout).toMatch(new RegExp(`^ {2}sent\\s+1\\s+${basename(path1).replace(".", "\\.")}$`, "m"));
      expect(r.stdout).toMatch(new RegExp(`^ {2}partial\\s+1\\s+${basename(path2).replace(".", "\\.")}$`, "m"));
      expect(r.stdout).toMatch(/^ {2}deferred\s+0\s+-$/m);
      expect(r.stdout).toMatch(/^ {2}failed\s+0\s+-$/m);
      expect(r.stderr).toMatch(/\[#{30}\] 100% 2\/2 /);
      expect(bySubject(plain, "queued one").rcptTo).toEqual(["q1@example.test"]);
      expect(rawText(bySubject(plain, "queued two"))).toContain("second");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("queue refuses a directory that does not exist (exit code 6)", async () => {
    const r = await smtpkit(["queue", join(work, "no-such-dir"), "--from", "shop@example.test", "--to", "q1@example.test", "--body", "x"]);
    expect(r.code).toBe(6);
    expectCleanError(r.stderr, "302");
  });
});

describe.concurrent("smtpkit demo, help, version", () => {
  it("demo sends through the embedded server and prints the trace", async () => {
    const r = await smtpkit(["demo"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("C: MAIL FROM:<demo@sender.test>");
    expect(r.stdout).toMatch(/^S: 250 OK: queued as demo-1$/m);
    expect(r.stdout).toContain("Decoded by mailparser");
    expect(r.stdout).toContain("Done: the message was delivered to the embedded server.");
  });

  it("--help lists the commands and the exit codes; --version prints the package version", async () => {
    const help = await smtpkit(["--help"]);
    expect(help.code).toBe(0);
    for (const command of ["send", "capabilities", "verify", "expand", "queue", "process-queue", "demo"]) expect(help.stdout).toMatch(new RegExp(`^ {2}${command}\\b`, "m"));
    expect(help.stdout).toContain("Exit codes:");
    const version = await smtpkit(["--version"]);
    expect(version.code).toBe(0);
    const pkg = JSON.parse((await import("node:fs")).readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(version.stdout.trim()).toBe(pkg.version);
  });
});

/**
 * The package as a user gets it: `npm pack`, then `npm install <tarball>` into
 * fresh projects in a temporary directory (outside the repository, so nothing
 * resolves from its node_modules), each sending a real message to an
 * smtp-server on 127.0.0.1:
 *
 *  - JavaScript: an ES module (.mjs, import) and a CommonJS script (.cjs,
 *    require), without @types/node;
 *  - TypeScript, compiled with the repository's tsc (TypeScript 7) with its
 *    defaults (strict, no "types" listed) plus `module: node16` (CommonJS:
 *    the require declarations) or `moduleResolution: bundler` (the import
 *    declarations), skipLibCheck off so our .d.ts files are checked too;
 *  - every ```ts block of README.md compiled against the package (each block
 *    is a complete module), and files that must NOT compile (a misspelt
 *    option or setting, an out-of-range enum value).
 *
 * Determinism: the tarball is packed from a private build (scripts/build.mjs
 * --out) of the working tree in a staging copy of the package's files, so a
 * concurrent `npm run build` cannot change dist/ under it; the install runs
 * --offline, the dependencies copied from the repository's node_modules (the
 * versions the lock file chose), so it needs no registry.
 */
import { execFile, execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisPeer } from "../support/peers/redis.js";
import { startSmtpServer, type Harness } from "../support/smtp-server-harness.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const run = promisify(execFile);
/** The environment without the npm_* variables of an enclosing `npm test`, which would configure the inner npm. */
const cleanEnv: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

interface Manifest {
  name: string;
  files: string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

let tmp = "";
let tarball = "";
let server: Harness;

/** Writes `files` (path -> text) under `dir`. */
function write(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

/** The folders under node_modules (relative to ROOT) of `names` and everything they depend on, as Node would find them from ROOT. */
function dependencyDirs(names: string[]): string[] {
  const found = new Set<string>();
  const visit = (name: string, from: string, optional = false): void => {
    // Node's lookup: <dir>/node_modules/<name> from the requiring package up to ROOT.
    for (let dir = from; ; dir = dirname(dir)) {
      const candidate = join(dir, "node_modules", name);
      if (basename(dir) !== "node_modules" && existsSync(join(candidate, "package.json"))) {
        const rel = relative(ROOT, candidate);
        if (found.has(rel)) return;
        found.add(rel);
        const manifest = JSON.parse(readFileSync(join(candidate, "package.json"), "utf8")) as Manifest;
        for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, candidate);
        // npm resolves optional dependencies too (msgpackr's native helper); those not installed here (other platforms) it skips.
        for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dep, candidate, true);
        return;
      }
      if (relative(ROOT, dir) === "" || dir === dirname(dir)) {
        if (optional) return;
        throw new Error(`${name} is not installed in ${ROOT}node_modules`);
      }
    }
  };
  for (const name of names) visit(name, ROOT.replace(/\/$/, ""));
  return [...found].sort();
}

/** A fresh project: package.json, its dependencies copied from the repository, then `npm install --offline <tarball>`. */
async function project(name: string, devDependencies: string[]): Promise<string> {
  const dir = join(tmp, name);
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Manifest;
  const versionOf = (dep: string): string => (JSON.parse(readFileSync(join(ROOT, "node_modules", dep, "package.json"), "utf8")) as { version: string }).version;
  write(dir, { "package.json": JSON.stringify({ name, version: "1.0.0", private: true, devDependencies: Object.fromEntries(devDependencies.map((d) => [d, versionOf(d)])) }, null, 2) });
  for (const rel of dependencyDirs([...Object.keys(pkg.dependencies ?? {}), ...devDependencies])) {
    cpSync(join(ROOT, rel), join(dir, rel), { recursive: true, dereference: true });
  }
  await run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", tarball], { cwd: dir, env: cleanEnv, timeout: 120_000 });
  return dir;
}

/** Runs a program of a project, which sends to the test server; returns its stdout. */
async function send(cwd: string, file: string): Promise<string> {
  const { stdout } = await run(process.execPath, [file], { cwd, env: { ...cleanEnv, SMTP_PORT: String(server.port) }, timeout: 30_000 });
  return stdout.trim();
}

/** tsc -p in `cwd`: exit code and output (tsc prints its diagnostics on stdout). */
async function tsc(cwd: string, config = "tsconfig.json"): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [TSC, "-p", config], { cwd, timeout: 120_000 });
    return { code: 0, output: stdout + stderr };
  } catch (e) {
    const failure = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failure.code === "number" ? failure.code : -1, output: `${failure.stdout ?? ""}${failure.stderr ?? ""}` };
  }
}

const subjects = (): string[] => server.received.map((m) => m.subject).sort();

/** Sends with the plain TypeScript face: an options object; prints the SendResult's accepted list. */
const ESM_PROGRAM = (subject: string): string => `import { Smtp, SmtpError } from "smtpkit";

const smtp = new Smtp({
  mailServer: "127.0.0.1",
  mailPort: Number(process.env.SMTP_PORT),
  sslStartMode: 3,
  from: "consumer@example.com",
  sendTo: "ann@example.com",
  subject: ${JSON.stringify(subject)},
  messageText: "Hello from a consumer project.\\n",
});
try {
  const result = await smtp.send();
  console.log(JSON.stringify(result.accepted));
} catch (e) {
  console.error(e instanceof SmtpError ? \`\${e.code} \${e.message}\` : e);
  process.exit(1);
}
`;

beforeAll(async () => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), "smtpkit-consumer-")));
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Manifest;
  const stage = join(tmp, "stage");
  mkdirSync(stage);
  // The package's own files (its "files" list), with dist/ from a private build of the sources.
  for (const entry of ["package.json", ...pkg.files.filter((f) => f !== "dist/")]) {
    cpSync(join(ROOT, entry), join(stage, entry), { recursive: true });
  }
  execFileSync(process.execPath, [join(ROOT, "scripts/build.mjs"), "--out", join(stage, "dist")], { cwd: ROOT, stdio: "pipe" });
  // --ignore-scripts: prepack would build into the repository's dist/; the build above replaces it.
  const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", tmp], { cwd: stage, env: cleanEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })) as { filename: string }[];
  tarball = join(tmp, packed[0]?.filename ?? "missing.tgz");
  server = await startSmtpServer();
}, 180_000);

afterAll(async () => {
  await server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("the packed package in a JavaScript project (no @types/node)", { timeout: 120_000 }, () => {
  let dir = "";
  beforeAll(async () => {
    dir = await project("js-consumer", []);
  }, 180_000);

  it("installs offline without running any script, and links the smtpkit command", () => {
    const installed = JSON.parse(readFileSync(join(dir, "node_modules/smtpkit/package.json"), "utf8")) as { scripts?: Record<string, string> };
    expect(installed.scripts?.["prepare"]).toBeUndefined();
    expect(existsSync(join(dir, "node_modules/.bin/smtpkit"))).toBe(true);
    expect(existsSync(join(dir, "node_modules/smtpkit/LICENSE"))).toBe(true);
    expect(existsSync(join(dir, "node_modules/hash-wasm"))).toBe(false);
  });

  it("an ES module (import) sends a message", async () => {
    write(dir, { "send.mjs": ESM_PROGRAM("consumer esm") });
    expect(await send(dir, "send.mjs")).toBe('["ann@example.com"]');
    expect(subjects()).toContain("consumer esm");
  });

  it("a CommonJS script (require, IP*Works style) sends a message", async () => {
    write(dir, {
      "send.cjs": `const { smtp } = require("smtpkit");

const mailer = new smtp();
mailer.setMailServer("127.0.0.1");
mailer.setMailPort(Number(process.env.SMTP_PORT));
mailer.setSSLStartMode(3);
mailer.setFrom("consumer@example.com");
mailer.setSendTo("bob@example.com");
mailer.setSubject("consumer cjs");
mailer.setMessageText("Hello from require().\\n");
mailer.send().then(
  (result) => console.log(JSON.stringify(result.accepted)),
  (e) => { console.error(e.code, e.message); process.exit(1); },
);
`,
    });
    expect(await send(dir, "send.cjs")).toBe('["bob@example.com"]');
    expect(subjects()).toContain("consumer cjs");
  });

  it("without the optional peers bullmq and ioredis, a Redis URL is error 630 naming them (the core never loads them)", async () => {
    expect(existsSync(join(dir, "node_modules/bullmq"))).toBe(false);
    const program = (load: string): string => `${load}
const m = new Smtp({ from: "a@example.com", sendTo: "b@example.com", subject: "x", messageText: "y" });
m.queue("redis://127.0.0.1:1/0").then(
  () => { console.log("queued?!"); process.exit(1); },
  (e) => console.log(\`\${e.code} \${e.message}\`),
);
`;
    write(dir, { "redis.mjs": program('import { Smtp } from "smtpkit";'), "redis.cjs": program('const { Smtp } = require("smtpkit");') });
    const expected = "630 a Redis queue URL needs the bullmq package, which is not installed (npm install bullmq ioredis)";
    expect(await send(dir, "redis.mjs")).toBe(expected);
    expect(await send(dir, "redis.cjs")).toBe(expected);
  });
});

describe("the packed package with the optional peers bullmq and ioredis (the Redis outbox)", { timeout: 120_000 }, () => {
  let dir = "";
  let redis: RedisPeer;
  beforeAll(async () => {
    [dir, redis] = await Promise.all([project("redis-consumer", []), startRedis()]);
    // The peers as `npm install bullmq ioredis` leaves them (copied: the offline cache lacks what npm re-resolves for them).
    for (const rel of dependencyDirs(["bullmq", "ioredis"])) {
      if (!existsSync(join(dir, rel))) cpSync(join(ROOT, rel), join(dir, rel), { recursive: true, dereference: true });
    }
  }, 180_000);
  afterAll(async () => {
    await redis?.stop();
  });

  it("an ES module and a CommonJS script each queue to Redis and send the job", async () => {
    const body = `const url = process.env.REDIS_URL;
const producer = new Smtp({ from: "consumer@example.com", sendTo: "redis@example.com", subject: process.env.SUBJECT, messageText: "via Redis" });
const id = await producer.queue(url);
const worker = new Smtp({ mailServer: "127.0.0.1", mailPort: Number(process.env.SMTP_PORT), sslStartMode: 3 });
const result = await worker.processQueue(url);
console.log(JSON.stringify({ sent: result.sent.length === 1 && result.sent[0] === id }));`;
    write(dir, {
      "redis.mjs": `import { Smtp } from "smtpkit";\n${body}\n`,
      "redis.cjs": `const { Smtp } = require("smtpkit");\n(async () => {\n${body}\n})().catch((e) => { console.error(e.code, e.message); process.exit(1); });\n`,
    });
    for (const [file, subject, queue] of [["redis.mjs", "consumer redis esm", "esm"], ["redis.cjs", "consumer redis cjs", "cjs"]] as const) {
      const { stdout } = await run(process.execPath, [file], { cwd: dir, env: { ...cleanEnv, SMTP_PORT: String(server.port), REDIS_URL: redis.url(0, queue), SUBJECT: subject }, timeout: 30_000 });
      expect(stdout.trim()).toBe('{"sent":true}');
      expect(subjects()).toContain(subject);
    }
  });
});

describe("the packed package in TypeScript projects (tsc 7 defaults: strict, no \"types\")", { timeout: 120_000 }, () => {
  let dir = "";
  beforeAll(async () => {
    dir = await project("ts-consumer", ["@types/node"]);
  }, 180_000);

  it("module: node16 in a CommonJS package (the require declarations) compiles and sends", async () => {
    const cwd = join(dir, "node16");
    write(cwd, {
      "package.json": JSON.stringify({ type: "commonjs" }),
      "tsconfig.json": JSON.stringify({ compilerOptions: { module: "node16", target: "es2022", strict: true, outDir: "out", rootDir: "src" }, include: ["src"] }),
      "src/send.ts": `import { smtp, SmtpError, type SendResult } from "smtpkit";

async function main(): Promise<void> {
  const mailer = new smtp();
  mailer.setMailServer("127.0.0.1");
  mailer.setMailPort(Number(process.env["SMTP_PORT"]));
  mailer.sslStartMode = 3;
  mailer.setFrom("consumer@example.com");
  mailer.setSendTo("carol@example.com");
  mailer.setSubject("consumer ts node16");
  mailer.setMessageText(Buffer.from("Hello from TypeScript.\\n").toString());
  const result: SendResult = await mailer.send();
  console.log(JSON.stringify(result.accepted));
}

main().catch((e: unknown) => {
  console.error(e instanceof SmtpError ? e.code : e);
  process.exit(1);
});
`,
    });
    const compiled = await tsc(cwd);
    expect(compiled.output).toBe("");
    expect(compiled.code).toBe(0);
    expect(await send(cwd, "out/send.js")).toBe('["carol@example.com"]');
    expect(subjects()).toContain("consumer ts node16");
  });

  it("moduleResolution: bundler in an ES module package (the import declarations) compiles and sends", async () => {
    const cwd = join(dir, "bundler");
    write(cwd, {
      "package.json": JSON.stringify({ type: "module" }),
      "tsconfig.json": JSON.stringify({ compilerOptions: { module: "esnext", moduleResolution: "bundler", target: "es2022", strict: true, outDir: "out", rootDir: "src" }, include: ["src"] }),
      "src/send.ts": ESM_PROGRAM("consumer ts bundler"),
    });
    const compiled = await tsc(cwd);
    expect(compiled.output).toBe("");
    expect(compiled.code).toBe(0);
    expect(await send(cwd, "out/send.js")).toBe('["ann@example.com"]');
    expect(subjects()).toContain("consumer ts bundler");
  });

  it("every ```ts block of README.md compiles against the package", async () => {
    const blocks = [...readFileSync(join(ROOT, "README.md"), "utf8").matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? "");
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    const cwd = join(dir, "readme");
    write(cwd, {
      "package.json": JSON.stringify({ type: "module" }),
      "tsconfig.json": JSON.stringify({ compilerOptions: { module: "node16", target: "es2022", strict: true, noEmit: true }, include: ["*.ts"] }),
      ...Object.fromEntries(blocks.map((text, i) => [`readme-${i + 1}.ts`, `${text}export {};\n`])),
    });
    const compiled = await tsc(cwd);
    expect(compiled.output).toBe("");
    expect(compiled.code).toBe(0);
  });

  it("a misspelt option, a misspelt setting and an out-of-range enum value each fail to compile", async () => {
    const cwd = join(dir, "negative");
    const bad = {
      "misspelt-option.ts": [`new Smtp({ mailServr: "mail.example.com" })`, /error TS2561: .*'mailServr'.*Did you mean to write 'mailServer'\?/],
      "misspelt-setting.ts": [`new Smtp({ settings: { StopOnToErorrs: false } })`, /error TS\d+: .*'StopOnToErorrs'/],
      "ssl-start-mode.ts": [`new Smtp({ sslStartMode: 7 })`, /error TS2322: Type '7' is not assignable to type/],
    } as const;
    write(cwd, {
      "package.json": JSON.stringify({ type: "module" }),
      "tsconfig.json": JSON.stringify({ compilerOptions: { module: "node16", target: "es2022", strict: true, noEmit: true }, include: ["*.ts"] }),
      ...Object.fromEntries(Object.entries(bad).map(([file, [code]]) => [file, `import { Smtp } from "smtpkit";\n\nexport const smtp = ${code};\n`])),
    });
    const compiled = await tsc(cwd);
    expect(compiled.code).not.toBe(0);
    // One error per file, on the line of the mistake.
    expect(compiled.output.match(/error TS/g)).toHaveLength(Object.keys(bad).length);
    for (const [file, [, error]] of Object.entries(bad)) {
      const line = compiled.output.split("\n").find((l) => l.startsWith(`${file}(3,`));
      expect(line, file).toMatch(error);
    }
  });
});

/**
 * What `npm publish` would ship: the file list of `npm pack --dry-run`, the
 * package.json entry points, and whether the package loads as CommonJS and
 * as an ES module in a fresh Node process. Needs dist/ (`npm test` builds it
 * first, in `pretest`). Scripts are skipped (--ignore-scripts): `prepack` would
 * rebuild dist/ under the feet of the other test files.
 * spec/integration/consumer.spec.ts installs the packed tarball for real.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface PackedFile {
  path: string;
  mode: number;
}

interface PackageJson {
  name: string;
  version: string;
  license: string;
  sideEffects: boolean;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  main: string;
  types: string;
  type: string;
  bin: Record<string, string>;
  files: string[];
  engines: { node: string };
  exports: { ".": { import: { types: string; default: string }; require: { types: string; default: string } } };
}

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as PackageJson;
let files: PackedFile[] = [];
let paths: string[] = [];

beforeAll(() => {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const packed = JSON.parse(out) as { files: PackedFile[] }[];
  files = packed[0]?.files ?? [];
  paths = files.map((f) => f.path);
}, 60_000);

/** Runs a script in a new Node process from the repository root (where "smtpkit" resolves to this package). */
function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
}

describe("npm pack file list", () => {
  it("ships both builds with their declarations, the CLI, README, CHANGELOG and docs", () => {
    for (const path of [
      "package.json",
      "dist/esm/index.js",
      "dist/esm/index.d.ts",
      "dist/esm/package.json",
      "dist/cjs/index.js",
      "dist/cjs/index.d.ts",
      "dist/cjs/package.json",
      "dist/esm/cli/main.js",
      "bin/smtpkit.mjs",
      "README.md",
      "CHANGELOG.md",
      "LICENSE",
      "docs/api.md",
      "docs/errors.md",
      "docs/troubleshooting.md",
      "docs/cli.md",
    ]) {
      expect(paths, path).toContain(path);
    }
    expect(paths.filter((p) => p.startsWith("docs/")).length).toBeGreaterThan(3);
  });

  it("ships no sources, tests, scripts, CI files, dependencies or key material", () => {
    const forbidden = paths.filter((p) => /^(src|spec|scripts|bench|examples|tools|node_modules|\.ci|\.github)\//.test(p) || p.includes("/node_modules/"));
    expect(forbidden).toEqual([]);
    expect(paths.filter((p) => /\.(key|pem|pfx|p12|tgz)$/.test(p))).toEqual([]);
    expect(paths.filter((p) => /(^|\/)\.env/.test(p) || /(^|\/)tsconfig[^/]*\.json$/.test(p) || p.endsWith(".ts") && !p.endsWith(".d.ts"))).toEqual([]);
  });

  it("the launcher is executable and starts with a node shebang", () => {
    const bin = files.find((f) => f.path === "bin/smtpkit.mjs");
    expect(bin).toBeDefined();
    expect((bin?.mode ?? 0) & 0o111).not.toBe(0);
    expect(readFileSync(join(ROOT, "bin/smtpkit.mjs"), "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
  });
});

describe("package.json", () => {
  it("exports import / require entry points with types, and every one of them is shipped", () => {
    const root = pkg.exports["."];
    expect(root.import.types).toBe("./dist/esm/index.d.ts");
    expect(root.import.default).toBe("./dist/esm/index.js");
    expect(root.require.types).toBe("./dist/cjs/index.d.ts");
    expect(root.require.default).toBe("./dist/cjs/index.js");
    for (const target of [root.import.types, root.import.default, root.require.types, root.require.default, pkg.main, pkg.types]) {
      expect(paths, target).toContain(target.replace(/^\.\//, ""));
    }
  });

  it("declares Node >= 20, the smtpkit bin and the files to ship", () => {
    expect(pkg.engines.node).toMatch(/^>=\s*20(\.\d+)*$/);
    expect(pkg.bin).toEqual({ smtpkit: "bin/smtpkit.mjs" });
    expect(existsSync(join(ROOT, pkg.bin["smtpkit"] ?? ""))).toBe(true);
    expect(pkg.files).toEqual(expect.arrayContaining(["dist/", "bin/", "README.md", "CHANGELOG.md", "LICENSE", "docs/"]));
  });

  it("runs nothing at a consumer's install: the build runs before pack, test and demo, not in prepare", () => {
    for (const hook of ["preinstall", "install", "postinstall", "prepare", "preprepare", "postprepare"]) {
      expect(pkg.scripts[hook], hook).toBeUndefined();
    }
    for (const hook of ["prepack", "pretest", "predemo"]) {
      expect(pkg.scripts[hook], hook).toMatch(/\bnpm run build\b/);
    }
  });

  it("is MIT with a LICENSE file, and declares no side effects", () => {
    expect(pkg.license).toBe("MIT");
    const license = readFileSync(join(ROOT, "LICENSE"), "utf8");
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 smtpkit contributors\n/);
    expect(pkg.sideEffects).toBe(false);
  });

  it("MD4 is our own: no hash-wasm; @types/node is an optional peer, not a dependency", () => {
    expect(pkg.dependencies["hash-wasm"]).toBeUndefined();
    expect(pkg.dependencies["@types/node"]).toBeUndefined();
    expect(pkg.peerDependencies?.["@types/node"]).toBeDefined();
    expect(pkg.peerDependenciesMeta?.["@types/node"]?.optional).toBe(true);
  });

  it("sideEffects: false holds: dist/esm runs nothing at the top level but definitions", () => {
    // Top-level statements start in column 0 in tsc's output: a call, a loop or an assignment there is an effect.
    const effects = paths
      .filter((p) => p.startsWith("dist/esm/") && p.endsWith(".js"))
      .flatMap((p) => readFileSync(join(ROOT, p), "utf8").split("\n").filter((l) => /^[A-Za-z_$][\w$]*\s*(\(|\.|\[|=[^=])/.test(l)).map((l) => `${p}: ${l}`));
    // The one exception completes the Smtp class (its accessors): it only matters to code that imports Smtp.
    expect(effects).toEqual(["dist/esm/smtp.js: installAccessors(Smtp.prototype, storeOf, { RecipientCerts: RECIPIENT_CERTS });"]);
  });

  it("both entry declarations reference Node's types themselves (TypeScript 6+ defaults `types` to [])", () => {
    for (const file of ["dist/esm/index.d.ts", "dist/cjs/index.d.ts"]) {
      expect(readFileSync(join(ROOT, file), "utf8").startsWith('/// <reference types="node" />\n'), file).toBe(true);
    }
  });
});

describe("docs/troubleshooting.md", () => {
  /** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
  const slug = (heading: string): string => heading.trim().toLowerCase().replace(/[^a-z0-9 _-]/g, "").replace(/ /g, "-");
  const sourceFiles = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(`${dir}/${e.name}`) : e.name.endsWith(".ts") ? [`${dir}/${e.name}`] : []));

  it("every docs/troubleshooting.md#anchor an error hint names is a heading there", () => {
    const anchors = new Set([...readFileSync(join(ROOT, "docs/troubleshooting.md"), "utf8").matchAll(/^#{2,3} (.+)$/gm)].map((m) => slug(m[1] ?? "")));
    const linked = sourceFiles("src").flatMap((f) => [...readFileSync(join(ROOT, f), "utf8").matchAll(/docs\/troubleshooting\.md#([a-z0-9-]+)/g)].map((m) => ({ file: f, anchor: m[1] ?? "" })));
    expect(linked.length).toBeGreaterThanOrEqual(5);
    expect(linked.filter((l) => !anchors.has(l.anchor))).toEqual([]);
  });
});

describe("loading the package in a new Node process", () => {
  const names = ["Smtp", "smtp", "SmtpError", "SmtpPool"];
  const probe = "JSON.stringify({ keys: Object.keys(m).sort(), same: m.Smtp === m.smtp, error: new m.SmtpError(601, 'x') instanceof Error, pool: typeof m.SmtpPool })";

  it('require("smtpkit") gives the CommonJS build', () => {
    const out = JSON.parse(node(["-e", `const m = require("smtpkit"); console.log(${probe}); if (!require.resolve("smtpkit").includes("dist/cjs")) process.exit(3);`])) as { keys: string[]; same: boolean; error: boolean; pool: string };
    expect(out.keys).toEqual(expect.arrayContaining(names));
    expect(out).toMatchObject({ same: true, error: true, pool: "function" });
  });

  it('import("smtpkit") gives the ES module build', () => {
    const out = JSON.parse(node(["--input-type=module", "-e", `const m = await import("smtpkit"); console.log(${probe}); if (!import.meta.resolve("smtpkit").includes("dist/esm")) process.exit(3);`])) as { keys: string[]; same: boolean; error: boolean; pool: string };
    expect(out.keys).toEqual(expect.arrayContaining(names));
    expect(out).toMatchObject({ same: true, error: true, pool: "function" });
  });

  it("has no default export (README: named imports only), in either build", () => {
    expect(node(["--input-type=module", "-e", 'const m = await import("smtpkit"); console.log("default" in m)']).trim()).toBe("false");
    expect(node(["-e", 'console.log(require("smtpkit").default === undefined)']).trim()).toBe("true");
  });

  it("the CLI loads from both builds", () => {
    expect(node(["-e", 'console.log(typeof require("./dist/cjs/cli/main.js").run)']).trim()).toBe("function");
    expect(node(["--input-type=module", "-e", 'const m = await import("./dist/esm/cli/main.js"); console.log(typeof m.run)']).trim()).toBe("function");
  });

  it("PKI.js and asn1js load with the first PKCS#12 read, not with the package, in both builds", () => {
    const pfx = "spec/fixtures/smime/signer.pfx";
    const cjs = `const s = require("smtpkit"); const loaded = () => Object.keys(require.cache).filter((k) => /[\\\\/](pkijs|asn1js)[\\\\/]/.test(k)).length > 0;
      const before = loaded(); const c = new s.Certificate(2, "${pfx}", "fixture-pass", "*"); console.log(before, loaded(), c.subject);`;
    expect(node(["-e", cjs]).trim()).toBe("false true O=smtpkit tests, CN=smtpkit smime signer");
    const esm = `const { Certificate } = await import("smtpkit"); const c = new Certificate(2, "${pfx}", "fixture-pass", "*"); console.log(c.privateKeyAvailable, c.subject);`;
    expect(node(["--input-type=module", "-e", esm]).trim()).toBe("true O=smtpkit tests, CN=smtpkit smime signer");
  });
});

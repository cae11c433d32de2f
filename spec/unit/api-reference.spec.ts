/**
 * docs/reference/ is the API reference TypeDoc generates from src/index.ts and the JSDoc of the
 * sources (tools/api-reference). This runs the generator into a temporary folder and compares it
 * with docs/reference/ file by file: a changed export, signature or doc comment without
 * `npm run docs` fails here. The tool has its own dependencies (TypeDoc needs TypeScript 5's JS
 * API); when they are not installed the test fails and says what to run (.ci/run installs them).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TOOL = join(ROOT, "tools/api-reference");
const REFERENCE = join(ROOT, "docs/reference");
const STALE = "docs/reference/ is out of date with the sources: run `npm run docs` and commit the result";

/** Every file under `dir`, as paths relative to it with "/" separators, sorted. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[])
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)).split("\\").join("/"))
    .sort();
}

describe("docs/reference (the TypeDoc API reference)", () => {
  let out = "";
  let failure = "";

  beforeAll(() => {
    if (!existsSync(join(TOOL, "node_modules", "typedoc"))) {
      failure = "tools/api-reference is not installed: run `npm ci --prefix tools/api-reference` (or `npm run docs`, which installs it)";
      return;
    }
    out = mkdtempSync(join(tmpdir(), "smtpkit-reference-"));
    try {
      execFileSync(process.execPath, [join(TOOL, "generate.mjs"), out], { cwd: ROOT, stdio: "pipe", encoding: "utf8" });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      failure = `tools/api-reference/generate.mjs failed: ${err.stderr || err.stdout || err.message}`;
    }
  }, 180_000);

  afterAll(() => {
    if (out !== "") rmSync(out, { recursive: true, force: true });
  });

  it("the generator runs", () => {
    expect(failure, failure).toBe("");
  });

  it("docs/reference/ has the same files as a fresh run (run `npm run docs` when it does not)", () => {
    expect(failure, failure).toBe("");
    const fresh = filesUnder(out);
    expect(fresh.length).toBeGreaterThan(20);
    expect(filesUnder(REFERENCE), STALE).toEqual(fresh);
  });

  it("every file of docs/reference/ is what a fresh run writes (run `npm run docs` when it is not)", () => {
    expect(failure, failure).toBe("");
    const stale = filesUnder(out).filter((f) => {
      const committed = join(REFERENCE, f);
      return !existsSync(committed) || readFileSync(committed, "utf8") !== readFileSync(join(out, f), "utf8");
    });
    expect(stale, STALE).toEqual([]);
  });

  it("documents the main exports and none of the internals", () => {
    expect(failure, failure).toBe("");
    for (const page of ["classes/Smtp.md", "classes/SmtpPool.md", "classes/SmtpError.md", "interfaces/SmtpOptions.md", "interfaces/SendResult.md", "functions/oauth2.md"]) {
      expect(filesUnder(out), page).toContain(page);
    }
    const smtp = readFileSync(join(out, "classes/Smtp.md"), "utf8");
    expect(smtp).toContain("### send()");
    expect(smtp).toContain("getMailServer()");
    expect(smtp).not.toMatch(/#client|#prepared|SmtpClient\b/);
    const all = filesUnder(out).map((f) => readFileSync(join(out, f), "utf8")).join("\n");
    expect(all, "no absolute paths").not.toContain(ROOT.replace(/\/$/, ""));
  });
});

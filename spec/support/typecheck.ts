/**
 * Compiles small files with the project's tsc in a fresh temporary project
 * (strict, NodeNext, the repo's base options) and returns its diagnostics:
 * how the type tests prove that a misspelling does not compile.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSC = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");

/**
 * Writes `files` (name -> text) into a new directory, compiles them together
 * with `alsoCompile` (absolute paths) and returns tsc's output ("" when it is
 * clean). The directory is removed afterwards.
 */
export function typecheck(prefix: string, files: Readonly<Record<string, string>>, alsoCompile: readonly string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), `smtpkit-${prefix}-`));
  try {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      extends: join(ROOT, "tsconfig.base.json"),
      compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", noEmit: true, typeRoots: [join(ROOT, "node_modules/@types")] },
      files: [...Object.keys(files), ...alsoCompile],
    }));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    try {
      execFileSync(process.execPath, [TSC, "-p", join(dir, "tsconfig.json")], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      return "";
    } catch (e) {
      return String((e as { stdout?: string }).stdout ?? "");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

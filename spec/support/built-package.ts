/**
 * A private copy of the built package (dist/esm) for specs that run smtpkit
 * in child processes: another `npm run build` in the same work tree deletes
 * dist/ first and would pull it away mid-test. The copy is taken when the
 * build is complete (scripts/build.mjs writes dist/esm/package.json last).
 */
import { cpSync, mkdirSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** Copies `project`/dist/esm under `into` and returns the copy's directory (its index.js is the package entry). */
export async function copyBuiltPackage(project: string, into: string): Promise<string> {
  const esm = join(project, "dist", "esm");
  const marker = join(esm, "package.json");
  const pkg = join(into, "pkg");
  mkdirSync(pkg);
  // Bare imports (tiny-typed-emitter, iconv-lite, bullmq, ...) resolve through the project's node_modules.
  symlinkSync(join(project, "node_modules"), join(pkg, "node_modules"), "dir");
  const deadline = Date.now() + 20_000;
  for (let attempt = 0; ; attempt++) {
    try {
      const before = statSync(marker).mtimeMs;
      const copy = join(pkg, `esm-${attempt}`);
      cpSync(esm, copy, { recursive: true });
      if (statSync(marker).mtimeMs === before && statSync(join(copy, "package.json")).isFile()) return copy;
    } catch {
      // dist/ is missing or being rebuilt: try again.
    }
    if (Date.now() > deadline) throw new Error(`no complete build in ${esm}: run \`npm run build\` first`);
    await sleep(250);
  }
}

// Builds dist/esm (ES modules) and dist/cjs (CommonJS) from src/ with the native tsc.
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");
rmSync(join(root, "dist"), { recursive: true, force: true });
for (const project of ["tsconfig.esm.json", "tsconfig.cjs.json"]) {
  execFileSync(process.execPath, [tsc, "-p", join(root, project)], { stdio: "inherit", cwd: root });
}
// Each output folder states its own module format so Node never guesses.
writeFileSync(join(root, "dist/esm/package.json"), JSON.stringify({ type: "module" }) + "\n");
writeFileSync(join(root, "dist/cjs/package.json"), JSON.stringify({ type: "commonjs" }) + "\n");
// src/smime/sync-require.ts resolves from the working directory, which serves the sources only:
// each output gets the require() that resolves from the package itself.
const syncRequire = {
  esm: 'import { createRequire } from "node:module";\nexport const syncRequire = createRequire(import.meta.url);\n',
  cjs: '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\nexports.syncRequire = require;\n',
};
for (const [format, body] of Object.entries(syncRequire)) {
  const file = join(root, "dist", format, "smime", "sync-require.js");
  writeFileSync(file, `// Written by scripts/build.mjs for this output (see src/smime/sync-require.ts).\n${body}`);
  rmSync(`${file}.map`, { force: true });
}

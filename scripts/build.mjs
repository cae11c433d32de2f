// Builds dist/esm (ES modules) and dist/cjs (CommonJS) from src/ with the native tsc.
// `node scripts/build.mjs --out <dir>` builds into <dir>/esm and <dir>/cjs instead, leaving dist/
// alone (spec/integration/consumer.spec.ts packs a private build while other specs read dist/).
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outFlag = process.argv.indexOf("--out");
const out = outFlag >= 0 && process.argv[outFlag + 1] ? resolve(process.argv[outFlag + 1]) : join(root, "dist");
const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");
rmSync(out, { recursive: true, force: true });
for (const [format, project] of [["esm", "tsconfig.esm.json"], ["cjs", "tsconfig.cjs.json"]]) {
  execFileSync(process.execPath, [tsc, "-p", join(root, project), "--outDir", join(out, format)], { stdio: "inherit", cwd: root });
}
// Each output folder states its own module format so Node never guesses.
writeFileSync(join(out, "esm/package.json"), JSON.stringify({ type: "module" }) + "\n");
writeFileSync(join(out, "cjs/package.json"), JSON.stringify({ type: "commonjs" }) + "\n");
// src/sync-require.ts resolves from the working directory, which serves the sources only:
// each output gets the require() that resolves from the package itself.
const syncRequire = {
  esm: 'import { createRequire } from "node:module";\nexport const syncRequire = createRequire(import.meta.url);\n',
  cjs: '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\nexports.syncRequire = require;\n',
};
for (const [format, body] of Object.entries(syncRequire)) {
  const file = join(out, format, "sync-require.js");
  writeFileSync(file, `// Written by scripts/build.mjs for this output (see src/sync-require.ts).\n${body}`);
  rmSync(`${file}.map`, { force: true });
}
// The declarations use Node's types (Buffer, streams, X509Certificate). TypeScript 6+ defaults
// `types` to [], so a consumer's @types/node is no longer picked up on its own: the entry
// declarations ask for it (tsc does not keep such a directive from the sources).
const NODE_TYPES = '/// <reference types="node" />\n';
for (const format of ["esm", "cjs"]) {
  const file = join(out, format, "index.d.ts");
  const text = readFileSync(file, "utf8");
  if (!text.startsWith(NODE_TYPES)) writeFileSync(file, NODE_TYPES + text);
}

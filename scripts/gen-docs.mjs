// Writes docs/api.md and docs/errors.md, the generated tables inside
// hand-written docs (between marker comments), and the generated accessor and
// constant declarations (scripts/gen-accessor-types.mjs), from the tables of the built
// package; then docs/reference/, the API reference TypeDoc makes from src/index.ts and
// its JSDoc (tools/api-reference, installed here when its node_modules is missing).
// `npm run docs` builds first, so the docs always match the current sources;
// spec/unit/docs.spec.ts, spec/unit/doc-tables.spec.ts and spec/unit/api-reference.spec.ts
// fail when the files on disk are out of date.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(root, "dist/esm/index.js");

let pkg;
let render;
try {
  pkg = await import(pathToFileURL(entry).href);
  // After the package: the renderer reads further tables from dist/ as it loads.
  render = await import("./docs-render.mjs");
} catch (e) {
  console.error(`cannot load ${relative(root, entry)}: ${e instanceof Error ? e.message : String(e)}`);
  console.error("build the package first: npm run build (npm run docs does both)");
  process.exit(1);
}

const { PROPERTIES, COLLECTIONS, SETTINGS, ENUMS, ERROR_CODES } = pkg;
const { writeAccessorTypes } = await import("./gen-accessor-types.mjs");
if (writeAccessorTypes({ PROPERTIES, COLLECTIONS, SETTINGS, ENUMS }).length > 0) {
  console.log("the generated declarations changed: run `npm run build` again so dist/ has them");
}
const { renderApi, renderErrors, renderDocTables, DOC_TABLES } = render;
const files = {
  "docs/api.md": renderApi({ PROPERTIES, COLLECTIONS, SETTINGS }),
  "docs/errors.md": renderErrors(ERROR_CODES),
};
for (const file of new Set(DOC_TABLES.map((t) => t.file))) {
  files[`docs/${file}`] = renderDocTables(file, readFileSync(join(root, "docs", file), "utf8"));
}
mkdirSync(join(root, "docs"), { recursive: true });
for (const [file, text] of Object.entries(files)) {
  writeFileSync(join(root, file), text);
  console.log(`wrote ${file} (${text.split("\n").length} lines)`);
}

// The API reference: TypeDoc needs TypeScript 5's JS API, so it lives in its own tool package.
const tool = join(root, "tools/api-reference");
if (!existsSync(join(tool, "node_modules"))) {
  console.log("installing tools/api-reference (TypeDoc)");
  execFileSync("npm", ["ci", "--prefix", tool, "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
}
execFileSync(process.execPath, [join(tool, "generate.mjs"), join(root, "docs/reference")], { cwd: root, stdio: "inherit" });
console.log("wrote docs/reference/");

// Writes docs/api.md and docs/errors.md, the generated tables inside
// hand-written docs (between marker comments), and the generated accessor and
// constant declarations (scripts/gen-accessor-types.mjs), from the tables of the built
// package. `npm run docs` builds first, so the docs always match the current
// sources; spec/unit/docs.spec.ts and spec/unit/doc-tables.spec.ts fail when
// the files on disk are out of date.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
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

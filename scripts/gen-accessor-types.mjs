// Writes src/schema/accessors.generated.ts (every accessor, option and setting with its row's doc)
// and src/schema/constants.generated.ts (the named enum constants) from the tables of the built
// package. scripts/gen-docs.mjs runs it, so `npm run docs` (build, then generate) keeps them current;
// spec/unit/typed-api.spec.ts fails when the files on disk are out of date with the sources.
// Run after `npm run build`. When the set of enums changed, build once more for dist/ to export them.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ACCESSORS_FILE, CONSTANTS_FILE, renderAccessorTypes, renderConstants } from "./accessor-types-render.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Renders both files from the tables and writes those that changed; returns the changed paths. */
export function writeAccessorTypes(tables) {
  const changed = [];
  for (const [file, text] of [[ACCESSORS_FILE, renderAccessorTypes(tables)], [CONSTANTS_FILE, renderConstants(tables)]]) {
    const path = join(root, file);
    let before;
    try {
      before = readFileSync(path, "utf8");
    } catch {
      before = undefined;
    }
    if (before === text) continue;
    writeFileSync(path, text);
    changed.push(file);
    console.log(`wrote ${file} (${text.split("\n").length} lines)`);
  }
  return changed;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const entry = join(root, "dist/esm/index.js");
  let pkg;
  try {
    pkg = await import(pathToFileURL(entry).href);
  } catch (e) {
    console.error(`cannot load ${relative(root, entry)}: ${e instanceof Error ? e.message : String(e)}`);
    console.error("build the package first: npm run build (npm run docs does both)");
    process.exit(1);
  }
  const { PROPERTIES, COLLECTIONS, SETTINGS, ENUMS } = pkg;
  writeAccessorTypes({ PROPERTIES, COLLECTIONS, SETTINGS, ENUMS });
}

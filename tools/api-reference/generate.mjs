// Writes the API reference (Markdown, one page per export) from src/index.ts and the JSDoc
// of the sources, with TypeDoc and typedoc-plugin-markdown: `node tools/api-reference/generate.mjs [outDir]`.
// outDir defaults to docs/reference/ (typedoc.json); spec/unit/api-reference.spec.ts writes to a
// temporary folder and compares. TypeDoc needs the TypeScript 5 JS API, so this folder has its own
// package.json (typescript 5.9; the repo's own TypeScript is 7): `npm ci --prefix tools/api-reference`.
// The output has no dates, versions, absolute paths or source links, so it depends only on src/.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
let typedoc;
try {
  typedoc = await import("typedoc");
} catch {
  console.error("tools/api-reference/node_modules is missing: run `npm ci --prefix tools/api-reference` (npm run docs does it)");
  process.exit(2);
}
const { Application, LogLevel } = typedoc;

const out = process.argv[2] === undefined ? undefined : resolve(process.argv[2]);
const app = await Application.bootstrapWithPlugins(
  { options: join(here, "typedoc.json"), ...(out === undefined ? {} : { out }), logLevel: LogLevel.Warn },
);
const project = await app.convert();
if (project === undefined || app.logger.hasErrors()) {
  console.error("TypeDoc could not convert src/index.ts (see the errors above)");
  process.exit(1);
}
await app.generateOutputs(project);
if (app.logger.hasErrors()) process.exit(1);

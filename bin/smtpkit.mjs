#!/usr/bin/env node
// The smtpkit command. The code is in src/cli (built to dist/esm/cli); see docs/cli.md.
import { readFileSync } from "node:fs";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const cli = await import("../dist/esm/cli/main.js").catch((e) => {
  console.error(`error module: cannot load smtpkit's dist/ (${e.message}): build it with npm run build`);
  process.exit(6);
});
process.exitCode = await cli.run(process.argv.slice(2), { version });

/**
 * docs/api.md and docs/errors.md are generated from the schema and error
 * tables. These checks fail as soon as a table changes without the docs
 * being regenerated.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderApi, renderErrors, EVENTS, METHODS } from "../../scripts/docs-render.mjs";
import { ERROR_CODES } from "../../src/errors.js";
import { COLLECTIONS, PROPERTIES } from "../../src/schema/properties.js";
import { SETTINGS } from "../../src/schema/settings.js";

const STALE = "is out of date with the source tables: run `npm run docs` and commit the result";

function readDoc(name: string): string {
  try {
    return readFileSync(new URL(`../../docs/${name}`, import.meta.url), "utf8");
  } catch {
    throw new Error(`docs/${name} is missing: run \`npm run docs\``);
  }
}

describe("generated docs", () => {
  const api = readDoc("api.md");
  const errors = readDoc("errors.md");

  it("docs/api.md matches the schema tables", () => {
    expect(api, `docs/api.md ${STALE}`).toBe(renderApi({ PROPERTIES, COLLECTIONS, SETTINGS }));
  });

  it("docs/errors.md matches ERROR_CODES", () => {
    expect(errors, `docs/errors.md ${STALE}`).toBe(renderErrors(ERROR_CODES));
  });

  it("api.md names every property, collection field and setting", () => {
    for (const p of PROPERTIES) {
      expect(api, `property ${p.name}`).toContain(`| ${p.name} |`);
      const accessor = "writeOnly" in p ? `set${p.name}(v)` : `get${p.name}()`;
      expect(api, `accessor ${accessor}`).toContain(accessor);
    }
    for (const c of COLLECTIONS) {
      expect(api, `collection ${c.name}`).toContain(`### ${c.name}`);
      for (const f of c.fields) expect(api, `get${c.item}${f.name}(i)`).toContain(`get${c.item}${f.name}(i)`);
    }
    for (const s of SETTINGS) expect(api, `setting ${s.name}`).toContain(`| ${s.name} |`);
  });

  it("api.md documents the methods and events", () => {
    for (const m of METHODS) expect(api).toContain(`### ${m.name}`);
    for (const e of EVENTS) expect(api).toContain(`| ${e.name} |`);
  });

  it("errors.md lists every code", () => {
    for (const e of ERROR_CODES) expect(errors).toContain(`| ${e.code} | \`${e.name}\` |`);
  });
});

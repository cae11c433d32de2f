/**
 * Tables inside the hand-written docs are generated from the tables in src/
 * (between marker comments); other mentions of those lists are checked here.
 * These fail as soon as a table changes without `npm run docs`.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DOC_TABLES, renderDocTables } from "../../scripts/docs-render.mjs";
import { AUTH_MECHANISM_VALUES } from "../../src/auth/mechanism-values.js";
import { AUTH_MECHANISMS } from "../../src/cli/options/values.js";
import { ERROR_CODES } from "../../src/errors.js";
import { SETTINGS } from "../../src/schema/settings.js";
import { CERT_STORE_TYPES } from "../../src/transport/cert-store-types.js";

function readDoc(name: string): string {
  return readFileSync(new URL(`../../docs/${name}`, import.meta.url), "utf8");
}

/** docs/`file` without its generated tables: the hand-written text. */
function prose(file: string): string {
  return readDoc(file).replace(/<!-- ([a-z-]+): generated from [^\n]*-->[\s\S]*?<!-- \/\1 -->/g, "");
}

/** The one line of docs/`file` that contains `marker`. */
function lineWith(file: string, marker: string): string {
  const lines = readDoc(file).split("\n").filter((l) => l.includes(marker));
  expect(lines, `docs/${file}: one line with ${marker}`).toHaveLength(1);
  return lines[0] ?? "";
}

describe("generated tables in hand-written docs", () => {
  it.each([...new Set(DOC_TABLES.map((t) => t.file))])("docs/%s is up to date", (file) => {
    const text = readDoc(file);
    expect(text, `docs/${file} is out of date with the source tables: run \`npm run docs\` and commit the result`).toBe(renderDocTables(file, text));
  });

  it("each table renders rows", () => {
    for (const t of DOC_TABLES) expect(t.render().split("\n").length, t.name).toBeGreaterThan(3);
  });
});

describe("lists written in prose", () => {
  it("docs/cli.md names every --auth name and the range of AuthMechanism numbers", () => {
    const row = lineWith("cli.md", "| `--auth MECHANISM` |");
    for (const name of AUTH_MECHANISMS.keys()) expect(row).toContain(`\`${name}\``);
    expect(row).toContain(`number 0-${AUTH_MECHANISM_VALUES.length - 1}`);
  });

  it("docs/smime-dkim.md names every supported CertStoreType", () => {
    const row = lineWith("smime-dkim.md", "| `CertStoreType` |");
    for (const t of CERT_STORE_TYPES.filter((r) => r.supported)) expect(row).toContain(`**${t.value}**`);
  });
});

describe("docs/porting-ipworks.md, the hand-written text", () => {
  const text = prose("porting-ipworks.md");

  it("names only settings that exist", () => {
    // `config("Name=Value")` is the placeholder of the how-to.
    const named = [...text.matchAll(/config\("([A-Za-z0-9]+)/g)].map((m) => m[1] as string).filter((n) => n !== "Name");
    expect(named).toContain("AllowCleartextAuth");
    const known = new Set<string>(SETTINGS.map((s) => s.name));
    expect(named.filter((n) => !known.has(n)), "config() names in porting-ipworks.md that are no setting").toEqual([]);
  });

  it("names only error codes that exist", () => {
    const codes = [...text.matchAll(/\b(?:with|is|rejects with|fails with) (\d{3,5})\b/g)].map((m) => Number(m[1]));
    expect(codes.length).toBeGreaterThan(5);
    const known = new Set<number>(ERROR_CODES.map((e) => e.code));
    expect(codes.filter((c) => !known.has(c)), "codes in porting-ipworks.md that are not in ERROR_CODES").toEqual([]);
  });
});

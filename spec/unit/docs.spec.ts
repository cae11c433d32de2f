/**
 * docs/api.md and docs/errors.md are generated from the schema and error
 * tables. These checks fail as soon as a table changes without the docs
 * being regenerated, and as soon as the documented methods, accessors and
 * events differ from the real Smtp class (its prototype and instances) and
 * its event list, either way: an undocumented public member fails as much as
 * a documented one that does not exist.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, expectTypeOf, it } from "vitest";
import { renderApi, renderErrors, EVENTS, METHODS } from "../../scripts/docs-render.mjs";
import { ERROR_CODES } from "../../src/errors.js";
import { EVENT_NAMES, EVENTS as EVENT_TABLE, type SmtpEvents } from "../../src/events.js";
import { Smtp } from "../../src/index.js";
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

/** The lines of the api.md section under `## title`, up to the next `## `. */
function section(doc: string, title: string): string[] {
  const lines = doc.split("\n");
  const start = lines.indexOf(`## ${title}`);
  if (start < 0) throw new Error(`api.md has no "## ${title}" section`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith("## "));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** Cells of a markdown table row ("| a | b |" -> ["a", "b"]); escaped pipes stay in their cell. */
function cells(row: string): string[] {
  return row
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** Names called in backticked code: `getX()` / `setX(v)` -> getX, setX. */
function calledIn(text: string): string[] {
  return [...text.matchAll(/`([^`]*)`/g)].flatMap((m) => [...(m[1] ?? "").matchAll(/\b([a-z][A-Za-z0-9]*)\(/g)].map((c) => c[1] as string));
}

/** What the real class offers: prototype methods, prototype accessors (camelCase properties), public instance fields. */
function realMembers(): { methods: Set<string>; accessors: Set<string>; fields: Set<string> } {
  const methods = new Set<string>();
  const accessors = new Set<string>();
  for (const name of Object.getOwnPropertyNames(Smtp.prototype)) {
    if (name === "constructor") continue;
    const d = Object.getOwnPropertyDescriptor(Smtp.prototype, name);
    if (d?.get || d?.set) accessors.add(name);
    else if (typeof d?.value === "function") methods.add(name);
  }
  // Own enumerable fields of an instance, without EventEmitter's _events & co.
  const fields = new Set(Object.keys(new Smtp()).filter((k) => !k.startsWith("_")));
  return { methods, accessors, fields };
}

const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

describe("the documented API is the real one", () => {
  const api = readDoc("api.md");
  const real = realMembers();
  /** `### a / b / c` headings of the Methods section. */
  const headings = section(api, "Methods")
    .filter((l) => l.startsWith("### "))
    .flatMap((l) => l.slice(4).split(" / ").map((n) => n.trim()));
  /** Rows of the property and collection-field tables, and the Count / Array form lines of the collections. */
  const propertyRows = section(api, "Properties").filter((l) => l.startsWith("| ") && !l.startsWith("| IP*Works name"));
  const collectionLines = section(api, "Collections");
  const fieldRows = collectionLines.filter((l) => l.startsWith("| ") && !l.startsWith("| Field | Accessors |"));
  /** Accessor methods the tables name: the Accessors column and the Count lines. */
  const tableAccessors = [
    ...propertyRows.map((r) => cells(r)[1] ?? ""),
    ...fieldRows.map((r) => cells(r)[1] ?? ""),
    ...collectionLines.filter((l) => l.startsWith("- Count:") || l.startsWith("- Object form:")),
    ...section(api, "Objects").filter((l) => l.startsWith("- Object form:")),
  ].flatMap(calledIn).filter((name) => name !== "new");
  /** camelCase properties the docs name: the camelCase column, the collections' array forms, `smtp.x` anywhere in api.md. */
  const camelCase = [
    ...propertyRows.map((r) => (cells(r)[2] ?? "").replace(/`/g, "")),
    ...collectionLines.filter((l) => l.startsWith("- Array form:")).map((l) => /`([A-Za-z0-9]+)`/.exec(l)?.[1] ?? ""),
  ].filter((n) => n !== "");
  const smtpDotted = new Set([...api.matchAll(/\bsmtp\.([a-z][A-Za-z0-9]*)/g)].map((m) => m[1] as string));

  it("the Methods, Properties and Collections sections name something", () => {
    expect(headings.length).toBeGreaterThan(20);
    expect(tableAccessors.length).toBeGreaterThan(2 * propertyRows.length - 20);
    expect(camelCase.length).toBeGreaterThan(propertyRows.length);
  });

  it("every public method of Smtp.prototype is documented (a Methods heading or an accessor in the tables)", () => {
    const documented = new Set([...headings, ...tableAccessors]);
    expect(sorted([...real.methods].filter((m) => !documented.has(m))), "methods of Smtp that api.md does not document").toEqual([]);
  });

  it("every method heading exists on Smtp (method, accessor property, instance field or the constructor)", () => {
    const exists = (n: string): boolean => n === "constructor" || real.methods.has(n) || real.accessors.has(n) || real.fields.has(n);
    expect(headings.filter((h) => !exists(h)), "api.md headings with nothing behind them on Smtp").toEqual([]);
  });

  it("every accessor the tables name exists as a method of Smtp.prototype", () => {
    expect(sorted(new Set(tableAccessors.filter((a) => !real.methods.has(a)))), "documented accessors Smtp does not have").toEqual([]);
  });

  it("every camelCase property is documented, and every documented one exists", () => {
    const documented = new Set([...camelCase, ...headings, ...smtpDotted]);
    expect(sorted([...real.accessors].filter((a) => !documented.has(a))), "camelCase properties of Smtp that api.md does not name").toEqual([]);
    expect(camelCase.filter((c) => !real.accessors.has(c)), "camelCase names in api.md that Smtp does not have").toEqual([]);
  });

  it("every public instance field (tokenRefresher, connector, ...) is documented in docs/*.md", () => {
    const docs = readdirSync(new URL("../../docs/", import.meta.url))
      .filter((f) => f.endsWith(".md"))
      .map(readDoc)
      .join("\n");
    expect(real.fields.size).toBeGreaterThan(0);
    const undocumented = [...real.fields].filter((f) => !headings.includes(f) && !new RegExp(`\\bsmtp\\.${f}\\b`).test(docs));
    expect(sorted(undocumented), "public fields of a Smtp that no doc mentions as smtp.<name>").toEqual([]);
  });

  it("the Events table lists exactly the events of EVENT_NAMES (the SmtpEvents list), in either direction", () => {
    const rows = section(api, "Events").filter((l) => l.startsWith("| ") && !l.startsWith("| Event"));
    const documented = rows.map((r) => cells(r)[0] ?? "");
    expect(documented.length).toBeGreaterThan(0);
    expect(sorted(documented.filter((e) => !(EVENT_NAMES as readonly string[]).includes(e))), "documented events that are not in SmtpEvents").toEqual([]);
    expect(sorted(EVENT_NAMES.filter((e) => !documented.includes(e))), "events of SmtpEvents that api.md does not document").toEqual([]);
    expect(new Set(documented).size).toBe(documented.length);
    // The list and the SmtpEvents interface name the same events (checked by npm run typecheck).
    expectTypeOf<(typeof EVENT_TABLE)[number]["name"]>().toEqualTypeOf<keyof SmtpEvents>();
  });
});

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

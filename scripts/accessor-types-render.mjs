// Renders src/schema/accessors.generated.ts and src/schema/constants.generated.ts from the schema
// tables: every generated accessor, option, setting and enum constant spelled out with its row's
// doc as JSDoc, which an editor shows on hover (mapped types over the tables lose it).
// scripts/gen-accessor-types.mjs writes the files; spec/unit/typed-api.spec.ts fails when they
// differ from what this renders from the current tables.

export const ACCESSORS_FILE = "src/schema/accessors.generated.ts";
export const CONSTANTS_FILE = "src/schema/constants.generated.ts";

const HEADER = [
  "// Generated from the schema tables (src/schema/properties.ts, settings.ts, constants.ts) by",
  "// scripts/gen-accessor-types.mjs (`npm run docs` runs it): do not edit by hand.",
  "// spec/unit/typed-api.spec.ts fails when this file is out of date with the tables.",
];

function lowerFirst(s) {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function jsName(spec) {
  return spec.js ?? lowerFirst(spec.name);
}

/** A JSDoc block at `indent`; `*\/` inside the text cannot end it. */
function jsdoc(text, indent = "  ") {
  const safe = String(text).replace(/\*\//g, "*\\/");
  return `${indent}/** ${safe} */`;
}

/** A key that is a valid identifier as it is, else quoted. */
function key(name) {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

/** The enum a row takes: the ENUMS entry for the row itself or for the property it is another name of. */
function enumNameOf(spec, tables) {
  const byRow = tables.ENUMS.find((e) => e.row === spec);
  if (byRow) return byRow.name;
  const property = spec.property === undefined ? undefined : tables.PROPERTIES.find((p) => p.name === spec.property);
  const byProperty = property && tables.ENUMS.find((e) => e.row === property);
  if (byProperty) return byProperty.name;
  throw new Error(`enum row ${spec.name} has no ENUMS entry`);
}

/** The TypeScript type of a value of the row, as the compiler derives it (ScalarValue / SettingValueOf). */
function valueType(spec, tables, { choices = false } = {}) {
  switch (spec.type) {
    case "string":
      if (choices && spec.choices && typeof spec.normalize !== "function") return spec.choices.map((c) => JSON.stringify(c)).join(" | ");
      return "string";
    case "int":
      return "number";
    case "bool":
      return "boolean";
    case "enum":
      return enumNameOf(spec, tables);
    default:
      throw new Error(`row ${spec.name}: unknown type ${spec.type}`);
  }
}

/** The object properties (SSMTP's Firewall): name -> its rows, in table order. */
function objectsOf(properties) {
  const objects = new Map();
  for (const p of properties) {
    if (!p.object) continue;
    const rows = objects.get(p.object.name) ?? [];
    rows.push(p);
    objects.set(p.object.name, rows);
  }
  return objects;
}

function collectionTypes(c) {
  const n = JSON.stringify(c.name);
  return { fields: `CollectionFields<${n}>`, item: `ItemObjectOf<${n}>`, input: `ItemInputOf<${n}>` };
}

function accessorLines(tables) {
  const out = [];
  for (const p of tables.PROPERTIES) {
    if (p.custom) continue;
    const t = valueType(p, tables);
    out.push(jsdoc(p.doc), `  get${p.name}(): ${t};`);
    if (!p.readOnly) out.push(jsdoc(p.doc), `  set${p.name}(value: ${t}): void;`);
    out.push(jsdoc(p.doc), `  ${p.readOnly ? "readonly " : ""}${key(jsName(p))}: ${t};`);
  }
  for (const c of tables.COLLECTIONS) {
    const t = collectionTypes(c);
    const count = `The number of ${c.name} items. ${c.doc}`;
    out.push(jsdoc(count), `  get${c.item}Count(): number;`);
    if (!c.readOnly) out.push(jsdoc(count), `  set${c.item}Count(count: number): void;`);
    for (const f of c.fields) {
      const ft = valueType(f, tables);
      const doc = `${c.item} ${f.name} of item \`index\` (0-based): ${f.doc}`;
      out.push(jsdoc(doc), `  get${c.item}${f.name}(index: number): ${ft};`);
      if (!c.readOnly) out.push(jsdoc(doc), `  set${c.item}${f.name}(index: number, value: ${ft}): void;`);
    }
    if (c.itemObjects === undefined) {
      const list = `The live list of ${c.item} objects: ${c.doc}`;
      if (c.readOnly) {
        out.push(jsdoc(list), `  get${c.name}(): ReadonlyItemList<${t.item}>;`);
      } else {
        out.push(jsdoc(list), `  get${c.name}(): ItemListOf<${t.item}, ${t.input}>;`);
        out.push(jsdoc(`Replaces the ${c.name} with these items (objects, plain objects of fields, or the first field's value): ${c.doc}`));
        out.push(`  set${c.name}(items: Iterable<${t.input}>): void;`);
      }
    }
    const array = `${c.name} as an array of plain objects (copies): ${c.doc}`;
    if (c.readOnly) {
      out.push(jsdoc(array), `  readonly ${key(c.js)}: readonly ${t.fields}[];`);
    } else {
      out.push(jsdoc(array), `  get ${key(c.js)}(): ${t.fields}[];`);
      out.push(jsdoc(`${array} Fields left out take their defaults.`), `  set ${key(c.js)}(list: readonly Partial<${t.fields}>[]);`);
    }
  }
  for (const [name, rows] of objectsOf(tables.PROPERTIES)) {
    const n = JSON.stringify(name);
    const fields = rows.map((r) => r.name).join(", ");
    const doc = `${fields} as one ${name} object: a live view whose fields read and write those properties.`;
    out.push(jsdoc(doc), `  get${name}(): ObjectOf<${n}>;`);
    out.push(jsdoc(`Sets ${fields} from a ${name} object or a plain object of its fields (each checked first).`));
    out.push(`  set${name}(value: ObjectOf<${n}> | Partial<ObjectFields<${n}>>): void;`);
    out.push(jsdoc(doc), `  ${key(lowerFirst(name))}: ObjectOf<${n}>;`);
  }
  return out;
}

function optionLines(tables) {
  const out = [];
  for (const p of tables.PROPERTIES) {
    if (p.custom || p.readOnly) continue;
    out.push(jsdoc(p.doc), `  ${key(jsName(p))}?: ${valueType(p, tables)};`);
  }
  for (const c of tables.COLLECTIONS) {
    if (c.readOnly) continue;
    out.push(jsdoc(`${c.name}, as plain objects of fields (the others take their defaults): ${c.doc}`));
    out.push(`  ${key(c.js)}?: Partial<${collectionTypes(c).fields}>[];`);
  }
  out.push(jsdoc("config() settings by name, typed from the SETTINGS table: `{ StopOnToErrors: false, ChunkSize: 65536 }`."));
  out.push("  settings?: SmtpSettings;");
  return out;
}

function settingLines(tables) {
  const out = [];
  for (const s of tables.SETTINGS) {
    if (s.readOnly) continue;
    out.push(jsdoc(s.doc), `  ${key(s.name)}?: ${valueType(s, tables, { choices: true })};`);
  }
  return out;
}

/** src/schema/accessors.generated.ts */
export function renderAccessorTypes(tables) {
  const enums = tables.ENUMS.map((e) => e.name);
  return [
    ...HEADER,
    "import type {",
    "  CollectionFields, ItemInputOf, ItemListOf, ItemObjectOf, ObjectFields, ObjectOf, ReadonlyItemList,",
    '} from "./item-types.js";',
    `import type { ${enums.join(", ")} } from "./constants.generated.js";`,
    "",
    "/** Every accessor the schema generates (installed by install-accessors.ts), each with its row's doc: Smtp's interface extends this. */",
    "export interface GeneratedAccessors {",
    ...accessorLines(tables),
    "}",
    "",
    "/** Constructor options (Smtp, SmtpPool): every writable property by its camelCase name, the writable collections as arrays, and settings. */",
    "export interface SmtpOptions {",
    ...optionLines(tables),
    "}",
    "",
    "/** The `settings` option: config() settings by name with typed values (read-only settings left out). */",
    "export interface SmtpSettings {",
    ...settingLines(tables),
    "}",
    "",
  ].join("\n");
}

/** src/schema/constants.generated.ts */
export function renderConstants(tables) {
  const out = [...HEADER, 'import { ENUM_CONSTANTS, type EnumConstants } from "./constants.js";', ""];
  for (const e of tables.ENUMS) {
    const members = e.members.map((m) => `${m.key} (${m.constant}) = ${m.value}`).join(", ");
    out.push(`/** ${e.name} values: ${members}. ${e.doc.replace(/\*\//g, "*\\/")} */`);
    out.push(`export const ${e.name}: EnumConstants[${JSON.stringify(e.name)}] = ENUM_CONSTANTS.${e.name};`);
    out.push(`/** A value of ${e.name}: ${e.members.map((m) => m.value).join(" | ")}. */`);
    out.push(`export type ${e.name} = (typeof ${e.name})[keyof typeof ${e.name}];`);
    out.push("");
  }
  return out.join("\n");
}

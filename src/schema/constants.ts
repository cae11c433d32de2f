/**
 * Named constants for every enum of the schema (SSLStartMode.Explicit,
 * AuthMechanism.XOAuth2, MessageRecipientType.BCc, ...), made from the enum
 * rows' `values` / `extra`: an enum property, an enum field of a collection
 * (named item + field: MessageRecipientType) and an enum setting that is not
 * a property's other name. Each constant is there twice: by its readable name
 * (enum-tables.ts memberName(): the one rule) and by its IP*Works name
 * (SSLStartMode.sslExplicit), so a port's constants keep working.
 *
 * The named exports (`export const SSLStartMode = ...` with the row's doc)
 * are written by scripts/gen-accessor-types.mjs into constants.generated.ts.
 */
import { memberName, type MemberName } from "./enum-tables.js";
import { COLLECTIONS, PROPERTIES } from "./properties.js";
import { SETTINGS } from "./settings.js";
import type { CollectionSpec, EnumSpec, ScalarSpec, SettingSpec } from "./spec-types.js";

type Prop = (typeof PROPERTIES)[number];
type Coll = (typeof COLLECTIONS)[number];
type Setting = (typeof SETTINGS)[number];

/** An enum of the schema: its name in code and its row. */
interface Entry<N extends string, S> {
  readonly name: N;
  readonly row: S;
}

type PropertyEntry = Extract<Prop, { type: "enum" }> extends infer S ? (S extends { name: infer N extends string } ? Entry<N, S> : never) : never;
type FieldEntry = Coll extends infer C
  ? C extends Coll
    ? Extract<C["fields"][number], { type: "enum" }> extends infer F
      ? F extends { name: infer N extends string }
        ? Entry<`${C["item"]}${N}`, F>
        : never
      : never
    : never
  : never;
type SettingEntry = Exclude<Extract<Setting, { type: "enum" }>, { property: string }> extends infer S
  ? S extends { name: infer N extends string }
    ? Entry<N, S>
    : never
  : never;
type EnumEntry = PropertyEntry | FieldEntry | SettingEntry;

/** The names of the enums: "AuthMechanism" | ... | "MessageRecipientType" | "SSLStartMode". */
export type EnumName = EnumEntry["name"];
/** The schema row of an enum. */
export type EnumRowOf<N extends EnumName> = Extract<EnumEntry, { name: N }>["row"];

/** Each value of a row with its IP*Works constant. */
type Pairs<S> = S extends { readonly values: infer V extends readonly string[] }
  ?
      | { [K in keyof V]: K extends `${infer I extends number}` ? { constant: V[K]; value: I } : never }[number]
      | (S extends { readonly extra: infer E extends object }
          ? { [K in keyof E & number]: E[K] extends string ? { constant: E[K]; value: K } : never }[keyof E & number]
          : never)
  : never;

/** The constants object of an enum row: { Explicit: 2, sslExplicit: 2, ... }. */
export type EnumObject<S> = { readonly [P in Pairs<S> as MemberName<P["constant"]> | P["constant"]]: P["value"] };

/** Every enum's constants object, by enum name. */
export type EnumConstants = { readonly [N in EnumName]: EnumObject<EnumRowOf<N>> };

/** One member of an enum, for the docs: FirewallType.Socks5 = 3 (IP*Works fwSOCKS5). */
export interface EnumMember {
  readonly key: string;
  readonly constant: string;
  readonly value: number;
}

/** An enum of the schema with its members, for the docs and the generated exports. */
export interface EnumTable {
  readonly name: EnumName;
  /** Where it comes from: the property, the collection field or the setting of that name. */
  readonly source: "property" | "field" | "setting";
  /** The row's doc. */
  readonly doc: string;
  /** The schema row itself (a setting that is another name of the property takes the same enum). */
  readonly row: EnumSpec;
  readonly members: readonly EnumMember[];
}

function members(row: EnumSpec): EnumMember[] {
  const listed = row.values.map((constant, value) => ({ constant, value }));
  const extra = Object.entries(row.extra ?? {}).map(([value, constant]) => ({ constant, value: Number(value) }));
  return [...listed, ...extra].map((m) => ({ key: memberName(m.constant), ...m }));
}

const isEnum = (row: ScalarSpec): row is EnumSpec => row.type === "enum";
const properties: readonly ScalarSpec[] = PROPERTIES;
const settings: readonly SettingSpec[] = SETTINGS;
const collections: readonly CollectionSpec[] = COLLECTIONS;
const enumProperties: readonly EnumSpec[] = properties.filter(isEnum);
const enumSettings: readonly (EnumSpec & SettingSpec)[] = settings.filter((row): row is EnumSpec & SettingSpec => row.type === "enum");

/** THE list of the schema's enums, in the order of the tables: properties, collection fields, settings. */
export const ENUMS: readonly EnumTable[] = [
  ...enumProperties.map((row) => ({ name: row.name, source: "property" as const, doc: row.doc, row, members: members(row) })),
  ...collections.flatMap((c) =>
    c.fields.filter(isEnum).map((row) => ({ name: `${c.item}${row.name}`, source: "field" as const, doc: row.doc, row, members: members(row) })),
  ),
  ...enumSettings
    .filter((row) => row.property === undefined)
    .map((row) => ({ name: row.name, source: "setting" as const, doc: row.doc, row, members: members(row) })),
].map((e) => ({ ...e, name: e.name as EnumName }));

/** The constants object of one enum: readable names first, then the IP*Works names; frozen. */
function constantsOf(table: EnumTable): Readonly<Record<string, number>> {
  const byKey = table.members.map((m): [string, number] => [m.key, m.value]);
  const byConstant = table.members.map((m): [string, number] => [m.constant, m.value]);
  return Object.freeze(Object.fromEntries([...byKey, ...byConstant]));
}

/** Every enum's frozen constants object: ENUM_CONSTANTS.SSLStartMode.Explicit is 2. */
export const ENUM_CONSTANTS = Object.freeze(Object.fromEntries(ENUMS.map((e) => [e.name, constantsOf(e)]))) as EnumConstants;

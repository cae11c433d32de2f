/**
 * The names the component reads the store by, derived from the tables, so a
 * misspelt name inside src/ fails to compile. What users type (config(), the
 * `settings` option, a property name in a string) stays a string and is
 * checked when it arrives.
 */
import type { COLLECTIONS, PROPERTIES } from "./properties.js";
import type { SETTINGS } from "./settings.js";
import type { ScalarValue, SettingValue } from "./spec-types.js";

type Property = (typeof PROPERTIES)[number];
type Setting = (typeof SETTINGS)[number];
type Collection = (typeof COLLECTIONS)[number];

export type PropertyName = Property["name"];
export type SettingName = Setting["name"];
export type CollectionName = Collection["name"];
/** Field names of one collection: FieldName<"Attachments"> is "File" | "Name" | ... */
export type FieldName<C extends CollectionName> = Extract<Collection, { name: C }>["fields"][number]["name"];

/** Names by value type, for the store's typed readers. */
export type StringPropertyName = Extract<Property, { type: "string" }>["name"];
export type NumberPropertyName = Extract<Property, { type: "int" | "enum" }>["name"];
export type BoolSettingName = Extract<Setting, { type: "bool" }>["name"];
export type NumberSettingName = Extract<Setting, { type: "int" | "enum" }>["name"];

export type PropertyValue<N extends PropertyName> = ScalarValue<Extract<Property, { name: N }>>;
export type SettingValueOf<N extends SettingName> = ScalarValue<Extract<Setting, { name: N }>>;

/** One collection item as the store holds it: PascalCase field name -> value. */
export type CollectionRecord<C extends CollectionName> = Record<FieldName<C>, SettingValue>;

/**
 * For methods that take both: a string literal must be one of `Known`, while
 * a `string` only known at run time (user input) passes and is checked then.
 */
export type KnownOrInput<N extends string, Known extends string> = string extends N ? N : Known;

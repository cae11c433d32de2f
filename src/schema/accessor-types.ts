/**
 * Type-level view of the schema: the accessor methods and camelCase
 * properties that install-accessors.ts puts on the component at run time.
 * Both come from PROPERTIES / COLLECTIONS, so a new table row is a new,
 * typed accessor with no other edit.
 */
import type { COLLECTIONS, PROPERTIES } from "./properties.js";
import type { SETTINGS } from "./settings.js";
import type { ScalarValue, SettingValueOf } from "./spec-types.js";
import type { GeneratedAccessors, SmtpOptions, SmtpSettings } from "./accessors.generated.js";
import type { CollectionItem, GenericColl, ItemInput, ItemListOf, ItemObject, ObjectFields, ObjectName, ObjectOf, ReadonlyItemList } from "./item-types.js";

export type * from "./item-types.js";

/**
 * The accessors, options and settings as editors show them: accessors.generated.ts spells out every
 * member with its row's doc (scripts/gen-accessor-types.mjs). The mapped types below derive the same
 * members from the tables; spec/types/accessors.check.ts asserts both agree, and
 * spec/unit/typed-api.spec.ts that the generated file is the one the current tables give.
 */
export type { GeneratedAccessors, SmtpOptions, SmtpSettings };

type Prop = (typeof PROPERTIES)[number];
type Generated = Exclude<Prop, { custom: true }>;
type Writable = Exclude<Generated, { readOnly: true }>;
type ReadOnly = Extract<Generated, { readOnly: true }>;

/** camelCase name of a schema entry: its `js` field, else the name with a lower-case first letter. */
export type JsName<S> = S extends { js: infer J extends string } ? J : S extends { name: infer N extends string } ? Uncapitalize<N> : never;

export type ScalarAccessors = { [S in Generated as `get${S["name"]}`]: () => ScalarValue<S> } & {
  [S in Writable as `set${S["name"]}`]: (value: ScalarValue<S>) => void;
} & { -readonly [S in Writable as JsName<S>]: ScalarValue<S> } & { readonly [S in ReadOnly as JsName<S>]: ScalarValue<S> };

type Coll = (typeof COLLECTIONS)[number];
type WritableColl = Exclude<Coll, { readOnly: true }>;
type ReadOnlyColl = Extract<Coll, { readOnly: true }>;

/** The fields of a MessageRecipients item as a plain object (the `messageRecipients` array's items). */
export type MessageRecipientFields = CollectionItem<Extract<Coll, { name: "MessageRecipients" }>>;
/** The fields of a MessageHeaders item as a plain object. */
export type MessageHeaderFields = CollectionItem<Extract<Coll, { name: "MessageHeaders" }>>;
/** The fields of an Attachments item as a plain object. */
export type AttachmentFields = CollectionItem<Extract<Coll, { name: "Attachments" }>>;

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

export type ListAccessors = UnionToIntersection<
  GenericColl extends infer C
    ? C extends GenericColl
      ? C extends { readOnly: true }
        ? { [K in `get${C["name"]}`]: () => ReadonlyItemList<ItemObject<C>> }
        : { [K in `get${C["name"]}`]: () => ItemListOf<ItemObject<C>, ItemInput<C>> } & { [K in `set${C["name"]}`]: (items: Iterable<ItemInput<C>>) => void }
      : never
    : never
>;

export type ObjectAccessors = { [N in ObjectName as `get${N}`]: () => ObjectOf<N> } & {
  [N in ObjectName as `set${N}`]: (value: ObjectOf<N> | Partial<ObjectFields<N>>) => void;
} & { [N in ObjectName as Uncapitalize<N>]: ObjectOf<N> };

type FieldGetters<C extends Coll> = { [F in C["fields"][number] as `get${C["item"]}${F["name"]}`]: (index: number) => ScalarValue<F> };
type FieldSetters<C extends Coll> = { [F in C["fields"][number] as `set${C["item"]}${F["name"]}`]: (index: number, value: ScalarValue<F>) => void };


export type CollectionAccessors = UnionToIntersection<
  | (Coll extends infer C ? (C extends Coll ? FieldGetters<C> & { [K in `get${C["item"]}Count`]: () => number } : never) : never)
  | (WritableColl extends infer C ? (C extends WritableColl ? FieldSetters<C> & { [K in `set${C["item"]}Count`]: (count: number) => void } : never) : never)
> & { readonly [C in ReadOnlyColl as C["js"]]: readonly CollectionItem<C>[] };

/** Array forms of the writable collections: whole items read (writing takes Partial items; the generated interface spells the setter out). */
export type CollectionArrays = { -readonly [C in WritableColl as C["js"]]: CollectionItem<C>[] };

/** Every generated accessor, derived by mapped types: the compile-time cross-check of GeneratedAccessors. */
export type MappedAccessors = ScalarAccessors & CollectionAccessors & CollectionArrays & ListAccessors & ObjectAccessors;

type Setting = (typeof SETTINGS)[number];
/** The name of a config() setting: "AbsoluteTimeout" | ... | "UseSMTPUTF8". */
export type SettingName = Setting["name"];
/** The `settings` option, derived by a mapped type: the cross-check of SmtpSettings. */
export type MappedSettings = { -readonly [S in Exclude<Setting, { readOnly: true }> as S["name"]]?: SettingValueOf<S> };

/** Constructor options, derived by mapped types: the cross-check of SmtpOptions. */
export type MappedOptions = Partial<{ -readonly [S in Writable as JsName<S>]: ScalarValue<S> }> &
  Partial<{ -readonly [C in WritableColl as C["js"]]: Partial<CollectionItem<C>>[] }> & { settings?: MappedSettings };

/**
 * A config() line spelt exactly as the SETTINGS table does: "StopOnToErrors=false" to set, "ChunkSize"
 * to read. For code that wants a misspelt name to be a compile error: `const line: ConfigLine = ...`.
 */
export type ConfigLine = SettingName | `${SettingName}=${string}`;

/**
 * What config() takes. IP*Works setting names are case-insensitive and a port often passes a line it
 * read from a file, so config() keeps taking any string (a wrong name fails at run time with 603);
 * the ConfigLine members are in the union only so that an editor completes the setting names.
 * `string & {}` keeps them from collapsing into plain `string`. A strict parameter (ConfigLine, or
 * Lowercase<> variants of it) would reject valid port code: "stopontoerrors=false", config(line).
 */
export type ConfigString = ConfigLine | (string & {});

/**
 * Type-level view of the schema: the accessor methods and camelCase
 * properties that install-accessors.ts puts on the component at run time.
 * Both come from PROPERTIES / COLLECTIONS, so a new table row is a new,
 * typed accessor with no other edit.
 */
import type { COLLECTIONS, PROPERTIES } from "./properties.js";
import type { ScalarValue } from "./spec-types.js";

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

/** One item of a collection as a plain object: { address, name, options, type }. */
export type CollectionItem<C extends Coll> = { -readonly [F in C["fields"][number] as Uncapitalize<F["name"]>]: ScalarValue<F> };

export type MessageRecipient = CollectionItem<Extract<Coll, { name: "MessageRecipients" }>>;
export type MessageHeader = CollectionItem<Extract<Coll, { name: "MessageHeaders" }>>;

type FieldGetters<C extends Coll> = { [F in C["fields"][number] as `get${C["item"]}${F["name"]}`]: (index: number) => ScalarValue<F> };
type FieldSetters<C extends Coll> = { [F in C["fields"][number] as `set${C["item"]}${F["name"]}`]: (index: number, value: ScalarValue<F>) => void };

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;

export type CollectionAccessors = UnionToIntersection<
  | (Coll extends infer C ? (C extends Coll ? FieldGetters<C> & { [K in `get${C["item"]}Count`]: () => number } : never) : never)
  | (WritableColl extends infer C ? (C extends WritableColl ? FieldSetters<C> & { [K in `set${C["item"]}Count`]: (count: number) => void } : never) : never)
> & { readonly [C in ReadOnlyColl as C["js"]]: readonly CollectionItem<C>[] };

/**
 * Array forms of writable collections: reading gives whole items, writing
 * takes items with any fields left out (they get their defaults). A mapped
 * type cannot declare different get / set types, so this one is spelled out;
 * the runtime accessor is still installed from the schema.
 */
export interface CollectionArrays {
  get messageRecipients(): MessageRecipient[];
  set messageRecipients(list: readonly Partial<MessageRecipient>[]);
}

/** Every generated accessor: the Smtp interface extends this. */
export type GeneratedAccessors = ScalarAccessors & CollectionAccessors & CollectionArrays;

/** Constructor options: every writable property by its camelCase name, plus settings. */
export type SmtpOptions = Partial<{ -readonly [S in Writable as JsName<S>]: ScalarValue<S> }> & {
  messageRecipients?: Partial<MessageRecipient>[];
  /** config() settings by name, e.g. { AllowEmptyTo: true }. */
  settings?: Record<string, string | number | boolean>;
};

/**
 * The types of the IP*Works object forms: item objects of the collections
 * (MessageRecipient, ...), their live lists, and object properties
 * (Firewall), derived from the schema rows. accessors.generated.ts and
 * accessor-types.ts both build on them.
 */
import type { COLLECTIONS, PROPERTIES } from "./properties.js";
import type { ScalarValue } from "./spec-types.js";

type Prop = (typeof PROPERTIES)[number];
type Coll = (typeof COLLECTIONS)[number];

/** One item of a collection as a plain object: { address, name, options, type }. */
export type CollectionItem<C extends Coll> = { -readonly [F in C["fields"][number] as Uncapitalize<F["name"]>]: ScalarValue<F> };

type Field<C extends Coll> = C["fields"][number];

/** An item object (IP*Works' MessageRecipient, ...): the fields as properties and as getX() / setX(v). */
export type ItemObject<C extends Coll> = CollectionItem<C> &
  { [F in Field<C> as `get${F["name"]}`]: () => ScalarValue<F> } &
  { [F in Field<C> as `set${F["name"]}`]: (value: ScalarValue<F>) => void } & { toJSON(): CollectionItem<C> };

type Positional<T extends readonly unknown[]> = { -readonly [K in keyof T]?: ScalarValue<T[K]> };

/** `new MessageRecipient("a@example.com")` (fields in schema order) or `new MessageRecipient({ address, type })`. */
export interface ItemClass<C extends Coll> {
  new (init: Partial<CollectionItem<C>>): ItemObject<C>;
  new (...fields: Positional<C["fields"]>): ItemObject<C>;
  readonly prototype: ItemObject<C>;
}

/** What a list's add() / set() take: an item object, an object of fields, or the first field's value. */
export type ItemInput<C extends Coll> = ItemObject<C> | Partial<CollectionItem<C>> | ScalarValue<C["fields"][0]>;

/** A read-only live list (IP*Works' collection objects). */
export interface ReadonlyItemList<V> extends Iterable<V> {
  readonly length: number;
  readonly count: number;
  size(): number;
  get(index: number): V;
  item(index: number): V;
  toArray(): V[];
}

/** A live list: changes go straight to the component's message. */
export interface ItemListOf<V, In> extends ReadonlyItemList<V> {
  add(item: In): V;
  insert(index: number, item: In): V;
  set(index: number, item: In): V;
  remove(index: number): void;
  removeAt(index: number): void;
  clear(): void;
}

/** Collections whose items are a class of their own kind (RecipientCerts holds Certificates): the component declares those. */
export type GenericColl = Exclude<Coll, { itemObjects: string }>;

type ObjectRow = Extract<Prop, { object: unknown }>;
export type ObjectName = ObjectRow["object"]["name"];
type ObjectRows<N extends ObjectName> = Extract<ObjectRow, { object: { name: N } }>;
/** An object property's fields as a plain object ({ host, port, ... } for Firewall). */
export type ObjectFields<N extends ObjectName> = { -readonly [R in ObjectRows<N> as Uncapitalize<R["object"]["field"]>]: ScalarValue<R> };
/** An object property (IP*Works' Firewall): fields as properties and as getX() / setX(v). */
export type ObjectOf<N extends ObjectName> = ObjectFields<N> &
  { [R in ObjectRows<N> as `get${R["object"]["field"]}`]: () => ScalarValue<R> } &
  { [R in ObjectRows<N> as `set${R["object"]["field"]}`]: (value: ScalarValue<R>) => void } & { toJSON(): ObjectFields<N> };

export interface ObjectClass<N extends ObjectName> {
  new (init?: Partial<ObjectFields<N>>): ObjectOf<N>;
  readonly prototype: ObjectOf<N>;
}

type CollNamed<N extends Coll["name"]> = Extract<Coll, { name: N }>;
/** The fields of an item of collection N as a plain object. */
export type CollectionFields<N extends Coll["name"]> = CollectionItem<CollNamed<N>>;
/** An item object of collection N (MessageRecipient, ...). */
export type ItemObjectOf<N extends GenericColl["name"]> = ItemObject<CollNamed<N>>;
/** What collection N's add() / set() take. */
export type ItemInputOf<N extends GenericColl["name"]> = ItemInput<CollNamed<N>>;

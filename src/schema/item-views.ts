/**
 * IP*Works' object forms of the collections: one item class per collection
 * (MessageRecipient, Attachment, MessageHeader), made from its schema row, and
 * a live list over the component's items (getMessageRecipients().add(...)).
 * An item taken from a list is a view of the component's own record, so
 * editing it edits the message, with the same validation as the indexed
 * setters; an item made with `new` holds its own record until it is added.
 */
import { ErrorCode, SmtpError } from "../errors.js";
import { lowerFirst } from "./js-name.js";
import { COLLECTIONS } from "./properties.js";
import type { CollectionSpec, FieldSpec, SettingValue } from "./spec-types.js";
import { validateValue } from "./validate.js";

export type ItemRecord = Record<string, SettingValue>;

/** The record behind every item object, and whether it belongs to a read-only collection. */
const records = new WeakMap<object, { record: ItemRecord; readOnly: boolean }>();

export function defaultRecord(spec: CollectionSpec): ItemRecord {
  const record: ItemRecord = {};
  for (const f of spec.fields) record[f.name] = f.default;
  return record;
}

/** Writes one field of an item object, checked as the indexed setter checks it. */
function writeField(spec: CollectionSpec, self: object, f: FieldSpec, value: unknown): void {
  const entry = records.get(self);
  if (!entry) throw new TypeError(`not a ${spec.item} object`);
  if (entry.readOnly) throw new SmtpError(ErrorCode.ReadOnly, `${spec.name} is read-only: its items cannot change`);
  entry.record[f.name] = validateValue(f, value, `${spec.item}.${f.name}`);
}

/** An item constructor: positional fields in schema order, or one object keyed by camelCase field names. */
export type ItemConstructor = new (...args: unknown[]) => object;

function makeItemClass(spec: CollectionSpec): ItemConstructor {
  const itemClass = class {
    constructor(...args: unknown[]) {
      const record = defaultRecord(spec);
      records.set(this, { record, readOnly: false });
      const first = args[0];
      if (args.length === 1 && first !== null && typeof first === "object") {
        const init = first as Record<string, unknown>;
        for (const key of Object.keys(init)) {
          if (!spec.fields.some((f) => lowerFirst(f.name) === key)) {
            throw new SmtpError(ErrorCode.InvalidValue, `${spec.item} has no field "${key}"; its fields are ${spec.fields.map((f) => lowerFirst(f.name)).join(", ")}`);
          }
        }
        for (const f of spec.fields) {
          const v = init[lowerFirst(f.name)];
          if (v !== undefined) writeField(spec, this, f, v);
        }
        return;
      }
      if (args.length > spec.fields.length) {
        throw new SmtpError(ErrorCode.InvalidValue, `new ${spec.item}() takes at most ${spec.fields.length} values (${spec.fields.map((f) => lowerFirst(f.name)).join(", ")})`);
      }
      args.forEach((v, i) => {
        const f = spec.fields[i];
        if (v !== undefined && f) writeField(spec, this, f, v);
      });
    }

    /** The fields as a plain object (what JSON.stringify and the array accessors give). */
    toJSON(): Record<string, SettingValue> {
      const entry = records.get(this);
      return Object.fromEntries(spec.fields.map((f) => [lowerFirst(f.name), entry?.record[f.name] ?? f.default]));
    }
  };
  Object.defineProperty(itemClass, "name", { value: spec.item });
  const proto = itemClass.prototype as object;
  for (const f of spec.fields) {
    const read = function (this: object): SettingValue {
      const entry = records.get(this);
      if (!entry) throw new TypeError(`not a ${spec.item} object`);
      return entry.record[f.name] ?? f.default;
    };
    const write = function (this: object, value: unknown): void {
      writeField(spec, this, f, value);
    };
    Object.defineProperty(proto, `get${f.name}`, { configurable: true, writable: true, value: read });
    Object.defineProperty(proto, `set${f.name}`, { configurable: true, writable: true, value: write });
    Object.defineProperty(proto, lowerFirst(f.name), { configurable: true, enumerable: true, get: read, set: write });
  }
  return itemClass;
}

/** The item classes by collection name, made once from the schema. */
export const ITEM_CLASSES: ReadonlyMap<string, ItemConstructor> = new Map(
  (COLLECTIONS as readonly CollectionSpec[]).map((c) => [c.name, makeItemClass(c)]),
);

export function itemClass(collection: string): ItemConstructor {
  const cls = ITEM_CLASSES.get(collection);
  if (!cls) throw new SmtpError(ErrorCode.InvalidValue, `unknown collection ${collection}`);
  return cls;
}

/** How a list turns records into the objects it hands out and inputs into records. */
export interface ItemCodec<V> {
  view(record: ItemRecord): V;
  record(input: unknown, label: string): ItemRecord;
}

/** The generic codec: items are the collection's own class; inputs are instances, plain objects or a first field. */
export function itemCodec(spec: CollectionSpec): ItemCodec<object> {
  const cls = itemClass(spec.name);
  const views = new WeakMap<ItemRecord, object>();
  return {
    view(record) {
      let view = views.get(record);
      if (!view) {
        view = Object.create(cls.prototype as object) as object;
        records.set(view, { record, readOnly: spec.readOnly === true });
        views.set(record, view);
      }
      return view;
    },
    record(input, label) {
      if (input instanceof cls) {
        const entry = records.get(input);
        if (entry) return entry.record;
      }
      if (input === null || input === undefined) throw new SmtpError(ErrorCode.InvalidValue, `${label} takes a ${spec.item}, an object of its fields or its ${lowerFirst(spec.fields[0]?.name ?? "value")}`);
      const made = new cls(input);
      const entry = records.get(made);
      if (!entry) throw new TypeError(`not a ${spec.item} object`);
      return entry.record;
    },
  };
}

/**
 * A live list over one collection of a component. Reads go to the
 * component's items each time (a send or resetHeaders() shows at once);
 * writes are refused for read-only collections.
 */
export class ItemList<V> implements Iterable<V> {
  readonly #items: () => ItemRecord[];
  readonly #codec: ItemCodec<V>;
  readonly #spec: CollectionSpec;

  constructor(spec: CollectionSpec, items: () => ItemRecord[], codec: ItemCodec<V>) {
    this.#spec = spec;
    this.#items = items;
    this.#codec = codec;
  }

  /** Number of items (IP*Works' Count / size()). */
  get length(): number {
    return this.#items().length;
  }

  get count(): number {
    return this.length;
  }

  size(): number {
    return this.length;
  }

  /** The item at `index` (0-based); 605 when out of range. */
  get(index: number): V {
    const items = this.#items();
    return this.#codec.view(items[this.#index(index, items.length)] as ItemRecord);
  }

  /** IP*Works' name for get(). */
  item(index: number): V {
    return this.get(index);
  }

  /** Appends an item and returns it as the list now holds it. */
  add(item: unknown): V {
    const items = this.#writable();
    const record = this.#fresh(this.#codec.record(item, `${this.#spec.name}.add()`), items);
    items.push(record);
    return this.#codec.view(record);
  }

  insert(index: number, item: unknown): V {
    const items = this.#writable();
    if (!Number.isInteger(index) || index < 0 || index > items.length) this.#index(index, items.length);
    const record = this.#fresh(this.#codec.record(item, `${this.#spec.name}.insert()`), items);
    items.splice(index, 0, record);
    return this.#codec.view(record);
  }

  set(index: number, item: unknown): V {
    const items = this.#writable();
    const i = this.#index(index, items.length);
    const record = this.#fresh(this.#codec.record(item, `${this.#spec.name}.set()`), items);
    items[i] = record;
    return this.#codec.view(record);
  }

  /**
   * Replaces every item (set...(items)): each is checked before the list changes. Records keep
   * their identity (an addAttachment() Buffer is found by its record); a repeat is a copy.
   */
  replace(items: Iterable<unknown>): void {
    const target = this.#writable();
    if (items === null || typeof items !== "object" || !(Symbol.iterator in items)) {
      throw new SmtpError(ErrorCode.InvalidValue, `set${this.#spec.name}() takes a list of ${this.#spec.item} items`);
    }
    const records: ItemRecord[] = [];
    for (const [i, item] of [...items].entries()) records.push(this.#fresh(this.#codec.record(item, `set${this.#spec.name}() item ${i}`), records));
    target.splice(0, target.length, ...records);
  }

  remove(index: number): void {
    const items = this.#writable();
    items.splice(this.#index(index, items.length), 1);
  }

  /** IP*Works' name for remove(). */
  removeAt(index: number): void {
    this.remove(index);
  }

  clear(): void {
    this.#writable().length = 0;
  }

  toArray(): V[] {
    return this.#items().map((r) => this.#codec.view(r));
  }

  *[Symbol.iterator](): Iterator<V> {
    yield* this.toArray();
  }

  #writable(): ItemRecord[] {
    if (this.#spec.readOnly) throw new SmtpError(ErrorCode.ReadOnly, `${this.#spec.name} is read-only`);
    return this.#items();
  }

  /** The same object twice in one list would make two entries that edit each other: the second is a copy. */
  #fresh(record: ItemRecord, items: ItemRecord[]): ItemRecord {
    return items.includes(record) ? { ...record } : record;
  }

  #index(index: number, count: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new SmtpError(ErrorCode.IndexOutOfRange, `${this.#spec.item} index ${String(index)} is out of range (count is ${count})`);
    }
    return index;
  }
}

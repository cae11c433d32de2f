/**
 * IP*Works' object properties (SSMTP's Firewall): a class per object made
 * from the schema rows that name it (`object: { name, field }`). A view from
 * getFirewall() reads and writes the component's properties; one made with
 * `new Firewall()` has a store of its own, so both follow the same rules
 * (validation, the proxy port filled in from FirewallType).
 */
import { ErrorCode, SmtpError } from "../errors.js";
import { lowerFirst } from "./js-name.js";
import { PROPERTIES } from "./properties.js";
import { PropertyStore } from "./property-store.js";
import type { ScalarSpec, SettingValue } from "./spec-types.js";
import type { PropertyName } from "./store-keys.js";

type ObjectRow = ScalarSpec & { readonly name: PropertyName; readonly object: { readonly name: string; readonly field: string } };

const rows = (PROPERTIES as readonly (ScalarSpec & { readonly name: PropertyName })[]).filter((p): p is ObjectRow => p.object !== undefined);

/** The object names and their rows, in schema order (setFirewall() copies in that order). */
export const OBJECT_ROWS: ReadonlyMap<string, readonly ObjectRow[]> = rows.reduce((map, row) => {
  map.set(row.object.name, [...(map.get(row.object.name) ?? []), row]);
  return map;
}, new Map<string, ObjectRow[]>());

const stores = new WeakMap<object, PropertyStore>();
const DETACHED = { isConnected: (): boolean => false };

export type ObjectConstructor = new (init?: Record<string, unknown>) => object;

function makeObjectClass(name: string, fields: readonly ObjectRow[]): ObjectConstructor {
  const objectClass = class {
    constructor(init?: Record<string, unknown>) {
      const store = new PropertyStore(DETACHED);
      stores.set(this, store);
      if (init === undefined) return;
      if (init === null || typeof init !== "object") throw new SmtpError(ErrorCode.InvalidValue, `new ${name}() takes an object of its fields`);
      for (const key of Object.keys(init)) {
        if (!fields.some((f) => lowerFirst(f.object.field) === key)) {
          throw new SmtpError(ErrorCode.InvalidValue, `${name} has no field "${key}"; its fields are ${fields.map((f) => lowerFirst(f.object.field)).join(", ")}`);
        }
      }
      for (const f of fields) {
        const v = init[lowerFirst(f.object.field)];
        if (v !== undefined) store.set(f.name, v);
      }
    }

    toJSON(): Record<string, SettingValue> {
      const store = storeOf(this, name);
      return Object.fromEntries(fields.map((f) => [lowerFirst(f.object.field), store.get(f.name)]));
    }
  };
  Object.defineProperty(objectClass, "name", { value: name });
  const proto = objectClass.prototype as object;
  for (const f of fields) {
    const read = function (this: object): SettingValue {
      return storeOf(this, name).get(f.name);
    };
    const write = function (this: object, value: unknown): void {
      storeOf(this, name).set(f.name, value);
    };
    Object.defineProperty(proto, `get${f.object.field}`, { configurable: true, writable: true, value: read });
    Object.defineProperty(proto, `set${f.object.field}`, { configurable: true, writable: true, value: write });
    Object.defineProperty(proto, lowerFirst(f.object.field), { configurable: true, enumerable: true, get: read, set: write });
  }
  return objectClass;
}

function storeOf(self: object, name: string): PropertyStore {
  const store = stores.get(self);
  if (!store) throw new TypeError(`not a ${name} object`);
  return store;
}

export const OBJECT_CLASSES: ReadonlyMap<string, ObjectConstructor> = new Map(
  [...OBJECT_ROWS].map(([name, fields]) => [name, makeObjectClass(name, fields)]),
);

/** A view whose fields are the component's properties. */
export function objectView(name: string, store: PropertyStore): object {
  const cls = OBJECT_CLASSES.get(name);
  if (!cls) throw new SmtpError(ErrorCode.InvalidValue, `unknown object ${name}`);
  const view = Object.create(cls.prototype as object) as object;
  stores.set(view, store);
  return view;
}

/** Copies an object's fields (an instance or a plain object of fields) into the component's properties. */
export function assignObject(name: string, store: PropertyStore, value: unknown): void {
  const cls = OBJECT_CLASSES.get(name);
  const fields = OBJECT_ROWS.get(name);
  if (!cls || !fields) throw new SmtpError(ErrorCode.InvalidValue, `unknown object ${name}`);
  if (value === null || typeof value !== "object") throw new SmtpError(ErrorCode.InvalidValue, `set${name}() takes a ${name} object`);
  const source = value instanceof cls ? value : new cls(value as Record<string, unknown>);
  const from = storeOf(source, name);
  if (from === store) return;
  // All fields are checked (by the source's own store) before the first is copied: no half-set proxy.
  for (const f of fields) store.set(f.name, from.get(f.name));
}

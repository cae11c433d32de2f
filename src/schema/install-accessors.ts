/**
 * Puts the schema's accessors on a class prototype at load time:
 * getX()/setX(v), indexed getItemField(i)/setItemField(i, v), Count pairs,
 * and camelCase properties. accessor-types.ts declares the same set for the
 * compiler; both read the same tables.
 */
import { X509Certificate } from "node:crypto";
import { jsName, lowerFirst } from "./js-name.js";
import { COLLECTIONS, PROPERTIES } from "./properties.js";
import type { PropertyStore } from "./property-store.js";
import type { CollectionSpec, FieldSpec, ScalarSpec } from "./spec-types.js";
import type { CollectionName, FieldName, PropertyName } from "./store-keys.js";
import { ItemList, itemCodec, type ItemCodec, type ItemRecord } from "./item-views.js";
import { assignObject, OBJECT_ROWS, objectView } from "./object-views.js";

/** The tables with every optional field visible and the names still typed. */
const properties: readonly (ScalarSpec & { readonly name: PropertyName })[] = PROPERTIES;
type TypedField = FieldSpec & { readonly name: FieldName<CollectionName> };
const collections: readonly (Omit<CollectionSpec, "fields"> & { readonly name: CollectionName; readonly fields: readonly TypedField[] })[] = COLLECTIONS;

/**
 * `codecs` gives the item objects of a collection whose items are not its own
 * generated class (RecipientCerts holds Certificate objects).
 */
export function installAccessors(proto: object, storeOf: (self: object) => PropertyStore, codecs: Partial<Record<CollectionName, ItemCodec<object>>> = {}): void {
  const define = (key: string, descriptor: PropertyDescriptor): void => {
    Object.defineProperty(proto, key, { configurable: true, enumerable: false, ...descriptor });
  };

  for (const p of properties) {
    if (p.custom) continue;
    const name = p.name;
    const encodedOf = p.encodedOf;
    if (encodedOf !== undefined) {
      // Read from the custom property's getter: the certificate lives on the client, not in the store.
      const read = function (this: object): string {
        const getter: unknown = Reflect.get(this, `get${encodedOf}`);
        const cert: unknown = typeof getter === "function" ? Reflect.apply(getter, this, []) : undefined;
        return cert instanceof X509Certificate ? cert.raw.toString("base64") : "";
      };
      define(`get${name}`, { value: read, writable: true });
      define(jsName(p), { get: read });
      continue;
    }
    define(`get${name}`, { value(this: object) { return storeOf(this).get(name); }, writable: true });
    if (!p.readOnly) {
      define(`set${name}`, { value(this: object, v: unknown) { storeOf(this).set(name, v); }, writable: true });
    }
    define(jsName(p), {
      get(this: object) { return storeOf(this).get(name); },
      set: p.readOnly ? undefined : function (this: object, v: unknown) { storeOf(this).set(name, v); },
    });
  }

  for (const c of collections) {
    const coll = c.name;
    define(`get${c.item}Count`, { value(this: object) { return storeOf(this).count(coll); }, writable: true });
    if (!c.readOnly) {
      define(`set${c.item}Count`, { value(this: object, n: number) { storeOf(this).setCount(coll, n); }, writable: true });
    }
    for (const f of c.fields) {
      const field = f.name;
      define(`get${c.item}${field}`, { value(this: object, i: number) { return storeOf(this).getField(coll, i, field); }, writable: true });
      if (!c.readOnly) {
        define(`set${c.item}${field}`, { value(this: object, i: number, v: unknown) { storeOf(this).setField(coll, i, field, v); }, writable: true });
      }
    }
    // The object forms (SSMTP): getMessageRecipients().add(new MessageRecipient("a@example.com")).
    const custom = codecs[coll];
    if (c.itemObjects !== undefined && !custom) throw new TypeError(`${coll} holds ${c.itemObjects} objects: installAccessors() needs their codec`);
    const codec = custom ?? itemCodec(c);
    const list = (self: object): ItemList<object> => new ItemList(c, (): ItemRecord[] => storeOf(self).items(coll), codec);
    define(`get${coll}`, { value(this: object) { return list(this); }, writable: true });
    if (!c.readOnly) {
      define(`set${coll}`, {
        value(this: object, items: Iterable<unknown>) {
          list(this).replace(items);
        },
        writable: true,
      });
    }
    define(c.js, {
      get(this: object) {
        // Copies, so editing the returned objects cannot bypass validation.
        return storeOf(this).items(coll).map((item) => Object.fromEntries(c.fields.map((f) => [lowerFirst(f.name), item[f.name]])));
      },
      set: c.readOnly ? undefined : function (this: object, list: readonly Record<string, unknown>[]) { storeOf(this).setItems(coll, list); },
    });
  }

  for (const name of OBJECT_ROWS.keys()) {
    define(`get${name}`, { value(this: object) { return objectView(name, storeOf(this)); }, writable: true });
    define(`set${name}`, { value(this: object, value: unknown) { assignObject(name, storeOf(this), value); }, writable: true });
    define(lowerFirst(name), {
      get(this: object) { return objectView(name, storeOf(this)); },
      set(this: object, value: unknown) { assignObject(name, storeOf(this), value); },
    });
  }
}

/**
 * Constructor options (SmtpOptions) applied to a store: every writable
 * property by its camelCase name, the writable collections as arrays, and
 * `settings` by config() name. Smtp and SmtpPool read options through this.
 */
import { ErrorCode, SmtpError } from "../errors.js";
import type { SmtpOptions } from "./accessor-types.js";
import { jsName } from "./js-name.js";
import { COLLECTIONS, PROPERTIES } from "./properties.js";
import type { PropertyStore } from "./property-store.js";
import type { CollectionName, PropertyName } from "./store-keys.js";

type Target = { kind: "property"; name: PropertyName } | { kind: "collection"; name: CollectionName };

const TARGETS: ReadonlyMap<string, Target> = new Map<string, Target>([
  ...PROPERTIES.filter((p) => !("custom" in p && p.custom) && !("readOnly" in p && p.readOnly))
    .map((p): [string, Target] => [jsName(p), { kind: "property", name: p.name }]),
  ...COLLECTIONS.filter((c) => !("readOnly" in c && c.readOnly))
    .map((c): [string, Target] => [c.js, { kind: "collection", name: c.name }]),
]);

export function applyOptions(store: PropertyStore, options: SmtpOptions): void {
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (key === "settings") {
      for (const [name, v] of Object.entries(value as Record<string, unknown>)) store.setSetting(name, v);
      continue;
    }
    const target = TARGETS.get(key);
    if (!target) throw new SmtpError(ErrorCode.InvalidValue, `unknown or read-only option "${key}"`);
    if (target.kind === "property") store.set(target.name, value);
    else store.setItems(target.name, value as Record<string, unknown>[]);
  }
}

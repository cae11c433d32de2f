/**
 * Holds the current value of every property, collection item and setting,
 * validated against the schema tables. The component and the generated
 * accessors both go through it, so validation lives in one place.
 */
import { ErrorCode, SmtpError } from "../errors.js";
import { defaultProxyPort } from "../transport/firewall-types.js";
import { lowerFirst } from "./js-name.js";
import { MESSAGE_PROPERTIES } from "./message-properties.js";
import { defaultRecord } from "./item-views.js";
import { COLLECTIONS, PROPERTIES } from "./properties.js";
import { SETTINGS } from "./settings.js";
import type { CollectionSpec, ScalarSpec, SettingSpec, SettingValue } from "./spec-types.js";
import type {
  BoolSettingName, CollectionName, CollectionRecord, FieldName, KnownOrInput, NumberPropertyName, NumberSettingName,
  PropertyName, PropertyValue, SettingName, SettingValueOf, StringPropertyName,
} from "./store-keys.js";
import { parseSettingText, validateValue } from "./validate.js";

/** Until the pool reads message-properties.ts itself. */

type Item = Record<string, SettingValue>;

const PROPERTY_BY_NAME: ReadonlyMap<string, ScalarSpec> = new Map(PROPERTIES.map((p) => [p.name, p as ScalarSpec]));
const COLLECTION_BY_NAME: ReadonlyMap<string, CollectionSpec> = new Map(COLLECTIONS.map((c) => [c.name, c as CollectionSpec]));
const SETTING_BY_LOWER: ReadonlyMap<string, SettingSpec> = new Map(SETTINGS.map((s) => [s.name.toLowerCase(), s as SettingSpec]));
/** The component reads settings by their exact names on every send: no lower-casing for those. */
const SETTING_BY_NAME: ReadonlyMap<string, SettingSpec> = new Map(SETTINGS.map((s) => [s.name, s as SettingSpec]));

/** Setting names are case-insensitive, as in IP*Works. */
function settingSpec(name: string): SettingSpec | undefined {
  return SETTING_BY_NAME.get(name) ?? SETTING_BY_LOWER.get(name.toLowerCase());
}

export interface StoreGuard {
  isConnected(): boolean;
  /**
   * Receives the "accepted, no effect on Node.js" notice of a `noEffect` property or setting, once
   * per store, when it is first set (the client shows it as a PITrail info line, direction 2).
   * Without it the notices wait in the store for takeNotices().
   */
  notice?(message: string): void;
  /**
   * MessageHeadersString and the MessageHeaders items, worked out when they
   * are read (the client shows the next message's headers before a send).
   * Without it they are the values last written with setInternal / setItemsInternal.
   */
  messageHeaders?(): MessageHeadersView;
}

/** The values of MessageHeadersString and MessageHeaders, read together. */
export interface MessageHeadersView {
  /** The folded block without the empty line that ends it. */
  readonly text: string;
  readonly items: CollectionRecord<"MessageHeaders">[];
}

/** The PITrail info line for a `noEffect` name; never the value (it may be a license key or proxy data). */
export function noEffectNotice(name: string): string {
  return `${name} is accepted for IP*Works compatibility and has no effect on Node.js (see docs/api.md)`;
}

const NO_NOTICES: readonly string[] = [];

export class PropertyStore {
  private readonly values = new Map<string, SettingValue>();
  private readonly settings = new Map<string, SettingValue>();
  private readonly collections = new Map<string, Item[]>();
  /** `noEffect` names this store has already reported, and the notices not yet taken. */
  private readonly noticed = new Set<string>();
  private pendingNotices: string[] = [];

  constructor(private readonly guard: StoreGuard) {
    this.resetAll();
  }

  resetAll(): void {
    for (const p of PROPERTY_BY_NAME.values()) if (!p.aliasOf) this.values.set(p.name, p.default);
    for (const s of SETTING_BY_LOWER.values()) if (!s.property) this.settings.set(s.name, s.default);
    for (const c of COLLECTION_BY_NAME.values()) this.collections.set(c.name, []);
  }

  /** Copies every property, collection and setting of `other` (pools clone a template this way). */
  copyFrom(other: PropertyStore): void {
    for (const [k, v] of other.values) this.values.set(k, v);
    for (const [k, v] of other.settings) this.settings.set(k, v);
    for (const [k, items] of other.collections) this.collections.set(k, items.map((i) => ({ ...i })));
  }

  resetHeaders(): void {
    for (const name of MESSAGE_PROPERTIES) this.values.set(name, propertySpec(name).default);
    this.collections.set("MessageRecipients", []);
    this.collections.set("MessageHeaders", []);
    this.collections.set("Attachments", []);
    this.values.set("MessageHeadersString", "");
  }

  get<N extends PropertyName>(name: N): PropertyValue<N> {
    if (name === "MessageHeadersString" && this.guard.messageHeaders) return this.guard.messageHeaders().text as PropertyValue<N>;
    const v = this.values.get(propertySpec(name).aliasOf ?? name);
    if (v === undefined) throw new SmtpError(ErrorCode.InvalidValue, `unknown property ${name}`);
    return v as PropertyValue<N>;
  }

  /** A user's write: read-only and connected-state rules apply. The name may come from user input. */
  set<N extends string>(name: KnownOrInput<N, PropertyName>, value: unknown): void {
    const spec = propertySpec(name);
    if (spec.aliasOf) return this.set(spec.aliasOf, value);
    if (spec.readOnly) throw new SmtpError(ErrorCode.ReadOnly, `${name} is read-only`);
    if (spec.fixedWhileConnected && this.guard.isConnected() && value !== this.values.get(name)) {
      throw new SmtpError(ErrorCode.WhileConnected, `${name} cannot change while connected; disconnect first`);
    }
    const valid = validateValue(spec, value);
    this.values.set(name, valid);
    this.noteNoEffect(spec);
    // IP*Works fills in the usual proxy port when the type is chosen and no port is set.
    if (name === "FirewallType" && this.values.get("FirewallPort") === 0) {
      this.values.set("FirewallPort", defaultProxyPort(Number(valid)));
    }
  }

  /** The component's own write (LastReply, Idle, ...): no read-only rule. */
  setInternal<N extends PropertyName>(name: N, value: PropertyValue<N>): void {
    this.values.set(propertySpec(name).aliasOf ?? name, value);
  }

  string(name: StringPropertyName): string {
    return String(this.get(name));
  }

  number(name: NumberPropertyName): number {
    return Number(this.get(name));
  }

  // ---- collections ----

  count(collection: CollectionName): number {
    return this.list(collection).length;
  }

  setCount(collection: CollectionName, count: number): void {
    const spec = collectionSpec(collection, true);
    if (!Number.isInteger(count) || count < 0 || count > 100000) {
      throw new SmtpError(ErrorCode.InvalidValue, `${spec.item}Count must be an integer from 0 to 100000; got ${String(count)}`);
    }
    const items = this.list(collection);
    while (items.length > count) items.pop();
    while (items.length < count) items.push(defaultRecord(spec));
  }

  getField<C extends CollectionName>(collection: C, index: number, field: FieldName<C>): SettingValue {
    const spec = collectionSpec(collection, false);
    const item = this.list(collection)[checkIndex(spec, index, this.count(collection))];
    return (item as Item)[field] as SettingValue;
  }

  setField<C extends CollectionName>(collection: C, index: number, field: FieldName<C>, value: unknown): void {
    const spec = collectionSpec(collection, true);
    const i = checkIndex(spec, index, this.count(collection));
    const f = spec.fields.find((x) => x.name === field);
    if (!f) throw new SmtpError(ErrorCode.InvalidValue, `unknown field ${spec.item}${field}`);
    (this.list(collection)[i] as Item)[field] = validateValue(f, value, `${spec.item}${field}(${i})`);
  }

  /** The items themselves, not copies (the array accessors copy them). */
  items<C extends CollectionName>(collection: C): CollectionRecord<C>[] {
    return this.list(collection) as CollectionRecord<C>[];
  }

  private list(collection: string): Item[] {
    if (collection === "MessageHeaders" && this.guard.messageHeaders) return this.guard.messageHeaders().items;
    const items = this.collections.get(collection);
    if (!items) throw new SmtpError(ErrorCode.InvalidValue, `unknown collection ${collection}`);
    return items;
  }

  /** Replace a writable collection from plain objects keyed by lowerCamel field names. */
  setItems(collection: CollectionName, list: readonly Record<string, unknown>[]): void {
    const spec = collectionSpec(collection, true);
    if (!Array.isArray(list)) throw new SmtpError(ErrorCode.InvalidValue, `${spec.name} must be an array`);
    const next = list.map((obj, i) => {
      const item = defaultRecord(spec);
      for (const f of spec.fields) {
        const v = obj[lowerFirst(f.name)];
        if (v !== undefined) item[f.name] = validateValue(f, v, `${spec.item}${f.name}(${i})`);
      }
      return item;
    });
    this.collections.set(collection, next);
  }

  setItemsInternal<C extends CollectionName>(collection: C, list: CollectionRecord<C>[]): void {
    collectionSpec(collection, false);
    this.collections.set(collection, list);
  }

  // ---- settings ----

  /** config("Name=Value") sets and returns ""; config("Name") returns the value as text. */
  config(text: string): string {
    if (typeof text !== "string") throw new SmtpError(ErrorCode.InvalidValue, "config() takes a string such as \"Name=Value\"");
    const eq = text.indexOf("=");
    const name = (eq < 0 ? text : text.slice(0, eq)).trim();
    const spec = settingSpec(name);
    if (!spec) throw new SmtpError(ErrorCode.UnknownSetting, `unknown setting "${name}"`, { hint: "see docs/api.md for the list of settings" });
    if (eq < 0) return String(this.settingByName(spec.name));
    if (spec.readOnly) throw new SmtpError(ErrorCode.ReadOnly, `setting ${spec.name} is read-only`);
    const value = parseSettingText(spec, text.slice(eq + 1));
    if (spec.property) this.set(spec.property, value);
    else this.settings.set(spec.name, value);
    this.noteNoEffect(spec);
    return "";
  }

  /** Sets a setting from a typed value (constructor options); the name may come from user input. */
  setSetting<N extends string>(name: KnownOrInput<N, SettingName>, value: unknown): void {
    const spec = settingSpec(name);
    if (!spec) throw new SmtpError(ErrorCode.UnknownSetting, `unknown setting "${name}"`);
    if (spec.readOnly) throw new SmtpError(ErrorCode.ReadOnly, `setting ${spec.name} is read-only`);
    const v = typeof value === "string" && spec.type !== "string" ? parseSettingText(spec, value) : validateValue(spec, value);
    if (spec.property) this.set(spec.property, v);
    else this.settings.set(spec.name, v);
    this.noteNoEffect(spec);
  }

  /** The component's own write of a read-only setting (SSLNegotiatedVersion, ...). */
  setSettingInternal<N extends SettingName>(name: N, value: SettingValueOf<N>): void {
    const spec = settingSpec(name);
    if (!spec || spec.property) throw new SmtpError(ErrorCode.UnknownSetting, `unknown setting "${name}"`);
    this.settings.set(spec.name, value);
  }

  /**
   * The "no effect on Node.js" notices recorded since the last call (each `noEffect` name once per
   * store), for a client that shows them in PITrail when a method starts. Empty when the
   * StoreGuard has a notice() hook: those went there at once.
   */
  takeNotices(): readonly string[] {
    // Asked at every method call: nothing is allocated when there is nothing to say.
    if (this.pendingNotices.length === 0) return NO_NOTICES;
    const notices = this.pendingNotices;
    this.pendingNotices = [];
    return notices;
  }

  private noteNoEffect(spec: ScalarSpec): void {
    if (!spec.noEffect || this.noticed.has(spec.name)) return;
    this.noticed.add(spec.name);
    const message = noEffectNotice(spec.name);
    if (this.guard.notice) this.guard.notice(message);
    else this.pendingNotices.push(message);
  }

  setting<N extends SettingName>(name: N): SettingValueOf<N> {
    return this.settingByName(name) as SettingValueOf<N>;
  }

  bool(name: BoolSettingName): boolean {
    return this.setting(name) === true;
  }

  int(name: NumberSettingName): number {
    return Number(this.setting(name));
  }

  /** A setting by a name from user input, case-insensitive. */
  private settingByName(name: string): SettingValue {
    const spec = settingSpec(name);
    if (!spec) throw new SmtpError(ErrorCode.UnknownSetting, `unknown setting "${name}"`);
    if (spec.property) return this.property(spec.property);
    return this.settings.get(spec.name) as SettingValue;
  }

  /** A property by a name from user input or a table. */
  private property(name: string): SettingValue {
    return this.get(name as PropertyName);
  }
}

export function propertySpec(name: string): ScalarSpec {
  const spec = PROPERTY_BY_NAME.get(name);
  if (!spec) throw new SmtpError(ErrorCode.InvalidValue, `unknown property ${name}`);
  return spec;
}

function collectionSpec(name: string, write: boolean): CollectionSpec {
  const spec = COLLECTION_BY_NAME.get(name);
  if (!spec) throw new SmtpError(ErrorCode.InvalidValue, `unknown collection ${name}`);
  if (write && spec.readOnly) throw new SmtpError(ErrorCode.ReadOnly, `${spec.name} is read-only`);
  return spec;
}

function checkIndex(spec: CollectionSpec, index: number, count: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new SmtpError(ErrorCode.IndexOutOfRange, `${spec.item} index ${String(index)} is out of range (count is ${count}); set ${spec.item}Count first`);
  }
  return index;
}



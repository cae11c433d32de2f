// Types for docs-render.mjs, so the TypeScript specs can import it.
import type { ErrorCodeDoc } from "../src/errors.js";
import type { EventDoc } from "../src/events.js";
import type { CollectionSpec, ScalarSpec, SettingSpec } from "../src/schema/spec-types.js";

export interface DocEntry {
  name: string;
  signature: string;
  doc: string;
}

export declare const METHODS: readonly DocEntry[];
export declare const EVENTS: readonly EventDoc[];

export declare function renderApi(tables: {
  PROPERTIES: readonly ScalarSpec[];
  COLLECTIONS: readonly CollectionSpec[];
  SETTINGS: readonly SettingSpec[];
  EVENTS?: readonly EventDoc[];
}): string;

export declare function renderErrors(errorCodes: readonly ErrorCodeDoc[]): string;

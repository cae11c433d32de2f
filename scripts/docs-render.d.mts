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

/** A table inside a hand-written doc, rewritten by `npm run docs`. */
export interface DocTable {
  file: string;
  name: string;
  source: string;
  render(): string;
}

export declare const DOC_TABLES: readonly DocTable[];

/** `text` (the content of docs/`file`) with its generated tables rendered anew. */
export declare function renderDocTables(file: string, text: string): string;

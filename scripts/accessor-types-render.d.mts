// Types for accessor-types-render.mjs, so the TypeScript specs can import it.
import type { EnumTable } from "../src/schema/constants.js";
import type { CollectionSpec, ScalarSpec, SettingSpec } from "../src/schema/spec-types.js";

export interface AccessorTables {
  PROPERTIES: readonly ScalarSpec[];
  COLLECTIONS: readonly CollectionSpec[];
  SETTINGS: readonly SettingSpec[];
  ENUMS: readonly EnumTable[];
}

export declare const ACCESSORS_FILE: string;
export declare const CONSTANTS_FILE: string;
/** The text of src/schema/accessors.generated.ts for these tables. */
export declare function renderAccessorTypes(tables: AccessorTables): string;
/** The text of src/schema/constants.generated.ts for these tables. */
export declare function renderConstants(tables: AccessorTables): string;

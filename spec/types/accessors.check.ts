/**
 * Compile-time cross-check (run by `npm run typecheck`, which includes spec/): the interfaces
 * written by scripts/gen-accessor-types.mjs (with the docs an editor shows) declare exactly the
 * members the mapped types derive from the schema, with the same types. A row added to the schema
 * without regenerating fails spec/unit/typed-api.spec.ts; a generator that spells a type
 * differently from ScalarValue / SettingValueOf fails here.
 */
import type {
  GeneratedAccessors, MappedAccessors, MappedOptions, MappedSettings, SmtpOptions, SmtpSettings,
} from "../../src/schema/accessor-types.js";

/** The same keys, and each side assignable to the other. */
type Same<A, B> = [keyof A] extends [keyof B]
  ? [keyof B] extends [keyof A]
    ? [A] extends [B]
      ? [B] extends [A]
        ? true
        : { missingOrDifferentIn: "generated"; keys: keyof B }
      : { missingOrDifferentIn: "mapped"; keys: keyof A }
    : { extraInMapped: Exclude<keyof B, keyof A> }
  : { extraInGenerated: Exclude<keyof A, keyof B> };

/** Per key: the generated member's type against the mapped one (for a readable error). */
type Differences<A, B> = { [K in keyof A & keyof B]: [A[K]] extends [B[K]] ? ([B[K]] extends [A[K]] ? never : K) : K }[keyof A & keyof B];

export const accessorsAgree: Same<GeneratedAccessors, MappedAccessors> = true;
export const accessorTypesAgree: [Differences<GeneratedAccessors, MappedAccessors>] extends [never] ? true : Differences<GeneratedAccessors, MappedAccessors> = true;
export const optionsAgree: Same<Required<SmtpOptions>, Required<MappedOptions>> = true;
export const optionTypesAgree: [Differences<Required<SmtpOptions>, Required<MappedOptions>>] extends [never] ? true : false = true;
export const settingsAgree: Same<Required<SmtpSettings>, Required<MappedSettings>> = true;
export const settingTypesAgree: [Differences<Required<SmtpSettings>, Required<MappedSettings>>] extends [never] ? true : false = true;

/**
 * SASLprep (RFC 4013, a stringprep profile, RFC 3454) for SCRAM user names
 * and passwords, as a "query" (RFC 5802 §2.2: unassigned code points are
 * allowed). Implemented: the two mapping tables, NFKC, and every prohibited
 * table. Not implemented: the bidirectional-text rule (RFC 3454 §6), which
 * needs the Unicode Bidi_Class property that JavaScript regular expressions do
 * not expose; a string it would reject is passed through unchanged, and the
 * server then simply fails the login.
 */

/** C.1.2 non-ASCII space characters: mapped to U+0020. */
const NON_ASCII_SPACE = /[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/gu;

/** B.1 "commonly mapped to nothing" (soft hyphen, joiners, variation selectors, BOM...). */
const MAPPED_TO_NOTHING = /[\u00ad\u034f\u1806\u180b-\u180d\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff]/gu;

/**
 * Prohibited output: C.2.1/C.2.2 control characters, C.3 private use, C.4
 * non-characters, C.5 surrogates (only lone ones can occur in a JS string),
 * C.6 inappropriate for plain text, C.7 ideographic description, C.8 display
 * properties / deprecated, C.9 tagging. C.1.2 cannot remain after mapping.
 */
const PROHIBITED = new RegExp(
  [
    "[\\u0000-\\u001f\\u007f-\\u009f]", // C.2.1, C.2.2 (C0, DEL, C1)
    "[\\u06dd\\u070f\\u180e\\u200c\\u200d\\u2028\\u2029\\u2060-\\u2063\\u206a-\\u206f\\ufeff\\ufff9-\\ufffc]", // C.2.2
    "[\\u{1d173}-\\u{1d17a}]", // C.2.2 musical formatting
    "[\\ue000-\\uf8ff\\u{f0000}-\\u{ffffd}\\u{100000}-\\u{10fffd}]", // C.3
    "[\\ufdd0-\\ufdef]|\\p{Noncharacter_Code_Point}", // C.4
    "\\p{Surrogate}", // C.5 (lone surrogates under the u flag)
    "[\\ufff9-\\ufffd]", // C.6
    "[\\u2ff0-\\u2ffb]", // C.7
    "[\\u0340\\u0341\\u200e\\u200f\\u202a-\\u202e\\u206a-\\u206f]", // C.8
    "[\\u{e0001}\\u{e0020}-\\u{e007f}]", // C.9
  ].join("|"),
  "u",
);

/** Returns the prepared string, or throws a plain Error naming the offending code point. */
export function saslPrep(input: string): string {
  const mapped = input.replace(NON_ASCII_SPACE, " ").replace(MAPPED_TO_NOTHING, "").normalize("NFKC");
  const bad = PROHIBITED.exec(mapped);
  if (bad) {
    const cp = bad[0].codePointAt(0) ?? 0;
    throw new Error(`prohibited character U+${cp.toString(16).toUpperCase().padStart(4, "0")}`);
  }
  return mapped;
}

/** camelCase names of schema entries, as the generated accessors and option objects spell them. */

export function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** The entry's `js` name, else its name with a lower-case first letter ("MailServer" -> "mailServer"). */
export function jsName(spec: { readonly name: string; readonly js?: string }): string {
  return spec.js ?? lowerFirst(spec.name);
}

/** Reads header fields out of message bytes as the server received them. */

/** The unfolded value of the first `name` header, or undefined. */
export function headerValue(message: Buffer, name: string): string | undefined {
  const text = message.toString("latin1");
  const end = text.search(/\r?\n\r?\n/);
  const head = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, " ");
  const wanted = name.toLowerCase();
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted) return line.slice(colon + 1).trim();
  }
  return undefined;
}

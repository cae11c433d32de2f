/** Plain-text formatting helpers: byte sizes, aligned tables, JSON, recipient types. */

/** RecipientType 0 / 1 / 2 as the CLI prints it. */
export const RECIPIENT_TYPES = ["To", "Cc", "Bcc"] as const;

const UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB"] as const;

/** 1536 -> "1.5 KiB"; below 1024: "512 bytes". */
export function humanBytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** Rows as left-aligned columns separated by two spaces; trailing spaces removed. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd());
}

/** JSON with two-space indentation; undefined fields become null so every key is always present. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v === undefined ? null : v), 2);
}

/**
 * Enum properties whose values are listed in a table of another layer
 * (AuthMechanism, FirewallType, the certificate store types): their names
 * and docs are written from that table, so neither can drift from it.
 */
import { AUTH_MECHANISM_ROWS, AUTH_MECHANISM_VALUES } from "../auth/mechanism-values.js";
import { CERT_STORE_TYPES, type CertStoreTypeRow } from "../transport/cert-store-types.js";
import { FIREWALL_TYPES } from "../transport/firewall-types.js";

export interface EnumRow {
  readonly value: number;
  readonly constant: string;
}

/** The constants of the rows whose value is their index, in order (the leading run: 0, 1, 2, ...). */
type IndexedConstants<Rows extends readonly EnumRow[], Acc extends readonly string[] = []> = Rows extends readonly [
  infer Head extends EnumRow,
  ...infer Tail extends readonly EnumRow[],
]
  ? Head["value"] extends Acc["length"]
    ? IndexedConstants<Tail, readonly [...Acc, Head["constant"]]>
    : Acc
  : number extends Rows["length"]
    ? readonly string[]
    : Acc;

/** The other rows (99 cstAuto), by value. */
type ExtraConstants<Rows extends readonly EnumRow[]> = {
  readonly [R in Rows[number] as R["constant"] extends IndexedConstants<Rows>[number] ? never : R["value"]]: R["constant"];
};

/** An EnumSpec's `values` and `extra`, keeping the table's literal types so the schema row types its values exactly. */
export type EnumNames<Rows extends readonly EnumRow[]> = { readonly values: IndexedConstants<Rows> } & (keyof ExtraConstants<Rows> extends never
  ? { readonly extra?: undefined }
  : { readonly extra: ExtraConstants<Rows> });

/** The rows of the tables that give their constants a name in code (FirewallType.Socks5, AuthMechanism.XOAuth2). */
type KeyedRow = (typeof AUTH_MECHANISM_ROWS)[number] | (typeof CERT_STORE_TYPES)[number] | (typeof FIREWALL_TYPES)[number];
const KEYED_ROWS: readonly { readonly constant: string; readonly key: string }[] = [...AUTH_MECHANISM_ROWS, ...CERT_STORE_TYPES, ...FIREWALL_TYPES];
const KEYS: ReadonlyMap<string, string> = new Map(KEYED_ROWS.map((r) => [r.constant, r.key]));

/** An IP*Works constant without its lower-case prefix: "sslExplicit" -> "Explicit", "rtBCc" -> "BCc". */
type WithoutPrefix<C extends string> = C extends `${infer Head}${infer Tail}` ? (Head extends Uppercase<Head> ? C : WithoutPrefix<Tail>) : C;

/**
 * THE rule for the readable name of an enum constant (SSLStartMode.Explicit, FirewallType.Socks5):
 * the `key` of its row where a table behind the enum gives one (AuthMechanism, FirewallType, the
 * certificate store types), otherwise the IP*Works constant without its lower-case prefix
 * ("miHigh" -> "High", "rtBCc" -> "BCc"). MemberName is the same rule for the compiler.
 */
export type MemberName<C extends string> = [Extract<KeyedRow, { constant: C }>] extends [never] ? WithoutPrefix<C> : Extract<KeyedRow, { constant: C }>["key"];

export function memberName(constant: string): string {
  return KEYS.get(constant) ?? constant.replace(/^[a-z]+/, "");
}

/** An EnumSpec's `values` (value = index, the leading run) and `extra` (the others, e.g. 99 cstAuto). */
export function enumNames<const Rows extends readonly EnumRow[]>(rows: Rows): EnumNames<Rows> {
  const count = rows.findIndex((r, i) => r.value !== i);
  const indexed = count < 0 ? rows : rows.slice(0, count);
  const values = indexed.map((r) => r.constant);
  const others = rows.slice(indexed.length);
  const names: { values: readonly string[]; extra?: Readonly<Record<number, string>> } =
    others.length === 0 ? { values } : { values, extra: Object.fromEntries(others.map((r) => [r.value, r.constant])) };
  return names as EnumNames<Rows>;
}

export function authMechanismDoc(): string {
  const usable = AUTH_MECHANISM_VALUES.filter((m) => !m.refusal).map((m) => `${m.value} ${m.summary}`);
  const refused = AUTH_MECHANISM_VALUES.filter((m) => m.refusal).map((m) => `${m.value} ${m.summary}`);
  return `SASL mechanism used when User is set: ${usable.join(", ")}. ${refused.join(" and ")} do not apply to SMTP and fail with code 623.`;
}

export function firewallTypeDoc(): string {
  const types = FIREWALL_TYPES.map((t) => `${t.value} ${t.summary}`);
  return `${types.join(", ")}. TLS (implicit and STARTTLS) runs end to end through the proxy.`;
}

const STORE_TYPES: readonly CertStoreTypeRow[] = CERT_STORE_TYPES;

/** CertStoreType: "What CertStore holds: 2 PKCS#12 file, ..., 99 detect." */
export function certStoreTypeDoc(): string {
  return `What CertStore holds: ${STORE_TYPES.filter((r) => r.supported).map((r) => `${r.value} ${r.summary}`).join(", ")}.`;
}

/** SSLCertStoreType: the same with each type's detail, and the types Node lacks. */
export function sslCertStoreTypeDoc(): string {
  const supported = STORE_TYPES.filter((r) => r.supported).map((r) => `${r.value} ${r.summary}${r.detail ? ` (${r.detail})` : ""}`);
  const families = [...new Set(STORE_TYPES.flatMap((r) => (r.family ? [r.family] : [])))];
  const unsupported = families.map((f) => `${f} (${STORE_TYPES.filter((r) => r.family === f).map((r) => r.value).join(", ")})`);
  const list = unsupported.length > 1 ? `${unsupported.slice(0, -1).join(", ")} and ${unsupported.at(-1) ?? ""}` : unsupported.join("");
  return `What SSLCertStore holds: ${supported.join(", ")}. ${list} are accepted as values but not available on Node: the connection fails with code 278.`;
}

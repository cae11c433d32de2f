/**
 * Enum properties whose values are listed in a table of another layer
 * (AuthMechanism, FirewallType, the certificate store types): their names
 * and docs are written from that table, so neither can drift from it.
 */
import { AUTH_MECHANISM_VALUES } from "../auth/mechanism-values.js";
import { CERT_STORE_TYPES, type CertStoreTypeRow } from "../transport/cert-store-types.js";
import { FIREWALL_TYPES } from "../transport/firewall-types.js";

interface EnumRow {
  readonly value: number;
  readonly constant: string;
}

/** An EnumSpec's `values` (value = index) and `extra` (the others, e.g. 99 cstAuto). */
export function enumNames(rows: readonly EnumRow[]): { values: readonly string[]; extra?: Readonly<Record<number, string>> } {
  const values = rows.filter((r, i) => r.value === i).map((r) => r.constant);
  const others = rows.filter((r, i) => r.value !== i);
  return others.length === 0 ? { values } : { values, extra: Object.fromEntries(others.map((r) => [r.value, r.constant])) };
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

/**
 * Parsing of option values shared by the commands: port, TLS mode, AUTH
 * mechanism, timeout, "Name=Value" settings, "Name: value" headers.
 */
import { AUTH_MECHANISM_ROWS, authOptionName } from "../../auth/mechanism-values.js";
import type { AuthMechanism, SSLStartMode } from "../../index.js";
import { badValue, type Sourced } from "./sourced.js";

/** --tls names and the SSLStartMode each one stands for. */
export const TLS_MODES = { auto: 0, implicit: 1, starttls: 2, none: 3 } as const satisfies Record<string, SSLStartMode>;
export type TlsModeName = keyof typeof TLS_MODES;

/** --auth names (SASL names, lower case) and the AuthMechanism value each one stands for. */
export const AUTH_MECHANISMS: ReadonlyMap<string, AuthMechanism> = new Map(
  AUTH_MECHANISM_ROWS.flatMap((m) => {
    const name = authOptionName(m);
    return name ? [[name, m.value] as const] : [];
  }),
);

export function parsePort(v: Sourced): number {
  const n = Number(v.value.trim());
  if (!/^\d+$/.test(v.value.trim()) || n < 1 || n > 65535) throw badValue(v, `"${v.value}" is not a port number (1-65535)`);
  return n;
}

export function parseTimeout(v: Sourced): number {
  const n = Number(v.value.trim());
  if (!/^\d+$/.test(v.value.trim()) || n > 2147483) throw badValue(v, `"${v.value}" is not a number of seconds`);
  return n;
}

/** auto | implicit | starttls | none, or the SSLStartMode number 0-3. */
export function parseTlsMode(v: Sourced): SSLStartMode {
  const text = v.value.trim().toLowerCase();
  // Own keys only: "constructor" or "toString" is not a mode.
  const mode = /^[0-3]$/.test(text) ? Object.values(TLS_MODES).find((m) => m === Number(text)) : Object.hasOwn(TLS_MODES, text) ? TLS_MODES[text as TlsModeName] : undefined;
  if (mode === undefined) throw badValue(v, `unknown TLS mode "${v.value}"`, "use auto, implicit, starttls or none");
  return mode;
}

/** A SASL name (plain, cram-md5, scram-sha-256, auto, ...), an IP*Works name (amSASLPlain) or the AuthMechanism number. */
export function parseAuthMechanism(v: Sourced): AuthMechanism {
  const text = v.value.trim();
  const byNumber = /^\d+$/.test(text) ? AUTH_MECHANISM_ROWS.find((m) => m.value === Number(text)) : undefined;
  if (byNumber) return byNumber.value;
  const sasl = AUTH_MECHANISMS.get(text.toLowerCase());
  if (sasl !== undefined) return sasl;
  const ipworks = AUTH_MECHANISM_ROWS.find((m) => m.constant.toLowerCase() === text.toLowerCase());
  if (ipworks) return ipworks.value;
  throw badValue(v, `unknown AUTH mechanism "${v.value}"`, `use one of ${[...AUTH_MECHANISMS.keys()].join(", ")}, or a number 0-${AUTH_MECHANISM_ROWS.length - 1}`);
}

/** "Name=Value" as config() takes it; only the shape is checked here, the component checks the rest. */
export function parseSetting(v: Sourced): string {
  const eq = v.value.indexOf("=");
  if (eq <= 0 || !/^[A-Za-z][A-Za-z0-9]*$/.test(v.value.slice(0, eq).trim())) {
    throw badValue(v, `"${v.value}" is not of the form Name=Value`, "for example --config StopOnToErrors=false");
  }
  return `${v.value.slice(0, eq).trim()}=${v.value.slice(eq + 1)}`;
}

/** "Name: value" for OtherHeaders. */
export function parseHeader(v: Sourced): string {
  const m = /^([!-9;-~]+):[ \t]*(.*)$/s.exec(v.value);
  if (!m || /[\r\n]/.test(v.value)) throw badValue(v, `"${v.value}" is not a header line of the form "Name: value"`);
  return `${m[1]}: ${m[2]}`;
}

/**
 * --server HOST, HOST:PORT, [IPv6] or [IPv6]:PORT (and the same in
 * SMTPKIT_SERVER, server= and the capabilities HOST argument). A bare IPv6
 * address (more than one colon) is a host without a port.
 */
import { badValue, type Sourced } from "./sourced.js";
import { parsePort } from "./values.js";

export interface ServerAddress {
  host: string;
  port: number | undefined;
}

export function parseServerAddress(v: Sourced): ServerAddress {
  const text = v.value.trim();
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) return { host: bracketed[1] ?? "", port: portOf(v, bracketed[2]) };
  if (text.startsWith("[")) throw badValue(v, `"${v.value}" is not a server address`, "write an IPv6 address with a port as [2001:db8::1]:587");
  const colons = text.split(":").length - 1;
  if (colons !== 1) return { host: text, port: undefined };
  const [host = "", port] = text.split(":");
  if (host === "") throw badValue(v, `"${v.value}" has no host name`);
  return { host, port: portOf(v, port) };
}

function portOf(v: Sourced, port: string | undefined): number | undefined {
  return port === undefined ? undefined : parsePort({ ...v, value: port });
}

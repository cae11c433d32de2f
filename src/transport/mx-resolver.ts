/**
 * Direct delivery: where a domain's mail goes (RFC 5321 §5.1). MX records by
 * preference, the domain itself when it has none, and no delivery at all for
 * a null MX (RFC 7505). Host names are resolved with the same DNS servers, so
 * a test (or a split-horizon set-up) can point everything at its own resolver.
 */
import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import { ErrorCode, SmtpError } from "../errors.js";

export interface MailHost {
  /** The MX host name (for TLS / SNI). */
  name: string;
  preference: number;
  /** Its addresses, IPv6 first when useIPv6 allows both (as Happy Eyeballs would try). */
  addresses: string[];
}

export interface ResolveOptions {
  /** "ip", "ip:port", "[ipv6]:port"; empty = the system's servers. */
  servers: readonly string[];
  /** 0 IPv4 only, 1 IPv6 only, 2 both. */
  useIPv6: number;
  timeoutMs: number;
}

export async function resolveMailHosts(domain: string, opts: ResolveOptions): Promise<MailHost[]> {
  const resolver = new Resolver({ timeout: opts.timeoutMs > 0 ? opts.timeoutMs : -1, tries: 2 });
  if (opts.servers.length) resolver.setServers([...opts.servers]);
  let records: { exchange: string; priority: number }[];
  try {
    records = await resolver.resolveMx(domain);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENODATA" && code !== "ENOTFOUND") throw dnsError(`MX lookup for ${domain} failed`, e);
    // NXDOMAIN is an answer, not a failure: retrying will not create the domain.
    if (code === "ENOTFOUND") throw new SmtpError(ErrorCode.HostNotFound, `the domain ${domain} does not exist (no DNS records)`, { replyCode: 550, enhancedStatus: "5.1.2", cause: e });
    records = [];
  }
  if (records.some((r) => r.exchange === "" || r.exchange === ".")) {
    throw new SmtpError(ErrorCode.Protocol, `the domain ${domain} accepts no mail (null MX, RFC 7505)`, { replyCode: 556, enhancedStatus: "5.1.10" });
  }
  // No MX: the domain itself is the mail host (implicit MX).
  const hosts = records.length ? [...records].sort((a, b) => a.priority - b.priority) : [{ exchange: domain, priority: 0 }];
  const result: MailHost[] = [];
  for (const h of hosts) {
    const addresses = await addressesOf(resolver, h.exchange, opts.useIPv6);
    if (addresses.length) result.push({ name: h.exchange, preference: h.priority, addresses });
  }
  if (!result.length) throw new SmtpError(ErrorCode.HostNotFound, `no address found for the mail hosts of ${domain} (${hosts.map((h) => h.exchange).join(", ")})`);
  return result;
}

async function addressesOf(resolver: Resolver, host: string, useIPv6: number): Promise<string[]> {
  if (isIP(host)) return [host];
  const v6 = useIPv6 !== 0 ? await resolver.resolve6(host).catch(() => [] as string[]) : [];
  const v4 = useIPv6 !== 1 ? await resolver.resolve4(host).catch(() => [] as string[]) : [];
  return [...v6, ...v4];
}

function dnsError(what: string, e: unknown): SmtpError {
  return new SmtpError(ErrorCode.HostNotFound, `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/** DNSServers setting: comma or space separated. */
export function parseDnsServers(value: string): string[] {
  return value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
}

/**
 * THE table of FirewallType values: the proxy each IP*Works number stands
 * for, its URL schemes in the environment (FirewallAutoDetect) and its usual
 * port. The schema (enum names, docs), the proxy connector, env-proxy.ts and
 * docs/network.md read it.
 */

export interface FirewallTypeRow {
  readonly value: number;
  /** IP*Works constant name. */
  readonly constant: string;
  /** Name in code: FirewallType.Socks5. */
  readonly key: string;
  /** Name in messages ("SOCKS5: authentication refused"); none for a direct connection. */
  readonly label?: string;
  /** Schemes of a proxy URL such as ALL_PROXY=socks5://host:1080. */
  readonly schemes: readonly string[];
  /** FirewallPort when it is 0; 0 for a direct connection. */
  readonly defaultPort: number;
  /** What the FirewallType property doc calls it. */
  readonly summary: string;
  /** docs/network.md: the proxy, how it authenticates, who resolves MailServer. */
  readonly docProxy: string;
  readonly docAuth: string;
  readonly docResolves: string;
}

export const FIREWALL_TYPES = [
  { value: 0, constant: "fwNone", key: "None", schemes: [], defaultPort: 0, summary: "direct", docProxy: "none", docAuth: "-", docResolves: "-" },
  {
    value: 1, constant: "fwTunnel", key: "Tunnel", label: "HTTP proxy", schemes: ["http", "https"], defaultPort: 80,
    summary: "HTTP CONNECT tunnel (with Basic auth when FirewallUser is set)",
    docProxy: "HTTP `CONNECT`", docAuth: "Basic (`FirewallUser` / `FirewallPassword`)", docResolves: "the proxy",
  },
  {
    value: 2, constant: "fwSOCKS4", key: "Socks4", label: "SOCKS4", schemes: ["socks4"], defaultPort: 1080, summary: "SOCKS4",
    docProxy: "SOCKS 4", docAuth: "user id (`FirewallUser`)", docResolves: "this machine (SOCKS 4 carries IPv4 addresses only)",
  },
  {
    value: 3, constant: "fwSOCKS5", key: "Socks5", label: "SOCKS5", schemes: ["socks5", "socks5h", "socks"], defaultPort: 1080, summary: "SOCKS5 (user / password auth)",
    docProxy: "SOCKS 5", docAuth: "user / password (RFC 1929)", docResolves: "this machine, or the proxy for `*host`",
  },
  {
    value: 10, constant: "fwSOCKS4A", key: "Socks4A", label: "SOCKS4A", schemes: ["socks4a"], defaultPort: 1080, summary: "SOCKS4A",
    docProxy: "SOCKS 4A", docAuth: "user id", docResolves: "the proxy",
  },
] as const satisfies readonly FirewallTypeRow[];

type Row = (typeof FIREWALL_TYPES)[number];

/** FirewallType values by name in code: FirewallType.Socks5 is 3. */
export const FirewallType = Object.fromEntries(FIREWALL_TYPES.map((r) => [r.key, r.value])) as { readonly [R in Row as R["key"]]: R["value"] };

const ROWS: readonly FirewallTypeRow[] = FIREWALL_TYPES;

export function firewallType(value: number): FirewallTypeRow | undefined {
  return ROWS.find((r) => r.value === value);
}

/** The port a proxy of this type usually listens on (0 for a direct connection or an unknown type). */
export function defaultProxyPort(value: number): number {
  return firewallType(value)?.defaultPort ?? 0;
}

/** The type a proxy URL scheme stands for (http -> Tunnel, socks5h -> Socks5, ...). */
export function firewallTypeOfScheme(scheme: string): FirewallTypeRow | undefined {
  return ROWS.find((r) => r.schemes.includes(scheme));
}

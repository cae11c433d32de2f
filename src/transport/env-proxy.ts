/**
 * FirewallAutoDetect: the proxy from the usual environment variables, as
 * curl and most CLI tools read them.
 */
import { ErrorCode, SmtpError } from "../errors.js";
import { FIREWALL_TYPES, defaultProxyPort, firewallTypeOfScheme } from "./firewall-types.js";
import type { ProxySettings } from "./proxy-connector.js";

const VARIABLES = ["ALL_PROXY", "all_proxy", "SOCKS_PROXY", "socks_proxy", "HTTPS_PROXY", "https_proxy"] as const;

/** The main scheme of each proxy type, for the error message: "http, socks4, socks4a or socks5". */
const SCHEMES = FIREWALL_TYPES.flatMap((t) => t.schemes.slice(0, 1)).sort().join(", ").replace(/, ([^,]*)$/, " or $1");

export function proxyFromEnvironment(targetHost: string, env: NodeJS.ProcessEnv = process.env): ProxySettings | undefined {
  if (bypassed(targetHost, env["NO_PROXY"] ?? env["no_proxy"] ?? "")) return undefined;
  for (const name of VARIABLES) {
    const value = env[name]?.trim();
    if (value) return parseProxyUrl(value, name);
  }
  return undefined;
}

export function parseProxyUrl(value: string, source: string): ProxySettings {
  let url: URL;
  try {
    url = new URL(value.includes("://") ? value : `http://${value}`);
  } catch {
    // Not quoted, and no cause (Node's TypeError keeps the text as `input`): the URL may hold a password.
    throw new SmtpError(ErrorCode.Firewall, `${source} is not a proxy URL (${value.length} characters, not shown: it may hold a password)`, {
      hint: "use scheme://[user:password@]host[:port], with reserved characters in user and password %-encoded",
    });
  }
  const scheme = url.protocol.replace(/:$/, "").toLowerCase();
  const type = firewallTypeOfScheme(scheme)?.value;
  if (type === undefined) throw new SmtpError(ErrorCode.Firewall, `${source}: unsupported proxy scheme "${scheme}" (use ${SCHEMES})`);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return {
    type,
    host,
    port: url.port ? Number(url.port) : defaultProxyPort(type),
    user: decoded(url.username, source, "user"),
    password: decoded(url.password, source, "password"),
    // curl's convention: socks5h:// and socks4a:// let the proxy resolve names, socks5:// resolves here.
    remoteDns: scheme === "socks5h" || scheme === "socks4a",
  };
}

/** A %-encoded URL part; a bad escape is named, never quoted. */
function decoded(part: string, source: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new SmtpError(ErrorCode.Firewall, `${source}: the ${what} in the proxy URL has a malformed %-escape`);
  }
}

/** NO_PROXY: "*", exact hosts, domain suffixes (".example.com" or "example.com"), optionally with :port. */
function bypassed(host: string, noProxy: string): boolean {
  const h = host.replace(/^\*/, "").replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return noProxy.split(/[\s,]+/).filter(Boolean).some((entry) => {
    const e = entry.toLowerCase().replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
    if (e === "*") return true;
    const domain = e.replace(/^\*?\./, "");
    return h === domain || h.endsWith(`.${domain}`);
  });
}

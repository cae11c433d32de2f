/**
 * ServerCapabilities: what the server announced in its EHLO reply
 * (RFC 5321 section 4.1.1.1), or the empty set after a HELO fallback.
 */

import type { SmtpReply } from "./reply.js";

/** What the server announced: its greeting and its EHLO reply, parsed. */
export interface ServerCapabilities {
  /** First word of the reply's first line (the server's name for itself). */
  domain: string;
  /** Rest of the first line. */
  greetingText: string;
  /** Upper-cased keyword -> parameters as sent. */
  extensions: ReadonlyMap<string, readonly string[]>;
  /** Case-insensitive. */
  has(keyword: string): boolean;
  /** Case-insensitive; undefined when the keyword was not announced. */
  params(keyword: string): readonly string[] | undefined;
  /** Upper-cased, deduplicated, from "AUTH ..." and the pre-RFC "AUTH=..." form. */
  readonly authMechanisms: readonly string[];
  /** SIZE n -> n; SIZE 0 -> 0 (no fixed limit, RFC 1870); SIZE without a number (or none) -> undefined. */
  readonly sizeLimit: number | undefined;
  /** True when parsed from an EHLO reply. */
  readonly esmtp: boolean;
}

// RFC 5321 ehlo-keyword; anything else on an extension line is ignored.
const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
// Old servers (and clients written for them) announce "AUTH=LOGIN PLAIN".
const OLD_AUTH = /^AUTH=/i;
const WHITESPACE = /[ \t]+/;

class Capabilities implements ServerCapabilities {
  readonly authMechanisms: readonly string[];
  readonly sizeLimit: number | undefined;

  constructor(
    readonly domain: string,
    readonly greetingText: string,
    readonly extensions: ReadonlyMap<string, readonly string[]>,
    authMechanisms: readonly string[],
    readonly esmtp: boolean,
  ) {
    this.authMechanisms = authMechanisms;
    this.sizeLimit = parseSize(extensions.get("SIZE"));
  }

  has(keyword: string): boolean {
    return this.extensions.has(keyword.toUpperCase());
  }

  params(keyword: string): readonly string[] | undefined {
    return this.extensions.get(keyword.toUpperCase());
  }
}

/**
 * Reads the extensions from an EHLO reply. Does not look at the reply code:
 * deciding whether EHLO succeeded is the caller's job.
 *
 * When a keyword repeats, its first line wins, except that every AUTH and
 * AUTH= line contributes to authMechanisms. A server that only sends the old
 * "AUTH=" form also gets an "AUTH" entry, so has("AUTH") means "can log in".
 */
export function parseEhloReply(reply: SmtpReply): ServerCapabilities {
  const [domain, greetingText] = splitGreeting(reply.lines[0] ?? "");
  const extensions = new Map<string, readonly string[]>();
  const mechanisms = new Set<string>();
  let oldAuth: string[] | undefined;

  for (const line of reply.lines.slice(1)) {
    const words = line.trim().split(WHITESPACE).filter((w) => w.length > 0);
    const first = words[0];
    if (first === undefined) continue; // smtp-sink ends with an empty "250 " line
    const rest = words.slice(1);
    if (OLD_AUTH.test(first)) {
      const mechs = [first.slice("AUTH=".length), ...rest].filter((w) => w.length > 0);
      mechs.forEach((m) => mechanisms.add(m.toUpperCase()));
      oldAuth ??= mechs;
      continue;
    }
    if (!KEYWORD.test(first)) continue;
    const keyword = first.toUpperCase();
    if (keyword === "AUTH") rest.forEach((m) => mechanisms.add(m.toUpperCase()));
    if (!extensions.has(keyword)) extensions.set(keyword, rest);
  }
  if (oldAuth !== undefined && !extensions.has("AUTH")) extensions.set("AUTH", oldAuth);

  return new Capabilities(domain, greetingText, extensions, [...mechanisms], true);
}

/** Capabilities after a HELO (no ESMTP): only the server's name. */
export function heloCapabilities(reply: SmtpReply): ServerCapabilities {
  const [domain, greetingText] = splitGreeting(reply.lines[0] ?? "");
  return new Capabilities(domain, greetingText, new Map(), [], false);
}

function splitGreeting(line: string): [string, string] {
  const trimmed = line.replace(/^[ \t]+/, "");
  const m = /^(\S*)[ \t]*(.*)$/s.exec(trimmed);
  return [m?.[1] ?? "", m?.[2] ?? ""];
}

function parseSize(params: readonly string[] | undefined): number | undefined {
  const n = params?.[0];
  if (n === undefined || !/^\d+$/.test(n)) return undefined;
  return Number(n);
}

/**
 * The mechanisms smtpkit knows, and the automatic choice among those a
 * server offers in its EHLO AUTH line.
 */

import { CRAM_MD5 } from "./cram-md5.js";
import { DIGEST_MD5 } from "./digest-md5.js";
import { LOGIN } from "./login.js";
import type { SaslMechanism } from "./mechanism.js";
import { NTLM } from "./ntlm.js";
import { OAUTHBEARER } from "./oauthbearer.js";
import { PLAIN } from "./plain.js";
import { SCRAM_SHA_1, SCRAM_SHA_256 } from "./scram.js";
import { XOAUTH2 } from "./xoauth2.js";

const ALL: readonly SaslMechanism[] = [SCRAM_SHA_256, SCRAM_SHA_1, DIGEST_MD5, CRAM_MD5, NTLM, PLAIN, LOGIN, OAUTHBEARER, XOAUTH2];

/** By upper-case SASL name. */
export const MECHANISMS: ReadonlyMap<string, SaslMechanism> = new Map(ALL.map((m) => [m.name, m]));

export function mechanismByName(name: string): SaslMechanism | undefined {
  return MECHANISMS.get(name.trim().toUpperCase());
}

export interface ChooseOptions {
  /** An OAuth token is set: token mechanisms become eligible and win over password ones. */
  hasToken: boolean;
  /** Mechanisms that expose the secret on the wire are allowed (normally: only under TLS). */
  allowCleartext: boolean;
  /** A password is set (default true); false leaves only token mechanisms. */
  hasPassword?: boolean;
}

/**
 * The strongest mechanism both sides support, or undefined. With a token,
 * OAUTHBEARER then XOAUTH2 are preferred; if the server offers neither, the
 * password mechanisms remain candidates (unless hasPassword is false).
 * Names are matched case-insensitively; unknown ones are ignored.
 */
export function chooseMechanism(offered: readonly string[], opts: ChooseOptions): SaslMechanism | undefined {
  const hasPassword = opts.hasPassword ?? true;
  const candidates = offered
    .map(mechanismByName)
    .filter((m): m is SaslMechanism => m !== undefined)
    .filter((m) => (m.usesToken ? opts.hasToken : hasPassword))
    .filter((m) => opts.allowCleartext || !m.cleartext);
  const rank = (m: SaslMechanism): number => (m.usesToken ? 1_000 : 0) + m.strength;
  let best: SaslMechanism | undefined;
  for (const m of candidates) if (best === undefined || rank(m) > rank(best)) best = m;
  return best;
}

/**
 * The offered mechanisms that would expose the password (or token) without
 * TLS: for an error message such as "the server offers only PLAIN, LOGIN
 * without TLS".
 */
export function cleartextPasswordMechanisms(offered: readonly string[]): SaslMechanism[] {
  const seen = new Set<SaslMechanism>();
  for (const name of offered) {
    const m = mechanismByName(name);
    if (m?.cleartext) seen.add(m);
  }
  return [...seen];
}

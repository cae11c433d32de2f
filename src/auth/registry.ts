/**
 * The mechanisms smtpkit knows, the automatic choice among those a server
 * offers in its EHLO AUTH line, and the choice an AuthMechanism value makes.
 */

import { ErrorCode, SmtpError } from "../errors.js";
import { CRAM_MD5 } from "./cram-md5.js";
import { DIGEST_MD5 } from "./digest-md5.js";
import { LOGIN } from "./login.js";
import type { SaslMechanism } from "./mechanism.js";
import { authMechanismValue } from "./mechanism-values.js";
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

/**
 * The mechanism an AuthMechanism value selects among those the server
 * offers (see mechanism-values.ts). Throws 623 for a value that does not
 * apply to SMTP and 621 when the server offers none of what it selects.
 */
export function mechanismForValue(value: number, offered: readonly string[], hasToken: boolean): SaslMechanism {
  const row = authMechanismValue(value);
  if (row?.refusal) {
    throw new SmtpError(ErrorCode.AuthMechanismNotApplicable, row.refusal, { hint: "use 11 (automatic) or a SASL mechanism the server offers" });
  }
  const list = offered.join(", ") || "none";
  if (row?.automatic) {
    const chosen = chooseMechanism(offered, { hasToken, allowCleartext: true });
    if (!chosen) throw new SmtpError(ErrorCode.AuthMechanismNotOffered, `no AUTH mechanism in common with the server (it offers: ${list})`);
    return chosen;
  }
  const sasl = row?.sasl ?? [];
  const name = sasl.find((n) => offered.includes(n)) ?? (sasl.length > 0 ? sasl.join(" or ") : undefined);
  const mechanism = name ? MECHANISMS.get(name) : undefined;
  if (!name || !mechanism || !offered.includes(mechanism.name)) {
    throw new SmtpError(ErrorCode.AuthMechanismNotOffered, `the server does not offer AUTH ${name ?? String(value)}; it offers: ${list}`, {
      hint: "set AuthMechanism to one of those, or 11 to choose automatically",
    });
  }
  return mechanism;
}

/** The AuthMechanism value selects a token mechanism (XOAUTH2, OAUTHBEARER): the token, not the password, is the secret. */
export function valueUsesToken(value: number): boolean {
  const sasl = authMechanismValue(value)?.sasl ?? [];
  return sasl.length > 0 && sasl.every((name) => MECHANISMS.get(name)?.usesToken === true);
}

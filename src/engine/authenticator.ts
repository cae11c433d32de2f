/**
 * SMTP AUTH (RFC 4954): picks the mechanism, refuses to expose credentials
 * on an unencrypted connection unless allowed, runs the SASL exchange with
 * every credential masked in PITrail, and retries once with a refreshed
 * OAuth token when the server says the token has expired.
 */
import { MECHANISMS, chooseMechanism } from "../auth/registry.js";
import type { SaslCredentials, SaslExchange, SaslMechanism } from "../auth/mechanism.js";
import { ErrorCode, SmtpError } from "../errors.js";
import { describeReply, type SmtpReply } from "./reply.js";
import type { SmtpSession } from "./session.js";

/** AuthMechanism enum value -> SASL name; undefined entries are special (see pick()). */
const BY_ENUM: readonly (string | undefined)[] = [
  undefined, // 0 amUserPassword: PLAIN or LOGIN
  "CRAM-MD5",
  "NTLM",
  undefined, // 3 amAPOP: POP3 only
  "PLAIN",
  "DIGEST-MD5",
  undefined, // 6 amKerberos: not supported
  "XOAUTH2",
  "OAUTHBEARER",
  "SCRAM-SHA-1",
  "SCRAM-SHA-256",
  undefined, // 11 amAutomatic
];

export interface TokenRefreshRequest {
  user: string;
  mechanism: string;
  /** The server's refusal. */
  reply: string;
}

export interface AuthOptions {
  mechanism: number;
  credentials: SaslCredentials;
  allowCleartext: boolean;
  logCredentials: boolean;
  /** Supplies a fresh OAuth token after the server refused an expired one; undefined gives up. */
  refreshToken?: (request: TokenRefreshRequest) => Promise<string | undefined> | string | undefined;
}

const MASK = "****";
const MAX_ROUNDS = 10;

export async function authenticate(session: SmtpSession, opts: AuthOptions): Promise<void> {
  const offered = session.capabilities.authMechanisms;
  if (!session.capabilities.has("AUTH")) {
    throw new SmtpError(ErrorCode.AuthNotOffered, `User is set but ${session.options.host} does not offer AUTH`, {
      hint: session.secure ? "this server may not need a login on this port" : "many servers offer AUTH only after STARTTLS: check SSLStartMode",
    });
  }
  if (!session.secure && !opts.allowCleartext) {
    throw new SmtpError(ErrorCode.AuthNeedsTls, "refusing to authenticate on an unencrypted connection", {
      hint: "use TLS (SSLStartMode 0 with a server that offers STARTTLS, 1 for port 465, 2 to require STARTTLS) or, accepting the risk, config AllowCleartextAuth=true",
    });
  }
  const mechanism = pick(opts, offered);
  const credentials = opts.credentials;
  try {
    await exchange(session, mechanism, credentials, opts.logCredentials);
  } catch (e) {
    if (!(e instanceof SmtpError) || !mechanism.usesToken || !opts.refreshToken || e.code !== ErrorCode.Auth || e.replyCode === undefined) throw e;
    const fresh = await opts.refreshToken({ user: credentials.user, mechanism: mechanism.name, reply: e.lastReply ?? "" });
    if (!fresh) throw e;
    await exchange(session, mechanism, { ...credentials, token: stripBearer(fresh) }, opts.logCredentials);
  }
  session.authenticated = true;
}

function pick(opts: AuthOptions, offered: readonly string[]): SaslMechanism {
  const value = opts.mechanism;
  if (value === 3 || value === 6) {
    throw new SmtpError(ErrorCode.AuthMechanismNotApplicable, value === 3
      ? "AuthMechanism 3 (APOP) is a POP3 command and does not exist in SMTP"
      : "AuthMechanism 6 (Kerberos / GSSAPI) is not supported", { hint: "use 11 (automatic) or a SASL mechanism the server offers" });
  }
  const offers = (name: string): boolean => offered.includes(name);
  const list = offered.join(", ") || "none";
  if (value === 11) {
    const hasToken = opts.credentials.token !== "";
    const chosen = chooseMechanism(offered, { hasToken, allowCleartext: true });
    if (!chosen) throw new SmtpError(ErrorCode.AuthMechanismNotOffered, `no AUTH mechanism in common with the server (it offers: ${list})`);
    return chosen;
  }
  const name = value === 0 ? (offers("PLAIN") ? "PLAIN" : offers("LOGIN") ? "LOGIN" : "PLAIN or LOGIN") : BY_ENUM[value];
  const mechanism = name ? MECHANISMS.get(name) : undefined;
  if (!name || !mechanism || !offers(mechanism.name)) {
    throw new SmtpError(ErrorCode.AuthMechanismNotOffered, `the server does not offer AUTH ${name ?? String(value)}; it offers: ${list}`, {
      hint: "set AuthMechanism to one of those, or 11 to choose automatically",
    });
  }
  return mechanism;
}

async function exchange(session: SmtpSession, mechanism: SaslMechanism, credentials: SaslCredentials, log: boolean): Promise<void> {
  const sasl: SaslExchange = mechanism.start(credentials);
  const initial = sasl.initialResponse;
  const initialText = initial === undefined ? "" : ` ${initial.length === 0 ? "=" : initial.toString("base64")}`;
  const command = `AUTH ${mechanism.name}${initialText}`;
  const shown = `AUTH ${mechanism.name}${initial === undefined ? "" : log ? initialText : ` ${MASK}`}`;
  let reply = await session.command(command, { display: shown, expect: "auth" });
  for (let round = 0; reply.code === 334; round++) {
    if (round >= MAX_ROUNDS) {
      await cancel(session, log);
      throw new SmtpError(ErrorCode.Auth, `AUTH ${mechanism.name} did not finish after ${MAX_ROUNDS} challenges`, { command: shown });
    }
    let response: Buffer;
    try {
      response = await sasl.respond(decodeChallenge(reply));
    } catch (e) {
      await cancel(session, log);
      throw e instanceof SmtpError ? e : new SmtpError(ErrorCode.Auth, `AUTH ${mechanism.name} failed: ${String(e)}`, { cause: e });
    }
    const line = response.toString("base64");
    reply = await session.command(line, { display: log ? line : MASK, expect: "auth" });
  }
  if (reply.code !== 235) throw refusal(reply, mechanism, shown);
  sasl.finish();
}

/** "*" ends an exchange the client cannot continue (RFC 4954 §4); the server answers 501. */
async function cancel(session: SmtpSession, log: boolean): Promise<void> {
  try {
    await session.command("*", { display: log ? "*" : "* (cancel)", expect: "auth" });
  } catch {
    // The error that made us cancel matters more.
  }
}

function decodeChallenge(reply: SmtpReply): Buffer {
  const text = (reply.lines[0] ?? "").trim();
  return Buffer.from(text, "base64");
}

function refusal(reply: SmtpReply, mechanism: SaslMechanism, command: string): SmtpError {
  const details = { replyCode: reply.code, enhancedStatus: reply.enhancedStatus, lastReply: reply.raw, command };
  if (reply.code === 535) {
    return new SmtpError(ErrorCode.Auth, `the server refused the credentials (AUTH ${mechanism.name}): ${describeReply(reply)}`, {
      ...details,
      hint: mechanism.usesToken ? "the token may have expired or lack the mail scope" : "check User and Password",
    });
  }
  if (reply.code === 534 || reply.code === 538) {
    return new SmtpError(ErrorCode.Auth, `the server wants a different mechanism or encryption for AUTH ${mechanism.name}: ${describeReply(reply)}`, details);
  }
  return new SmtpError(ErrorCode.Auth, `AUTH ${mechanism.name} failed: ${describeReply(reply)}`, details);
}

/** OAuth tokens are often handed over with their scheme. */
export function stripBearer(token: string): string {
  return token.replace(/^Bearer\s+/i, "").trim();
}

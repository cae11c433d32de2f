/**
 * SMTP AUTH (RFC 4954): picks the mechanism, refuses to expose credentials
 * on an unencrypted connection unless allowed (and, always, on one whose
 * server certificate did not verify: opportunistic TLS), runs the SASL exchange with
 * every credential masked in PITrail, and retries once with a refreshed
 * OAuth token when the server says the token has expired.
 */
import { authMechanismValue } from "../auth/mechanism-values.js";
import { mechanismForValue, valueUsesToken } from "../auth/registry.js";
import type { SaslCredentials, SaslExchange, SaslMechanism } from "../auth/mechanism.js";
import { ErrorCode, SmtpError } from "../errors.js";
import { unverifiedChannelError } from "../transport/tls-upgrade.js";
import type { SmtpReply } from "./reply.js";
import type { SmtpSession } from "./session.js";
import { Auth, SASL_CANCEL, SASL_CANCEL_LOGGED, SaslResponse } from "./smtp-commands.js";

export interface TokenRefreshRequest {
  user: string;
  mechanism: string;
  /** The server's refusal; empty when AUTH needs a first token (none is set). */
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

const MAX_ROUNDS = 10;

export async function authenticate(session: SmtpSession, opts: AuthOptions): Promise<void> {
  // Opportunistic TLS over a certificate that did not verify: encrypted, but to whom is unknown.
  if (session.tls && !session.tls.verified) throw unverifiedChannelError(session.tls, session.options.tls.host);
  const offered = session.capabilities.authMechanisms;
  if (!session.capabilities.has("AUTH")) {
    throw new SmtpError(ErrorCode.AuthNotOffered, `User is set but ${session.options.host} does not offer AUTH`, {
      hint: session.secure ? "this server may not need a login on this port" : "many servers offer AUTH only after STARTTLS: check SSLStartMode; see docs/troubleshooting.md#auth-refused",
    });
  }
  if (!session.secure && !opts.allowCleartext) {
    throw new SmtpError(ErrorCode.AuthNeedsTls, "refusing to authenticate on an unencrypted connection", {
      hint: "use TLS (SSLStartMode 0 with a server that offers STARTTLS, 1 for port 465, 2 to require STARTTLS) or, accepting the risk, config AllowCleartextAuth=true; see docs/troubleshooting.md#auth-refused",
    });
  }
  const credentials = await withFirstToken(opts);
  const mechanism = mechanismForValue(opts.mechanism, offered, credentials.token !== "");
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

/** A token mechanism with no token set asks the refresher for the first one (an OAuth2 provider fetches it). */
async function withFirstToken(opts: AuthOptions): Promise<SaslCredentials> {
  const credentials = opts.credentials;
  if (credentials.token !== "" || !opts.refreshToken || !valueUsesToken(opts.mechanism)) return credentials;
  const first = await opts.refreshToken({ user: credentials.user, mechanism: authMechanismValue(opts.mechanism)?.sasl[0] ?? "", reply: "" });
  return first ? { ...credentials, token: stripBearer(first) } : credentials;
}

async function exchange(session: SmtpSession, mechanism: SaslMechanism, credentials: SaslCredentials, log: boolean): Promise<void> {
  const sasl: SaslExchange = mechanism.start(credentials);
  const auth = new Auth(mechanism.name, sasl.initialResponse, log, mechanism.usesToken);
  let reply = await session.send(auth);
  for (let round = 0; auth.challenges(reply); round++) {
    if (round >= MAX_ROUNDS) {
      await cancel(session, log);
      throw new SmtpError(ErrorCode.Auth, `AUTH ${mechanism.name} did not finish after ${MAX_ROUNDS} challenges`, { command: auth.display });
    }
    let response: Buffer;
    try {
      response = await sasl.respond(decodeChallenge(reply));
    } catch (e) {
      await cancel(session, log);
      throw SmtpError.from(e, ErrorCode.Auth, `AUTH ${mechanism.name} failed`);
    }
    reply = await session.send(new SaslResponse(response, log));
  }
  if (!auth.accepts(reply)) throw auth.refused(reply);
  sasl.finish();
}

/** "*" ends an exchange the client cannot continue (RFC 4954 §4); the server answers 501. */
async function cancel(session: SmtpSession, log: boolean): Promise<void> {
  try {
    await session.send(log ? SASL_CANCEL_LOGGED : SASL_CANCEL);
  } catch {
    // The error that made us cancel matters more.
  }
}

function decodeChallenge(reply: SmtpReply): Buffer {
  const text = (reply.lines[0] ?? "").trim();
  return Buffer.from(text, "base64");
}

/** OAuth tokens are often handed over with their scheme. */
export function stripBearer(token: string): string {
  return token.replace(/^Bearer\s+/i, "").trim();
}

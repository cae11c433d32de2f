/**
 * Turns a profile into the Smtp connection properties: MailServer,
 * MailPort, SSLStartMode, User / Password / AuthMechanism, Timeout, the CA
 * file and the config() settings.
 */
import { accessSync, constants } from "node:fs";
import { valueUsesToken } from "../../auth/registry.js";
import { isSmtpError, type Smtp } from "../../index.js";
import { CliError, fileError, usageError } from "../cli-error.js";
import { messageWithoutHint } from "../error-text.js";
import { exitCodeForSmtpError } from "../exit-codes.js";
import type { OutStream } from "../output.js";
import { PASSWORD_SOURCES_HINT, resolvePassword } from "./password.js";
import { parseServerAddress, type ServerAddress } from "./server-address.js";
import { promptPassword, type TtyInput } from "./password-prompt.js";
import type { Profile } from "./profile.js";
import type { Sourced } from "./sourced.js";
import { parseAuthMechanism, parsePort, parseSetting, parseTimeout, parseTlsMode } from "./values.js";

export interface ApplyOptions {
  /** The host from an argument (capabilities HOST) instead of --server. */
  host?: string;
  /** Set User / Password / AuthMechanism (false: connect without logging in). */
  login: boolean;
  /** The command needs a server (queue does not). */
  needsServer: boolean;
  /** Where to ask for a missing password (a terminal; stdin is read only then); without it a missing password is a usage error. */
  prompt?: { readonly stdin: TtyInput; readonly stderr: OutStream };
}

export async function applyConnection(smtp: Smtp, profile: Profile, env: NodeJS.ProcessEnv, opts: ApplyOptions): Promise<void> {
  const v = profile.values;
  const server: Sourced | undefined = opts.host !== undefined ? { value: opts.host, source: "HOST", fromCommandLine: true } : v.server;
  let address: ServerAddress | undefined;
  if (opts.needsServer) {
    if (server === undefined || server.value.trim() === "") {
      throw usageError("no server given", "use --server HOST, SMTPKIT_SERVER, or server=HOST in ~/.smtpkitrc");
    }
    const parsed = parseServerAddress(server);
    address = parsed;
    guarded(server, () => smtp.setMailServer(parsed.host));
  }
  const port = choosePort(server, address, v.port);
  if (port) guarded(port.from, () => smtp.setMailPort(port.value));
  if (v.tls) {
    const mode = parseTlsMode(v.tls);
    guarded(v.tls, () => smtp.setSSLStartMode(mode));
  }
  if (v.timeout) {
    const seconds = parseTimeout(v.timeout);
    guarded(v.timeout, () => smtp.setTimeout(seconds));
  }
  if (v.ca) {
    const ca = v.ca;
    try {
      accessSync(ca.value, constants.R_OK);
    } catch (e) {
      throw fileError(ca.value, e);
    }
    guarded(ca, () => smtp.config(`SSLCACerts=${ca.value}`));
  }
  if (v.pinCert) {
    const pin = v.pinCert;
    guarded(pin, () => smtp.setSSLAcceptServerCert(pin.value.trim()));
  }
  if (opts.login && v.user) {
    const user = v.user;
    guarded(user, () => smtp.setUser(user.value));
    const mechanism = v.auth ? parseAuthMechanism(v.auth) : undefined;
    if (v.auth && mechanism !== undefined) {
      const auth = v.auth;
      guarded(auth, () => smtp.setAuthMechanism(mechanism));
    }
    const token = mechanism !== undefined && valueUsesToken(mechanism);
    // XOAUTH2 / OAUTHBEARER can take the token from config AuthorizationIdentity instead.
    const tokenInSettings = token && profile.settings.some((s) => /^\s*AuthorizationIdentity\s*=\s*\S/i.test(s.value));
    // Never AUTH with an empty password because none was given: ask, or refuse before connecting.
    const password = resolvePassword(profile, env) ?? (tokenInSettings ? undefined : await askPassword(user, token ? "OAuth token" : "Password", opts.prompt));
    if (password !== undefined) smtp.setPassword(password);
  }
  applySettings(smtp, profile.settings);
}

async function askPassword(user: Sourced, what: string, prompt: ApplyOptions["prompt"]): Promise<string> {
  if (!prompt) throw usageError(`${user.source} ${user.value}: no ${what.toLowerCase()} given`, PASSWORD_SOURCES_HINT);
  return promptPassword(user.value, prompt.stdin, prompt.stderr, what);
}

/**
 * The port in HOST:PORT or --port / SMTPKIT_PORT / port=: the command line
 * wins over the environment and the config file; two different ports on the
 * command line are a usage error.
 */
function choosePort(server: Sourced | undefined, address: ServerAddress | undefined, port: Sourced | undefined): { value: number; from: Sourced } | undefined {
  const own = port ? { value: parsePort(port), from: port } : undefined;
  if (!server || address?.port === undefined) return own;
  const inAddress = { value: address.port, from: server };
  if (!own) return inAddress;
  if (own.from.fromCommandLine && server.fromCommandLine && own.value !== inAddress.value) {
    throw usageError(`${server.source} ${server.value} and ${own.from.source} ${own.value} name different ports`, "give the port once");
  }
  return own.from.fromCommandLine && !server.fromCommandLine ? own : inAddress;
}

/** config("Name=Value") for each setting, in order. */
export function applySettings(smtp: Smtp, settings: readonly Sourced[]): void {
  for (const s of settings) {
    const setting = parseSetting(s);
    guarded(s, () => smtp.config(setting));
  }
}

/** Runs a setter; a value the component refuses becomes an error that names where the value came from. */
export function guarded(v: Sourced, set: () => unknown): void {
  try {
    set();
  } catch (e) {
    if (!isSmtpError(e)) throw e;
    throw new CliError(exitCodeForSmtpError(e), String(e.code), `${v.source}: ${messageWithoutHint(e)}`, { cause: e });
  }
}

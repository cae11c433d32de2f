/**
 * Option definitions shared by several commands: the connection (server,
 * TLS, login), config() settings, and output (trace, JSON, colours, debug).
 */
import { Option, type Command } from "commander";
import { usageError } from "../cli-error.js";
import { PASSWORD_SOURCES_HINT } from "./password.js";
import { emptyProfile, type Profile, type ProfileKey } from "./profile.js";
import { fromOption } from "./sourced.js";

/** Appends a repeated option's value to the list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export type OutputFlags = {
  trace?: boolean;
  debug?: boolean;
  color?: boolean;
  json?: boolean;
};

export type ConnectionFlags = {
  server?: string;
  port?: string;
  tls?: string;
  user?: string;
  passwordEnv?: string;
  passwordFile?: string;
  /** Refused: see profileFromFlags. */
  password?: string | boolean;
  auth?: string;
  timeout?: string;
  ca?: string;
  pinCert?: string;
  config?: string[];
  configFile?: string;
  profile?: string;
};

export interface ConnectionOptionSet {
  /** --server (capabilities takes the host as an argument instead). */
  server: boolean;
  /** --user, --password-env, --password-file, --auth. */
  login: boolean;
}

export function addConnectionOptions(cmd: Command, set: ConnectionOptionSet): Command {
  if (set.server) cmd.option("-s, --server <host>", "SMTP server host name or address, also HOST:PORT or [IPv6]:PORT (SMTPKIT_SERVER)");
  cmd
    .option("-p, --port <port>", "server port (SMTPKIT_PORT; default 25, 465 means implicit TLS with --tls auto)")
    .option("--tls <mode>", "auto | implicit | starttls | none (SSLStartMode 0-3; SMTPKIT_TLS; default auto)")
    .option("--ca <file>", "trust the CA certificates in this PEM file too (config SSLCACerts; SMTPKIT_CA)")
    .option("--pin-cert <sha256>", "trust the server certificate with this SHA-256 fingerprint, and only it (SSLAcceptServerCert; SMTPKIT_PIN_CERT)")
    .option("--timeout <seconds>", "seconds to wait for the server (SMTPKIT_TIMEOUT; default 60)");
  if (set.login) {
    cmd
      .option("-u, --user <name>", "log in with this user name (SMTPKIT_USER)")
      .addOption(new Option("--password-env <var>", "read the password from this environment variable").conflicts("passwordFile"))
      .option("--password-file <file>", "read the password from the first line of this file (SMTPKIT_PASSWORD_FILE)")
      .option("--auth <mechanism>", "AUTH mechanism: auto, plain, cram-md5, scram-sha-256, xoauth2, ... or the AuthMechanism number (SMTPKIT_AUTH)");
  }
  // Only to answer it with what to use instead: there is deliberately no such option.
  cmd.addOption(new Option("--password [password]").hideHelp());
  return addSettingOptions(cmd);
}

/** --config and --config-file: every command that builds an Smtp object has them. */
export function addSettingOptions(cmd: Command): Command {
  return cmd
    .option("-c, --config <Name=Value>", "a config() setting, e.g. StopOnToErrors=false (repeatable)", collect)
    .option("--config-file <file>", "read defaults from this file instead of ~/.smtpkitrc (SMTPKIT_CONFIG_FILE)")
    .option("--profile <name>", "use the [name] section of the config file (SMTPKIT_PROFILE; default: [default] when there is one)");
}

export function addOutputOptions(cmd: Command, set: { trace: boolean; json: boolean; shortTrace?: boolean }): Command {
  if (set.trace) cmd.option(set.shortTrace === false ? "--trace" : "-t, --trace", "print the protocol trace (PITrail) on stderr");
  if (set.json) cmd.option("--json", "print the result as JSON on stdout");
  return cmd
    .option("--color", "colours even when the output is not a terminal")
    .option("--no-color", "no colours (also NO_COLOR=1)")
    .option("--debug", "print stack traces of errors");
}

const FLAG_NAMES: Readonly<Record<Exclude<keyof ConnectionFlags, "config" | "configFile" | "profile" | "password">, [ProfileKey, string]>> = {
  server: ["server", "--server"],
  port: ["port", "--port"],
  tls: ["tls", "--tls"],
  user: ["user", "--user"],
  passwordEnv: ["passwordEnv", "--password-env"],
  passwordFile: ["passwordFile", "--password-file"],
  auth: ["auth", "--auth"],
  timeout: ["timeout", "--timeout"],
  ca: ["ca", "--ca"],
  pinCert: ["pinCert", "--pin-cert"],
};

/** The command line as the top profile layer. */
export function profileFromFlags(flags: ConnectionFlags, extra: { from?: string | undefined } = {}): Profile {
  if (flags.password !== undefined) {
    throw usageError("there is no --password option: a password on the command line can be read by other users (ps) and stays in shell histories", PASSWORD_SOURCES_HINT);
  }
  const profile = emptyProfile();
  for (const [name, [key, flag]] of Object.entries(FLAG_NAMES)) {
    const value = flags[name as keyof typeof FLAG_NAMES];
    if (value !== undefined) profile.values[key] = fromOption(flag, value);
  }
  if (extra.from !== undefined) profile.values.from = fromOption("--from", extra.from);
  for (const setting of flags.config ?? []) profile.settings.push(fromOption("--config", setting));
  return profile;
}

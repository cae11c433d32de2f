/**
 * The config file (--config-file FILE, SMTPKIT_CONFIG_FILE, or ~/.smtpkitrc
 * when it exists): JSON, or "Name=Value" lines with # comments. Keys are the
 * option names (server, port, tls, user, password, password-file, auth, from,
 * timeout, ca, pin-cert); any other key is a config() setting. Named profiles
 * (msmtp's accounts): "[name]" sections, or "profiles": { name: {...} } in
 * JSON; which one applies is profile-select.ts's job.
 */
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileError } from "../cli-error.js";
import { emptyProfile, profileKey, type Profile } from "./profile.js";
import { badValue, type Sourced } from "./sourced.js";

export interface LoadedConfigFile {
  /** What applies to every profile: the lines before the first section. */
  profile: Profile;
  /** The named profiles, in the file's order. */
  profiles: Map<string, Profile>;
  /** The file read, or undefined when there is none. */
  path: string | undefined;
  /** Warnings to show (a password in a file others can read). */
  warnings: string[];
}

export const DEFAULT_CONFIG_FILE = ".smtpkitrc";

/** An explicit path must exist; the default ~/.smtpkitrc is read only when it does. */
export function loadConfigFile(explicit: Sourced | undefined, env: NodeJS.ProcessEnv): LoadedConfigFile {
  const fromEnv = env["SMTPKIT_CONFIG_FILE"];
  const chosen = explicit ?? (fromEnv ? { value: fromEnv, source: "SMTPKIT_CONFIG_FILE", fromCommandLine: false } : undefined);
  let path: string;
  if (chosen) {
    path = chosen.value;
  } else {
    path = join(homedir(), DEFAULT_CONFIG_FILE);
    if (!isFile(path)) return { profile: emptyProfile(), profiles: new Map(), path: undefined, warnings: [] };
  }
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw fileError(path, e);
  }
  const { profile, profiles } = text.trimStart().startsWith("{") ? parseJson(text, path) : parseLines(text, path);
  const warnings: string[] = [];
  const holdsPassword = [profile, ...profiles.values()].some((p) => p.values.password !== undefined);
  if (holdsPassword && readableByOthers(path)) {
    warnings.push(`${path} holds a password and other users can read it: chmod 600 ${path}`);
  }
  return { profile, profiles, path, warnings };
}

type Parsed = Pick<LoadedConfigFile, "profile" | "profiles">;

function parseLines(text: string, path: string): Parsed {
  const parsed: Parsed = { profile: emptyProfile(), profiles: new Map() };
  let current = parsed.profile;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    const source = `${path}:${i + 1}`;
    const section = /^\[\s*([^\]]*?)\s*\]$/.exec(line);
    if (section) {
      current = newSection(parsed, section[1] ?? "", source);
      return;
    }
    const eq = line.indexOf("=");
    if (eq <= 0) throw badValue({ value: line, source, fromCommandLine: false }, `"${line}" is not of the form Name=Value`);
    add(current, line.slice(0, eq).trim(), line.slice(eq + 1).trim(), source);
  });
  return parsed;
}

function newSection(parsed: Parsed, name: string, source: string): Profile {
  if (name === "") throw badValue({ value: "[]", source, fromCommandLine: false }, "a profile section needs a name: [name]");
  if (parsed.profiles.has(name)) throw badValue({ value: name, source, fromCommandLine: false }, `the profile [${name}] is defined twice`);
  const profile = emptyProfile();
  parsed.profiles.set(name, profile);
  return profile;
}

function parseJson(text: string, path: string): Parsed {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw badValue({ value: "", source: path, fromCommandLine: false }, `not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isRecord(data)) throw badValue({ value: "", source: path, fromCommandLine: false }, "the JSON must be an object");
  const parsed: Parsed = { profile: emptyProfile(), profiles: new Map() };
  const { profiles, ...rest } = data;
  fillFromJson(parsed.profile, rest, path);
  if (profiles !== undefined) {
    if (!isRecord(profiles)) throw badValue({ value: "", source: `${path}: profiles`, fromCommandLine: false }, "\"profiles\" must be an object of named profiles");
    for (const [name, body] of Object.entries(profiles)) {
      const source = `${path}: profiles.${name}`;
      if (!isRecord(body)) throw badValue({ value: "", source, fromCommandLine: false }, "a profile must be an object");
      fillFromJson(newSection(parsed, name, source), body, `${path}: profiles.${name}`);
    }
  }
  return parsed;
}

function fillFromJson(profile: Profile, data: Record<string, unknown>, path: string): void {
  for (const [key, value] of Object.entries(data)) {
    const source = `${path}: ${key}`;
    if (key === "config" || key === "settings") {
      addSettings(profile, value, source);
      continue;
    }
    add(profile, key, scalar(value, source), source);
  }
}

/** "config": { "Name": value } or [ "Name=Value", ... ]. */
function addSettings(profile: Profile, value: unknown, source: string): void {
  if (Array.isArray(value)) {
    for (const item of value) profile.settings.push({ value: scalar(item, source), source, fromCommandLine: false });
  } else if (isRecord(value)) {
    for (const [name, v] of Object.entries(value)) profile.settings.push({ value: `${name}=${scalar(v, source)}`, source: `${source}.${name}`, fromCommandLine: false });
  } else {
    throw badValue({ value: String(value), source, fromCommandLine: false }, "must be an object of Name: value pairs or a list of \"Name=Value\" strings");
  }
}

function add(profile: Profile, name: string, value: string, source: string): void {
  const key = profileKey(name);
  if (key) profile.values[key] = { value, source, fromCommandLine: false };
  else profile.settings.push({ value: `${name}=${value}`, source, fromCommandLine: false });
}

function scalar(value: unknown, source: string): string {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return String(value);
  throw badValue({ value: JSON.stringify(value) ?? "", source, fromCommandLine: false }, "must be a string, a number or true / false");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function readableByOthers(path: string): boolean {
  if (process.platform === "win32") return false;
  try {
    return (statSync(path).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}

/**
 * The password, from --password-env VAR, --password-file FILE,
 * SMTPKIT_PASSWORD(_FILE) or the config file. There is deliberately no
 * option that takes the password itself: the command line is visible to
 * other users (ps) and kept in shell histories.
 */
import { readFileSync } from "node:fs";
import { fileError } from "../cli-error.js";
import type { Profile } from "./profile.js";
import { badValue } from "./sourced.js";

/** Where a password can come from, for the errors that ask for one. */
export const PASSWORD_SOURCES_HINT = "use --password-env VAR or --password-file FILE (or SMTPKIT_PASSWORD_FILE, password-file= in the config file)";

export function resolvePassword(profile: Profile, env: NodeJS.ProcessEnv): string | undefined {
  const { password, passwordEnv, passwordFile } = profile.values;
  if (passwordEnv) {
    const value = env[passwordEnv.value];
    if (value === undefined) throw badValue({ ...passwordEnv, fromCommandLine: false }, `the environment variable ${passwordEnv.value} is not set`);
    return value;
  }
  if (passwordFile) {
    let text: string;
    try {
      text = readFileSync(passwordFile.value, "utf8");
    } catch (e) {
      throw fileError(passwordFile.value, e);
    }
    // The first line, without its line end: `echo secret > file` must work.
    return text.split(/\r?\n/, 1)[0] ?? "";
  }
  return password?.value;
}

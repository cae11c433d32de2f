/**
 * Reads the three layers (config file with its chosen profile, SMTPKIT_*
 * environment, command line) into one profile, and shows the config file's
 * warnings.
 */
import { writeLine, type OutStream, type Paint } from "../output.js";
import { loadConfigFile } from "./config-file.js";
import { profileFromEnvironment } from "./environment.js";
import { mergeProfiles, type Profile } from "./profile.js";
import { selectProfile } from "./profile-select.js";
import { fromOption, type Sourced } from "./sourced.js";

export interface ProfileSources {
  env: NodeJS.ProcessEnv;
  stderr: OutStream;
  paintErr: Paint;
}

/** --config-file and --profile as given on the command line. */
export interface FileChoice {
  configFile?: string | undefined;
  profile?: string | undefined;
}

export function loadProfile(commandLine: Profile, choice: FileChoice, io: ProfileSources): Profile {
  const file = loadConfigFile(choice.configFile === undefined ? undefined : fromOption("--config-file", choice.configFile), io.env);
  for (const warning of file.warnings) writeLine(io.stderr, io.paintErr("yellow", `warning: ${warning}`));
  const fromEnv = io.env["SMTPKIT_PROFILE"];
  const name: Sourced | undefined = choice.profile !== undefined ? fromOption("--profile", choice.profile) : fromEnv ? { value: fromEnv, source: "SMTPKIT_PROFILE", fromCommandLine: false } : undefined;
  return mergeProfiles(selectProfile(file, name), profileFromEnvironment(io.env), commandLine);
}

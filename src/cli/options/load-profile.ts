/**
 * Reads the three layers (config file, SMTPKIT_* environment, command line)
 * into one profile, and shows the config file's warnings.
 */
import { writeLine, type OutStream, type Paint } from "../output.js";
import { loadConfigFile } from "./config-file.js";
import { profileFromEnvironment } from "./environment.js";
import { mergeProfiles, type Profile } from "./profile.js";
import { fromOption } from "./sourced.js";

export interface ProfileSources {
  env: NodeJS.ProcessEnv;
  stderr: OutStream;
  paintErr: Paint;
}

export function loadProfile(commandLine: Profile, configFile: string | undefined, io: ProfileSources): Profile {
  const file = loadConfigFile(configFile === undefined ? undefined : fromOption("--config-file", configFile), io.env);
  for (const warning of file.warnings) writeLine(io.stderr, io.paintErr("yellow", `warning: ${warning}`));
  return mergeProfiles(file.profile, profileFromEnvironment(io.env), commandLine);
}

/**
 * Which profile of the config file applies: --profile NAME (or
 * SMTPKIT_PROFILE), else the section named "default" when there is one. The
 * lines outside any section apply to every profile; the chosen section's
 * values win over them. An unknown name lists the known ones.
 */
import type { LoadedConfigFile } from "./config-file.js";
import { mergeProfiles, type Profile } from "./profile.js";
import { badValue, type Sourced } from "./sourced.js";

export const DEFAULT_PROFILE = "default";

export function selectProfile(file: LoadedConfigFile, name: Sourced | undefined): Profile {
  if (name === undefined) {
    const fallback = file.profiles.get(DEFAULT_PROFILE);
    return fallback ? mergeProfiles(file.profile, fallback) : file.profile;
  }
  const chosen = file.profiles.get(name.value);
  if (chosen) return mergeProfiles(file.profile, chosen);
  const known = [...file.profiles.keys()];
  const where = file.path ?? "no config file (~/.smtpkitrc, SMTPKIT_CONFIG_FILE or --config-file)";
  throw badValue(
    name,
    `unknown profile "${name.value}": ${known.length > 0 ? `${where} has ${known.map((k) => `"${k}"`).join(", ")}` : `${where} has no [name] sections`}`,
    known.length > 0 ? `use --profile ${known.join(" | ")}` : "add a section [name] to the config file (docs/cli.md, The config file)",
  );
}

/**
 * A profile: the connection defaults that can come from a config file, the
 * SMTPKIT_* environment variables or the command line. Layers are merged with
 * the command line over the environment over the config file.
 */
import type { Sourced } from "./sourced.js";

export const PROFILE_KEYS = ["server", "port", "tls", "user", "password", "passwordEnv", "passwordFile", "auth", "from", "timeout", "ca", "pinCert"] as const;
export type ProfileKey = (typeof PROFILE_KEYS)[number];

/** The password keys: a layer that sets one of them replaces all three of the layers below. */
const PASSWORD_KEYS: readonly ProfileKey[] = ["password", "passwordEnv", "passwordFile"];

export interface Profile {
  values: Partial<Record<ProfileKey, Sourced>>;
  /** config() settings, "Name=Value", applied in order (a later one wins). */
  settings: Sourced[];
}

export function emptyProfile(): Profile {
  return { values: {}, settings: [] };
}

/** Finds the profile key for a config file key: "server", "password-file", "passwordFile", "PASSWORD_FILE". */
export function profileKey(name: string): ProfileKey | undefined {
  const folded = name.replace(/[-_]/g, "").toLowerCase();
  return PROFILE_KEYS.find((k) => k.toLowerCase() === folded);
}

/** Merges layers, lowest first. */
export function mergeProfiles(...layers: Profile[]): Profile {
  const merged = emptyProfile();
  for (const layer of layers) {
    if (PASSWORD_KEYS.some((k) => layer.values[k] !== undefined)) for (const k of PASSWORD_KEYS) delete merged.values[k];
    for (const key of PROFILE_KEYS) {
      const v = layer.values[key];
      if (v !== undefined) merged.values[key] = v;
    }
    merged.settings.push(...layer.settings);
  }
  return merged;
}

/**
 * The SMTPKIT_* environment variables (listed in docs/cli.md) as a profile
 * layer.
 */
import { emptyProfile, type Profile, type ProfileKey } from "./profile.js";

/** Variable -> profile key. SMTPKIT_CONFIG_FILE is read by the config file loader. */
export const ENVIRONMENT_VARIABLES: Readonly<Record<string, ProfileKey>> = {
  SMTPKIT_SERVER: "server",
  SMTPKIT_PORT: "port",
  SMTPKIT_TLS: "tls",
  SMTPKIT_USER: "user",
  SMTPKIT_PASSWORD: "password",
  SMTPKIT_PASSWORD_FILE: "passwordFile",
  SMTPKIT_AUTH: "auth",
  SMTPKIT_FROM: "from",
  SMTPKIT_TIMEOUT: "timeout",
  SMTPKIT_CA: "ca",
  SMTPKIT_PIN_CERT: "pinCert",
};

export function profileFromEnvironment(env: NodeJS.ProcessEnv): Profile {
  const profile = emptyProfile();
  for (const [name, key] of Object.entries(ENVIRONMENT_VARIABLES)) {
    const value = env[name];
    if (value !== undefined && value !== "") profile.values[key] = { value, source: name, fromCommandLine: false };
  }
  return profile;
}

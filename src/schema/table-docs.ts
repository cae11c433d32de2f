/**
 * Property docs that list the rows of a table kept elsewhere (AuthMechanism
 * values, ...), written from that table so the doc cannot drift from it.
 */
import { AUTH_MECHANISM_VALUES } from "../auth/mechanism-values.js";

export function authMechanismDoc(): string {
  const usable = AUTH_MECHANISM_VALUES.filter((m) => !m.refusal).map((m) => `${m.value} ${m.summary}`);
  const refused = AUTH_MECHANISM_VALUES.filter((m) => m.refusal).map((m) => `${m.value} ${m.summary}`);
  return `SASL mechanism used when User is set: ${usable.join(", ")}. ${refused.join(" and ")} do not apply to SMTP and fail with code 623.`;
}

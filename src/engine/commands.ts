/**
 * Commands outside a mail transaction: VRFY, EXPN and raw commands.
 */
import type { SmtpReply } from "./reply.js";
import type { SmtpSession } from "./session.js";
import { Expn, Raw, Vrfy } from "./smtp-commands.js";

export { argument } from "./smtp-commands.js";

/** VRFY (RFC 5321 §3.5): 250 / 251 the user is known, 252 cannot verify but will accept; anything else fails. */
export async function verify(session: SmtpSession, address: string): Promise<SmtpReply> {
  const vrfy = new Vrfy(address);
  const reply = await session.send(vrfy);
  if (!vrfy.accepts(reply)) throw vrfy.refused(reply);
  return reply;
}

/** EXPN: each line of the 250 reply is one member of the list. */
export async function expand(session: SmtpSession, name: string): Promise<string[]> {
  const expn = new Expn(name);
  const reply = await session.send(expn);
  if (!expn.accepts(reply)) throw expn.refused(reply);
  // text has the enhanced status ("2.1.5") already taken off each line.
  return reply.text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

/** Any command; the reply is returned whatever its code (the caller judges it). */
export function rawCommand(session: SmtpSession, line: string): Promise<SmtpReply> {
  return session.send(new Raw(line));
}

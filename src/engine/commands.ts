/**
 * Commands outside a mail transaction: VRFY, EXPN and raw commands.
 */
import { ErrorCode, SmtpError } from "../errors.js";
import { assertNoLineBreak } from "../message/header-block.js";
import type { SmtpReply } from "./reply.js";
import { replyError, type SmtpSession } from "./session.js";

/** VRFY (RFC 5321 §3.5): 250 / 251 the user is known, 252 cannot verify but will accept; anything else fails. */
export async function verify(session: SmtpSession, address: string): Promise<SmtpReply> {
  const line = `VRFY ${argument("verify()", address)}`;
  const reply = await session.command(line, { expect: "command" });
  if (reply.code !== 250 && reply.code !== 251 && reply.code !== 252) throw replyError(reply, `the server could not verify ${address}`, line);
  return reply;
}

/** EXPN: each line of the 250 reply is one member of the list. */
export async function expand(session: SmtpSession, name: string): Promise<string[]> {
  const line = `EXPN ${argument("expand()", name)}`;
  const reply = await session.command(line, { expect: "command" });
  if (reply.code !== 250) throw replyError(reply, `the server could not expand ${name}`, line);
  // text has the enhanced status ("2.1.5") already taken off each line.
  return reply.text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

/** Any command; the reply is returned whatever its code (the caller judges it). */
export function rawCommand(session: SmtpSession, line: string): Promise<SmtpReply> {
  return session.command(argument("the command", line));
}

export function argument(what: string, value: string): string {
  if (typeof value !== "string" || value.trim() === "") throw new SmtpError(ErrorCode.InvalidValue, `${what} needs a non-empty argument`);
  assertNoLineBreak(`${what}: the argument`, value);
  return value.trim();
}

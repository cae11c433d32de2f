/**
 * smtpkit verify ADDRESS (VRFY) and smtpkit expand LIST (EXPN).
 */
import type { Command } from "commander";
import { Smtp } from "../../index.js";
import { commandIo, type CliContext } from "../context.js";
import { toJson } from "../format.js";
import { callServer } from "../server-call.js";
import { addConnectionOptions, addOutputOptions, profileFromFlags, type ConnectionFlags, type OutputFlags } from "../options/common.js";
import { applyConnection } from "../options/connection.js";
import { loadProfile } from "../options/load-profile.js";
import { writeLine } from "../output.js";
import { attachTrace } from "../trace.js";

type LookupFlags = ConnectionFlags & OutputFlags;

export function registerVerify(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("verify")
    .description("ask the server whether it knows an address (VRFY)")
    .argument("<address>", "the address or user name to verify");
  addConnectionOptions(cmd, { server: true, login: true });
  addOutputOptions(cmd, { trace: true, json: true });
  cmd.action(async (address: string, flags: LookupFlags) => {
    const smtp = await connectedSmtp(flags, ctx);
    const reply = await callServer(smtp, () => smtp.verify(address));
    writeLine(ctx.stdout, flags.json ? toJson({ address, reply }) : reply);
    ctx.exitCode = 0;
  });
}

export function registerExpand(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("expand")
    .description("ask the server for the members of a mailing list (EXPN)")
    .argument("<list>", "the list name");
  addConnectionOptions(cmd, { server: true, login: true });
  addOutputOptions(cmd, { trace: true, json: true });
  cmd.action(async (list: string, flags: LookupFlags) => {
    const smtp = await connectedSmtp(flags, ctx);
    const members = await callServer(smtp, () => smtp.expand(list));
    if (flags.json) writeLine(ctx.stdout, toJson({ list, members }));
    else for (const member of members) writeLine(ctx.stdout, member);
    ctx.exitCode = 0;
  });
}

/** An Smtp object set up from the options (it connects when the command runs). */
async function connectedSmtp(flags: LookupFlags, ctx: CliContext): Promise<Smtp> {
  const io = commandIo(ctx, flags);
  const profile = loadProfile(profileFromFlags(flags), flags, io);
  const smtp = new Smtp();
  await applyConnection(smtp, profile, ctx.env, { login: true, needsServer: true, prompt: ctx });
  if (flags.trace) attachTrace(smtp, ctx.stderr, io.paintErr);
  return smtp;
}

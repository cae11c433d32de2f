/**
 * smtpkit queue DIR: writes the message (same options as send) to a
 * .queued file in DIR for a later process-queue, and prints its path.
 */
import type { Command } from "commander";
import { Smtp } from "../../index.js";
import { commandIo, type CliContext } from "../context.js";
import { toJson } from "../format.js";
import { addOutputOptions, addSettingOptions, profileFromFlags, type ConnectionFlags, type OutputFlags } from "../options/common.js";
import { applySettings } from "../options/connection.js";
import { loadProfile } from "../options/load-profile.js";
import { addMessageOptions, applyMessage, type MessageFlags } from "../options/message.js";
import { writeLine } from "../output.js";

type QueueFlags = Pick<ConnectionFlags, "config" | "configFile" | "profile"> & MessageFlags & OutputFlags;

export function registerQueue(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("queue")
    .description("write a message to a queue directory for process-queue (no network)")
    .argument("<dir>", "the queue directory (must exist)");
  addMessageOptions(cmd);
  addSettingOptions(cmd);
  addOutputOptions(cmd, { trace: false, json: true });
  cmd.addHelpText("after", "\nExample:\n  $ smtpkit queue /var/spool/mail-out --from shop@example.com --to ann@example.org --subject Order --body-file order.txt");
  cmd.action(async (dir: string, flags: QueueFlags) => {
    const io = commandIo(ctx, flags);
    const profile = loadProfile(profileFromFlags(flags, { from: flags.from }), flags, io);
    const smtp = new Smtp();
    applySettings(smtp, profile.settings);
    await applyMessage(smtp, flags, profile, { stdin: ctx.stdin });
    const path = await smtp.queue(dir);
    writeLine(ctx.stdout, flags.json ? toJson({ path }) : path);
    ctx.exitCode = 0;
  });
}

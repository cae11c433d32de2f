/**
 * smtpkit queue DIR|URL: writes the message (same options as send) to a
 * .queued file in DIR, or to a new job of a Redis queue, for a later
 * process-queue, and prints its path or job id.
 */
import type { Command } from "commander";
import { Smtp } from "../../index.js";
import { isRedisUrl } from "../../queue/redis/redis-url.js";
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
    .description("write a message to a queue directory (no network) or a Redis queue, for process-queue")
    .argument("<dir>", "the queue directory (must exist), or a Redis URL: redis://[[user]:password@]host[:port][/db][?queue=name]");
  addMessageOptions(cmd);
  addSettingOptions(cmd);
  addOutputOptions(cmd, { trace: false, json: true });
  cmd.addHelpText("after", "\nExamples:\n  $ smtpkit queue /var/spool/mail-out --from shop@example.com --to ann@example.org --subject Order --body-file order.txt\n  $ smtpkit queue 'redis://127.0.0.1:6379/0?queue=mail' --from shop@example.com --to ann@example.org --subject Order --body-file order.txt");
  cmd.action(async (dir: string, flags: QueueFlags) => {
    const io = commandIo(ctx, flags);
    const profile = loadProfile(profileFromFlags(flags, { from: flags.from }), flags, io);
    const smtp = new Smtp();
    applySettings(smtp, profile.settings);
    await applyMessage(smtp, flags, profile, { stdin: ctx.stdin });
    const path = await smtp.queue(dir);
    // A directory gives the file's path, a Redis URL the job's id.
    writeLine(ctx.stdout, flags.json ? toJson(isRedisUrl(dir) ? { job: path } : { path }) : path);
    ctx.exitCode = 0;
  });
}

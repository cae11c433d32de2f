/**
 * --data FILE | - and -t (sendmail -t): a ready-made message sent as it is.
 * Reading is readInput() (message.ts); what the header block says is in message-headers.ts.
 */
import type { Command } from "commander";
import { usageError } from "../cli-error.js";
import type { MessageFlags } from "./message.js";

export type DataFlags = {
  data?: string;
  /** -t: the recipients (and, without --from, the sender) from the message's headers. */
  readRecipients?: boolean;
};

export function addDataOptions(cmd: Command): Command {
  return cmd
    .option("--data <file>", "send this ready-made message (.eml) as it is; - reads standard input")
    .option("-t, --read-recipients", "with --data: recipients from the To, Cc and Bcc headers (Bcc lines are removed), the sender from From (sendmail -t)");
}

/** The options that build a message cannot change a ready-made one. */
const BUILDING_FLAGS: readonly [keyof MessageFlags, string][] = [
  ["subject", "--subject"],
  ["body", "--body"],
  ["bodyFile", "--body-file"],
  ["htmlFile", "--html-file"],
  ["attach", "--attach"],
  ["header", "--header"],
  ["replyTo", "--reply-to"],
];

export function checkDataFlags(flags: DataFlags & MessageFlags): void {
  if (flags.readRecipients && flags.data === undefined) {
    // Before --data, -t was the trace's short option in send too.
    throw usageError("-t reads the recipients from a ready-made message", "use it with --data FILE (or --data - for standard input); the protocol trace is --trace");
  }
  if (flags.data === undefined) return;
  const clash = BUILDING_FLAGS.find(([key]) => flags[key] !== undefined);
  if (clash) throw usageError(`--data sends the message as it is: ${clash[1]} cannot change it`, "edit the file, or build the message with --subject / --body / --attach instead of --data");
}

/**
 * What `send` is about to send: a message built from the options (the
 * component composes it) or a ready-made one from --data (sent as it is
 * with sendMessage()), each with the envelope the CLI knows of.
 */
import type { RecipientType, Smtp } from "../../index.js";
import { parseAddressList } from "../../message/address-list.js";
import { usageError } from "../cli-error.js";
import { guarded } from "../options/connection.js";
import { checkDataFlags, type DataFlags } from "../options/data.js";
import { applyMessage, readInput, type MessageFlags } from "../options/message.js";
import type { Profile } from "../options/profile.js";
import { fromOption } from "../options/sourced.js";
import { headerAddresses, withoutBcc, type HeaderAddresses } from "../message-headers.js";

export interface CliEnvelope {
  sender: string;
  recipients: { address: string; type: RecipientType }[];
}

export type Outgoing =
  | { kind: "built"; envelope: CliEnvelope; estimatedBytes: number }
  | { kind: "raw"; envelope: CliEnvelope; bytes: Buffer };

/** Sets the message up on `smtp` (built) or reads it (--data); refuses what cannot be sent before any connection. */
export async function prepareOutgoing(smtp: Smtp, flags: MessageFlags & DataFlags, profile: Profile, stdin: NodeJS.ReadableStream): Promise<Outgoing> {
  checkDataFlags(flags);
  if (flags.data === undefined) {
    const { estimatedBytes } = await applyMessage(smtp, flags, profile, { stdin });
    const from = profile.values.from?.value ?? "";
    return { kind: "built", envelope: envelopeOf(from, flags), estimatedBytes };
  }
  const read = await readInput(flags.data, stdin);
  if (read.length === 0) throw usageError(`--data ${flags.data}: the message is empty`);
  let fromHeaders: HeaderAddresses | undefined;
  if (flags.readRecipients) guarded({ value: flags.data, source: `--data ${flags.data} (its headers)`, fromCommandLine: false }, () => (fromHeaders = headerAddresses(read)));
  const bytes = flags.readRecipients ? withoutBcc(read) : read;
  // -t: an explicit --from wins over the From header, which wins over the environment / config file.
  const from = flags.from ?? fromHeaders?.from ?? profile.values.from?.value;
  if (from === undefined || from.trim() === "") {
    throw usageError("no sender given", flags.readRecipients ? "the message has no From header: use --from ADDRESS" : "use --from ADDRESS (or -t to take it from the From header)");
  }
  const envelope = envelopeOf(from, {
    to: [...(fromHeaders?.to ?? []), ...(flags.to ?? [])],
    cc: [...(fromHeaders?.cc ?? []), ...(flags.cc ?? [])],
    bcc: [...(fromHeaders?.bcc ?? []), ...(flags.bcc ?? [])],
  });
  if (envelope.recipients.length === 0) {
    throw usageError("no recipient given", flags.readRecipients ? "the message has no To, Cc or Bcc header: add --to ADDRESS" : "use --to ADDRESS, or -t to read To / Cc / Bcc from the message");
  }
  return { kind: "raw", envelope, bytes };
}

/** The envelope the options give (for --quit-after MAIL / RCPT without --data). */
export function envelopeFromOptions(flags: MessageFlags, profile: Profile, needsRecipients: boolean): CliEnvelope {
  const from = profile.values.from?.value;
  if (from === undefined || from.trim() === "") throw usageError("no sender given", "use --from ADDRESS, SMTPKIT_FROM, or from=ADDRESS in ~/.smtpkitrc");
  const envelope = envelopeOf(from, flags);
  if (needsRecipients && envelope.recipients.length === 0) throw usageError("no recipient given", "use --to ADDRESS (and / or --cc, --bcc)");
  return envelope;
}

/** The envelope from address lists, each checked where it came from. */
function envelopeOf(from: string, lists: { to?: string[]; cc?: string[]; bcc?: string[] }): CliEnvelope {
  const recipients: CliEnvelope["recipients"] = [];
  const seen = new Set<string>();
  const groups: [string[] | undefined, RecipientType, string][] = [[lists.to, 0, "--to"], [lists.cc, 1, "--cc"], [lists.bcc, 2, "--bcc"]];
  for (const [list, type, flag] of groups) {
    for (const item of list ?? []) {
      let parsed: { address: string }[] = [];
      guarded(fromOption(flag, item), () => (parsed = parseAddressList(item)));
      for (const { address } of parsed) {
        if (address === "" || seen.has(address.toLowerCase())) continue;
        seen.add(address.toLowerCase());
        recipients.push({ address, type });
      }
    }
  }
  let sender = "";
  guarded(fromOption("--from", from), () => (sender = parseAddressList(from)[0]?.address ?? ""));
  return { sender, recipients };
}

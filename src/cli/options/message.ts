/**
 * The message options of send and queue (sender, recipients, subject, body,
 * HTML, attachments, extra headers) and how they become Smtp properties.
 */
import { promises as fsp } from "node:fs";
import { Option, type Command } from "commander";
import type { Smtp } from "../../index.js";
import { fileError, usageError } from "../cli-error.js";
import { collect } from "./common.js";
import { guarded } from "./connection.js";
import type { Profile } from "./profile.js";
import { fromOption } from "./sourced.js";
import { parseHeader } from "./values.js";

export type MessageFlags = {
  from?: string;
  to?: string[];
  cc?: string[];
  bcc?: string[];
  replyTo?: string;
  subject?: string;
  body?: string;
  bodyFile?: string;
  htmlFile?: string;
  attach?: string[];
  header?: string[];
};

export function addMessageOptions(cmd: Command): Command {
  return cmd
    .option("-f, --from <address>", "sender, e.g. \"Ann <ann@example.com>\" (SMTPKIT_FROM)")
    .option("--to <addresses>", "recipient(s), comma separated (repeatable)", collect)
    .option("--cc <addresses>", "copy recipient(s) (repeatable)", collect)
    .option("--bcc <addresses>", "blind copy recipient(s): envelope only (repeatable)", collect)
    .option("--reply-to <addresses>", "Reply-To header")
    .option("--subject <text>", "Subject header")
    .addOption(new Option("--body <text>", "the message text").conflicts("bodyFile"))
    .option("--body-file <file>", "read the message text from a file; - reads standard input")
    .option("--html-file <file>", "an HTML body (with a text body: multipart/alternative)")
    .option("-a, --attach <file>", "attach a file (repeatable)", collect)
    .option("-H, --header <Name: value>", "an extra header line (repeatable)", collect);
}

export interface MessageInput {
  /** Standard input, for --body-file -. */
  stdin: NodeJS.ReadableStream;
}

/** What the CLI knows about the message it set up. */
export interface MessageSummary {
  /** Roughly the size on the wire (attachments base64-encoded), for the progress bar. */
  estimatedBytes: number;
}

/** Base64 with 76-character lines and CRLF, plus room for the part headers. */
const attachmentWireSize = (bytes: number): number => Math.ceil(bytes / 57) * 78 + 512;

export async function applyMessage(smtp: Smtp, flags: MessageFlags, profile: Profile, input: MessageInput): Promise<MessageSummary> {
  const from = profile.values.from;
  if (!from || from.value.trim() === "") throw usageError("no sender given", "use --from ADDRESS, SMTPKIT_FROM, or from=ADDRESS in ~/.smtpkitrc");
  guarded(from, () => smtp.setFrom(from.value));

  const to = flags.to ?? [];
  const cc = flags.cc ?? [];
  const bcc = flags.bcc ?? [];
  if (to.length + cc.length + bcc.length === 0) throw usageError("no recipient given", "use --to ADDRESS (and / or --cc, --bcc)");
  guarded(fromOption("--to", to.join(", ")), () => smtp.setSendTo(to.join(", ")));
  guarded(fromOption("--cc", cc.join(", ")), () => smtp.setCc(cc.join(", ")));
  guarded(fromOption("--bcc", bcc.join(", ")), () => smtp.setBCc(bcc.join(", ")));
  // Only Cc / BCc given: that is what was asked for.
  if (to.length === 0) smtp.config("AllowEmptyTo=true");
  if (flags.replyTo !== undefined) {
    const replyTo = flags.replyTo;
    guarded(fromOption("--reply-to", replyTo), () => smtp.setReplyTo(replyTo));
  }
  if (flags.subject !== undefined) {
    const subject = flags.subject;
    guarded(fromOption("--subject", subject), () => smtp.setSubject(subject));
  }

  const headers = (flags.header ?? []).map((h) => parseHeader(fromOption("--header", h)));
  if (headers.length > 0) guarded(fromOption("--header", headers.join(" / ")), () => smtp.setOtherHeaders(headers.join("\r\n")));

  let estimatedBytes = 2048;
  const text = flags.body ?? (flags.bodyFile !== undefined ? await readText(flags.bodyFile, input.stdin) : undefined);
  if (text !== undefined) {
    smtp.setMessageText(text);
    estimatedBytes += Buffer.byteLength(text);
  }
  if (flags.htmlFile !== undefined) {
    const html = await readText(flags.htmlFile, input.stdin);
    smtp.setMessageHTML(html);
    estimatedBytes += Buffer.byteLength(html);
  }

  for (const file of flags.attach ?? []) {
    estimatedBytes += attachmentWireSize(await readableFileSize(file));
    guarded(fromOption("--attach", file), () => smtp.addAttachment(file));
  }
  return { estimatedBytes };
}

/** A file's text, or all of standard input for "-". */
async function readText(path: string, stdin: NodeJS.ReadableStream): Promise<string> {
  return (await readInput(path, stdin)).toString("utf8");
}

/** A file's bytes, or all of standard input for "-" (--body-file, --html-file, --data). */
export async function readInput(path: string, stdin: NodeJS.ReadableStream): Promise<Buffer> {
  if (path === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk);
    return Buffer.concat(chunks);
  }
  try {
    return await fsp.readFile(path);
  } catch (e) {
    throw fileError(path, e);
  }
}

/** Attachments are read while the message is sent: a missing file is reported before connecting. */
async function readableFileSize(path: string): Promise<number> {
  try {
    const stat = await fsp.stat(path);
    if (!stat.isFile()) throw Object.assign(new Error("not a regular file"), { code: stat.isDirectory() ? "EISDIR" : "EINVAL" });
    const handle = await fsp.open(path, "r");
    await handle.close();
    return stat.size;
  } catch (e) {
    throw fileError(path, e);
  }
}

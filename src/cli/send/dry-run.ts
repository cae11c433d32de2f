/**
 * send --dry-run: the message exactly as it would be sent, and its envelope,
 * without any network. A built message is composed by the component itself
 * (queue() into a temporary directory: the same compose, DKIM included, as
 * send()); a --data message is its bytes as they would go.
 */
import { promises as fsp } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Smtp } from "../../index.js";
import { readEnvelope } from "../../queue/queue-file.js";
import { toJson } from "../format.js";
import { writeLine, type OutStream, type Paint } from "../output.js";
import type { CliEnvelope, Outgoing } from "./outgoing.js";

export interface DryRun {
  envelope: CliEnvelope;
  message: Buffer;
}

export async function dryRun(smtp: Smtp, outgoing: Outgoing): Promise<DryRun> {
  if (outgoing.kind === "raw") return { envelope: outgoing.envelope, message: withLineEnd(outgoing.bytes) };
  const dir = await fsp.mkdtemp(join(tmpdir(), "smtpkit-dry-run-"));
  try {
    const path = await smtp.queue(dir);
    const { envelope, messageOffset } = await readEnvelope(path);
    const bytes = await fsp.readFile(path);
    return {
      envelope: { sender: envelope.sender, recipients: envelope.recipients.map((r) => ({ address: r.address, type: r.type ?? 0 })) },
      message: withLineEnd(bytes.subarray(messageOffset)),
    };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** The end of DATA ends the last line too: the server stores the message with it. */
function withLineEnd(message: Buffer): Buffer {
  return message.length === 0 || message[message.length - 1] === 0x0a ? message : Buffer.concat([message, Buffer.from("\r\n")]);
}

const TYPE = ["To", "Cc", "Bcc"] as const;

/** stdout gets the message's bytes only (so `> message.eml` keeps it exactly); the envelope goes to stderr. */
export function printDryRun(run: DryRun, out: { stdout: OutStream; stderr: OutStream; paintErr: Paint; json: boolean }): void {
  if (out.json) {
    writeLine(out.stdout, toJson({ envelope: run.envelope, message: run.message.toString("utf8"), messageBytes: run.message.length }));
    return;
  }
  writeLine(out.stderr, out.paintErr("yellow", "dry run: nothing was sent"));
  writeLine(out.stderr, `  MAIL FROM:<${run.envelope.sender}>`);
  for (const r of run.envelope.recipients) writeLine(out.stderr, `  RCPT TO:<${r.address}>  (${TYPE[r.type]})`);
  writeLine(out.stderr, `  message: ${run.message.length} bytes, on standard output`);
  out.stdout.write(run.message);
}

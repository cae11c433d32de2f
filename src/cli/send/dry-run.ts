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
import { dotStuff } from "../../message/dot-stuffer.js";
import { readEnvelope } from "../../queue/queue-file.js";
import { RECIPIENT_TYPES, toJson } from "../format.js";
import { writeLine, type OutStream, type Paint } from "../output.js";
import type { CliEnvelope, Outgoing } from "./outgoing.js";

export interface DryRun {
  envelope: CliEnvelope;
  message: Buffer;
}

export async function dryRun(smtp: Smtp, outgoing: Outgoing): Promise<DryRun> {
  if (outgoing.kind === "raw") return { envelope: outgoing.envelope, message: asStored(outgoing.bytes) };
  const dir = await fsp.mkdtemp(join(tmpdir(), "smtpkit-dry-run-"));
  try {
    const path = await smtp.queue(dir);
    const { envelope, messageOffset } = await readEnvelope(path);
    const bytes = await fsp.readFile(path);
    return {
      envelope: { sender: envelope.sender, recipients: envelope.recipients.map((r) => ({ address: r.address, type: r.type ?? 0 })) },
      message: asStored(bytes.subarray(messageOffset)),
    };
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

/**
 * The message as the server stores it: DATA makes every line break CRLF and
 * ends the last line (binary content, sent with BINARYMIME, stays as it is).
 */
function asStored(message: Buffer): Buffer {
  if (message.includes(0)) return message;
  const crlf = dotStuff(message, { stuff: false, terminate: false });
  return crlf.length === 0 || crlf[crlf.length - 1] === 0x0a ? crlf : Buffer.concat([crlf, Buffer.from("\r\n")]);
}

/** stdout gets the message's bytes only (so `> message.eml` keeps it exactly); the envelope goes to stderr. */
export function printDryRun(run: DryRun, out: { stdout: OutStream; stderr: OutStream; paintErr: Paint; json: boolean }): void {
  if (out.json) {
    writeLine(out.stdout, toJson({ envelope: run.envelope, message: run.message.toString("utf8"), messageBytes: run.message.length }));
    return;
  }
  writeLine(out.stderr, out.paintErr("yellow", "dry run: nothing was sent"));
  writeLine(out.stderr, `  MAIL FROM:<${run.envelope.sender}>`);
  for (const r of run.envelope.recipients) writeLine(out.stderr, `  RCPT TO:<${r.address}>  (${RECIPIENT_TYPES[r.type]})`);
  writeLine(out.stderr, `  message: ${run.message.length} bytes, on standard output`);
  out.stdout.write(run.message);
}

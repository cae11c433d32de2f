/**
 * One flight: with PIPELINING and CHUNKING, a message in memory that fits
 * in one chunk goes as `BDAT n LAST` inside the envelope group, with a NOOP
 * behind it to vouch for the verdict; nothing waits for a reply before the
 * whole message is on the wire. The plan picks it only when no refused
 * recipient could still have to stop the delivery.
 */
import { ErrorCode, SmtpError } from "../../errors.js";
import type { SmtpReply } from "../reply.js";
import { Bdat, NOOP, type SmtpCommand } from "../smtp-commands.js";
import type { BodyTransfer } from "./body.js";
import type { TransactionState } from "./state.js";
import { trusted } from "./verdict.js";

export class OneFlightBody implements BodyTransfer {
  pending: Promise<SmtpReply> | undefined = undefined;

  constructor(private readonly message: Buffer) {}

  join(tx: TransactionState, group: SmtpCommand[]): void {
    group.push(new Bdat(this.message, true), NOOP);
    tx.startTransfer();
  }

  joined(tx: TransactionState, replies: readonly Promise<SmtpReply>[], at: number, open: boolean): void {
    // The group is written whole or not at all: onto an open connection, the message is handed over.
    if (open) tx.wholeMessageSent = true;
    this.pending = replies[at];
    tx.confirmation = replies[at + 1];
  }

  async abandoned(tx: TransactionState): Promise<void> {
    tx.endTransfer();
    await trusted(tx);
  }

  /** The message went with the envelope group: `verdict` is the reply to it, read there. */
  async send(tx: TransactionState, verdict: SmtpReply | undefined): Promise<SmtpReply> {
    if (!verdict) throw new SmtpError(ErrorCode.Communication, "no reply was read for the message sent with the envelope");
    const message = this.message;
    tx.hooks.transfer({ bytes: message.length, total: message.length, chunk: message });
    tx.endTransfer();
    tx.bytes = message.length;
    return verdict;
  }
}

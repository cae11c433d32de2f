/**
 * BDAT chunks (RFC 3030 CHUNKING): the message in chunks of exact sizes, no
 * dot-stuffing, the last one marked LAST; pipelined, the chunks go without
 * waiting for each reply and a NOOP follows LAST to vouch for its verdict.
 */
import { SmtpError } from "../../errors.js";
import { transferChunks } from "../chunk-transfer.js";
import type { SmtpReply } from "../reply.js";
import type { BodyTransfer } from "./body.js";
import type { TransactionState } from "./state.js";
import { notDelivered } from "./verdict.js";

export class ChunkedBody implements BodyTransfer {
  readonly pending = undefined;

  join(): void {
    // Nothing goes with the envelope: the first chunk waits for the recipients' replies.
  }

  joined(): void {}

  async send(tx: TransactionState): Promise<SmtpReply> {
    const { session, plan, hooks } = tx;
    tx.startTransfer();
    try {
      const sent = await transferChunks(session.connection, {
        parts: tx.parts,
        total: tx.whole?.length,
        chunkSize: plan.chunkSize,
        pipelining: plan.pipelining,
        timeoutMs: tx.timeoutMs,
        maxRate: session.options.maxTransferRate,
        onProgress: (p) => hooks.transfer(p),
        onLastSent: () => {
          tx.wholeMessageSent = true;
        },
        confirm: plan.pipelining,
        signal: tx.signal,
      });
      tx.bytes = sent.bytes;
      tx.confirmation = sent.confirmation;
      return sent.final;
    } catch (e) {
      // Replies to chunks still in flight must not answer later commands.
      if (e instanceof SmtpError && session.isOpen) session.abort(e);
      throw tx.wholeMessageSent ? e : notDelivered(e, "BDAT");
    } finally {
      tx.endTransfer();
    }
  }
}

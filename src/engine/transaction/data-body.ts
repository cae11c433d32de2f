/**
 * DATA (RFC 5321 §4.1.1.4): 354, then the message dot-stuffed with "." on a
 * line of its own at the end. Pipelined, DATA goes with the envelope group
 * and a NOOP rides in the same write as the end of the message, so the next
 * message of a series can follow at once.
 */
import { transferData } from "../data-transfer.js";
import type { SmtpReply } from "../reply.js";
import { DATA, NOOP, type SmtpCommand } from "../smtp-commands.js";
import { resetQuietly } from "./abandon.js";
import type { BodyTransfer } from "./body.js";
import type { TransactionState } from "./state.js";
import { notDelivered, sendingFailed } from "./verdict.js";

export class DataBody implements BodyTransfer {
  pending: Promise<SmtpReply> | undefined = undefined;

  join(_tx: TransactionState, group: SmtpCommand[]): void {
    group.push(DATA);
  }

  joined(_tx: TransactionState, replies: readonly Promise<SmtpReply>[], at: number): void {
    this.pending = replies[at];
  }

  async send(tx: TransactionState, early: SmtpReply | undefined): Promise<SmtpReply> {
    const { session, plan, hooks, timeoutMs } = tx;
    const go = early ?? (await session.send(DATA));
    if (!DATA.accepts(go)) {
      const err = DATA.refused(go);
      await resetQuietly(session, err);
      throw err;
    }
    tx.startTransfer();
    const conn = session.connection;
    // Queued before the first byte so even an instant reply finds its waiter;
    // its Timeout starts only once the end-of-data marker is written.
    const endOfData = conn.deferReply("the end of data (.)", timeoutMs);
    const noop = plan.pipelining ? conn.deferCommand(NOOP, timeoutMs) : undefined;
    tx.confirmation = noop?.reply;
    let written = 0;
    // Only a pipelining server may get the next commands before this verdict (RFC 2920).
    const handover = plan.pipelining ? hooks.handover : undefined;
    try {
      tx.bytes = await transferData(conn, {
        parts: tx.parts,
        timeoutMs,
        maxRate: session.options.maxTransferRate,
        onProgress: (p) => {
          written = p.bytes;
          hooks.transfer(p);
        },
        trailer: noop?.bytes,
        onMarker: () => {
          // Called right before the last write: it hands the bytes over only on an open connection.
          if (conn.isOpen) tx.wholeMessageSent = true;
          endOfData.arm();
          noop?.arm();
          // The next message's envelope joins the end of this one in a single write.
          if (handover) conn.coalesce();
        },
        signal: tx.signal,
      });
      endOfData.arm();
      noop?.arm();
      handover?.();
      return await endOfData.reply;
    } catch (e) {
      if (!tx.wholeMessageSent) throw notDelivered(e, "DATA");
      // The verdict may have come while the last write was still draining (a 421 right behind it): it stands.
      // A failure that left the connection up (a throwing listener) closes it, so the wait cannot hang.
      if (session.isOpen) session.abort(sendingFailed(e));
      const verdict = await endOfData.reply.catch(() => undefined);
      if (!verdict) throw e;
      tx.bytes = written;
      return verdict;
    } finally {
      tx.endTransfer();
    }
  }
}

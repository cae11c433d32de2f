/**
 * The body phase: how the message itself reaches the server. One interface,
 * three strategies, chosen by the plan (see transaction.ts):
 *  - DATA: dot-stuffed, "." at the end (data-body.ts);
 *  - BDAT chunks of exact sizes, the last one marked LAST (chunked-body.ts);
 *  - the whole message as one `BDAT n LAST` inside the pipelined envelope
 *    group, one flight for everything (one-flight-body.ts).
 * A body may put commands into the envelope group (pipelined DATA, or the
 * whole message); the envelope phase reads their reply with the others.
 */
import type { SmtpReply } from "../reply.js";
import type { SmtpCommand } from "../smtp-commands.js";
import type { TransactionState } from "./state.js";

export interface BodyTransfer {
  /** With PIPELINING: adds what goes out with the envelope group (DATA; or the whole message and a NOOP). */
  join(tx: TransactionState, group: SmtpCommand[]): void;
  /** The group was written (onto an open connection when `open`); `replies[at]` on answer what join() added. */
  joined(tx: TransactionState, replies: readonly Promise<SmtpReply>[], at: number, open: boolean): void;
  /** The reply to what join() added, for the envelope phase to read; undefined when it added nothing. */
  readonly pending: Promise<SmtpReply> | undefined;
  /**
   * The envelope failed after `pending` was answered. Only a body whose
   * message went with the group has this: that message's fate is settled first.
   */
  abandoned?(tx: TransactionState): Promise<void>;
  /**
   * After an accepted envelope: sends the message, unless it went with the
   * group, and resolves with the server's reply to its end. `early` is the
   * reply read for `pending`. Sets tx.bytes, tx.wholeMessageSent and tx.confirmation.
   */
  send(tx: TransactionState, early: SmtpReply | undefined): Promise<SmtpReply>;
}

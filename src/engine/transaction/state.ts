/**
 * One message's transaction as it passes through the phases (envelope, body,
 * verdict): what they all read, and what each leaves for the next. One
 * object per message; the phases are plain functions of it.
 */
import type { SmtpReply } from "../reply.js";
import type { SmtpSession } from "../session.js";
import type { MessagePart } from "../data-transfer.js";
import type { Envelope, RecipientResult, TransactionHooks, TransactionPlan } from "./types.js";

export class TransactionState {
  readonly timeoutMs: number;
  /** How the message goes, as "delivery unknown" names it. */
  readonly phase: "DATA" | "BDAT";
  /** Each recipient's answer, in envelope order. */
  readonly results: RecipientResult[] = [];
  /** Set the moment the last byte of the message is handed to the socket. */
  wholeMessageSent = false;
  /** The reply to a NOOP pipelined behind the end of the message: it vouches for the verdict. */
  confirmation: Promise<SmtpReply> | undefined = undefined;
  /** Message bytes written (CRLF line ends; dot-stuffed for DATA), without the final ".". */
  bytes = 0;
  private transferring = false;

  constructor(
    readonly session: SmtpSession,
    readonly envelope: Envelope,
    readonly plan: TransactionPlan,
    readonly hooks: TransactionHooks,
    readonly signal: AbortSignal | undefined,
    /** The message as the body sends it: `whole` when it is in memory (normalized, size known), else its parts. */
    readonly parts: readonly MessagePart[],
    readonly whole: Buffer | undefined,
  ) {
    this.timeoutMs = session.options.timeoutMs;
    this.phase = plan.chunking ? "BDAT" : "DATA";
  }

  startTransfer(): void {
    this.hooks.startTransfer();
    this.transferring = true;
  }

  /** One EndTransfer for each StartTransfer, however the transfer ends; later calls do nothing. */
  endTransfer(): void {
    if (!this.transferring) return;
    this.transferring = false;
    this.hooks.endTransfer();
  }
}

/**
 * The handle of a long-running Redis queue worker (startQueueWorker(),
 * `smtpkit process-queue URL --watch`). Its own file, free of BullMQ's
 * types: the package's declarations must not need the optional peers.
 */
export interface QueueWorker {
  /** The queue's URL without its password. */
  readonly url: string;
  /**
   * Stops taking jobs, lets the jobs in flight finish (their outcomes are
   * recorded), closes the SMTP connections and Redis, and resolves.
   */
  close(): Promise<void>;
  /** Settles when the worker has stopped (after close(), or rejects when it failed for good). */
  readonly closed: Promise<void>;
  /** Jobs this worker finished so far, by outcome. */
  readonly counts: Readonly<Record<"sent" | "deferred" | "failed" | "partial", number>>;
}

/**
 * The pool's rate limit: at most `limit` sends start in ANY window of
 * `intervalMs` (a sliding log, not a refilling bucket: a bucket lets a full
 * burst follow a full refill and briefly doubles the rate). A send waits for
 * its slot before it starts, so the limit holds across all connections.
 */
export class RateLimiter {
  private readonly starts: number[] = [];
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly limit: number,
    private readonly intervalMs: number,
  ) {}

  /** Resolves when a send may start, and counts it. Callers are served in order. */
  acquire(signal?: AbortSignal): Promise<void> {
    const turn = this.chain.then(() => this.waitForSlot(signal));
    // A failed wait (abort) must not block the callers behind it.
    this.chain = turn.catch(() => undefined);
    return turn;
  }

  private async waitForSlot(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = performance.now();
      while (this.starts.length && (this.starts[0] as number) <= now - this.intervalMs) this.starts.shift();
      if (this.starts.length < this.limit) {
        this.starts.push(now);
        return;
      }
      // The oldest start leaves the window at oldest + interval.
      await sleep((this.starts[0] as number) + this.intervalMs - now + 1, signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

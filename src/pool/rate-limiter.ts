/**
 * The pool's rate limit: at most `limit` sends in ANY window of `intervalMs`.
 * A send holds its slot from the moment it may start until it ends, and the
 * slot stays counted for `intervalMs` after that. Whatever moment inside the
 * send the server sees (its MAIL FROM), any window of `intervalMs` can then
 * hold at most `limit` of them. It is checked before the send starts, so
 * bursts never overshoot, across all connections.
 */
export class RateLimiter {
  private running = 0;
  /** End times of finished sends still inside the window, oldest first. */
  private readonly ended: number[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private wake: (() => void) | undefined;

  constructor(
    private readonly limit: number,
    private readonly intervalMs: number,
  ) {}

  /** Resolves with the function to call when the send has ended. Callers are served in order. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const turn = this.chain.then(() => this.waitForSlot(signal));
    // A failed wait (abort) must not block the callers behind it.
    this.chain = turn.catch(() => undefined);
    return turn;
  }

  private async waitForSlot(signal?: AbortSignal): Promise<() => void> {
    for (;;) {
      const now = performance.now();
      while (this.ended.length && (this.ended[0] as number) <= now - this.intervalMs) this.ended.shift();
      if (this.running + this.ended.length < this.limit) {
        this.running++;
        let released = false;
        return () => {
          if (released) return;
          released = true;
          this.running--;
          this.ended.push(performance.now());
          this.wake?.();
        };
      }
      // Wait for the oldest finished send to leave the window, or for a running one to end.
      const until = this.ended.length ? (this.ended[0] as number) + this.intervalMs - now + 1 : Number.POSITIVE_INFINITY;
      await this.sleep(until, signal);
    }
  }

  private sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const done = (): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.wake = undefined;
      };
      const onAbort = (): void => {
        done();
        reject(signal?.reason);
      };
      const timer = Number.isFinite(ms) ? setTimeout(() => (done(), resolve()), Math.max(0, ms)) : undefined;
      this.wake = () => (done(), resolve());
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

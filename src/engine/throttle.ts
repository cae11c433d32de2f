/**
 * MaxTransferRate: paces message data so that, at every point, the bytes
 * written so far never run ahead of rate x elapsed time.
 */
export class Throttle {
  private readonly start = performance.now();
  private total = 0;

  constructor(private readonly bytesPerSecond: number) {}

  get active(): boolean {
    return this.bytesPerSecond > 0;
  }

  /** Suggested write size: small enough to keep the pace smooth. */
  sliceSize(max: number): number {
    return this.active ? Math.max(1024, Math.min(max, Math.floor(this.bytesPerSecond / 20))) : max;
  }

  /** Accounts for `bytes` just written and waits until the pace allows more. */
  async wrote(bytes: number, signal?: AbortSignal): Promise<void> {
    if (!this.active) return;
    this.total += bytes;
    const due = this.start + (this.total / this.bytesPerSecond) * 1000;
    const wait = due - performance.now();
    if (wait <= 0) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, wait);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

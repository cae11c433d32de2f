/**
 * The global rate limit as BullMQ's limiter: at most `max` jobs start in a
 * window of `duration` ms that opens with its first job. Fixed windows let
 * a window's last `max` and the next one's first `max` start back to back,
 * so a limit of M per I ms given as one window {M, I} allows 2M in some
 * sliding interval of I. Many small windows bound that: an interval of I
 * meets at most floor(I / d) + 1 windows of d ms, so with m jobs each the
 * excess over M is at most m (a hundredth of M, or one job when M < 100),
 * and d is rounded up so the long-run rate never exceeds M / I.
 */
export interface LimiterWindow {
  max: number;
  duration: number;
}

export function limiterWindow(messages: number, intervalMs: number): LimiterWindow {
  if (!(messages >= 1) || !(intervalMs >= 1)) throw new RangeError("a rate limit needs at least 1 message per at least 1 ms");
  const max = Math.max(1, Math.floor(messages / 100));
  return { max, duration: Math.ceil((intervalMs * max) / messages) };
}

/** The most jobs the window lets start in any sliding interval of `intervalMs` (what the docs and tests promise). */
export function worstCaseInInterval(w: LimiterWindow, intervalMs: number): number {
  return (Math.floor(intervalMs / w.duration) + 1) * w.max;
}

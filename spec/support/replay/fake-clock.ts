/**
 * Fake time for the replay tests. Only setTimeout / setInterval (and their
 * clear functions) are faked: setImmediate, nextTick and promises stay real,
 * so the duplex pair and the streams keep working, while every timeout of the
 * client (Timeout, LingerTime) waits for the test to move the clock.
 *
 * Nothing here depends on real time: between two moves of the clock the test
 * waits until nothing is in flight on any connection (quiescence).
 */
import { vi } from "vitest";

export function useReplayClock(): void {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval"] });
}

export function restoreClock(): void {
  vi.useRealTimers();
}

function immediate(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Lets everything that does not wait for a timer run: returns once nothing
 * has been in flight for a few turns of the event loop in a row.
 */
export async function quiesce(busy: () => boolean): Promise<void> {
  let idle = 0;
  for (let turns = 0; idle < 3; turns++) {
    if (turns > 1_000_000) throw new Error("the replay never went quiet (endless exchange?)");
    await immediate();
    idle = busy() ? 0 : idle + 1;
  }
}

export interface RunOptions {
  /** Fake milliseconds per move of the clock. */
  stepMs?: number;
  /** Give up after this much fake time. */
  maxMs: number;
}

/**
 * Runs until `done()`, moving fake time forward in small steps whenever
 * everything is quiet. Resolves with the fake time used, or rejects once
 * maxMs has passed without `done()`.
 */
export async function runUntil(done: () => boolean, busy: () => boolean, opts: RunOptions): Promise<number> {
  const step = opts.stepMs ?? 10;
  let elapsed = 0;
  for (;;) {
    await quiesce(busy);
    if (done()) return elapsed;
    if (elapsed >= opts.maxMs) throw new Error(`still not done after ${opts.maxMs} ms of fake time`);
    await vi.advanceTimersByTimeAsync(step);
    elapsed += step;
  }
}

/** Drives the replay until `promise` settles, then resolves or rejects with it. */
export async function settle<T>(promise: Promise<T>, busy: () => boolean, maxMs = 120_000): Promise<T> {
  let settled = false;
  const observed = promise.then(
    (value) => {
      settled = true;
      return value;
    },
    (e: unknown) => {
      settled = true;
      throw e;
    },
  );
  observed.catch(() => undefined);
  await runUntil(() => settled, busy, { maxMs });
  return observed;
}

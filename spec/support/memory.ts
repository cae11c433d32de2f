/**
 * Live-memory measurement for "never holds the message in memory" checks.
 * Garbage would swamp a plain heap sample, so the collector is run first.
 */
import v8 from "node:v8";
import vm from "node:vm";

let gcFn: (() => void) | undefined;

/** Runs a full garbage collection (enables --expose-gc at run time when needed). */
export function forceGc(): void {
  if (!gcFn) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gcFn = exposed;
    else {
      v8.setFlagsFromString("--expose-gc");
      gcFn = vm.runInNewContext("gc") as () => void;
    }
  }
  gcFn();
}

/** Bytes of live JS heap plus Buffers / ArrayBuffers, after a full collection. */
export function liveBytes(): number {
  // V8 frees Buffer memory on a background thread after a collection; a second
  // one waits for that sweep, else a busy machine still counts dead Buffers (up to 10 MB seen).
  forceGc();
  forceGc();
  const u = process.memoryUsage();
  return u.heapUsed + u.arrayBuffers;
}

/**
 * One method call at a time: Idle kept up to date, interrupt() and the
 * caller's AbortSignal wired in, AbsoluteTimeout bounding the whole call.
 */
import { abortReason, ErrorCode, interrupted, SmtpError } from "../errors.js";
import type { PropertyStore } from "../schema/property-store.js";
import { failureOf } from "./failure.js";

/** Options every async method accepts. */
export interface CallOptions {
  /** Aborting it has the effect of interrupt(): the call rejects with code 301. */
  signal?: AbortSignal;
}

export interface RunnerHost {
  readonly store: PropertyStore;
  /** The running call was aborted: stop whatever the session is doing. */
  abortSession(reason: SmtpError): void;
  /** The call failed with `error` (as the caller gets it): forget a session that is no longer open, log it. */
  failed(error: SmtpError): void;
}

export class MethodRunner {
  #operation: AbortController | undefined;
  #controller: AbortController | undefined;

  constructor(private readonly host: RunnerHost) {}

  /** Runs one method: one at a time, Idle maintained, interrupt() and signals wired in. */
  async run<T>(opts: CallOptions, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.#operation) throw new SmtpError(ErrorCode.Busy, "busy: another method of this object is still running", { hint: "await it, or call interrupt()" });
    const op = this.#abortController();
    this.#operation = op;
    const store = this.host.store;
    store.setInternal("Idle", false);
    const onUserAbort = (): void => op.abort(interrupted("aborted by the caller's AbortSignal"));
    if (opts.signal?.aborted) onUserAbort();
    opts.signal?.addEventListener("abort", onUserAbort, { once: true });
    // AbsoluteTimeout: Timeout bounds the whole method, not each wait.
    const timeout = store.number("Timeout");
    const absolute = store.bool("AbsoluteTimeout") && timeout > 0
      ? setTimeout(() => op.abort(new SmtpError(ErrorCode.TimedOut, `the operation did not finish within Timeout (${timeout} s, AbsoluteTimeout)`)), timeout * 1000)
      : undefined;
    try {
      if (op.signal.aborted) throw op.signal.reason;
      return await body(op.signal);
    } catch (e) {
      const error = failureOf(e, op.signal);
      this.host.failed(error);
      throw error;
    } finally {
      if (absolute) clearTimeout(absolute);
      opts.signal?.removeEventListener("abort", onUserAbort);
      this.#operation = undefined;
      store.setInternal("Idle", true);
    }
  }

  /** Aborts the method in progress: it rejects with code 301. */
  interrupt(): void {
    const op = this.#operation;
    if (op && !op.signal.aborted) op.abort(interrupted());
  }

  /**
   * The controller behind the running method's signal. One serves call after
   * call until it is aborted (creating one costs more than a small send): every
   * listener the engine adds to the signal is removed when its wait ends.
   */
  #abortController(): AbortController {
    if (this.#controller && !this.#controller.signal.aborted) return this.#controller;
    const op = new AbortController();
    op.signal.addEventListener("abort", () => {
      this.host.abortSession(abortReason(op.signal));
    }, { once: true });
    this.#controller = op;
    return op;
  }
}

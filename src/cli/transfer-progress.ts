/**
 * The progress bar of a send: driven by the StartTransfer / Transfer
 * events, shown once the message turns out to be larger than
 * 1 MiB. The frames (percentage, rate, ETA) come from progress-frame.ts; the
 * total is the event's when it knows it, else the CLI's estimate of the wire
 * size (a streamed message). 100 % only once the server took the message:
 * finish() says how the send ended.
 */
import type { Smtp } from "../index.js";
import { initialTransferState, nextTransferState, transferFrame, type TransferInput, type TransferOutcome } from "./progress-frame.js";
import type { ProgressBar } from "./progress.js";

export const PROGRESS_THRESHOLD = 1024 * 1024;

export interface TransferProgressOptions {
  /** The CLI's estimate of the message size on the wire. */
  estimatedBytes?: number;
  threshold?: number;
  now?: () => number;
}

export interface TransferProgress {
  /** The send is over: the last frame (100 % only for "sent"), and the bar's line ends. */
  finish(outcome: TransferOutcome): void;
}

export function attachTransferProgress(smtp: Smtp, bar: ProgressBar, opts: TransferProgressOptions = {}): TransferProgress {
  const threshold = opts.threshold ?? PROGRESS_THRESHOLD;
  const now = opts.now ?? Date.now;
  let state = initialTransferState(opts.estimatedBytes);
  let shown = false;
  const feed = (input: TransferInput): void => {
    state = nextTransferState(state, input);
    if (!shown && state.bytes < threshold && (state.total ?? 0) < threshold) return;
    shown = true;
    bar.show(transferFrame(state));
  };
  smtp.on("StartTransfer", () => feed({ kind: "start", at: now() }));
  smtp.on("Transfer", (e) => feed({ kind: "transfer", at: now(), bytes: e.bytesTransferred, percentDone: e.percentDone }));
  return {
    finish(outcome) {
      state = nextTransferState(state, { kind: "outcome", at: now(), outcome });
      bar.finish(shown ? transferFrame(state) : undefined);
    },
  };
}

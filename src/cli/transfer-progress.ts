/**
 * The progress bar of a send: driven by the Transfer event, shown once the
 * message turns out to be larger than 1 MiB. The percentage is the event's
 * when it knows the total; a streamed message (large attachments) reports
 * no total, so the CLI's own estimate of the wire size is used, and without
 * one only the bytes sent are shown.
 */
import type { Smtp } from "../index.js";
import { humanBytes } from "./format.js";
import type { ProgressBar } from "./progress.js";

export const PROGRESS_THRESHOLD = 1024 * 1024;

export interface TransferProgressOptions {
  /** The CLI's estimate of the message size on the wire. */
  estimatedBytes?: number;
  threshold?: number;
}

export function attachTransferProgress(smtp: Smtp, bar: ProgressBar, opts: TransferProgressOptions = {}): void {
  const threshold = opts.threshold ?? PROGRESS_THRESHOLD;
  let shown = false;
  let bytes = 0;
  smtp.on("Transfer", (e) => {
    bytes = e.bytesTransferred;
    const total = e.percentDone > 0 ? (e.bytesTransferred * 100) / e.percentDone : e.percentDone === 0 ? undefined : opts.estimatedBytes;
    if (!shown && bytes < threshold && (total ?? 0) < threshold) return;
    shown = true;
    // An estimate may be off: never claim 100% before the end.
    const fraction = e.percentDone >= 0 ? e.percentDone / 100 : total ? Math.min(0.99, bytes / total) : undefined;
    bar.update(fraction, `${humanBytes(bytes)} sent${fraction === undefined ? " (size unknown)" : ""}`);
  });
  smtp.on("EndTransfer", () => {
    if (!shown) return;
    bar.update(1, `${humanBytes(bytes)} sent`);
    bar.finish();
  });
}

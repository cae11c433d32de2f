/**
 * The progress of a message transfer as pure data: StartTransfer / Transfer
 * events and the send's outcome go in (with the time they happened), frames
 * (a fraction and a label) come out. No clock and no terminal here, so the
 * rendering is tested as a function (spec/unit/cli-progress.spec.ts).
 */
import { humanBytes } from "./format.js";

export type TransferOutcome = "sent" | "interrupted" | "failed";

export type TransferInput =
  /** StartTransfer: the clock for the rate starts. */
  | { kind: "start"; at: number }
  /** A Transfer event: bytes written so far; percentDone -1 when the component does not know the total. */
  | { kind: "transfer"; at: number; bytes: number; percentDone: number }
  /** send() resolved or rejected. */
  | { kind: "outcome"; at: number; outcome: TransferOutcome };

export interface TransferState {
  startedAt: number | undefined;
  at: number;
  bytes: number;
  /** The total: the component's (exact) or the CLI's estimate. */
  total: number | undefined;
  estimated: boolean;
  outcome: TransferOutcome | undefined;
}

export interface Frame {
  /** 0..1, or undefined when there is no total to compare with. */
  fraction: number | undefined;
  label: string;
}

/** Rates over less time than this are noise. */
const MIN_RATE_MS = 250;
/** Below 100 % until the server has taken the message: an estimate may be off, and an answer may never come. */
const NOT_YET_DONE = 0.99;

export function initialTransferState(estimatedBytes?: number): TransferState {
  return { startedAt: undefined, at: 0, bytes: 0, total: estimatedBytes, estimated: estimatedBytes !== undefined, outcome: undefined };
}

export function nextTransferState(s: TransferState, input: TransferInput): TransferState {
  const startedAt = s.startedAt ?? input.at;
  switch (input.kind) {
    case "start":
      return { ...s, startedAt: input.at, at: input.at };
    case "transfer": {
      const exact = input.percentDone > 0 ? (input.bytes * 100) / input.percentDone : undefined;
      return { ...s, startedAt, at: input.at, bytes: input.bytes, total: exact ?? s.total, estimated: exact === undefined && s.estimated };
    }
    case "outcome":
      return { ...s, startedAt, at: input.at, outcome: input.outcome };
  }
}

export function transferFrame(s: TransferState): Frame {
  const rate = bytesPerSecond(s);
  const rateText = rate === undefined ? "" : `, ${humanBytes(Math.round(rate))}/s`;
  const sent = humanBytes(s.bytes);
  if (s.outcome === "sent") return { fraction: 1, label: `${sent} sent${rateText}` };
  const fraction = s.total ? Math.min(NOT_YET_DONE, s.bytes / s.total) : undefined;
  if (s.outcome === "interrupted") return { fraction, label: `interrupted after ${sent}` };
  if (s.outcome === "failed") return { fraction, label: `failed after ${sent}` };
  // EndTransfer only comes with the verdict: every byte of a known total written means the server is thinking.
  if (s.total && !s.estimated && s.bytes >= s.total) return { fraction, label: `${sent} sent${rateText}, waiting for the server's answer` };
  if (!s.total) return { fraction: undefined, label: `${sent} sent${rateText} (size unknown)` };
  const of = `${s.estimated ? "~" : ""}${humanBytes(Math.round(s.total))}`;
  const eta = rate ? `, ETA ${duration(Math.max(0, s.total - s.bytes) / rate)}` : "";
  return { fraction, label: `${sent} of ${of}${rateText}${eta}` };
}

/** The frame after each input: what a display shows, one frame per event. */
export function transferFrames(inputs: readonly TransferInput[], estimatedBytes?: number): Frame[] {
  let state = initialTransferState(estimatedBytes);
  return inputs.map((input) => transferFrame((state = nextTransferState(state, input))));
}

function bytesPerSecond(s: TransferState): number | undefined {
  const ms = s.startedAt === undefined ? 0 : s.at - s.startedAt;
  return ms >= MIN_RATE_MS && s.bytes > 0 ? (s.bytes * 1000) / ms : undefined;
}

/** 75 -> "1:15", 3725 -> "1:02:05". */
export function duration(seconds: number): string {
  const total = Math.ceil(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

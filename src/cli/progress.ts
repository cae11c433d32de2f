/**
 * A progress bar on stderr. On a terminal it is redrawn in place (at most
 * ten times a second); elsewhere (with --progress) it prints a line at every
 * tenth of the way, or once a second when the total is unknown. Other stderr
 * lines (the trace) go through writeLine(), which clears the bar first and
 * draws it again below them, so they never land on the bar's line.
 */
import type { OutStream, Paint } from "./output.js";
import type { Frame } from "./progress-frame.js";

const WIDTH = 30;
const REDRAW_MS = 100;
const LINE_MS = 1000;
/** Carriage return and "erase to the end of the line". */
const CLEAR_LINE = "\r\x1b[K";

export class ProgressBar {
  readonly #out: OutStream;
  readonly #paint: Paint;
  readonly #live: boolean;
  readonly #now: () => number;
  #lastDraw = Number.NEGATIVE_INFINITY;
  #lastStep = -1;
  #drawn = false;
  /** The latest frame, drawn or not yet (throttled). */
  #latest: Frame | undefined;
  #latestShown = true;

  /** live: redraw in place (a terminal); otherwise one line per step. */
  constructor(out: OutStream, paint: Paint, live: boolean, now: () => number = Date.now) {
    this.#out = out;
    this.#paint = paint;
    this.#live = live;
    this.#now = now;
  }

  /** fraction 0..1, or undefined when the total is unknown. */
  update(fraction: number | undefined, label: string): void {
    this.show({ fraction, label });
  }

  show(frame: Frame): void {
    const now = this.#now();
    this.#latest = frame;
    this.#latestShown = false;
    if (this.#live) {
      if (now - this.#lastDraw < REDRAW_MS && frame.fraction !== 1) return;
      this.#draw(frame);
      this.#lastDraw = now;
      return;
    }
    const step = frame.fraction === undefined ? Math.floor(now / LINE_MS) : Math.floor(frame.fraction * 10);
    if (step === this.#lastStep) return;
    this.#lastStep = step;
    this.#printLine(frame);
  }

  /** A line of other output (the trace): never written onto the bar's line. */
  writeLine(text: string): void {
    if (!this.#drawn) {
      this.#out.write(`${text}\n`);
      return;
    }
    this.#out.write(`${CLEAR_LINE}${text}\n`);
    if (this.#latest) this.#draw(this.#latest);
  }

  /** Shows `last` (or the latest frame not shown yet) and ends the bar's line. */
  finish(last?: Frame): void {
    const frame = last ?? (this.#latestShown ? undefined : this.#latest);
    if (this.#live) {
      if (frame) this.#draw(frame);
      if (this.#drawn) this.#out.write("\n");
      this.#drawn = false;
    } else if (frame) {
      this.#printLine(frame);
    }
  }

  #printLine(frame: Frame): void {
    this.#out.write(`${this.#bar(frame.fraction)} ${frame.label}\n`);
    this.#latestShown = true;
  }

  #draw(frame: Frame): void {
    this.#out.write(`\r${this.#bar(frame.fraction)} ${frame.label}\x1b[K`);
    this.#drawn = true;
    this.#latestShown = true;
  }

  #bar(fraction: number | undefined): string {
    if (fraction === undefined) return this.#paint("cyan", `[${"~".repeat(WIDTH)}]`);
    // Rounded down: a full bar means 100 %, which only a finished send shows.
    const filled = Math.floor(Math.min(1, Math.max(0, fraction)) * WIDTH);
    return `[${this.#paint("green", "#".repeat(filled))}${"-".repeat(WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
  }
}

/**
 * A progress bar on stderr. On a terminal it is redrawn in place (at most
 * ten times a second); elsewhere (with --progress) it prints a line at every
 * tenth of the way, or once a second when the total is unknown.
 */
import type { OutStream, Paint } from "./output.js";

const WIDTH = 30;
const REDRAW_MS = 100;
const LINE_MS = 1000;

export class ProgressBar {
  readonly #out: OutStream;
  readonly #paint: Paint;
  readonly #live: boolean;
  #lastDraw = 0;
  #lastStep = -1;
  #drawn = false;
  #pending: { fraction: number | undefined; label: string } | undefined;

  /** live: redraw in place (a terminal); otherwise one line per step. */
  constructor(out: OutStream, paint: Paint, live: boolean) {
    this.#out = out;
    this.#paint = paint;
    this.#live = live;
  }

  /** fraction 0..1, or undefined when the total is unknown. */
  update(fraction: number | undefined, label: string): void {
    const now = Date.now();
    if (this.#live) {
      this.#pending = { fraction, label };
      if (now - this.#lastDraw < REDRAW_MS && fraction !== 1) return;
      this.#draw(fraction, label);
      this.#lastDraw = now;
      this.#pending = undefined;
      return;
    }
    const step = fraction === undefined ? Math.floor(now / LINE_MS) : Math.floor(fraction * 10);
    if (step === this.#lastStep) return;
    this.#lastStep = step;
    this.#out.write(`${this.#bar(fraction)} ${label}\n`);
  }

  /** Shows the last state and ends the line. */
  finish(): void {
    if (!this.#live) return;
    if (this.#pending) this.#draw(this.#pending.fraction, this.#pending.label);
    if (this.#drawn) this.#out.write("\n");
    this.#drawn = false;
  }

  #draw(fraction: number | undefined, label: string): void {
    // Carriage return, the bar, then "erase to the end of the line".
    this.#out.write(`\r${this.#bar(fraction)} ${label}\x1b[K`);
    this.#drawn = true;
  }

  #bar(fraction: number | undefined): string {
    if (fraction === undefined) return this.#paint("cyan", `[${"~".repeat(WIDTH)}]`);
    const filled = Math.round(Math.min(1, Math.max(0, fraction)) * WIDTH);
    return `[${this.#paint("green", "#".repeat(filled))}${"-".repeat(WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
  }
}

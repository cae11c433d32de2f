/**
 * Two stream.Duplex ends wired to each other in memory, standing in for a TCP
 * connection. What one end writes arrives at the other as one chunk per write
 * (or per corked batch), each in its own macrotask (setImmediate), in order:
 * microtasks and nextTicks run between two arrivals, as between two socket
 * reads. A write completes (its callback runs) only after it has arrived and
 * the reader's immediate answer is on its way back, so a large message is
 * paced like on a socket with a small window: the writer sees backpressure,
 * and a server that acts on the first part of a message is heard before the
 * rest is written.
 * Ending one end (FIN) ends the other's readable side; destroying one end
 * closes the other. `reset()` destroys the client end with an ECONNRESET
 * error.
 *
 * Only setImmediate is used, so the pair keeps working under fake timers
 * that fake setTimeout / setInterval alone.
 */
import { Duplex } from "node:stream";

export type Side = "client" | "server";

export interface PairHooks {
  /** Bytes the client handed to its end (one call per write or corked batch), synchronously. */
  clientWrote?(bytes: Buffer): void;
  /** Bytes are arriving at `to`: called right before they are pushed into its readable side. */
  arriving?(to: Side, bytes: Buffer): void;
  /** `side`'s end closed. */
  closed?(side: Side): void;
}

export class PairEnd extends Duplex {
  /** The peer's FIN was pushed: nothing more can be pushed. */
  eof = false;

  constructor(
    private readonly pair: DuplexPair,
    readonly side: Side,
  ) {
    // A socket whose peer sent FIN ends its own side too (net.Socket's allowHalfOpen: false).
    super({ allowHalfOpen: false });
    this.once("close", () => pair.endClosed(side));
  }

  override _read(): void {
    // Data is pushed by the pair as it arrives.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pair.transmit(this.side, chunk, () => callback());
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    // A corked batch travels as one segment.
    this.pair.transmit(this.side, Buffer.concat(chunks.map((c) => c.chunk)), () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.pair.finish(this.side);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.pair.hangUp(this.side);
    callback(error);
  }
}

export class DuplexPair {
  readonly client: PairEnd;
  readonly server: PairEnd;
  private inFlight = 0;

  constructor(private readonly hooks: PairHooks = {}) {
    this.client = new PairEnd(this, "client");
    this.server = new PairEnd(this, "server");
  }

  /** True while something sent has not arrived yet. */
  get busy(): boolean {
    return this.inFlight > 0;
  }

  /** The server resets the connection: the client end fails with ECONNRESET. */
  reset(): void {
    this.later(() => {
      if (!this.client.destroyed) this.client.destroy(connectionReset());
    });
  }

  /** @internal */
  transmit(from: Side, bytes: Buffer, arrived: () => void): void {
    const copy = Buffer.from(bytes);
    if (from === "client") this.hooks.clientWrote?.(copy);
    const to = this.peer(from);
    this.later(() => {
      if (!to.destroyed && !to.eof) {
        this.hooks.arriving?.(to.side, copy);
        to.push(copy);
      }
      // The write completes a turn later, like an acknowledgement: whatever the reader
      // answered at once reaches the writer before it can write again. Bytes lost to a
      // closed peer complete too, as on a socket: the writer learns of it from the close.
      this.later(arrived);
    });
  }

  /** @internal */
  finish(from: Side): void {
    const to = this.peer(from);
    this.later(() => {
      if (to.destroyed || to.eof) return;
      to.eof = true;
      to.push(null);
    });
  }

  /** @internal */
  hangUp(from: Side): void {
    const to = this.peer(from);
    this.later(() => {
      if (!to.destroyed) to.destroy();
    });
  }

  /** @internal */
  endClosed(side: Side): void {
    this.hooks.closed?.(side);
  }

  private peer(side: Side): PairEnd {
    return side === "client" ? this.server : this.client;
  }

  private later(action: () => void): void {
    this.inFlight++;
    setImmediate(() => {
      this.inFlight--;
      action();
    });
  }
}

function connectionReset(): Error {
  return Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", errno: -104, syscall: "read" });
}

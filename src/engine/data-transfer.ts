/**
 * Streams a message through the dot-stuffer onto the connection, with
 * backpressure end to end: memory stays flat whatever the message size.
 * If the source fails, the connection is torn down before the end-of-data
 * marker goes out, so the server can never take a partial message for a
 * whole one.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ErrorCode, SmtpError } from "../errors.js";
import { DotStuffer, dotStuff } from "../message/dot-stuffer.js";
import type { SmtpConnection } from "./connection.js";

/** One piece of the message: bytes in memory or a stream read as it goes. */
export type MessagePart = Buffer | Readable;

export interface TransferProgress {
  /** Message bytes consumed so far (before dot-stuffing). */
  bytes: number;
  /** The wire bytes just written. */
  chunk: Buffer;
}

export interface DataTransferOptions {
  parts: readonly MessagePart[];
  timeoutMs: number;
  onProgress(p: TransferProgress): void;
  signal?: AbortSignal;
}

/** Largest slice of an in-memory part handed on at once, so progress events keep coming. */
const SLICE = 64 * 1024;
/** Messages held in memory up to this size go out in a single write, marker included. */
const SINGLE_WRITE_LIMIT = 256 * 1024;

async function* concat(parts: readonly MessagePart[]): AsyncGenerator<Buffer> {
  for (const part of parts) {
    if (Buffer.isBuffer(part)) {
      for (let i = 0; i < part.length; i += SLICE) yield part.subarray(i, i + SLICE);
    } else {
      for await (const chunk of part) {
        yield typeof chunk === "string" ? Buffer.from(chunk, "utf8") : (chunk as Buffer);
      }
    }
  }
}

/** Writes the message and the end-of-data marker; resolves once all of it is handed to the socket. */
export async function transferData(conn: SmtpConnection, opts: DataTransferOptions): Promise<number> {
  if (opts.parts.every((p) => Buffer.isBuffer(p))) {
    const whole = Buffer.concat(opts.parts as Buffer[]);
    if (whole.length <= SINGLE_WRITE_LIMIT) {
      // Small message: one write, one packet with TCP_NODELAY, no stream machinery.
      const wire = dotStuff(whole);
      await conn.write(wire, opts.timeoutMs, "the message data");
      opts.onProgress({ bytes: whole.length, chunk: wire });
      return whole.length;
    }
  }
  const stuffer = new DotStuffer();
  let sourceFailure: unknown;
  const source = Readable.from(
    (async function* () {
      try {
        yield* concat(opts.parts);
      } catch (e) {
        sourceFailure = e;
        throw e;
      }
    })(),
    { objectMode: false },
  );
  try {
    await pipeline(
      source,
      stuffer,
      async function (wire: AsyncIterable<Buffer>) {
        for await (const chunk of wire) {
          await conn.write(chunk, opts.timeoutMs, "the message data");
          opts.onProgress({ bytes: stuffer.bytesIn, chunk });
        }
      },
      opts.signal ? { signal: opts.signal } : {},
    );
  } catch (e) {
    const err = sourceFailure !== undefined
      ? new SmtpError(ErrorCode.MessageStream, `the message stream failed while sending; the connection was closed so nothing was delivered: ${errorText(sourceFailure)}`, { cause: sourceFailure })
      : e instanceof SmtpError
        ? e
        : opts.signal?.aborted && opts.signal.reason instanceof SmtpError
          ? opts.signal.reason
          : new SmtpError(ErrorCode.Communication, `sending the message data failed: ${errorText(e)}`, { cause: e });
    // Never let a half-sent message be completed by anything written later.
    conn.abort(err);
    throw err;
  }
  return stuffer.bytesIn;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

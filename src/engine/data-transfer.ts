/**
 * Writes a message in DATA wire form (CRLF line ends, dot-stuffed, ".\r\n" at
 * the end) onto the connection. Streams go through the DotStuffer with
 * backpressure end to end, so memory stays flat whatever the message size.
 * If the source fails, the connection is torn down before the end-of-data
 * marker goes out: the server can never take a partial message for a whole one.
 *
 * Byte counts are wire bytes of the message (after normalization and
 * stuffing), without the final ".\r\n".
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ErrorCode, SmtpError } from "../errors.js";
import { DotStuffer, dotStuff } from "../message/dot-stuffer.js";
import { partChunks, type MessagePart } from "../message/message-parts.js";
import type { SmtpConnection } from "./connection.js";
import { Throttle } from "./throttle.js";

export type { MessagePart } from "../message/message-parts.js";

export interface TransferProgress {
  /** Message bytes written so far. */
  bytes: number;
  /** Total message bytes when known in advance (in-memory messages), else undefined. */
  total: number | undefined;
  /** The wire bytes just written (the last chunk includes the end-of-data marker). */
  chunk: Buffer;
}

export interface DataTransferOptions {
  parts: readonly MessagePart[];
  timeoutMs: number;
  onProgress(p: TransferProgress): void;
  /** Called right before the chunk that ends with the end-of-data marker is written. */
  onMarker?(): void;
  /** Bytes written together with the end-of-data marker (a pipelined command after it). */
  trailer?: Buffer;
  signal?: AbortSignal;
  /** MaxTransferRate in bytes per second; 0 = unlimited. */
  maxRate?: number;
}

const MARKER_LENGTH = 3; // ".\r\n"
/** Write size for in-memory messages, so progress events keep coming on big ones. */
const SLICE = 64 * 1024;
const LABEL = "the message data";

/** Writes the message and the marker; resolves with the message's wire size once all is handed to the socket. */
export function transferData(conn: SmtpConnection, opts: DataTransferOptions): Promise<number> {
  if (opts.parts.every((p) => Buffer.isBuffer(p))) {
    const whole = opts.parts.length === 1 ? (opts.parts[0] as Buffer) : Buffer.concat(opts.parts as Buffer[]);
    return transferBuffer(conn, dotStuff(whole), opts);
  }
  return transferStream(conn, opts);
}

async function transferBuffer(conn: SmtpConnection, wire: Buffer, opts: DataTransferOptions): Promise<number> {
  const total = wire.length - MARKER_LENGTH;
  const throttle = new Throttle(opts.maxRate ?? 0);
  const slice = throttle.sliceSize(SLICE);
  let offset = 0;
  while (offset < wire.length) {
    let end = Math.min(offset + slice, wire.length);
    // The marker leaves with the last body bytes: one write, no Nagle / delayed-ACK stall.
    if (wire.length - end < slice / 4) end = wire.length;
    const chunk = wire.subarray(offset, end);
    const last = end === wire.length;
    if (last) opts.onMarker?.();
    await conn.write(last && opts.trailer ? Buffer.concat([chunk, opts.trailer]) : chunk, opts.timeoutMs, LABEL);
    offset = end;
    opts.onProgress({ bytes: Math.min(offset, total), total, chunk });
    await throttle.wrote(chunk.length, opts.signal);
  }
  return total;
}

async function transferStream(conn: SmtpConnection, opts: DataTransferOptions): Promise<number> {
  const stuffer = new DotStuffer();
  let sourceFailure: unknown;
  // Set when the connection failed; the source then breaks as a consequence, not as the cause.
  let connectionFailure: SmtpError | undefined;
  let written = 0;
  const throttle = new Throttle(opts.maxRate ?? 0);
  const source = Readable.from(
    (async function* () {
      try {
        yield* partChunks(opts.parts);
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
        // Progress for a chunk is reported once the next one exists, so the
        // last report can leave the marker out of the count.
        let previous: Buffer | undefined;
        for await (const chunk of wire) {
          if (previous) opts.onProgress({ bytes: written, total: undefined, chunk: previous });
          try {
            // Dot-stuffed output holds CRLF.CRLF only at its very end (or is just ".\r\n").
            const marker = chunk.length >= 3 && chunk.subarray(-3).toString("latin1") === ".\r\n" && (chunk.length === 3 ? written === 0 : chunk.subarray(-5, -3).toString("latin1") === "\r\n");
            if (marker) opts.onMarker?.();
            await conn.write(marker && opts.trailer ? Buffer.concat([chunk, opts.trailer]) : chunk, opts.timeoutMs, LABEL);
          } catch (e) {
            connectionFailure = e instanceof SmtpError ? e : undefined;
            throw e;
          }
          written += chunk.length;
          previous = chunk;
          await throttle.wrote(chunk.length, opts.signal);
        }
        if (previous) opts.onProgress({ bytes: written - MARKER_LENGTH, total: undefined, chunk: previous });
      },
      opts.signal ? { signal: opts.signal } : {},
    );
  } catch (e) {
    const err = connectionFailure
      ? connectionFailure
      : sourceFailure !== undefined
        ? streamFailure(sourceFailure)
        : e instanceof SmtpError
          ? e
          : opts.signal?.aborted && opts.signal.reason instanceof SmtpError
            ? opts.signal.reason
            : SmtpError.from(e, ErrorCode.Communication, "sending the message data failed");
    // Never let a half-sent message be completed by anything written later.
    conn.abort(err);
    throw err;
  }
  return written - MARKER_LENGTH;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The body's source failed mid-message: the caller closes the connection so nothing is delivered. */
export function streamFailure(cause: unknown): SmtpError {
  return new SmtpError(ErrorCode.MessageStream, `the message stream failed while sending; the connection was closed so nothing was delivered: ${errorText(cause)}`, { cause });
}

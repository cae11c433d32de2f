/**
 * Sends a message with BDAT (RFC 3030 CHUNKING): chunks of exact byte counts,
 * no dot-stuffing, the last one marked LAST. Line ends are still normalized
 * to CRLF (the body is text; BINARYMIME content is sent as is). With
 * PIPELINING the chunks go out without waiting for each reply; every reply is
 * still checked. Memory is bounded by the chunk size.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { SmtpError } from "../errors.js";
import { DotStuffer } from "../message/dot-stuffer.js";
import type { SmtpConnection } from "./connection.js";
import { Throttle } from "./throttle.js";
import { streamFailure, type TransferProgress } from "./data-transfer.js";
import { partChunks, type MessagePart } from "../message/message-parts.js";
import type { SmtpReply } from "./reply.js";
import { Bdat, NOOP, type SmtpCommand } from "./smtp-commands.js";

export interface ChunkTransferOptions {
  /** Already normalized when `total` is given (one in-memory buffer). */
  parts: readonly MessagePart[];
  total: number | undefined;
  chunkSize: number;
  pipelining: boolean;
  timeoutMs: number;
  onProgress(p: TransferProgress): void;
  signal?: AbortSignal;
  maxRate?: number;
  /** The LAST chunk has been handed to the socket. */
  onLastSent?: () => void;
  /** Pipeline NOOP behind BDAT LAST: its reply shows the verdict was read in step. */
  confirm?: boolean;
}

export interface ChunkTransferResult {
  final: SmtpReply;
  bytes: number;
  /** The reply to the NOOP sent behind the last chunk (with `confirm`). */
  confirmation?: Promise<SmtpReply>;
}

const CRLF = Buffer.from("\r\n");

/** A chunk sent and the reply it waits for. */
interface Pending {
  command: Bdat;
  reply: Promise<SmtpReply>;
}

export async function transferChunks(conn: SmtpConnection, opts: ChunkTransferOptions): Promise<ChunkTransferResult> {
  const pending: Pending[] = [];
  let confirmation: Promise<SmtpReply> | undefined;
  let sent = 0;
  let lastByte = -1;
  const throttle = new Throttle(opts.maxRate ?? 0);
  const chunkSize = throttle.sliceSize(opts.chunkSize);

  const sendChunk = async (chunk: Buffer, last: boolean): Promise<void> => {
    const command = new Bdat(chunk, last);
    // send() writes only to an open connection: then the chunk is handed to the socket.
    const open = conn.isOpen;
    const confirm = last && opts.confirm;
    const group: SmtpCommand[] = confirm ? [command, NOOP] : [command];
    const [reply, noop] = conn.send(group, opts.timeoutMs);
    pending.push({ command, reply: reply as Promise<SmtpReply> });
    if (noop) confirmation = noop;
    if (last && open) opts.onLastSent?.();
    sent += chunk.length;
    opts.onProgress({ bytes: sent, total: opts.total, chunk });
    await throttle.wrote(chunk.length, opts.signal);
    // Without PIPELINING each chunk waits for its reply before the next one;
    // with it, the socket's backpressure still keeps memory bounded.
    if (!opts.pipelining || last) await checkPending(pending, last);
    else await conn.drained(opts.timeoutMs, command.line);
  };

  if (opts.total !== undefined) {
    const whole = opts.parts[0] as Buffer;
    for (let offset = 0; offset < whole.length || offset === 0; offset += chunkSize) {
      const end = Math.min(offset + chunkSize, whole.length);
      await sendChunk(whole.subarray(offset, end), end >= whole.length);
      if (end >= whole.length) break;
    }
  } else {
    let buffered: Buffer[] = [];
    let size = 0;
    const normalizer = new DotStuffer({ stuff: false, terminate: false });
    await pipeline(
      Readable.from(partChunks(opts.parts)),
      normalizer,
      async function (source: AsyncIterable<Buffer>) {
        for await (const piece of source) {
          let rest = piece;
          while (size + rest.length >= chunkSize) {
            const take = chunkSize - size;
            buffered.push(rest.subarray(0, take));
            rest = rest.subarray(take);
            const chunk = Buffer.concat(buffered);
            buffered = [];
            size = 0;
            lastByte = chunk[chunk.length - 1] ?? lastByte;
            await sendChunk(chunk, false);
          }
          if (rest.length) {
            buffered.push(rest);
            size += rest.length;
          }
        }
      },
      opts.signal ? { signal: opts.signal } : {},
    ).catch((e: unknown) => {
      const err = e instanceof SmtpError ? e : streamFailure(e);
      // No BDAT LAST was sent: closing makes the server drop the chunks it has.
      conn.abort(err);
      throw err;
    });
    let tail = Buffer.concat(buffered);
    const end = tail.length ? tail[tail.length - 1] : lastByte;
    // A message ends with a line break (RFC 5322); add one if the stream did not.
    if (sent + tail.length > 0 && end !== 0x0a) tail = Buffer.concat([tail, CRLF]);
    await sendChunk(tail, true);
  }
  const final = await (pending[pending.length - 1] as Pending).reply;
  return { final, bytes: sent, confirmation };
}

/** Every intermediate chunk must be accepted; the LAST one's reply is the caller's to judge. */
async function checkPending(pending: Pending[], includesLast: boolean): Promise<void> {
  const upTo = includesLast ? pending.length - 1 : pending.length;
  for (let i = 0; i < upTo; i++) {
    const item = pending[i] as Pending;
    const reply = await item.reply;
    if (!item.command.accepts(reply)) {
      // With LAST already sent, its reply is this message's verdict: a refusal counts only once it is read.
      if (includesLast) await (pending[pending.length - 1] as Pending).reply;
      throw item.command.refused(reply);
    }
  }
  if (includesLast) await (pending[pending.length - 1] as Pending).reply;
  pending.splice(0, upTo);
}

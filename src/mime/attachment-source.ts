/**
 * The bytes behind an attachment: a file (checked before sending, opened when
 * its part is written, re-opened for every body), a Buffer, or a Readable
 * (read once). Describing a source does no I/O, so the headers it decides can
 * be worked out synchronously (a header preview); check() does the I/O.
 */
import { createReadStream } from "node:fs";
import { access, stat } from "node:fs/promises";
import { constants } from "node:fs";
import { basename } from "node:path";
import { Readable } from "node:stream";
import { SmtpError, ErrorCode } from "../errors.js";

/** Read size for files and Buffer slices: big enough for throughput, small enough to keep memory flat. */
const CHUNK = 64 * 1024;

export interface PreparedSource {
  /** A new stream of the raw bytes. */
  open(): Readable;
  /** Raw byte count when the bytes are in memory. */
  byteLength: number | undefined;
  once: boolean;
  /** The name used when the attachment has none. */
  defaultName: string;
  /** Turns a read failure into the SmtpError the caller sees. */
  wrapError(err: unknown): SmtpError;
  /** Rejects with SmtpError 302 when a file is missing or unreadable, before anything is sent. */
  check(): Promise<void>;
}

const NOTHING_TO_CHECK = (): Promise<void> => Promise.resolve();

function fileSource(path: string): PreparedSource {
  const cannotOpen = (err: unknown): SmtpError =>
    SmtpError.from(err, ErrorCode.CannotOpenFile, `Cannot open attachment file "${path}"`);
  return {
    open: () => createReadStream(path, { highWaterMark: CHUNK }),
    byteLength: undefined,
    once: false,
    defaultName: basename(path),
    wrapError: cannotOpen,
    async check() {
      try {
        const info = await stat(path);
        if (!info.isFile()) throw new Error("not a regular file");
        await access(path, constants.R_OK);
      } catch (err) {
        throw cannotOpen(err);
      }
    },
  };
}

function* slices(bytes: Buffer): Generator<Buffer> {
  for (let i = 0; i < bytes.length; i += CHUNK) yield bytes.subarray(i, i + CHUNK);
}

function bufferSource(bytes: Buffer): PreparedSource {
  return {
    // Slices rather than the whole Buffer, so the encoder's output comes in small pieces too.
    open: () => Readable.from(slices(bytes), { objectMode: false }),
    byteLength: bytes.length,
    once: false,
    defaultName: "attachment",
    wrapError: (err) => SmtpError.from(err, ErrorCode.MessageStream, "Attachment encoding failed"),
    check: NOTHING_TO_CHECK,
  };
}

function streamSource(stream: Readable): PreparedSource {
  // A stream already read (by an earlier send) would silently become an empty attachment.
  if (stream.readableDidRead || stream.readableEnded || stream.destroyed) {
    throw new SmtpError(ErrorCode.InvalidValue, "an attachment stream can be sent once and this one was already read; add it again with a fresh stream");
  }
  return {
    open: () => stream,
    byteLength: undefined,
    once: true,
    defaultName: "attachment",
    wrapError: (err) =>
      SmtpError.from(err, ErrorCode.MessageStream, "Attachment stream failed"),
    check: NOTHING_TO_CHECK,
  };
}

/** The source as it will be read; nothing is checked on disk yet (see check()). */
export function describeSource(source: unknown): PreparedSource {
  if (typeof source === "string") {
    if (source === "") throw new SmtpError(ErrorCode.InvalidValue, "Attachment file path is empty");
    return fileSource(source);
  }
  if (Buffer.isBuffer(source)) return bufferSource(source);
  if (source instanceof Readable) return streamSource(source);
  throw new SmtpError(ErrorCode.InvalidValue, "Attachment source must be a file path, a Buffer or a Readable");
}

/** A described source whose file, if any, was checked. */
export async function prepareSource(source: unknown): Promise<PreparedSource> {
  const prepared = describeSource(source);
  await prepared.check();
  return prepared;
}

/**
 * A message as the engine sends it: pieces in memory or streams read as
 * they go. One walker for all of them, so every consumer (DATA, BDAT, the
 * queue writer, the DKIM spool) reads parts the same way.
 */
import type { Readable } from "node:stream";

/** One piece of the message: bytes in memory or a stream read as it goes. */
export type MessagePart = Buffer | Readable;

/** The parts' bytes in order; string chunks of a stream are taken as UTF-8. */
export async function* partChunks(parts: readonly MessagePart[]): AsyncGenerator<Buffer> {
  for (const part of parts) {
    if (Buffer.isBuffer(part)) yield part;
    else for await (const chunk of part) yield typeof chunk === "string" ? Buffer.from(chunk, "utf8") : (chunk as Buffer);
  }
}

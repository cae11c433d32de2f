/**
 * How the replay server's output is cut into writes (each write arrives at
 * the client as one chunk): everything of one burst together, one line per
 * write, or one byte per write.
 */
export type ChunkMode = "whole" | "lines" | "bytes";

export const CHUNK_MODES: readonly ChunkMode[] = ["whole", "lines", "bytes"];

export function splitOutput(bytes: Buffer, mode: ChunkMode): Buffer[] {
  if (bytes.length === 0) return [];
  if (mode === "whole") return [bytes];
  if (mode === "bytes") return Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
  const pieces: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      pieces.push(bytes.subarray(start, i + 1));
      start = i + 1;
    }
  }
  // An unfinished line (a stalled reply) is a piece of its own.
  if (start < bytes.length) pieces.push(bytes.subarray(start));
  return pieces;
}

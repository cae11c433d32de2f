/** Runs a test body once per output chunk mode (whole bursts, one line per write, one byte per write). */
import { it } from "vitest";
import { CHUNK_MODES, type ChunkMode } from "./output-chunking.js";

export function itInEveryChunking(title: string, body: (chunking: ChunkMode) => Promise<void>, timeoutMs?: number): void {
  for (const chunking of CHUNK_MODES) it(`${title} [${chunking}]`, () => body(chunking), timeoutMs);
}

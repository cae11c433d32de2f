/**
 * Writes a tree as bytes (RFC 2046 §5.1.1), lazily: a part's source is opened
 * only when the writer reaches it. Every part body ends in CRLF, which serves
 * as the CRLF of the delimiter after it, so nothing is added to the content.
 */
import { nodeHeaders, type MimeNode } from "./mime-node.js";
import { serializePartHeaders } from "./part-headers.js";

function latin1(s: string): Buffer {
  return Buffer.from(s, "latin1");
}

export async function* renderBody(node: MimeNode): AsyncGenerator<Buffer> {
  if (node.kind === "leaf") {
    for await (const chunk of node.open()) yield chunk;
    return;
  }
  for (const child of node.children) {
    yield latin1(`--${node.boundary}\r\n${serializePartHeaders(nodeHeaders(child))}`);
    yield* renderBody(child);
  }
  yield latin1(`--${node.boundary}--\r\n`);
}

/** The byte count renderBody will produce, or undefined when a file or stream is involved. */
export function bodySize(node: MimeNode): number | undefined {
  if (node.kind === "leaf") return node.size;
  let total = `--${node.boundary}--\r\n`.length;
  for (const child of node.children) {
    const inner = bodySize(child);
    if (inner === undefined) return undefined;
    total += `--${node.boundary}\r\n`.length + serializePartHeaders(nodeHeaders(child)).length + inner;
  }
  return total;
}

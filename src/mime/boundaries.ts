/**
 * Gives every multipart in a tree its boundary, checked against everything
 * that is written as it is: 7bit text, the part headers, the other boundaries.
 * (Multipart headers hold only boundaries and fixed parameters.)
 */
import { createBoundary, type RandomSource } from "./boundary.js";
import { walk, type MimeNode } from "./mime-node.js";
import { serializePartHeaders } from "./part-headers.js";

export function assignBoundaries(root: MimeNode, random?: RandomSource): void {
  const nodes = [...walk(root)];
  const literals: Buffer[] = [];
  for (const node of nodes) {
    if (node.kind !== "leaf") continue;
    if (node.literal) literals.push(node.literal);
    literals.push(Buffer.from(serializePartHeaders(node.headers), "latin1"));
  }
  const taken: string[] = [];
  const collides = (candidate: string): boolean =>
    taken.some((b) => b.includes(candidate) || candidate.includes(b)) || literals.some((l) => l.includes(candidate));
  for (const node of nodes) {
    if (node.kind !== "multipart") continue;
    node.boundary = createBoundary(collides, random);
    taken.push(node.boundary);
  }
}

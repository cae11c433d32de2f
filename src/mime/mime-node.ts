/**
 * The composer's internal tree: leaves that know how to produce their encoded
 * bytes on demand, and multiparts whose boundary is fixed once per entity.
 */
import type { Header } from "../message/header-block.js";
import { formatParameter, joinParameters } from "./header-params.js";

export interface LeafNode {
  kind: "leaf";
  headers: Header[];
  /** The encoded body, ending in CRLF. Called only when the part is reached, so a file is opened late. */
  open(): AsyncIterable<Buffer>;
  /** Encoded size in bytes, when known without reading a file or stream. */
  size: number | undefined;
  /** Encoded bytes that are sent as they are (7bit text): the boundary must not occur in them. */
  literal: Buffer | undefined;
  /** True when open() works once only (a Readable source). */
  once: boolean;
}

export type MultipartSubtype = "mixed" | "alternative" | "related";

export interface MultipartNode {
  kind: "multipart";
  subtype: MultipartSubtype;
  /** Parameters other than boundary, e.g. RFC 2387's type="text/html" for related. */
  params: string[];
  children: MimeNode[];
  /** Set by assignBoundaries() before anything is written. */
  boundary: string;
}

export type MimeNode = LeafNode | MultipartNode;

export function multipart(subtype: MultipartSubtype, children: MimeNode[], params: string[] = []): MultipartNode {
  return { kind: "multipart", subtype, params, children, boundary: "" };
}

export function nodeHeaders(node: MimeNode): Header[] {
  if (node.kind === "leaf") return node.headers;
  const params = [...node.params, formatParameter("boundary", node.boundary)];
  return [{ field: "Content-Type", value: joinParameters(`multipart/${node.subtype}`, params) }];
}

/** Depth-first walk over every node. */
export function* walk(node: MimeNode): Generator<MimeNode> {
  yield node;
  if (node.kind === "multipart") for (const child of node.children) yield* walk(child);
}

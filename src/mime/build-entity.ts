/**
 * buildMimeEntity: the message content as one MIME entity, headers now and
 * the body as a stream that can be produced again for a retry.
 */
import { Readable } from "node:stream";
import { SmtpError, ErrorCode } from "../errors.js";
import type { MimeContent, MimeEntity } from "./types.js";
import { buildStructure } from "./structure.js";
import { assignBoundaries } from "./boundaries.js";
import { nodeHeaders, walk } from "./mime-node.js";
import { renderBody, bodySize } from "./render.js";

/**
 * Files are stat()ed now (a missing or unreadable one rejects with SmtpError
 * 302) but read only while the body streams. Invalid input (charset, content
 * type, content ID, source type) rejects with 601.
 */
export async function buildMimeEntity(content: MimeContent): Promise<MimeEntity> {
  const root = await buildStructure(content);
  assignBoundaries(root);
  const readOnce = [...walk(root)].some((n) => n.kind === "leaf" && n.once);
  let bodies = 0;
  return {
    headers: nodeHeaders(root).map((h) => ({ ...h })),
    body(): Readable {
      if (readOnce && bodies > 0) {
        throw new SmtpError(ErrorCode.InvalidValue, "The message body includes a stream attachment, which can be read only once");
      }
      bodies++;
      return Readable.from(renderBody(root), { objectMode: false });
    },
    size: bodySize(root),
  };
}

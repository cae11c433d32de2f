/**
 * buildMimeEntity: the message content as one MIME entity, headers now and
 * the body as a stream that can be produced again for a retry.
 */
import { Readable } from "node:stream";
import { SmtpError, ErrorCode } from "../errors.js";
import type { Header } from "../message/header-block.js";
import type { MimeContent, MimeEntity } from "./types.js";
import { planStructure } from "./structure.js";
import { assignBoundaries } from "./boundaries.js";
import type { RandomSource } from "./boundary.js";
import { nodeHeaders, walk } from "./mime-node.js";
import { renderBody, bodySize } from "./render.js";

/** An entity whose headers are final and whose sources are not yet checked. */
export interface MimePlan {
  /** The entity's own headers, as buildMimeEntity() gives them. */
  headers: Header[];
  /** Checks the attachment files (the only I/O) and gives the entity. */
  finish(): Promise<MimeEntity>;
}

/**
 * Everything but I/O, synchronously: invalid input (charset, content type,
 * content ID, source type) throws 601; a missing file is found by finish().
 * `random` draws the boundaries: the same source gives the same entity.
 */
export function planMimeEntity(content: MimeContent, random?: RandomSource): MimePlan {
  const { root, attachments } = planStructure(content);
  assignBoundaries(root, random);
  const headers = nodeHeaders(root).map((h) => ({ ...h }));
  return {
    headers,
    async finish() {
      // Sequential, so a missing file is reported for the first one in order.
      for (const a of attachments) await a.check();
      return entityOf(root, headers);
    },
  };
}

/**
 * Files are stat()ed now (a missing or unreadable one rejects with SmtpError
 * 302) but read only while the body streams. Invalid input (charset, content
 * type, content ID, source type) rejects with 601.
 */
export async function buildMimeEntity(content: MimeContent, random?: RandomSource): Promise<MimeEntity> {
  return planMimeEntity(content, random).finish();
}

function entityOf(root: ReturnType<typeof planStructure>["root"], headers: Header[]): MimeEntity {
  const readOnce = [...walk(root)].some((n) => n.kind === "leaf" && n.once);
  let bodies = 0;
  return {
    headers: headers.map((h) => ({ ...h })),
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

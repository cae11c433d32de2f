/**
 * Public shapes of the MIME composer: what the caller hands in (MimeContent)
 * and what comes back (MimeEntity).
 */
import type { Readable } from "node:stream";
import type { Header } from "../message/header-block.js";

export interface AttachmentSource {
  /** A file path, bytes, or a stream (a stream can be read only once). */
  source: string | Buffer | Readable;
  /** File name shown to the recipient (default: the path's basename; "attachment" for buffers and streams). */
  name?: string;
  /** Default: from the name's extension via mime-types, else application/octet-stream. */
  contentType?: string;
  /** For inline images referenced as cid:<contentId> from the HTML (angle brackets optional). */
  contentId?: string;
  /** Content-Disposition: inline (default: inline when contentId is set). */
  inline?: boolean;
}

export interface MimeContent {
  text?: string;
  html?: string;
  attachments: readonly AttachmentSource[];
  /** Charset for text and HTML; "" means UTF-8. */
  charset: string;
}

export interface MimeEntity {
  /**
   * The entity's own headers, unfolded (the caller folds them): Content-Type
   * (with boundary / charset) and, when single-part, Content-Transfer-Encoding.
   * Never MIME-Version, never From/To/...
   */
  headers: Header[];
  /**
   * A fresh stream of the body each call: identical bytes every time (boundaries
   * are fixed per entity, files are re-opened), except that a Readable
   * attachment source can be read only once (a second call throws SmtpError 601).
   */
  body(): Readable;
  /** Total body size in bytes when every source is in memory; undefined when files or streams are involved. */
  size: number | undefined;
}

/**
 * An attachment leaf: Content-Type from the name's extension, the file name
 * parameters, Content-ID for inline images, and the bytes base64-encoded as
 * they stream. Every attachment is base64, text/* included: it keeps the
 * bytes exact (line ends, trailing blanks, charset) at the cost of 33 %.
 */
import { pipeline } from "node:stream";
import { lookup } from "mime-types";
import { SmtpError, ErrorCode } from "../errors.js";
import type { Header } from "../message/header-block.js";
import type { AttachmentSource } from "./types.js";
import { Base64Encoder, base64EncodedSize } from "./base64-encoder.js";
import { fileNameParams } from "./filename-params.js";
import { joinParameters } from "./header-params.js";
import { describeSource, type PreparedSource } from "./attachment-source.js";
import type { LeafNode } from "./mime-node.js";

/** type/subtype (RFC 2045 tokens), optionally followed by parameters the caller wrote. */
const CONTENT_TYPE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\/[!#$%&'*+\-.^_`|~0-9A-Za-z]+(;[\x20-\x7e]*)?$/;
/** RFC 5322 msg-id content without the angle brackets. */
const CONTENT_ID = /^[\x21-\x3b\x3d\x3f-\x7e]+$/;

export interface AttachmentLeaf {
  node: LeafNode;
  contentId: string | undefined;
  inline: boolean;
  /** The I/O the headers do not need: a file must exist and be readable (302 otherwise). */
  check(): Promise<void>;
}

function invalid(index: number, what: string): SmtpError {
  return new SmtpError(ErrorCode.InvalidValue, `Attachment ${index}: ${what}`);
}

function resolveContentType(given: string | undefined, name: string, index: number): string {
  if (given === undefined || given.trim() === "") return lookup(name) || "application/octet-stream";
  const type = given.trim();
  if (!CONTENT_TYPE.test(type)) throw invalid(index, `invalid content type ${JSON.stringify(given)}`);
  return type;
}

function resolveContentId(given: string | undefined, index: number): string | undefined {
  if (given === undefined) return undefined;
  // Users write both "logo@x" and "<logo@x>"; the header needs the brackets, cid: URLs do not.
  const id = given.replace(/^<(.*)>$/s, "$1");
  if (!CONTENT_ID.test(id)) throw invalid(index, `invalid content ID ${JSON.stringify(given)}`);
  return id;
}

/** The source's bytes through a base64 encoder; read errors surface from the iterator as SmtpError. */
async function* encoded(source: PreparedSource): AsyncGenerator<Buffer> {
  const encoder = new Base64Encoder();
  // pipeline() destroys both streams on error or when the consumer stops early, so files get closed.
  pipeline(source.open(), encoder, () => undefined);
  try {
    for await (const chunk of encoder) yield chunk as Buffer;
  } catch (err) {
    throw source.wrapError(err);
  }
}

/** The part's headers and body plan, without I/O: check() looks at the file. */
export function attachmentPart(a: AttachmentSource, index: number): AttachmentLeaf {
  const source = describeSource(a.source);
  const name = a.name ?? source.defaultName;
  if (name === "") throw invalid(index, "the file name is empty");
  const contentType = resolveContentType(a.contentType, name, index);
  const contentId = resolveContentId(a.contentId, index);
  const inline = a.inline ?? contentId !== undefined;
  const names = fileNameParams(name);

  const headers: Header[] = [
    { field: "Content-Type", value: joinParameters(contentType, names.contentType) },
    { field: "Content-Transfer-Encoding", value: "base64" },
    { field: "Content-Disposition", value: joinParameters(inline ? "inline" : "attachment", names.disposition) },
  ];
  if (contentId !== undefined) headers.push({ field: "Content-ID", value: `<${contentId}>` });

  return {
    node: {
      kind: "leaf",
      headers,
      open: () => encoded(source),
      size: source.byteLength === undefined ? undefined : base64EncodedSize(source.byteLength),
      literal: undefined,
      once: source.once,
    },
    contentId,
    inline,
    check: () => source.check(),
  };
}

/**
 * Chooses the multipart structure: text and HTML as alternatives, inline
 * cid: images related to the HTML, everything else mixed around that.
 */
import { SmtpError, ErrorCode } from "../errors.js";
import type { MimeContent } from "./types.js";
import { multipart, type MimeNode } from "./mime-node.js";
import { textPart } from "./text-part.js";
import { attachmentPart, type AttachmentLeaf } from "./attachment-part.js";
import { checkCharset } from "./charset.js";
import { formatParameter } from "./header-params.js";

function present(s: string | undefined): s is string {
  return typeof s === "string" && s !== "";
}

/**
 * text → text/plain; html → text/html; both → multipart/alternative (text first,
 * as clients show the last one they can). Inline attachments with a Content-ID
 * join the HTML in multipart/related when there is HTML; all other attachments
 * go into multipart/mixed around the rest. Empty text and HTML count as absent;
 * with nothing at all the message is one empty text/plain part.
 */
export function buildStructure(content: MimeContent): MimeNode {
  return planStructure(content).root;
}

/**
 * The tree with every header decided and no I/O done (so a header preview
 * can use it); the attachments, in order, for the checks that need I/O.
 */
export function planStructure(content: MimeContent): { root: MimeNode; attachments: readonly AttachmentLeaf[] } {
  if (!Array.isArray(content.attachments)) throw new SmtpError(ErrorCode.InvalidValue, "attachments must be an array");
  checkCharset(content.charset);
  const attachments = content.attachments.map((a, k) => attachmentPart(a, k));

  const html = present(content.html) ? textPart(content.html, "html", content.charset) : undefined;
  const text = present(content.text) ? textPart(content.text, "plain", content.charset) : undefined;

  const relatedParts = html ? attachments.filter((a) => a.inline && a.contentId !== undefined) : [];
  const mixedParts = attachments.filter((a) => !relatedParts.includes(a));

  const htmlNode: MimeNode | undefined =
    html && relatedParts.length > 0
      ? multipart("related", [html, ...relatedParts.map((a) => a.node)], [formatParameter("type", "text/html")])
      : html;
  const main: MimeNode | undefined = text && htmlNode ? multipart("alternative", [text, htmlNode]) : (text ?? htmlNode);

  if (mixedParts.length > 0) return { root: multipart("mixed", [...(main ? [main] : []), ...mixedParts.map((a) => a.node)]), attachments };
  // One text part is the whole entity: no delimiter follows it.
  if (main === html && html) return { root: textPart(content.html ?? "", "html", content.charset, true), attachments };
  if (main === text && text) return { root: textPart(content.text ?? "", "plain", content.charset, true), attachments };
  return { root: main ?? textPart("", "plain", content.charset, true), attachments };
}

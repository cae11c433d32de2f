/**
 * MIME framing for S/MIME: checking the entity handed in, and writing
 * multipart/signed and application/pkcs7-mime entities around CMS output.
 */
import { randomBytes } from "node:crypto";
import type { Header } from "../message/header-block.js";
import { foldHeader } from "../message/header-folding.js";
import { invalid } from "./der.js";

/** RFC 5322 field-name: printable ASCII except ":", then the colon. */
const FIELD_LINE = /^[\x21-\x39\x3b-\x7e]+:/;

/**
 * Checks that `entity` is a MIME entity in canonical form: header lines
 * ending CRLF, an empty line, then the body with CRLF line ends (unless the
 * entity declares Content-Transfer-Encoding: binary, whose body is bytes).
 *
 * We refuse rather than repair: S/MIME signs and encrypts the exact bytes,
 * and a bare LF that a relay later turns into CRLF breaks the signature.
 */
export function checkEntity(entity: Buffer, what: string): void {
  const value: unknown = entity; // callers from plain JS may pass a string
  if (!(value instanceof Uint8Array)) throw invalid(`${what}: the entity must be a Buffer`);
  if (entity.length === 0) throw invalid(`${what}: the entity is empty`);
  const text = Buffer.from(entity.buffer, entity.byteOffset, entity.byteLength).toString("latin1");
  let headerEnd: number;
  if (text.startsWith("\r\n")) {
    headerEnd = 0; // no headers at all: text/plain; charset=us-ascii by default
  } else {
    const blank = text.indexOf("\r\n\r\n");
    if (blank < 0) throw invalid(`${what}: the entity has no empty line (CRLF CRLF) after its headers`);
    headerEnd = blank + 2;
  }
  let binary = false;
  const lines = headerEnd === 0 ? [] : text.slice(0, headerEnd - 2).split("\r\n");
  lines.forEach((line, k) => {
    if (/[\r\n]/.test(line)) throw invalid(`${what}: header line ${k + 1} has a bare CR or LF (canonical CRLF required)`);
    if (/^[ \t]/.test(line)) {
      if (k === 0) throw invalid(`${what}: the entity starts with a continuation line`);
      return;
    }
    if (!FIELD_LINE.test(line)) throw invalid(`${what}: header line ${k + 1} (${JSON.stringify(line.slice(0, 60))}) is not "Name: value"`);
    if (/^content-transfer-encoding:[ \t]*binary[ \t]*$/i.test(line)) binary = true;
  });
  if (!binary) {
    const body = text.slice(headerEnd + 2);
    const bad = body.search(/\r(?!\n)|(?<!\r)\n/);
    if (bad >= 0) throw invalid(`${what}: bare CR or LF in the body at offset ${headerEnd + 2 + bad} (canonical CRLF line ends required)`);
  }
}

/** A boundary that does not occur in the content it will enclose. */
export function makeBoundary(content: Buffer): string {
  for (;;) {
    const boundary = `----=_smtpkit_smime_${randomBytes(12).toString("hex")}`;
    if (!content.includes(`--${boundary}`, 0, "latin1")) return boundary;
  }
}

/**
 * Serializes headers and body into an entity, headers folded at 78
 * characters: what smimeEncrypt() wants after smimeSign() for
 * sign-then-encrypt, or the top of a message.
 */
export function serializeEntity(headers: readonly Header[], body: Buffer): Buffer {
  const head = headers.map((h) => foldHeader(h.field, h.value, 78) + "\r\n").join("") + "\r\n";
  return Buffer.concat([Buffer.from(head, "utf8"), body]);
}

/**
 * DKIM for the component: reads the DKIM* settings and signs a composed
 * message. The signature needs the body hash before the headers go out, so
 * an in-memory body is hashed directly and a streamed one is spooled once to
 * a temporary file while it is hashed (then sent from that file and removed):
 * the body is never held in memory whole.
 */
import { createReadStream, createWriteStream, promises as fsp } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DkimBodyHasher, bodyHash, signHeaders, validateDkimOptions, type DkimAlgorithm, type DkimCanonicalization, type DkimOptions } from "../dkim/index.js";
import { ErrorCode, SmtpError } from "../errors.js";
import { parseHeaderBlock } from "../message/header-block.js";
import { partChunks } from "../message/message-parts.js";
import { readPemOrPath } from "../transport/pem-source.js";
import { serializeHeaders, withoutBlockEnd } from "../message/header-builder.js";
import type { PropertyStore } from "../schema/property-store.js";
import type { ComposedMessage } from "./compose.js";

/** undefined when DKIM is not configured (DKIMDomain, DKIMSelector and DKIMPrivateKey all needed). */
export function dkimOptions(store: PropertyStore): DkimOptions | undefined {
  const domain = String(store.setting("DKIMDomain")).trim();
  const selector = String(store.setting("DKIMSelector")).trim();
  const key = String(store.setting("DKIMPrivateKey")).trim();
  if (!domain && !selector && !key) return undefined;
  if (!domain || !selector || !key) {
    throw new SmtpError(ErrorCode.InvalidValue, "DKIM needs DKIMDomain, DKIMSelector and DKIMPrivateKey together");
  }
  const privateKey = readPemOrPath(key, "DKIMPrivateKey");
  const algorithm = String(store.setting("DKIMAlgorithm"));
  const headers = String(store.setting("DKIMHeaders")).split(/[\s,]+/).filter(Boolean);
  const options: DkimOptions = {
    domain,
    selector,
    privateKey,
    canonicalization: String(store.setting("DKIMCanonicalization")) as DkimCanonicalization,
    ...(algorithm ? { algorithm: algorithm as DkimAlgorithm } : {}),
    ...(headers.length ? { headers } : {}),
  };
  validateDkimOptions(options);
  return options;
}

/** The message with a DKIM-Signature as its first header; `cleanup` removes any spool file. */
export async function signComposed(composed: ComposedMessage, options: DkimOptions, maxHeaderLength: number, signedAt?: Date): Promise<ComposedMessage> {
  const [headerCanon, bodyCanon] = (options.canonicalization ?? "relaxed/relaxed").split("/") as ["simple" | "relaxed", "simple" | "relaxed"];
  const [head, ...bodyParts] = composed.parts;
  if (!Buffer.isBuffer(head)) throw new SmtpError(ErrorCode.InvalidValue, "DKIM: the message header block is not in memory");

  // A prebuilt Message is one buffer: split it into its header block and body.
  let headers = composed.headers;
  let headerBytes = head;
  let body = bodyParts;
  if (composed.prebuilt) {
    if (bodyParts.length > 0 || !Buffer.isBuffer(head)) {
      throw new SmtpError(ErrorCode.InvalidValue, "DKIM: a streamed prebuilt message cannot be signed here; sign it before handing it over, or give it as a string or Buffer");
    }
    const end = head.indexOf("\r\n\r\n");
    const lf = head.indexOf("\n\n");
    const cut = end >= 0 ? end + 4 : lf >= 0 ? lf + 2 : head.length;
    headerBytes = head.subarray(0, cut);
    body = [head.subarray(cut)];
    if (headerCanon === "simple") {
      throw new SmtpError(ErrorCode.InvalidValue, "DKIM simple header canonicalization needs headers exactly as built; use relaxed for a prebuilt Message");
    }
    headers = parseHeaderBlock(headerBytes.toString("utf8"));
  }

  let hash: string;
  let spool: string | undefined;
  if (body.every((p) => Buffer.isBuffer(p))) {
    hash = bodyHash(Buffer.concat(body as Buffer[]), bodyCanon);
  } else {
    spool = join(tmpdir(), `smtpkit-dkim-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.eml`);
    const hasher = new DkimBodyHasher(bodyCanon);
    try {
      await pipeline(Readable.from(partChunks(body)), hasher, createWriteStream(spool, { flags: "wx", mode: 0o600 }));
    } catch (e) {
      await fsp.rm(spool, { force: true });
      throw new SmtpError(ErrorCode.MessageStream, `DKIM: the message body could not be read: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    hash = hasher.digest();
    body = [createReadStream(spool, { highWaterMark: 64 * 1024 })];
  }

  const signature = signHeaders(headers, hash, options, signedAt);
  // Simple header canonicalization signs the exact bytes: nothing may be refolded.
  const signatureLine = headerCanon === "simple"
    ? `${signature.field}: ${signature.value}\r\n`
    : withoutBlockEnd(serializeHeaders([signature], maxHeaderLength));
  const rest = composed.prebuilt || headerCanon === "relaxed" ? headerBytes : rebuildUnfolded(headers);
  const file = spool;
  return {
    ...composed,
    headers: [signature, ...composed.headers],
    headersString: signatureLine + composed.headersString,
    parts: [Buffer.concat([Buffer.from(signatureLine, "utf8"), rest]), ...body],
    cleanup: async () => {
      await composed.cleanup?.();
      if (file) await fsp.rm(file, { force: true });
    },
  };
}

/** Headers one per line, unfolded, as simple canonicalization signed them. */
function rebuildUnfolded(headers: readonly { field: string; value: string }[]): Buffer {
  return Buffer.from(headers.map((h) => `${h.field}: ${h.value}\r\n`).join("") + "\r\n", "utf8");
}

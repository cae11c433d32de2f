/**
 * Multipart boundaries (RFC 2046 §5.1.1). "=_" cannot start a line of base64
 * (no "=" mid-text, no "_") nor of quoted-printable ("=" is always followed by
 * hex digits or a line break there), so only content sent as-is can collide,
 * and the caller checks that content.
 */
import { createHash, randomBytes } from "node:crypto";
import { SmtpError, ErrorCode } from "../errors.js";

const PREFIX = "----=_smtpkit_";
/** 16 random bytes: a collision with anything is not a practical concern, but it is still checked. */
const RANDOM_BYTES = 16;
const MAX_TRIES = 16;

export type RandomSource = (size: number) => Buffer;

/**
 * A fresh boundary for which `collides` is false. `collides` is given the
 * candidate and should look for it in every piece of content that is not
 * base64 or QP encoded (7bit text, part headers) and in the boundaries
 * already taken, since a boundary that is a prefix of another confuses parsers.
 */
export function createBoundary(collides: (candidate: string) => boolean, random: RandomSource = randomBytes): string {
  for (let k = 0; k < MAX_TRIES; k++) {
    const candidate = PREFIX + random(RANDOM_BYTES).toString("hex");
    if (!collides(candidate)) return candidate;
  }
  // Only a broken random source gets here.
  throw new SmtpError(ErrorCode.InvalidValue, `No multipart boundary found that does not occur in the content after ${MAX_TRIES} tries`);
}

/**
 * The same bytes for the same seed, call after call: a message whose headers
 * were shown before it was composed gets the boundaries that were shown.
 */
export function seededRandom(seed: Buffer): RandomSource {
  let counter = 0;
  return (size) => {
    const blocks: Buffer[] = [];
    for (let got = 0; got < size; got += 32) blocks.push(createHash("sha256").update(seed).update(String(counter++)).digest());
    return Buffer.concat(blocks).subarray(0, size);
  };
}

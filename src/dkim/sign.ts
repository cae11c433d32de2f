/**
 * DKIM-Signature creation (RFC 6376 §3.5, §3.7, §5; RFC 8463 for Ed25519):
 * header selection, header canonicalization and the signature itself.
 */
import { createHash, sign as cryptoSign, type KeyObject } from "node:crypto";
import { SmtpError, ErrorCode } from "../errors.js";
import type { Header } from "../message/header-block.js";
import { DEFAULT_SIGNED_HEADERS, resolveDkimOptions, type DkimAlgorithm, type DkimOptions } from "./options.js";

export const SIGNATURE_FIELD = "DKIM-Signature";

/** RFC 5322 §2.1.1: the hard limit per line, CRLF excluded. */
const MAX_LINE_OCTETS = 998;
/** Where h= and b= get a space (a place to fold): keeps the pieces within a 78-column line once folded. */
const PIECE = 64;
const BODY_HASH = /^[A-Za-z0-9+/]{43}=$/;
/** CRLF (or LF) followed by WSP: folding, which both canonical forms know how to treat. */
const FOLD = /\r?\n(?=[ \t])/g;

export type HeaderCanonicalization = "simple" | "relaxed";

/**
 * RFC 6376 §3.4.2 "relaxed": lower-case name, unfolded value, WSP runs as one
 * SP, no WSP at either end of the value or around the colon.
 */
export function relaxedHeader(field: string, value: string): string {
  const v = value.replace(FOLD, "").replace(/[ \t]+/g, " ").replace(/^ | $/g, "");
  return `${field.replace(/[ \t]+$/, "").toLowerCase()}:${v}`;
}

/**
 * RFC 6376 §3.4.1 "simple": the header exactly as written. smtpkit writes
 * `${field}: ${value}` (serializeHeaders); folding inside the value is kept,
 * with CRLF as the wire has it.
 */
export function simpleHeader(field: string, value: string): string {
  return `${field}: ${value.replace(FOLD, "\r\n")}`;
}

function canonicalHeader(canon: HeaderCanonicalization, field: string, value: string): string {
  return canon === "relaxed" ? relaxedHeader(field, value) : simpleHeader(field, value);
}

export interface SelectedHeaders {
  /** The h= list, one entry per signed instance (plus absent names being signed as absent). */
  names: string[];
  /** The header instances in the order their canonical forms are hashed. */
  picked: Header[];
}

/**
 * Picks instances the way a verifier will (§5.4.2): each h= entry takes the
 * next instance of that name from the bottom of the header block. Listing a
 * name as often as it occurs therefore signs every instance.
 */
export function selectHeaders(headers: readonly Header[], names: readonly string[], signAbsent: boolean): SelectedHeaders {
  const out: SelectedHeaders = { names: [], picked: [] };
  for (const name of names) {
    const found = headers.filter((h) => h.field.replace(/[ \t]+$/, "").toLowerCase() === name);
    if (found.length === 0) {
      // A DKIM-Signature listed as absent would make the verifier pick our own signature header.
      if (signAbsent && name !== "dkim-signature") out.names.push(name);
      continue;
    }
    for (const h of found.reverse()) {
      out.names.push(name);
      out.picked.push(h);
    }
  }
  return out;
}

/**
 * The bytes the signature covers (§3.7): the selected headers canonicalized,
 * each with CRLF, then this DKIM-Signature with an empty b= and no CRLF.
 */
export function headerHashInput(picked: readonly Header[], signatureValueWithoutB: string, canon: HeaderCanonicalization): Buffer {
  let text = "";
  for (const h of picked) text += `${canonicalHeader(canon, h.field, h.value)}\r\n`;
  text += canonicalHeader(canon, SIGNATURE_FIELD, signatureValueWithoutB);
  return Buffer.from(text, "utf8");
}

/** The base64 b= value for the hash input. */
export function computeSignature(data: Buffer, algorithm: DkimAlgorithm, key: KeyObject): string {
  if (algorithm === "rsa-sha256") return cryptoSign("sha256", data, key).toString("base64");
  // RFC 8463 §3: PureEdDSA over the SHA-256 of the data, not over the data itself.
  return cryptoSign(null, createHash("sha256").update(data).digest(), key).toString("base64");
}

/** "h=a:b:c", with a space before a colon now and then so a long list can fold (FWS is allowed there). */
function formatH(names: readonly string[]): string {
  const pieces: string[] = [];
  let current = "h=";
  for (const [k, name] of names.entries()) {
    const next = k === 0 ? name : `:${name}`;
    if (k > 0 && current.length + next.length > PIECE) {
      pieces.push(current);
      current = next;
    } else {
      current += next;
    }
  }
  pieces.push(current);
  return pieces.join(" ");
}

/** Spaces inside b= are fold points; verifiers drop b='s whitespace, and b= is blanked for hashing anyway. */
function spaced(b64: string): string {
  const pieces: string[] = [];
  for (let k = 0; k < b64.length; k += PIECE) pieces.push(b64.slice(k, k + PIECE));
  return pieces.join(" ");
}

function assertSignable(h: Header): void {
  if (/[\r\n]/.test(h.value.replace(FOLD, "")) || /[\r\n]/.test(h.field)) {
    throw new SmtpError(ErrorCode.LineBreakInjection, `Header ${JSON.stringify(h.field)} has a CR or LF that is not folding`);
  }
}

/**
 * The DKIM-Signature header for `headers` (message order, values as written
 * on the wire: unfolded, or folded with CRLF + WSP) and the body hash from
 * DkimBodyHasher / bodyHash.
 *
 * The value comes back on one line. Relaxed header canonicalization (the
 * default) tolerates any refolding (foldHeader). Simple header
 * canonicalization signs bytes exactly, so the DKIM-Signature and every signed
 * header must then be written exactly as given, as `${field}: ${value}`.
 */
export function signHeaders(headers: readonly Header[], bodyHashB64: string, options: DkimOptions, now: Date = new Date()): Header {
  const o = resolveDkimOptions(options);
  if (typeof bodyHashB64 !== "string" || !BODY_HASH.test(bodyHashB64)) {
    throw new SmtpError(ErrorCode.InvalidValue, "DKIM body hash must be the base64 SHA-256 from DkimBodyHasher.digest() or bodyHash()");
  }
  const time = now instanceof Date ? now.getTime() : NaN;
  if (!Number.isFinite(time)) throw new SmtpError(ErrorCode.InvalidValue, "DKIM signing time is not a valid Date");
  if (!headers.some((h) => h.field.replace(/[ \t]+$/, "").toLowerCase() === "from")) {
    // RFC 6376 §5.4: From must be signed; signing its absence would be worthless.
    throw new SmtpError(ErrorCode.InvalidValue, "DKIM: the message has no From header to sign");
  }

  const names = o.headers ?? DEFAULT_SIGNED_HEADERS;
  const selected = selectHeaders(headers, names, o.headers !== undefined);
  for (const h of selected.picked) assertSignable(h);

  const t = Math.floor(time / 1000);
  const tags = [
    "v=1",
    `a=${o.algorithm}`,
    `c=${o.headerCanon}/${o.bodyCanon}`,
    `d=${o.domain}`,
    `s=${o.selector}`,
    `t=${t}`,
  ];
  if (o.expireSeconds !== undefined) tags.push(`x=${t + o.expireSeconds}`);
  if (o.identity !== undefined) tags.push(`i=${o.identity}`);
  // b= goes last so that blanking it for hashing leaves everything before it as written.
  tags.push(formatH(selected.names), `bh=${bodyHashB64}`, "b=");
  const withoutB = tags.join("; ");

  const b = computeSignature(headerHashInput(selected.picked, withoutB, o.headerCanon), o.algorithm, o.key);
  const value = withoutB + spaced(b);

  if (o.headerCanon === "simple" && Buffer.byteLength(`${SIGNATURE_FIELD}: ${value}`, "utf8") > MAX_LINE_OCTETS) {
    // With simple canonicalization the line cannot be refolded, so it has to fit as is.
    throw new SmtpError(
      ErrorCode.InvalidValue,
      `DKIM-Signature would be longer than ${MAX_LINE_OCTETS} octets on one line; use relaxed header canonicalization or sign fewer headers`,
    );
  }
  return { field: SIGNATURE_FIELD, value };
}

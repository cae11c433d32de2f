/**
 * DIGEST-MD5 (RFC 2831), authentication only (qop=auth): no integrity or
 * confidentiality layer is negotiated, SMTP gets those from TLS. RFC 6331 has
 * made it historic; it stays because old servers offer nothing better.
 *
 * Mutual authentication is enforced: the server's rspauth must arrive and
 * match before the 235, or finish() throws.
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { authError, clientNonce, type SaslCredentials, type SaslExchange, type SaslMechanism, type StartOptions } from "./mechanism.js";

const NAME = "DIGEST-MD5";

export interface Directive {
  name: string;
  value: string;
}

/**
 * Parses `name=value, name="quoted \"value\", with commas"` (RFC 2831 §7.1
 * "#rule": empty list elements and linear white space allowed). Names are
 * lower-cased; quoted-pair escapes are resolved. Throws on malformed input.
 */
export function parseDirectives(text: string): Directive[] {
  const out: Directive[] = [];
  let i = 0;
  const n = text.length;
  const skipSpace = (): void => {
    while (i < n && /[ \t\r\n]/.test(text[i] as string)) i++;
  };
  while (i < n) {
    skipSpace();
    if (i >= n) break;
    if (text[i] === ",") {
      i++;
      continue;
    }
    const nameStart = i;
    while (i < n && /[^\s=,"]/.test(text[i] as string)) i++;
    const name = text.slice(nameStart, i).toLowerCase();
    if (name === "") throw authError(NAME, `malformed challenge near offset ${i}`);
    skipSpace();
    if (text[i] !== "=") throw authError(NAME, `directive "${name}" has no value`);
    i++;
    skipSpace();
    let value = "";
    if (text[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const ch = text[i++] as string;
        if (ch === "\\") {
          if (i >= n) break;
          value += text[i++];
        } else if (ch === '"') {
          closed = true;
          break;
        } else {
          value += ch;
        }
      }
      if (!closed) throw authError(NAME, `unterminated quoted value for "${name}"`);
    } else {
      const valueStart = i;
      while (i < n && /[^\s,"]/.test(text[i] as string)) i++;
      value = text.slice(valueStart, i);
    }
    out.push({ name, value });
    skipSpace();
    if (i < n && text[i] !== ",") throw authError(NAME, `expected "," after directive "${name}"`);
  }
  return out;
}

/** U+0000-U+00FF is exactly ISO 8859-1. */
const LATIN1 = /^[\u0000-\u00ff]*$/;

function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
}

function md5(...parts: (Buffer | string)[]): Buffer {
  const h = createHash("md5");
  for (const p of parts) h.update(typeof p === "string" ? Buffer.from(p, "latin1") : p);
  return h.digest();
}

/**
 * RFC 2831 §2.1.2.1: with charset=utf-8, a string whose characters all fit in
 * ISO 8859-1 is still hashed as ISO 8859-1 (so old Latin-1 password databases
 * keep working); only other strings are hashed as UTF-8.
 */
function hashBytes(s: string, utf8: boolean): Buffer {
  return !utf8 || LATIN1.test(s) ? Buffer.from(s, "latin1") : Buffer.from(s, "utf8");
}

export interface DigestMd5Input {
  user: string;
  realm: string;
  password: string;
  nonce: string;
  cnonce: string;
  /** Nonce count as 8 hex digits. */
  nc: string;
  digestUri: string;
  /** "" = none. */
  authzid: string;
  /** charset=utf-8 was negotiated. */
  utf8: boolean;
}

/** The `response` the client sends and the `rspauth` the server must answer with (both lower-case hex). */
export function computeDigestMd5(p: DigestMd5Input): { response: string; rspauth: string } {
  const secret = md5(hashBytes(p.user, p.utf8), ":", hashBytes(p.realm, p.utf8), ":", hashBytes(p.password, p.utf8));
  const a1Parts: (Buffer | string)[] = [secret, ":", p.nonce, ":", p.cnonce];
  if (p.authzid !== "") a1Parts.push(":", Buffer.from(p.authzid, p.utf8 ? "utf8" : "latin1"));
  const ha1 = md5(...a1Parts).toString("hex");
  const kd = (a2: string): string => md5(`${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:auth:`, md5(a2).toString("hex")).toString("hex");
  return { response: kd(`AUTHENTICATE:${p.digestUri}`), rspauth: kd(`:${p.digestUri}`) };
}

/** Challenges are UTF-8 when the server speaks charset=utf-8, ISO 8859-1 otherwise. */
function decodeChallenge(challenge: Buffer): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(challenge);
  } catch {
    return challenge.toString("latin1");
  }
}

/** Directives that must not appear twice (RFC 2831 §2.1.1). */
const SINGLE = new Set(["nonce", "qop", "stale", "maxbuf", "charset", "algorithm", "cipher", "rspauth"]);

function collect(directives: Directive[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const d of directives) {
    const list = map.get(d.name) ?? [];
    list.push(d.value);
    map.set(d.name, list);
    if (list.length > 1 && SINGLE.has(d.name)) throw authError(NAME, `directive "${d.name}" appears more than once`);
  }
  return map;
}

export const DIGEST_MD5: SaslMechanism = {
  name: NAME,
  strength: 50,
  cleartext: false,
  usesToken: false,

  start(c: SaslCredentials, options?: StartOptions): SaslExchange {
    if (c.host === "") throw authError(NAME, "the server host name is needed for the digest-uri");
    const cnonce = clientNonce(NAME, options);
    const digestUri = `smtp/${c.host}`;
    let expectedRspauth: string | undefined;
    let verified = false;
    let step = 0;

    return {
      initialResponse: undefined,

      async respond(challenge: Buffer): Promise<Buffer> {
        step++;
        const fields = collect(parseDirectives(decodeChallenge(challenge)));
        const one = (name: string): string | undefined => fields.get(name)?.[0];

        if (step === 1) {
          const nonce = one("nonce");
          if (nonce === undefined || nonce === "") throw authError(NAME, "the challenge has no nonce");
          const algorithm = one("algorithm");
          if (algorithm !== undefined && algorithm.toLowerCase() !== "md5-sess") throw authError(NAME, `unsupported algorithm "${algorithm}"`);
          const qops = (one("qop") ?? "auth").split(",").map((q) => q.trim().toLowerCase());
          if (!qops.includes("auth")) throw authError(NAME, `the server does not offer qop=auth (offers ${qops.join(",")})`);
          const utf8 = one("charset")?.toLowerCase() === "utf-8";
          // Without charset=utf-8 everything on the wire is ISO 8859-1.
          if (!utf8 && ![c.user, c.password, c.authorizationIdentity].every((s) => LATIN1.test(s))) {
            throw authError(NAME, "the credentials need UTF-8 but the server did not offer charset=utf-8");
          }
          const realm = one("realm") ?? "";
          const nc = "00000001";
          const { response, rspauth } = computeDigestMd5({
            user: c.user, realm, password: c.password, nonce, cnonce, nc, digestUri, authzid: c.authorizationIdentity, utf8,
          });
          expectedRspauth = rspauth;
          const parts = [
            ...(utf8 ? ["charset=utf-8"] : []),
            `username=${quote(c.user)}`,
            ...(realm !== "" ? [`realm=${quote(realm)}`] : []),
            `nonce=${quote(nonce)}`,
            `nc=${nc}`,
            `cnonce=${quote(cnonce)}`,
            `digest-uri=${quote(digestUri)}`,
            `response=${response}`,
            "qop=auth",
            ...(c.authorizationIdentity !== "" ? [`authzid=${quote(c.authorizationIdentity)}`] : []),
          ];
          return Buffer.from(parts.join(","), utf8 ? "utf8" : "latin1");
        }

        if (step === 2) {
          const rspauth = one("rspauth");
          if (rspauth === undefined || expectedRspauth === undefined) throw authError(NAME, "the second challenge has no rspauth");
          const got = Buffer.from(rspauth.toLowerCase(), "latin1");
          const want = Buffer.from(expectedRspauth, "latin1");
          if (got.length !== want.length || !timingSafeEqual(got, want)) {
            throw authError(NAME, "the server's rspauth does not match: the server does not know the password");
          }
          verified = true;
          return Buffer.alloc(0);
        }

        throw authError(NAME, "unexpected third challenge");
      },

      finish(): void {
        if (!verified) throw authError(NAME, "the server accepted without proving it knows the password (no rspauth)");
      },
    };
  },
};

/**
 * SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677), without channel
 * binding (GS2 header "n,,", or "n,a=<authzid>,"): SMTP's TLS layer does not
 * expose tls-unique / tls-exporter to us, and "n" tells the server so.
 *
 * In SMTP the server-final message ("v=...") arrives as a 334 challenge, which
 * is answered with an empty response; finish() insists that it came and
 * verified, otherwise a server that never knew the password could pass.
 */

import { createHash, createHmac, pbkdf2, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { authError, clientNonce, type SaslCredentials, type SaslExchange, type SaslMechanism, type StartOptions } from "./mechanism.js";
import { saslName } from "./saslname.js";
import { saslPrep } from "./saslprep.js";

const pbkdf2Async = promisify(pbkdf2);

/** PBKDF2 runs on the thread pool (not blocking the event loop); this caps what a hostile server can make us spend. */
const MAX_ITERATIONS = 1_000_000;

type Hash = "sha1" | "sha256";

/** Splits "a=1,b=2" into attributes; values may contain "=" (base64), never ",". */
function parseAttributes(mechanism: string, text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of text.split(",")) {
    const m = /^([A-Za-z])=(.*)$/s.exec(part);
    if (!m) throw authError(mechanism, `malformed server message "${text}"`);
    const key = m[1] ?? "";
    const value = m[2] ?? "";
    if (map.has(key)) throw authError(mechanism, `attribute "${key}" appears twice`);
    map.set(key, value);
  }
  return map;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function makeScram(name: string, hash: Hash, strength: number): SaslMechanism {
  const hmac = (key: Buffer, data: string | Buffer): Buffer => createHmac(hash, key).update(data).digest();
  const digest = (data: Buffer): Buffer => createHash(hash).update(data).digest();
  const keyLength = hash === "sha1" ? 20 : 32;

  return {
    name,
    strength,
    cleartext: false,
    usesToken: false,

    start(c: SaslCredentials, options?: StartOptions): SaslExchange {
      let user: string;
      let password: string;
      let authzid: string;
      try {
        user = saslPrep(c.user);
        password = saslPrep(c.password);
        authzid = saslPrep(c.authorizationIdentity);
      } catch (e) {
        throw authError(name, `SASLprep rejected the credentials: ${(e as Error).message}`);
      }
      if (password === "") throw authError(name, "the password is empty (after SASLprep)");

      const nonce = clientNonce(name, options);
      const gs2Header = authzid === "" ? "n,," : `n,a=${saslName(authzid)},`;
      const clientFirstBare = `n=${saslName(user)},r=${nonce}`;
      let step = 0;
      let expectedServerSignature: Buffer | undefined;
      let verified = false;

      return {
        initialResponse: Buffer.from(gs2Header + clientFirstBare, "utf8"),

        async respond(challenge: Buffer): Promise<Buffer> {
          step++;
          const text = challenge.toString("utf8");

          if (step === 1) {
            const attrs = parseAttributes(name, text);
            if (attrs.has("m")) throw authError(name, "the server requires an unsupported extension (m=)");
            const serverNonce = attrs.get("r");
            const salt = attrs.get("s");
            const iterationText = attrs.get("i");
            if (serverNonce === undefined || salt === undefined || iterationText === undefined) {
              throw authError(name, "server-first-message lacks r=, s= or i=");
            }
            // The server must extend our nonce (and add its own part): replay protection.
            if (!serverNonce.startsWith(nonce) || serverNonce.length === nonce.length) {
              throw authError(name, "the server nonce does not extend the client nonce");
            }
            if (!/^[1-9][0-9]{0,9}$/.test(iterationText)) throw authError(name, `invalid iteration count "${iterationText}"`);
            const iterations = Number(iterationText);
            // RFC 7677 wants >= 4096 but real servers use less; only absurd values are refused.
            if (iterations > MAX_ITERATIONS) throw authError(name, `iteration count ${iterations} exceeds ${MAX_ITERATIONS}`);
            if (salt === "" || !BASE64.test(salt)) throw authError(name, "invalid salt");

            const saltedPassword = await pbkdf2Async(Buffer.from(password, "utf8"), Buffer.from(salt, "base64"), iterations, keyLength, hash);
            const clientKey = hmac(saltedPassword, "Client Key");
            const storedKey = digest(clientKey);
            const serverKey = hmac(saltedPassword, "Server Key");
            const clientFinalWithoutProof = `c=${Buffer.from(gs2Header, "utf8").toString("base64")},r=${serverNonce}`;
            const authMessage = `${clientFirstBare},${text},${clientFinalWithoutProof}`;
            const clientSignature = hmac(storedKey, authMessage);
            const proof = Buffer.alloc(keyLength);
            for (let i = 0; i < keyLength; i++) proof[i] = (clientKey[i] as number) ^ (clientSignature[i] as number);
            expectedServerSignature = hmac(serverKey, authMessage);
            return Buffer.from(`${clientFinalWithoutProof},p=${proof.toString("base64")}`, "utf8");
          }

          if (step === 2) {
            const attrs = parseAttributes(name, text);
            const error = attrs.get("e");
            if (error !== undefined) throw authError(name, `the server refused: ${error}`);
            const v = attrs.get("v");
            if (v === undefined || expectedServerSignature === undefined) throw authError(name, "server-final-message lacks v=");
            const got = Buffer.from(v, "base64");
            // Compare the canonical encoding too: Buffer ignores non-zero padding bits, so "…G5=" would decode like "…G4=".
            if (got.toString("base64") !== v) throw authError(name, "server-final-message has a malformed v=");
            if (got.length !== expectedServerSignature.length || !timingSafeEqual(got, expectedServerSignature)) {
              throw authError(name, "the server signature does not match: the server does not know the password");
            }
            verified = true;
            return Buffer.alloc(0);
          }

          throw authError(name, "unexpected challenge after server-final-message");
        },

        finish(): void {
          if (!verified) throw authError(name, "the server accepted without sending a verified server signature (v=)");
        },
      };
    },
  };
}

export const SCRAM_SHA_1 = makeScram("SCRAM-SHA-1", "sha1", 60);
export const SCRAM_SHA_256 = makeScram("SCRAM-SHA-256", "sha256", 70);

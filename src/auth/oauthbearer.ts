/**
 * OAUTHBEARER (RFC 7628 §3.1): GS2 header "n,a=<user>," then
 * ^Ahost=..^Aport=..^Aauth=Bearer <token>^A^A. An error comes back as a 334
 * with JSON (§3.2.2); the client must answer it with a single ^A (§3.2.3) and
 * the server then fails the exchange. The JSON is kept in `lastError`.
 */

import type { SaslCredentials } from "./mechanism.js";
import { checkTokenCredentials, tokenExchange, type OAuthExchange, type TokenMechanism } from "./oauth-error.js";
import { saslName } from "./saslname.js";

const NAME = "OAUTHBEARER";

export const OAUTHBEARER: TokenMechanism = {
  name: NAME,
  strength: 110,
  cleartext: true,
  usesToken: true,

  start(c: SaslCredentials): OAuthExchange {
    checkTokenCredentials(NAME, c);
    // host and port are RECOMMENDED, so they are left out only when unknown.
    const kvpairs = [
      ...(c.host !== "" ? [`host=${c.host}`] : []),
      ...(c.port > 0 ? [`port=${c.port}`] : []),
      `auth=Bearer ${c.token}`,
    ];
    const gs2 = c.user !== "" ? `n,a=${saslName(c.user)},` : "n,,";
    const message = Buffer.from(`${gs2}\x01${kvpairs.join("\x01")}\x01\x01`, "utf8");
    return tokenExchange(NAME, message, Buffer.from([0x01]));
  },
};

/**
 * XOAUTH2 (Google / Microsoft): "user=<user>^Aauth=Bearer <token>^A^A" as the
 * initial response. An error comes back as a 334 with base64 JSON; it is
 * answered with an empty response so the server sends its final 5xx, and the
 * JSON is kept in `lastError`.
 */

import type { SaslCredentials } from "./mechanism.js";
import { checkTokenCredentials, tokenExchange, type OAuthExchange, type TokenMechanism } from "./oauth-error.js";

const NAME = "XOAUTH2";

export const XOAUTH2: TokenMechanism = {
  name: NAME,
  strength: 100,
  cleartext: true,
  usesToken: true,

  start(c: SaslCredentials): OAuthExchange {
    checkTokenCredentials(NAME, c);
    const message = Buffer.from(`user=${c.user}\x01auth=Bearer ${c.token}\x01\x01`, "utf8");
    return tokenExchange(NAME, message, Buffer.alloc(0));
  },
};

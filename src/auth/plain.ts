/** PLAIN (RFC 4616): authzid NUL authcid NUL passwd, UTF-8, sent as the initial response. */

import { authError, type SaslCredentials, type SaslExchange, type SaslMechanism } from "./mechanism.js";

const NAME = "PLAIN";

export const PLAIN: SaslMechanism = {
  name: NAME,
  strength: 20,
  cleartext: true,
  usesToken: false,

  start(c: SaslCredentials): SaslExchange {
    // NUL is the field separator; a NUL inside a field would shift the fields.
    if ([c.authorizationIdentity, c.user, c.password].some((f) => f.includes("\0"))) {
      throw authError(NAME, "user name, password and authorization identity must not contain NUL");
    }
    const message = Buffer.from(`${c.authorizationIdentity}\0${c.user}\0${c.password}`, "utf8");
    let answered = false;
    return {
      initialResponse: message,
      async respond(challenge: Buffer): Promise<Buffer> {
        // RFC 4422 §3.3: a server that ignored the initial response asks with an
        // empty challenge; answer it once. Anything else is not PLAIN.
        if (challenge.length === 0 && !answered) {
          answered = true;
          return message;
        }
        throw authError(NAME, "unexpected server challenge");
      },
      finish(): void {},
    };
  },
};

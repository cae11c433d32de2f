/** CRAM-MD5 (RFC 2195): "user SP hex(HMAC-MD5(password, challenge))" to the one challenge. */

import { createHmac } from "node:crypto";
import { authError, type SaslCredentials, type SaslExchange, type SaslMechanism } from "./mechanism.js";

const NAME = "CRAM-MD5";

export const CRAM_MD5: SaslMechanism = {
  name: NAME,
  strength: 40,
  cleartext: false,
  usesToken: false,

  start(c: SaslCredentials): SaslExchange {
    let answered = false;
    return {
      initialResponse: undefined,
      async respond(challenge: Buffer): Promise<Buffer> {
        if (answered) throw authError(NAME, "unexpected second challenge");
        // An empty challenge would make the HMAC a constant per password: refuse it.
        if (challenge.length === 0) throw authError(NAME, "the server sent an empty challenge");
        answered = true;
        const digest = createHmac("md5", Buffer.from(c.password, "utf8")).update(challenge).digest("hex");
        return Buffer.from(`${c.user} ${digest}`, "utf8");
      },
      finish(): void {},
    };
  },
};

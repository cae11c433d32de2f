/**
 * LOGIN (draft-murchison-sasl-login): no initial response; the user name
 * answers the first challenge, the password the second. The challenge text is
 * ignored on purpose: servers send "Username:", "User Name\0" (aiosmtpd) or
 * localised prompts, so only their count is reliable.
 */

import { authError, type SaslCredentials, type SaslExchange, type SaslMechanism } from "./mechanism.js";

const NAME = "LOGIN";

export const LOGIN: SaslMechanism = {
  name: NAME,
  strength: 10,
  cleartext: true,
  usesToken: false,

  start(c: SaslCredentials): SaslExchange {
    const answers = [Buffer.from(c.user, "utf8"), Buffer.from(c.password, "utf8")];
    let step = 0;
    return {
      initialResponse: undefined,
      async respond(): Promise<Buffer> {
        const answer = answers[step++];
        if (answer === undefined) throw authError(NAME, "the server sent a third challenge; only user name and password are defined");
        return answer;
      },
      finish(): void {},
    };
  },
};

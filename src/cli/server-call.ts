/**
 * One conversation with the server as the commands run it: Ctrl-C ends it
 * cleanly (interrupt.ts), and a certificate error says which certificate it
 * was and how to pin it (server-certificate.ts).
 */
import type { Smtp } from "../index.js";
import { interruptible } from "./interrupt.js";
import { explainCertificateError, watchServerCertificate } from "./server-certificate.js";

export async function callServer<T>(smtp: Smtp, operation: () => Promise<T>): Promise<T> {
  const seen = watchServerCertificate(smtp);
  try {
    return await interruptible(smtp, operation);
  } catch (e) {
    throw explainCertificateError(e, seen());
  }
}

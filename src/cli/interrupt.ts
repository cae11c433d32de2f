/**
 * Ctrl-C (SIGINT) and SIGTERM while a command talks to the server: the
 * component's interrupt() ends the operation cleanly (error 301, exit code
 * 130). A second Ctrl-C kills the process as usual.
 */
import type { Smtp } from "../index.js";

export async function interruptible<T>(smtp: Smtp, operation: () => Promise<T>): Promise<T> {
  const onSignal = (): void => void smtp.interrupt();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    return await operation();
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** An Smtp (or SmtpPool template) that talks to a replay harness instead of TCP. */
import { Smtp, type SmtpOptions } from "../../../src/index.js";
import type { ReplayHarness } from "./replay-harness.js";

/** Reply timeout of replay clients, in seconds (of fake time). */
export const REPLAY_TIMEOUT_S = 10;

export function replaySmtp(harness: ReplayHarness, options: SmtpOptions = {}): Smtp {
  const { settings, ...rest } = options;
  const smtp = new Smtp({
    mailServer: "replay.test",
    from: "sender@replay.test",
    sendTo: "rcpt@replay.test",
    subject: "replay",
    messageText: "Hello from the replay harness.\r\n",
    timeout: REPLAY_TIMEOUT_S,
    ...rest,
    settings: { Hello: "client.test", ...settings },
  });
  smtp.connector = harness.connector;
  return smtp;
}

/**
 * A plain SMTP server that accepts everything: what a replay server becomes
 * once its transcript has run out (or after a fault it survives), and what
 * every connection without a transcript of its own talks to.
 */
import type { ReaderEvent } from "./command-reader.js";
import type { Reaction } from "./transcript.js";

/** What the server reacts to: the connection opening, or an event of the client's byte stream. */
export type ScriptEvent = { kind: "connect" } | ReaderEvent;

export type Responder = (event: ScriptEvent) => Reaction | undefined;

export const DEFAULT_GREETING = "220 replay.test ESMTP replay";

export function genericResponder(ehloReply: string): Responder {
  return (event) => {
    switch (event.kind) {
      case "connect":
        return { reply: DEFAULT_GREETING };
      case "data-progress":
        return undefined;
      case "data-end":
        return { reply: "250 2.0.0 replay: queued" };
      case "bdat":
        return { reply: event.last ? "250 2.0.0 replay: queued" : `250 2.0.0 replay: ${event.size} octets received` };
      case "command":
        return commandReaction(event.line, ehloReply);
    }
  };
}

function commandReaction(line: string, ehloReply: string): Reaction {
  const verb = (/^\S+/.exec(line)?.[0] ?? "").toUpperCase();
  switch (verb) {
    case "EHLO":
      return { reply: ehloReply };
    case "HELO":
      return { reply: "250 replay.test" };
    case "MAIL":
      return { reply: "250 2.1.0 replay: sender ok" };
    case "RCPT":
      return { reply: "250 2.1.5 replay: recipient ok" };
    case "DATA":
      return { reply: "354 replay: end data with <CR><LF>.<CR><LF>" };
    case "RSET":
    case "NOOP":
      return { reply: "250 2.0.0 replay: ok" };
    case "QUIT":
      return { reply: "221 2.0.0 replay: bye", closeAfter: true };
    default:
      return { reply: "502 5.5.2 replay: command not implemented" };
  }
}

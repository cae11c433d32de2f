/**
 * --trace: the PITrail event (and the connection / TLS status events) on
 * stderr. "C: " lines are what smtpkit sent, "S: " the server's replies,
 * "*  " information. Credentials are masked by the component (PITrail never
 * shows them unless config LogCredentials=true).
 */
import type { Smtp } from "../index.js";
import { writeLine, type OutStream, type Paint } from "./output.js";

const PREFIX = ["C: ", "S: ", "*  "] as const;

/** Where trace lines go when something else shares the line (the progress bar clears it first). */
export interface LineSink {
  writeLine(text: string): void;
}

export function attachTrace(smtp: Smtp, out: OutStream, paint: Paint, sink?: LineSink): void {
  const write = (text: string): void => (sink ? sink.writeLine(text) : writeLine(out, text));
  smtp.on("PITrail", (e) => {
    for (const line of e.message.split(/\r?\n/)) write(styleLine(e.direction, PREFIX[e.direction] + line, paint));
  });
  smtp.on("ConnectionStatus", (e) => write(paint("yellow", `*  [${e.connectionEvent}] ${e.description}`)));
  smtp.on("SSLStatus", (e) => write(paint("yellow", `*  [TLS] ${e.message}`)));
}

function styleLine(direction: 0 | 1 | 2, text: string, paint: Paint): string {
  if (direction === 0) return paint("cyan", text);
  if (direction === 2) return paint("yellow", text);
  // Server replies: errors stand out.
  return /^S: [45]\d\d/.test(text) ? paint("red", text) : paint("green", text);
}

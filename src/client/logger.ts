/**
 * The `logger` option: the component's trace and failures as structured
 * records for a logger with debug / info / warn / error methods (pino,
 * bunyan, winston's child loggers, console). Records are the event payloads
 * PITrail and the other events carry, so credentials are masked exactly as
 * in PITrail (AUTH lines show `****` unless LogCredentials is set).
 */
import type { TypedEmitter } from "tiny-typed-emitter";
import type { SmtpError } from "../errors.js";
import type { SmtpEvents } from "../events.js";

type LogMethod = (record: Record<string, unknown>, message: string) => void;

/** Anything with these four methods; each gets a record first and a message second (pino's order). */
export interface SmtpLogger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

const LEVELS = ["debug", "info", "warn", "error"] as const;
const ARROWS = ["C:", "S:", "*"] as const;

export function checkLogger(logger: unknown): SmtpLogger {
  const missing = LEVELS.filter((level) => typeof (logger as Partial<Record<string, unknown>> | null)?.[level] !== "function");
  if (logger === null || typeof logger !== "object" || missing.length > 0) {
    throw new TypeError(`logger must have debug, info, warn and error methods${missing.length > 0 && logger ? `; missing: ${missing.join(", ")}` : ""}`);
  }
  return logger as SmtpLogger;
}

/** Subscribes `logger` to the component's events; returns the function that unsubscribes it. */
export function attachLogger(events: TypedEmitter<SmtpEvents>, logger: SmtpLogger): () => void {
  const log = (level: (typeof LEVELS)[number], record: Record<string, unknown>, message: string): void => {
    // A logger that throws must not break a send.
    try {
      logger[level].call(logger, { component: "smtpkit", ...record }, message);
    } catch {
      /* ignored */
    }
  };
  const off: (() => void)[] = [];
  const on = <E extends keyof SmtpEvents>(name: E, fn: SmtpEvents[E]): void => {
    events.on(name, fn);
    off.push(() => events.off(name, fn));
  };
  on("PITrail", (e) => log("debug", { event: "PITrail", direction: e.direction }, `${ARROWS[e.direction]} ${e.message}`));
  on("ConnectionStatus", (e) => log("info", { event: "ConnectionStatus", connectionEvent: e.connectionEvent, statusCode: e.statusCode }, `${e.connectionEvent}: ${e.description}`));
  on("SSLStatus", (e) => log("debug", { event: "SSLStatus" }, e.message));
  on("SSLServerAuthentication", (e) => {
    if (e.status === "OK" || e.status === "") return;
    log("warn", { event: "SSLServerAuthentication", certSubject: e.certSubject, certIssuer: e.certIssuer, status: e.status }, `server certificate not verified: ${e.status}`);
  });
  on("RecipientStatus", (e) =>
    log(e.accepted ? "info" : "warn", { event: "RecipientStatus", address: e.address, type: e.type, accepted: e.accepted, transient: e.transient, replyCode: e.replyCode, enhancedStatus: e.enhancedStatus }, `${e.address}: ${e.reply}`),
  );
  on("EndTransfer", () => log("debug", { event: "EndTransfer" }, "message transferred"));
  on("Error", (e) => log("error", { event: "Error", code: e.errorCode }, e.description));
  on("QueueProgress", (e) => log(e.status === "sent" ? "info" : "warn", { event: "QueueProgress", file: e.file, index: e.index, total: e.total, status: e.status }, e.detail));
  return () => {
    for (const stop of off) stop();
  };
}

/** A method's failure as an error record (the Error event covers only failures outside a method call). */
export function logFailure(logger: SmtpLogger, err: SmtpError): void {
  try {
    logger.error.call(logger, {
      component: "smtpkit",
      code: err.code,
      replyCode: err.replyCode,
      enhancedStatus: err.enhancedStatus,
      recipient: err.recipient,
      deliveryUnknown: err.deliveryUnknown || undefined,
    }, err.message);
  } catch {
    /* ignored */
  }
}

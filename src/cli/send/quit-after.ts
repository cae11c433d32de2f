/**
 * send --quit-after STAGE: go as far as STAGE, then RSET / QUIT, to test a
 * connection, TLS, a login, a sender or recipients without sending. Built on
 * the component's own steps: connect() (greeting, EHLO, STARTTLS, and AUTH
 * when User is set), then sendCommand() for MAIL / RCPT, disconnect() (QUIT).
 */
import { ErrorCode, SmtpError, type Smtp, type SmtpReply } from "../../index.js";
import { isPositive } from "../../engine/reply.js";
import { CliError, usageError } from "../cli-error.js";
import { ExitCode } from "../exit-codes.js";
import { toJson } from "../format.js";
import { writeLine, type OutStream, type Paint } from "../output.js";
import type { CliEnvelope } from "./outgoing.js";

export const QUIT_AFTER_STAGES = ["CONNECT", "TLS", "EHLO", "AUTH", "MAIL", "RCPT"] as const;
export type QuitAfterStage = (typeof QUIT_AFTER_STAGES)[number];

export function parseQuitAfter(value: string): QuitAfterStage {
  const stage = QUIT_AFTER_STAGES.find((s) => s === value.trim().toUpperCase());
  if (!stage) throw usageError(`--quit-after: unknown stage "${value}"`, `use one of ${QUIT_AFTER_STAGES.join(", ")}`);
  return stage;
}

/** The stages that log in when a user is given. */
export function stageLogsIn(stage: QuitAfterStage): boolean {
  return stage === "AUTH" || stage === "MAIL" || stage === "RCPT";
}

/** The stages that need an envelope. */
export function stageNeedsEnvelope(stage: QuitAfterStage): boolean {
  return stage === "MAIL" || stage === "RCPT";
}

export interface QuitAfterReport {
  quitAfter: QuitAfterStage;
  tls: { version: string; cipher: string } | undefined;
  authenticated: boolean;
  /** MAIL / RCPT and the server's answers. */
  replies: QuitAfterReply[];
}

interface QuitAfterReply {
  command: string;
  reply: string;
  accepted: boolean;
  code: number;
  enhancedStatus: string | undefined;
}

/** Runs up to `stage`; a refusal of MAIL or RCPT is an error (exit code 2) after the session was ended with QUIT. */
export async function runUntil(smtp: Smtp, stage: QuitAfterStage, envelope: CliEnvelope | undefined): Promise<QuitAfterReport> {
  // connect() always greets with EHLO; CONNECT stops before STARTTLS (implicit TLS is part of the connection).
  if (stage === "CONNECT" && smtp.getSSLStartMode() !== 1 && !(smtp.getSSLStartMode() === 0 && smtp.getMailPort() === 465)) smtp.setSSLStartMode(3);
  await smtp.connect();
  const report: QuitAfterReport = { quitAfter: stage, tls: undefined, authenticated: false, replies: [] };
  try {
    const version = smtp.config("SSLNegotiatedVersion");
    if (version !== "") report.tls = { version, cipher: smtp.config("SSLNegotiatedCipher") };
    if (stage === "TLS" && !report.tls) {
      throw new CliError(ExitCode.Tls, "275", "--quit-after TLS: the session is not encrypted (the server did not offer STARTTLS, or --tls none)", { hint: "--tls starttls requires it; smtpkit capabilities HOST shows what the server offers" });
    }
    report.authenticated = smtp.getUser() !== "";
    if (stageNeedsEnvelope(stage) && envelope) await envelopeCommands(smtp, stage, envelope, report);
  } finally {
    await smtp.disconnect();
  }
  const refused = report.replies.filter((r) => !r.accepted);
  const first = refused[0];
  if (first) throw refusal(first, refused.length, report.replies);
  return report;
}

async function envelopeCommands(smtp: Smtp, stage: QuitAfterStage, envelope: CliEnvelope, report: QuitAfterReport): Promise<void> {
  const mail = `MAIL FROM:<${envelope.sender}>`;
  if (!record(report, mail, await smtp.sendCommand(mail))) return;
  if (stage === "RCPT") {
    for (const r of envelope.recipients) {
      const rcpt = `RCPT TO:<${r.address}>`;
      record(report, rcpt, await smtp.sendCommand(rcpt));
    }
  }
  // No DATA: the transaction is dropped before QUIT.
  await smtp.sendCommand("RSET");
}

function record(report: QuitAfterReport, command: string, reply: SmtpReply): boolean {
  const accepted = isPositive(reply);
  // raw has no trailing CRLF: only the line breaks between lines are joined.
  report.replies.push({ command, reply: reply.raw.replace(/\r?\n/g, " / "), accepted, code: reply.code, enhancedStatus: reply.enhancedStatus });
  return accepted;
}

/** The refusal as the component reports one (161 with the reply), every RCPT answer included. */
function refusal(first: QuitAfterReply, count: number, replies: readonly QuitAfterReply[]): SmtpError {
  const rcpts = replies.filter((r) => r.command.startsWith("RCPT"));
  return new SmtpError(ErrorCode.Protocol, `the server refused ${first.command}: ${first.reply}${count > 1 ? ` (and ${count - 1} more)` : ""}`, {
    replyCode: first.code,
    lastReply: first.reply,
    command: first.command,
    ...(first.enhancedStatus === undefined ? {} : { enhancedStatus: first.enhancedStatus }),
    recipientResults: rcpts.map((r) => ({
      address: r.command.slice("RCPT TO:<".length, -1),
      accepted: r.accepted,
      transient: r.code >= 400 && r.code < 500,
      replyCode: r.code,
      enhancedStatus: r.enhancedStatus,
      reply: r.reply,
    })),
  });
}

export function printQuitAfter(report: QuitAfterReport, out: OutStream, paint: Paint, json: boolean): void {
  if (json) {
    writeLine(out, toJson(report));
    return;
  }
  writeLine(out, `${paint("green", "ok")}: every step up to ${report.quitAfter} succeeded; QUIT, nothing was sent`);
  writeLine(out, `  TLS   ${report.tls ? `${report.tls.version} ${report.tls.cipher}` : "no"}`);
  writeLine(out, `  AUTH  ${report.authenticated ? "logged in" : "no login"}`);
  for (const r of report.replies) writeLine(out, `  ${r.command}  ${r.reply}`);
}

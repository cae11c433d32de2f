/**
 * smtpkit demo (npm run demo): one real message through an SMTP server
 * started in this process on 127.0.0.1, showing the protocol trace, the
 * message as the server received it, and the SendResult. Nothing leaves the
 * machine.
 */
import type { Command } from "commander";
import { Smtp, type SendResult } from "../../index.js";
import { commandIo, type CliContext } from "../context.js";
import { startEmbeddedServer, type EmbeddedServer, type ReceivedMail } from "../demo/embedded-server.js";
import { decodeMail } from "../demo/parse-mail.js";
import { addOutputOptions, type OutputFlags } from "../options/common.js";
import { writeLine, type OutStream, type Paint } from "../output.js";

const TITLE = "smtpkit demo: one message through an embedded SMTP server";
const PREFIX = ["C: ", "S: ", "*  "] as const;
const TYPE = ["To ", "Cc ", "BCc"] as const;

export function registerDemo(program: Command, ctx: CliContext): void {
  const cmd = program.command("demo").description("send a message through an SMTP server embedded in this process and show every step");
  addOutputOptions(cmd, { trace: false, json: false });
  cmd.action(async (flags: OutputFlags) => {
    const io = commandIo(ctx, flags);
    ctx.exitCode = await demo(ctx.stdout, io.paintOut);
  });
}

async function demo(out: OutStream, paint: Paint): Promise<number> {
  const server = await startEmbeddedServer();
  try {
    return await demoSend(server, out, paint);
  } finally {
    await server.close();
  }
}

async function demoSend(server: EmbeddedServer, out: OutStream, paint: Paint): Promise<number> {
  const line = (text = ""): void => writeLine(out, text);
  const heading = (title: string): void => {
    line();
    line(paint("bold", title));
    line("-".repeat(title.length));
  };
  line(paint("bold", TITLE));
  line("=".repeat(TITLE.length));
  line(`Server: smtp-server listening on 127.0.0.1:${server.port} (in this process; nothing leaves this machine)`);

  const smtp = new Smtp();
  const wire: string[] = [];
  // Events, IP*Works style: one listener per event, fields by name.
  smtp.on("PITrail", (e) => {
    const style = (["cyan", "green", "yellow"] as const)[e.direction];
    for (const l of e.message.split(/\r?\n/)) line(paint(style, PREFIX[e.direction] + l));
  });
  smtp.on("ConnectionStatus", (e) => line(paint("yellow", `*  [ConnectionStatus] ${e.connectionEvent} (${e.statusCode}): ${e.description}`)));
  // send() resolves once QUIT is answered; the socket closes a moment later.
  // Waiting for that keeps the whole trace in its own section.
  const disconnected = new Promise<void>((resolve) => {
    smtp.on("ConnectionStatus", (e) => {
      if (e.connectionEvent === "Remote host disconnected") resolve();
    });
  });
  smtp.on("Transfer", (e) => {
    wire.push(e.text);
    const percent = e.percentDone >= 0 ? `${e.percentDone}%` : "size unknown";
    line(paint("yellow", `*  [Transfer] ${e.bytesTransferred} bytes of message data sent (${percent})`));
  });

  // Properties, IP*Works style.
  smtp.setMailServer("127.0.0.1");
  smtp.setMailPort(server.port);
  smtp.setTimeout(10);
  smtp.setFrom('"smtpkit demo" <demo@sender.test>');
  smtp.setSendTo('"Ann Example" <ann@example.test>, bob@example.test');
  smtp.setCc("carol@example.test");
  smtp.setBCc("dave@example.test");
  smtp.setSubject("Grüße aus Zürich: smtpkit ✓");
  smtp.setMessageText([
    "Hello Ann and Bob,",
    "",
    "this message went through a real SMTP conversation on 127.0.0.1.",
    ".This line starts with a dot: it travels as \"..This\" and the server removes the extra dot.",
    "",
    "Regards,",
    "smtpkit",
  ].join("\n"));

  heading("Protocol trace (PITrail, ConnectionStatus, Transfer)");
  let result: SendResult;
  try {
    result = await smtp.send();
  } finally {
    await settled(disconnected);
  }
  const received = server.inbox[0];
  if (!received) throw new Error("the server did not receive a message");

  showEnvelope(received, heading, line);
  heading(`Message, exactly as the server received it (${received.raw.length} bytes)`);
  line(indent(received.raw.toString("utf8").replace(/\r\n$/, ""), "  | "));
  const stuffed = wire.join("").split("\r\n").find((l) => l.startsWith(".."));
  if (stuffed) line(`\nOn the wire the dot line was stuffed: ${JSON.stringify(stuffed.slice(0, 24) + "...")}`);

  heading("Decoded by mailparser");
  const decoded = await decodeMail(received.raw);
  line(`Subject: ${decoded.subject}`);
  line(`From:    ${decoded.from}`);
  line(`To:      ${decoded.to}`);
  line(`Cc:      ${decoded.cc}`);
  line("Text:");
  line(indent(decoded.text.replace(/\n$/, "")));

  heading("SendResult");
  line(`replyCode:      ${result.replyCode}`);
  line(`enhancedStatus: ${result.enhancedStatus ?? "(none)"}`);
  line(`reply:          ${result.reply}`);
  line(`messageBytes:   ${result.messageBytes}`);
  line(`accepted:       ${result.accepted.join(", ")}`);
  line(`rejected:       ${result.rejected.length === 0 ? "(none)" : result.rejected.map((r) => r.address).join(", ")}`);
  line("recipients:");
  for (const r of result.recipients) line(`  ${TYPE[r.type]} ${r.address.padEnd(20)} ${r.accepted ? "accepted" : "refused "} ${r.reply}`);
  line();
  line("=".repeat(TITLE.length));
  line(paint("green", "Done: the message was delivered to the embedded server."));
  return 0;
}

function showEnvelope(received: ReceivedMail, heading: (title: string) => void, line: (text?: string) => void): void {
  heading("Envelope, as the server received it");
  line(`MAIL FROM: <${received.mailFrom}>`);
  received.rcptTo.forEach((address, i) => line(`${i === 0 ? "RCPT TO:   " : "           "}<${address}>`));
  line("(dave@example.test is the BCc: in the envelope, not in the headers)");
}

function indent(text: string, prefix = "    "): string {
  return text.split(/\r?\n/).map((l) => prefix + l).join("\n");
}

/** Waits for `promise`, but no longer than two seconds. */
function settled(promise: Promise<void>): Promise<void> {
  return Promise.race([promise, new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())]);
}

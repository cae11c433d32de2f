// npm run demo: sends one real message with smtpkit through an SMTP server
// started in this process on 127.0.0.1 (the smtp-server package), and shows
// the protocol trace, what the server received, and the SendResult.
// Nothing leaves this machine.
import { SMTPServer } from "smtp-server";
import { simpleParser } from "mailparser";

function heading(title) {
  console.log("");
  console.log(title);
  console.log("-".repeat(title.length));
}

function indent(text, prefix = "    ") {
  return text.split(/\r?\n/).map((line) => prefix + line).join("\n");
}

/** Loads the built package; explains what to do when dist/ is missing. */
async function loadSmtpkit() {
  try {
    return await import("smtpkit");
  } catch (e) {
    console.error(`cannot load smtpkit: ${e instanceof Error ? e.message : String(e)}`);
    console.error("build it first: npm run build (npm install does it through `prepare`)");
    process.exit(1);
  }
}

/** Starts the embedded server; every message it receives is pushed to `inbox`. */
function startServer(inbox) {
  const server = new SMTPServer({
    name: "mx.demo.test",
    banner: "embedded smtp-server for the smtpkit demo",
    size: 10 * 1024 * 1024,
    disabledCommands: ["AUTH", "STARTTLS"],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on("data", (chunk) => chunks.push(chunk));
      stream.on("error", callback);
      stream.on("end", () => {
        inbox.push({
          raw: Buffer.concat(chunks),
          mailFrom: session.envelope.mailFrom,
          rcptTo: session.envelope.rcptTo,
        });
        callback(null, `OK: queued as demo-${inbox.length}`);
      });
    },
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

/** Waits for `promise`, but no longer than two seconds. */
function settled(promise) {
  return Promise.race([promise, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
}

function closeServer(server) {
  return new Promise((resolve) => server.close(() => resolve()));
}

async function main() {
  const { Smtp, isSmtpError } = await loadSmtpkit();
  const inbox = [];
  const server = await startServer(inbox);
  const { port } = server.server.address();

  const title = "smtpkit demo: one message through an embedded SMTP server";
  console.log(title);
  console.log("=".repeat(title.length));
  console.log(`Server: smtp-server listening on 127.0.0.1:${port} (in this process; nothing leaves this machine)`);

  const smtp = new Smtp();
  const wire = [];

  // Events, IP*Works style: one listener per event, fields by name.
  smtp.on("PITrail", (e) => {
    const prefix = ["C: ", "S: ", "*  "][e.direction];
    for (const line of e.message.split(/\r?\n/)) console.log(prefix + line);
  });
  smtp.on("ConnectionStatus", (e) => {
    console.log(`*  [ConnectionStatus] ${e.connectionEvent} (${e.statusCode}): ${e.description}`);
  });
  // send() resolves once QUIT is answered; the socket closes a moment later.
  // Waiting for that keeps the whole trace in its own section.
  const disconnected = new Promise((resolve) => {
    smtp.on("ConnectionStatus", (e) => {
      if (e.connectionEvent === "Remote host disconnected") resolve();
    });
  });
  smtp.on("Transfer", (e) => {
    wire.push(e.text);
    const percent = e.percentDone >= 0 ? `${e.percentDone}%` : "size unknown";
    console.log(`*  [Transfer] ${e.bytesTransferred} bytes of message data sent (${percent})`);
  });

  // Properties, IP*Works style.
  smtp.setMailServer("127.0.0.1");
  smtp.setMailPort(port);
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

  let exitCode = 0;
  try {
    heading("Protocol trace (PITrail, ConnectionStatus, Transfer)");
    const result = await smtp.send();
    await settled(disconnected);

    const received = inbox[0];
    if (!received) throw new Error("the server did not receive a message");

    heading("Envelope, as the server received it");
    console.log(`MAIL FROM: <${received.mailFrom.address}>`);
    received.rcptTo.forEach((r, i) => console.log(`${i === 0 ? "RCPT TO:   " : "           "}<${r.address}>`));
    console.log("(dave@example.test is the BCc: in the envelope, not in the headers)");

    heading(`Message, exactly as the server received it (${received.raw.length} bytes)`);
    console.log(indent(received.raw.toString("utf8").replace(/\r\n$/, ""), "  | "));
    const stuffed = wire.join("").split("\r\n").find((line) => line.startsWith(".."));
    if (stuffed) console.log(`\nOn the wire the dot line was stuffed: ${JSON.stringify(stuffed.slice(0, 24) + "...")}`);

    heading("Decoded by mailparser");
    const parsed = await simpleParser(received.raw);
    console.log(`Subject: ${parsed.subject}`);
    console.log(`From:    ${parsed.from?.text}`);
    console.log(`To:      ${[parsed.to].flat().map((a) => a?.text).join(", ")}`);
    console.log(`Cc:      ${[parsed.cc].flat().map((a) => a?.text).join(", ")}`);
    console.log("Text:");
    console.log(indent(String(parsed.text ?? "").replace(/\n$/, "")));

    heading("SendResult");
    console.log(`replyCode:      ${result.replyCode}`);
    console.log(`enhancedStatus: ${result.enhancedStatus ?? "(none)"}`);
    console.log(`reply:          ${result.reply}`);
    console.log(`messageBytes:   ${result.messageBytes}`);
    console.log(`accepted:       ${result.accepted.join(", ")}`);
    console.log(`rejected:       ${result.rejected.length === 0 ? "(none)" : result.rejected.map((r) => r.address).join(", ")}`);
    console.log("recipients:");
    for (const r of result.recipients) {
      console.log(`  ${["To ", "Cc ", "BCc"][r.type]} ${r.address.padEnd(20)} ${r.accepted ? "accepted" : "refused "} ${r.reply}`);
    }
    console.log("");
    console.log("=".repeat(title.length));
    console.log("Done: the message was delivered to the embedded server.");
  } catch (e) {
    exitCode = 1;
    await settled(disconnected);
    console.log("");
    if (isSmtpError(e)) {
      console.error(`Error ${e.code}: ${e.message}`);
      if (e.lastReply) console.error(indent(e.lastReply, "  server: "));
    } else {
      console.error(`Error: ${e instanceof Error ? e.stack : String(e)}`);
    }
  } finally {
    await closeServer(server);
  }
  process.exitCode = exitCode;
}

main().catch((e) => {
  console.error(`Error: ${e instanceof Error ? e.stack : String(e)}`);
  process.exit(1);
});

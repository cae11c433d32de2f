/**
 * Sends an HTML message with a plain-text alternative, an inline image and
 * attachments, in the style of the IP*Works SMTP console demo.
 *
 *   node examples/dist/html-with-attachments.js --server mail.example.com --port 25 \
 *     --from me@example.com --to you@example.com --subject "Report" \
 *     --image logo.png --attach report.pdf --attach figures.csv
 *
 * The HTML shows the image as <img src="cid:logo">. Files are read while the
 * message is sent, so large attachments are fine. See examples/README.md for
 * how to build and run it.
 */
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { Smtp, SmtpError } from "smtpkit";

const { values: args } = parseArgs({
  options: {
    server: { type: "string" },
    port: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    subject: { type: "string" },
    image: { type: "string" },
    attach: { type: "string", multiple: true },
    help: { type: "boolean", short: "h" },
  },
});

if (args.help || !args.server || !args.from || !args.to) {
  console.log("usage: node examples/dist/html-with-attachments.js --server host [--port n] --from addr --to addr[,addr] [--subject text] [--image file.png] [--attach file]...");
  process.exit(args.help ? 0 : 1);
}

const smtp = new Smtp();

smtp.on("PITrail", (e) => {
  const prefix = ["C: ", "S: ", "*  "][e.direction];
  // The message data itself is not printed: attachments make it long.
  const firstLine = e.message.split(/\r?\n/)[0] ?? "";
  if (e.direction !== 0 || e.message.length < 200) console.log(`${prefix ?? ""}${firstLine}`);
});
smtp.on("Transfer", (e) => {
  if (e.percentDone >= 0) process.stdout.write(`\r${e.percentDone}% of the message sent`);
});
smtp.on("EndTransfer", () => process.stdout.write("\n"));
smtp.on("Error", (e) => {
  console.log(`Warning ${e.errorCode}: ${e.description}`);
});

const names = (args.attach ?? []).map((path) => basename(path));
const imageHtml = args.image ? '<p><img src="cid:logo" alt="logo"></p>' : "";
const listHtml = names.length ? `<p>Attached:</p><ul>${names.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>` : "";

try {
  smtp.setMailServer(args.server);
  smtp.setMailPort(Number(args.port ?? 25));
  smtp.setFrom(args.from);
  smtp.setSendTo(args.to);
  smtp.setSubject(args.subject ?? "HTML message from smtpkit");

  // Both bodies: the message becomes multipart/alternative, and clients show the HTML.
  smtp.setMessageText(["Hello,", "", "this message is best read as HTML.", ...(names.length ? ["", `Attached: ${names.join(", ")}`] : [])].join("\n"));
  smtp.setMessageHTML(`<p>Hello,</p><p>this is the <b>HTML</b> version.</p>${imageHtml}${listHtml}`);

  // An image with a Content-ID is an inline part of the HTML (multipart/related).
  if (args.image) smtp.addAttachment(args.image, { contentId: "logo", name: basename(args.image) });
  // Everything else is an ordinary attachment (multipart/mixed); the type comes from the name.
  for (const path of args.attach ?? []) smtp.addAttachment(path);

  console.log("Sending message ...");
  const result = await smtp.send();
  console.log(`Message sent: ${result.reply}`);
  for (let i = 0; i < smtp.getMessageHeaderCount(); i++) {
    if (/^(MIME-Version|Content-Type)$/i.test(smtp.getMessageHeaderField(i))) console.log(`  ${smtp.getMessageHeaderField(i)}: ${smtp.getMessageHeaderValue(i)}`);
  }
} catch (e) {
  if (e instanceof SmtpError) {
    console.error(`Error ${e.code}: ${e.message}`);
  } else {
    console.error(`Error: ${e instanceof Error ? e.message : String(e)}`);
  }
  process.exitCode = 1;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);
}

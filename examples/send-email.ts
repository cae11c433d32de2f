/**
 * Sends one email, in the style of the IP*Works SMTP console demo.
 *
 * Whatever is not given on the command line is asked for:
 *
 *   node examples/dist/send-email.js --server mail.example.com --port 25 \
 *     --from me@example.com --to you@example.com --subject Hi --body "Hello"
 *
 * See examples/README.md for how to build and run it.
 */
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { Smtp, SmtpError } from "smtpkit";

const { values: args } = parseArgs({
  options: {
    server: { type: "string" },
    port: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    subject: { type: "string" },
    body: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

if (args.help) {
  console.log("usage: node examples/dist/send-email.js [--server host] [--port n] [--from addr] [--to addr[,addr]] [--subject text] [--body text]");
  process.exit(0);
}

// Line reader over stdin that works both typed and piped (a piped stdin may
// deliver every line before the first question is asked).
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
const lines = rl[Symbol.asyncIterator]();

async function ask(question: string, given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  process.stdout.write(question);
  const next = await lines.next();
  if (next.done) throw new Error("input ended before all values were given");
  return next.value.trim();
}

/** The body: lines up to one holding only "." (or the end of input). */
async function askBody(given: string | undefined): Promise<string> {
  if (given !== undefined) return given.replace(/\\n/g, "\n");
  console.log('Message body (end with a line holding only ".")');
  const body: string[] = [];
  for (;;) {
    const next = await lines.next();
    if (next.done || next.value === ".") break;
    body.push(next.value);
  }
  return body.join("\n");
}

const smtp = new Smtp();

smtp.on("PITrail", (e) => {
  const prefix = ["C: ", "S: ", "*  "][e.direction];
  for (const line of e.message.split(/\r?\n/)) console.log(prefix + line);
});
smtp.on("Error", (e) => {
  console.log(`Warning ${e.errorCode}: ${e.description}`);
});

try {
  smtp.setMailServer(await ask("Mail server: ", args.server));
  smtp.setMailPort(Number(args.port ?? 25));
  smtp.setFrom(await ask("From: ", args.from));
  smtp.setSendTo(await ask("To: ", args.to));
  smtp.setSubject(await ask("Subject: ", args.subject));
  smtp.setMessageText(await askBody(args.body));

  console.log("Sending message ...");
  const result = await smtp.send();
  console.log(`Message sent: ${result.reply}`);
} catch (e) {
  if (e instanceof SmtpError) {
    console.error(`Error ${e.code}: ${e.message}`);
  } else {
    console.error(`Error: ${e instanceof Error ? e.message : String(e)}`);
  }
  process.exitCode = 1;
} finally {
  rl.close();
}

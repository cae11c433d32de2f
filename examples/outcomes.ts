/**
 * Sends one message and acts on its verdict: sent, refused, or delivery
 * unknown (the whole message went out and the server's answer was lost; do
 * not resend it blindly). With --socket the session runs over a Unix socket
 * through `smtp.connector` instead of TCP.
 *
 *   node examples/dist/outcomes.js --server 127.0.0.1 --port 2525 \
 *     --from me@example.com --to you@example.com
 *   node examples/dist/outcomes.js --socket /run/smtp.sock --from me@example.com --to you@example.com
 */
import { connect } from "node:net";
import { parseArgs } from "node:util";
import { Smtp, SmtpError } from "smtpkit";

const { values: args } = parseArgs({
  options: {
    server: { type: "string", default: "localhost" },
    port: { type: "string", default: "25" },
    socket: { type: "string" },
    from: { type: "string" },
    to: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

if (args.help || !args.from || !args.to) {
  console.log("usage: outcomes.js [--server HOST --port N | --socket PATH] --from ADDRESS --to ADDRESS");
  process.exit(args.help ? 0 : 2);
}

const smtp = new Smtp({
  mailServer: args.server,
  mailPort: Number(args.port),
  from: args.from,
  sendTo: args.to,
  subject: "Outcome check",
  messageText: "One message, one true verdict.\n",
});
const socketPath = args.socket;
if (socketPath) smtp.connector = () => connect(socketPath);

try {
  const result = await smtp.send();
  console.log(`sent: ${result.reply}`);
} catch (e) {
  if (!(e instanceof SmtpError)) throw e;
  if (e.deliveryUnknown) {
    // The server may or may not have the message: ask it (or the recipient) before sending again.
    console.log(`delivery unknown: ${e.message}`);
    process.exitCode = 3;
  } else {
    // The server did not take it; a transient refusal (4xx, 421, a dropped connection) may succeed later.
    console.log(`refused${e.isTransient() ? " (try again later)" : ""}: error ${e.code}: ${e.message}`);
    process.exitCode = 1;
  }
}

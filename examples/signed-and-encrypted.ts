/**
 * Sends an S/MIME signed and / or encrypted message, optionally DKIM-signed
 * as well, in the style of the IP*Works SSMTP console demo.
 *
 *   node examples/dist/signed-and-encrypted.js --server mail.example.com --port 25 \
 *     --from me@example.com --to you@example.com --subject "Secret" --body "Hello" \
 *     --cert me.pfx --password secret --recipient-cert you.pem --mode sign-and-encrypt
 *
 * --cert is a PKCS#12 file or a PEM file holding the certificate and its key
 * (CertStoreType 99 tells them apart). --mode is sign, encrypt or
 * sign-and-encrypt (default). Add --dkim-domain, --dkim-selector and
 * --dkim-key (a PEM key file) to DKIM-sign the result. See examples/README.md
 * for how to build and run it, and docs/smime-dkim.md for the details.
 */
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
    attach: { type: "string", multiple: true },
    cert: { type: "string" },
    password: { type: "string" },
    "recipient-cert": { type: "string", multiple: true },
    mode: { type: "string" },
    "dkim-domain": { type: "string" },
    "dkim-selector": { type: "string" },
    "dkim-key": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});

const mode = args.mode ?? "sign-and-encrypt";
const usage =
  "usage: node examples/dist/signed-and-encrypted.js --server host [--port n] --from addr --to addr[,addr] [--subject text] [--body text] [--attach file]...\n" +
  "         [--mode sign|encrypt|sign-and-encrypt] [--cert store.pfx|store.pem] [--password pw] [--recipient-cert cert.pem]...\n" +
  "         [--dkim-domain example.com --dkim-selector sel --dkim-key dkim.key]";

if (args.help || !args.server || !args.from || !args.to || !["sign", "encrypt", "sign-and-encrypt"].includes(mode)) {
  console.log(usage);
  process.exit(args.help ? 0 : 1);
}

const smtp = new Smtp();

smtp.on("PITrail", (e) => {
  const prefix = ["C: ", "S: ", "*  "][e.direction];
  // Only the commands and replies: the S/MIME body is long base64.
  const firstLine = e.message.split(/\r?\n/)[0] ?? "";
  if (e.direction !== 0 || e.message.length < 200) console.log(`${prefix ?? ""}${firstLine}`);
});
smtp.on("Error", (e) => {
  console.log(`Warning ${e.errorCode}: ${e.description}`);
});

try {
  smtp.setMailServer(args.server);
  smtp.setMailPort(Number(args.port ?? 25));
  smtp.setFrom(args.from);
  smtp.setSendTo(args.to);
  smtp.setSubject(args.subject ?? "S/MIME message from smtpkit");
  smtp.setMessageText((args.body ?? "Hello,\nthis message is protected with S/MIME.").replace(/\\n/g, "\n"));
  for (const path of args.attach ?? []) smtp.addAttachment(path);

  // The signer: certificate and private key. 99 = look at the data (PFX or PEM, file or text).
  if (mode !== "encrypt") {
    if (!args.cert) throw new Error("--cert is needed to sign");
    smtp.setCertStoreType(99);
    smtp.setCertStore(args.cert);
    smtp.setCertStorePassword(args.password ?? "");
    smtp.config("SigningAlgorithm=sha256");
  }
  // The recipients: one certificate each (and your own, to read the message in Sent).
  if (mode !== "sign") {
    const certs = args["recipient-cert"] ?? [];
    if (certs.length === 0) throw new Error("--recipient-cert is needed to encrypt");
    for (const cert of certs) smtp.addRecipientCert(cert);
    smtp.config("EncryptingAlgorithm=aes256-cbc");
  }

  // As IP*Works SSMTP: the result replaces the content (MessageText now holds the S/MIME entity).
  if (mode === "sign") await smtp.sign();
  else if (mode === "encrypt") await smtp.encrypt();
  else await smtp.signAndEncrypt();
  console.log(`S/MIME done (${mode}); the message body is now ${smtp.getMessageText().length} characters`);

  // DKIM signs whatever is sent, S/MIME included; the receiver checks both.
  if (args["dkim-domain"] || args["dkim-selector"] || args["dkim-key"]) {
    smtp.config(`DKIMDomain=${args["dkim-domain"] ?? ""}`);
    smtp.config(`DKIMSelector=${args["dkim-selector"] ?? ""}`);
    smtp.config(`DKIMPrivateKey=${args["dkim-key"] ?? ""}`);
  }

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
}

/**
 * Programs written the way IP*Works 2022 JavaScript programs are (the lower-case class, get/set
 * accessors, PITrail to a file, `e.code` in catch), run as separate Node processes against a real
 * server with only the require line pointing at smtpkit. Needs dist/ (`npm test` builds it).
 * The SSMTP program's messages are checked with `openssl cms` (spec/support/cms.ts) against the
 * TEST-ONLY certificates of spec/fixtures/smime (PFX password "fixture-pass").
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cmsTools, ok, smimeFixture } from "../support/cms.js";
import { startSmtpServer, type Harness } from "../support/smtp-server-harness.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);

let server: Harness;
let work: string;

beforeAll(async () => {
  server = await startSmtpServer();
  work = mkdtempSync(join(tmpdir(), "smtpkit-port-"));
});

afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

/** Writes `source` as a CommonJS program whose require line is the only smtpkit-specific one, and runs it. */
async function runProgram(name: string, source: string, env: Record<string, string>): Promise<string[]> {
  const file = join(work, `${name}.cjs`);
  writeFileSync(file, source.replace("%SMTPKIT%", JSON.stringify(join(ROOT, "dist/cjs/index.js"))));
  const { stdout } = await run(process.execPath, [file], { env: { ...process.env, PORT: String(server.port), ...env }, timeout: 60_000 });
  return stdout.trim().split("\n");
}

describe("an IP*Works SMTP program, ported by changing its require line", () => {
  it("sends a mailing in a loop (ResetHeaders, an attachment, PITrail to a file) and handles a refusal by e.code", async () => {
    const attachment = join(work, "invoice.txt");
    writeFileSync(attachment, "Invoice 42: 10 EUR\r\n");
    const trail = join(work, "trail.log");
    const lines = await runProgram("mailing", `
const ipworks = require(%SMTPKIT%);
const fs = require("fs");

const smtp = new ipworks.smtp();
smtp.on("PITrail", (e) => fs.appendFileSync(process.env.TRAIL, e.direction + " " + e.message + "\\n"));
smtp.setMailServer("127.0.0.1");
smtp.setMailPort(Number(process.env.PORT));

(async () => {
  for (const to of ["ann@example.com", "reject-me@example.com", "bob@example.com"]) {
    smtp.resetHeaders(); // clears every header property, From included
    smtp.setFrom("shop@example.com");
    smtp.setSendTo(to);
    smtp.setSubject("Invoice for " + to);
    smtp.setMessageText("Dear customer,\\r\\nyour invoice is attached.\\r\\n");
    smtp.setAttachedFile(process.env.ATTACHMENT);
    try {
      await smtp.send();
      console.log("sent " + to + ": " + smtp.getLastReply());
    } catch (e) {
      console.log("failed " + to + ": " + e.code);
    }
  }
  await smtp.disconnect();
})();
`, { TRAIL: trail, ATTACHMENT: attachment });

    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^sent ann@example\.com: 250 /);
    expect(lines[1]).toBe("failed reject-me@example.com: 161");
    expect(lines[2]).toMatch(/^sent bob@example\.com: 250 /);
    const delivered = server.received.filter((m) => m.mailFrom === "shop@example.com");
    expect(delivered.map((m) => m.rcptTo)).toEqual([["ann@example.com"], ["bob@example.com"]]);
    for (const m of delivered) {
      const raw = m.raw.toString("latin1");
      expect(raw).toMatch(/filename="?invoice\.txt"?/);
      expect(raw).toContain(Buffer.from("Invoice 42: 10 EUR\r\n").toString("base64"));
    }
    const log = readFileSync(trail, "utf8");
    expect(log).toMatch(/^0 MAIL FROM:<shop@example\.com>/m);
    expect(log).toMatch(/^1 550 /m);
  });

  it("queues while offline and sends later with ProcessQueue", async () => {
    const queueDir = mkdtempSync(join(work, "queue-"));
    const lines = await runProgram("outbox", `
const ipworks = require(%SMTPKIT%);

(async () => {
  const producer = new ipworks.smtp();
  for (const to of ["one@example.com", "two@example.com"]) {
    producer.resetHeaders();
    producer.setFrom("app@example.com");
    producer.setSendTo(to);
    producer.setSubject("queued for " + to);
    producer.setMessageText("later\\r\\n");
    console.log("queued " + require("path").extname(await producer.queue(process.env.QUEUE)));
  }
  const sender = new ipworks.smtp();
  sender.setMailServer("127.0.0.1");
  sender.setMailPort(Number(process.env.PORT));
  sender.on("QueueProgress", (e) => console.log("progress " + e.status));
  try {
    const result = await sender.processQueue(process.env.QUEUE);
    console.log("sent " + result.sent.length);
  } catch (e) {
    console.log("failed " + e.code);
  }
})();
`, { QUEUE: queueDir });

    expect(lines).toEqual(["queued .queued", "queued .queued", "progress sent", "progress sent", "sent 2"]);
    const delivered = server.received.filter((m) => m.mailFrom === "app@example.com");
    expect(delivered.map((m) => m.rcptTo[0]).sort()).toEqual(["one@example.com", "two@example.com"]);
  });
});

describe("an IP*Works S/MIME SSMTP program, ported by changing its require line", () => {
  it("sends a signed, an encrypted and a signed-and-encrypted message that openssl cms opens; a signer without its key fails by e.code", async () => {
    const cms = cmsTools(work);
    const recipientDer = cms.tmp("recipient.der", spawnSync("openssl", ["x509", "-in", smimeFixture("recipient.pem"), "-outform", "DER"]).stdout);
    const lines = await runProgram("ssmtp", `
const ipworkssmime = require(%SMTPKIT%);
const fs = require("fs");

const texts = {
  sign: "Signed report.\\r\\nLine two of the signed one.\\r\\n",
  encrypt: "Encrypted report.\\r\\nLine two of the encrypted one.\\r\\n",
  signAndEncrypt: "Signed and encrypted report.\\r\\nLine two of the third one.\\r\\n",
  nokey: "never sent\\r\\n",
};

async function mail(how) {
  const ssmtp = new ipworkssmime.ssmtp();
  ssmtp.setMailServer("127.0.0.1");
  ssmtp.setMailPort(Number(process.env.PORT));
  ssmtp.setFrom("signer@example.test");
  ssmtp.setSendTo("recipient@example.test");
  ssmtp.setSubject("S/MIME " + how);
  ssmtp.setMessageText(texts[how]);
  try {
    if (how === "sign" || how === "signAndEncrypt") {
      ssmtp.setCertificate(new ipworkssmime.Certificate(2, process.env.SIGNER_PFX, "fixture-pass", "*"));
    }
    if (how === "nokey") {
      // A certificate without its private key: sign() must refuse it.
      ssmtp.setCertificate(new ipworkssmime.Certificate(fs.readFileSync(process.env.RECIPIENT_DER)));
    }
    if (how === "encrypt" || how === "signAndEncrypt") {
      ssmtp.addRecipientCert(new ipworkssmime.Certificate(fs.readFileSync(process.env.RECIPIENT_DER)).getEncodedB());
    }
    if (how === "sign" || how === "nokey") await ssmtp.sign();
    else if (how === "encrypt") await ssmtp.encrypt();
    else await ssmtp.signAndEncrypt();
    await ssmtp.send();
    console.log("sent " + how + ": " + ssmtp.getLastReply().split(" ")[0]);
  } catch (e) {
    console.log("failed " + how + ": " + e.code);
  }
}

(async () => {
  for (const how of ["sign", "encrypt", "signAndEncrypt", "nokey"]) await mail(how);
})();
`, { SIGNER_PFX: smimeFixture("signer.pfx"), RECIPIENT_DER: recipientDer });

    expect(lines).toEqual(["sent sign: 250", "sent encrypt: 250", "sent signAndEncrypt: 250", "failed nokey: 601"]);
    const bySubject = (subject: string): Buffer => {
      const found = server.received.filter((m) => m.mailFrom === "signer@example.test" && m.raw.toString("latin1").includes(`Subject: ${subject}\r\n`));
      expect(found, subject).toHaveLength(1);
      return (found[0] as (typeof found)[number]).raw;
    };
    /**
     * The text of the MIME entity openssl opened: what follows its header block, without its last
     * line breaks (the entity smtpkit signs or encrypts carries one more CRLF than MessageText).
     */
    const text = (entity: Buffer): string => {
      const s = entity.toString("latin1");
      return s.slice(s.indexOf("\r\n\r\n") + 4).replace(/(\r\n)+$/, "");
    };
    const signed = bySubject("S/MIME sign");
    expect(signed.toString("latin1")).toMatch(/Content-Type: multipart\/signed/i);
    expect(text(ok(cms.verify(signed)))).toBe("Signed report.\r\nLine two of the signed one.");

    const encrypted = bySubject("S/MIME encrypt");
    expect(encrypted.toString("latin1")).toMatch(/Content-Type: application\/(x-)?pkcs7-mime/i);
    expect(encrypted.toString("latin1")).not.toContain("Encrypted report.");
    expect(text(ok(cms.decrypt(encrypted)))).toBe("Encrypted report.\r\nLine two of the encrypted one.");

    const both = bySubject("S/MIME signAndEncrypt");
    expect(both.toString("latin1")).not.toContain("Signed and encrypted report.");
    expect(text(ok(cms.verify(ok(cms.decrypt(both)))))).toBe("Signed and encrypted report.\r\nLine two of the third one.");

    expect(server.received.some((m) => m.raw.toString("latin1").includes("Subject: S/MIME nokey"))).toBe(false);
  });

  it("examples/ipworks-ssmtp-port.cjs, the worked port of docs/porting-ipworks.md, runs as it is: signed and encrypted, openssl cms opens it", async () => {
    const cms = cmsTools(work);
    const { stdout } = await run(process.execPath, [
      join(ROOT, "examples/ipworks-ssmtp-port.cjs"), "127.0.0.1", String(server.port), "example@example.test", "recipient@example.test",
      smimeFixture("signer.pfx"), "fixture-pass", smimeFixture("recipient.pem"),
    ], { cwd: ROOT, timeout: 60_000 });
    expect(stdout).toMatch(/^C: MAIL FROM:<example@example\.test>/m);
    expect(stdout.trim().split("\n").at(-1)).toMatch(/^Message sent: 250 /);
    const received = server.received.filter((m) => m.mailFrom === "example@example.test");
    expect(received).toHaveLength(1);
    const raw = (received[0] as (typeof received)[number]).raw;
    expect(raw.toString("latin1")).not.toContain("The figures are ready.");
    const entity = ok(cms.verify(ok(cms.decrypt(raw)))).toString("latin1");
    expect(entity.slice(entity.indexOf("\r\n\r\n") + 4)).toMatch(/^The figures are ready\.\r\nRegards\r\n/);
  });
});

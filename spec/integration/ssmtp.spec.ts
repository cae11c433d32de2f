/**
 * An IP*Works S/MIME SSMTP program ported by changing the import: the
 * `ssmtp` class with a Certificate signer (setCertificate) and recipient
 * certificates given as DER bytes, base64 DER or PEM (addRecipientCert),
 * sent to a real `smtp-server`; the `openssl cms` CLI verifies and decrypts
 * exactly what the server received.
 *
 * Certificates: spec/fixtures/smime/ (README: PFX password "fixture-pass"),
 * issued by the TEST-ONLY CA spec/fixtures/tls/ca.pem.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as ipworkssmime from "../../src/index.js";
import { rejectsWith } from "../support/client.js";
import { cmsTools, ok, smimeFixture } from "../support/cms.js";
import { startSmtpServer, type Harness } from "../support/smtp-server-harness.js";

const fixture = smimeFixture;
const PFX_PASSWORD = "fixture-pass";
const TEXT = "Hello from a ported SSMTP program.\r\nSecond line.\r\n";
const RECIPIENT_DER = spawnSync("openssl", ["x509", "-in", fixture("recipient.pem"), "-outform", "DER"]).stdout;

const work = mkdtempSync(join(tmpdir(), "smtpkit-ssmtp-spec-"));
let server: Harness;
const cms = cmsTools(work);
const tmp = cms.tmp;

beforeAll(async () => {
  server = await startSmtpServer();
});

afterAll(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

function lastRaw(): Buffer {
  const m = server.received[server.received.length - 1];
  if (!m?.raw) throw new Error("the server received nothing");
  return m.raw;
}

/** openssl cms -verify / -decrypt, which must succeed: the content. */
const verify = (message: Buffer): Buffer => ok(cms.verify(message));
const decrypt = (message: Buffer): Buffer => ok(cms.decrypt(message));

/** The IP*Works 2022 JavaScript shape: property setters, then the S/MIME method, then send(). */
function port(): ipworkssmime.Smtp {
  const ssmtp = new ipworkssmime.ssmtp();
  ssmtp.setMailServer("127.0.0.1");
  ssmtp.setMailPort(server.port);
  ssmtp.setTimeout(10);
  ssmtp.setFrom("signer@example.test");
  ssmtp.setSendTo("recipient@example.test");
  ssmtp.setSubject("ported SSMTP");
  ssmtp.setMessageText(TEXT);
  return ssmtp;
}

describe("ssmtp: sign with setCertificate(new Certificate(...))", () => {
  it("a PFX certificate signs; the received message verifies with openssl cms -verify", async () => {
    const ssmtp = port();
    ssmtp.setCertificate(new ipworkssmime.Certificate(2, fixture("signer.pfx"), PFX_PASSWORD, "*"));
    await ssmtp.sign();
    await ssmtp.send();
    expect(verify(lastRaw()).toString("latin1")).toContain("Hello from a ported SSMTP program.\r\nSecond line.\r\n");
  });

  it("the signed and the encrypted text is MessageText exactly: no empty line added at its end", async () => {
    const ssmtp = port();
    ssmtp.setCertificate(new ipworkssmime.Certificate(2, fixture("signer.pfx"), PFX_PASSWORD, "*"));
    await ssmtp.sign();
    await ssmtp.send();
    const signed = (await simpleParser(verify(lastRaw()))).text;
    const ssmtp2 = port();
    ssmtp2.addRecipientCert(RECIPIENT_DER);
    await ssmtp2.encrypt();
    await ssmtp2.send();
    const decrypted = decrypt(lastRaw()).toString("latin1");
    expect(signed).toBe(TEXT.replace(/\r\n/g, "\n"));
    expect(decrypted.slice(decrypted.indexOf("\r\n\r\n") + 4)).toBe(TEXT);
  });

  it("the certificate chosen by subject signs, from a PEM store holding two keys", async () => {
    const store = [fixture("chained.pem"), fixture("chained.key"), fixture("signer.pem"), fixture("signer.key")].map((f) => readFileSync(f, "utf8")).join("");
    const ssmtp = port();
    ssmtp.setCertificate(new ipworkssmime.Certificate(7, store, "", "CN=smtpkit smime signer, O=smtpkit tests"));
    await ssmtp.sign();
    await ssmtp.send();
    verify(lastRaw());
    const signerOut = tmp("signers.pem");
    ok(cms.verify(lastRaw(), ["-signer", signerOut]));
    const signer = new ipworkssmime.Certificate(readFileSync(signerOut, "utf8"));
    expect(signer.subject).toBe("O=smtpkit tests, CN=smtpkit smime signer");
  });

  it("a certificate without its key cannot sign: 601 naming the subject", async () => {
    const ssmtp = port();
    ssmtp.setCertificate(new ipworkssmime.Certificate(readFileSync(fixture("signer.pem"))));
    const err = await rejectsWith(ssmtp.sign(), ipworkssmime.ErrorCode.InvalidValue);
    expect(err.message).toMatch(/no private key/);
  });
});

describe("ssmtp: addRecipientCert(encoded)", () => {
  const forms: [string, string | Uint8Array][] = [
    ["DER bytes (Buffer)", RECIPIENT_DER],
    ["DER bytes (Uint8Array)", new Uint8Array(RECIPIENT_DER)],
    ["base64 DER", RECIPIENT_DER.toString("base64")],
    ["PEM text", readFileSync(fixture("recipient.pem"), "utf8")],
    ["a path to a DER file", ""],
  ];
  for (const [what, encoded] of forms) {
    it(`${what}: encrypt() + send(), openssl cms -decrypt opens what the server received`, async () => {
      const ssmtp = port();
      ssmtp.addRecipientCert(encoded === "" ? tmp("recipient.der", RECIPIENT_DER) : encoded);
      await ssmtp.encrypt();
      await ssmtp.send();
      expect(decrypt(lastRaw()).toString("latin1")).toContain("Hello from a ported SSMTP program.");
    });
  }

  it("signAndEncrypt() with a Certificate signer and a base64 DER recipient: decrypts, then verifies", async () => {
    const ssmtp = port();
    ssmtp.setCertificate(new ipworkssmime.Certificate(3, readFileSync(fixture("signer.pfx")).toString("base64"), PFX_PASSWORD, "*"));
    ssmtp.addRecipientCert(RECIPIENT_DER.toString("base64"));
    await ssmtp.signAndEncrypt();
    await ssmtp.send();
    expect(verify(decrypt(lastRaw())).toString("latin1")).toContain("Second line.");
  });

  it("bytes that are no certificate are refused at once (601), and nothing is added", () => {
    const ssmtp = port();
    expect(() => ssmtp.addRecipientCert(Buffer.from("no certificate here"))).toThrow(ipworkssmime.SmtpError);
    expect(ssmtp.getRecipientCertCount()).toBe(0);
  });
});

/**
 * S/MIME through the Smtp component (IP*Works SSMTP semantics): sign(),
 * encrypt() and signAndEncrypt() replace the content, send() delivers it to
 * a real `smtp-server`, and the `openssl cms` CLI verifies / decrypts exactly
 * what the server received. mailparser reads the inner entities back.
 *
 * Certificates: spec/fixtures/smime/ (README: PFX password "fixture-pass"),
 * issued by the TEST-ONLY CA spec/fixtures/tls/ca.pem.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser, type Attachment } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, type Smtp } from "../../src/index.js";
import { client, rejectsWith } from "../support/client.js";
import { cmsTools, ok, smimeFixture } from "../support/cms.js";
import { headerMap, startSmtpServer, type Harness, type ReceivedMessage } from "../support/smtp-server-harness.js";

const fixture = smimeFixture;
const SIGNER_PEM_TEXT = readFileSync(fixture("signer.pem"), "utf8") + readFileSync(fixture("signer.key"), "utf8");
const PFX_PASSWORD = "fixture-pass";

const TEXT = "Hello from smtpkit S/MIME.\r\nA second line.\r\n.a line starting with a dot\r\n";
const ATTACHMENT = randomBytes(5000);

const work = mkdtempSync(join(tmpdir(), "smtpkit-smime-smtp-spec-"));
let server: Harness;
const { verify, decrypt } = cmsTools(work);

beforeAll(async () => {
  server = await startSmtpServer();
});

afterAll(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

function last(): ReceivedMessage {
  const m = server.received[server.received.length - 1];
  if (!m?.raw) throw new Error("the server received nothing");
  return m;
}

function raw(m: ReceivedMessage = last()): Buffer {
  if (!m.raw) throw new Error("no raw message");
  return m.raw;
}

function contentType(m: ReceivedMessage = last()): string {
  return headerMap(m).get("content-type")?.[0] ?? "";
}

function pemSigner(m: Smtp): void {
  m.setCertStoreType(7);
  m.setCertStore(SIGNER_PEM_TEXT);
}

function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

/** A message with text and a binary attachment. */
function withAttachment(port: number): Smtp {
  const m = client(port, { subject: "S/MIME with attachment", messageText: TEXT });
  m.addAttachment(ATTACHMENT, { name: "data.bin" });
  return m;
}

async function expectTextAndAttachment(entity: Buffer): Promise<void> {
  const inner = await simpleParser(entity);
  expect(inner.text?.replace(/\n/g, "\r\n")).toBe(TEXT);
  expect(inner.attachments).toHaveLength(1);
  const att = inner.attachments[0] as Attachment;
  expect(att.filename).toBe("data.bin");
  expect(sha256(att.content)).toBe(sha256(ATTACHMENT));
}

describe("sign()", () => {
  it("with a PEM CertStore (type 7): the received message verifies with openssl cms and holds the text", async () => {
    const m = client(server.port, { subject: "signed (PEM)", messageText: TEXT });
    pemSigner(m);
    await m.sign();
    await m.send();
    expect(contentType()).toMatch(/^multipart\/signed; protocol="application\/pkcs7-signature"; micalg=sha-256; boundary=/);
    const content = ok(verify(raw())).toString("latin1");
    expect(content).toContain("Hello from smtpkit S/MIME.\r\nA second line.\r\n.a line starting with a dot\r\n");
    // The outer message still reads as a plain mail for clients without S/MIME.
    const outer = await simpleParser(raw());
    expect(outer.subject).toBe("signed (PEM)");
    expect(outer.text).toContain("Hello from smtpkit S/MIME.");
  });

  it("with a PKCS#12 CertStore (type 2 + CertStorePassword) it verifies too", async () => {
    const m = withAttachment(server.port);
    m.setCertStoreType(2);
    m.setCertStore(fixture("signer.pfx"));
    m.setCertStorePassword(PFX_PASSWORD);
    await m.sign();
    await m.send();
    expect(contentType()).toMatch(/^multipart\/signed;/);
    await expectTextAndAttachment(ok(verify(raw())));
  });

  it("DetachedSignature=false gives opaque application/pkcs7-mime that verifies", async () => {
    const m = client(server.port, { subject: "opaque", messageText: TEXT });
    pemSigner(m);
    m.config("DetachedSignature=false");
    await m.sign();
    await m.send();
    expect(contentType()).toMatch(/^application\/pkcs7-mime; smime-type=signed-data/);
    expect(raw().toString("latin1")).not.toContain("Hello from smtpkit");
    expect(ok(verify(raw())).toString("latin1")).toContain("Hello from smtpkit S/MIME.\r\n");
  });

  it("SigningAlgorithm=sha512 gives micalg=sha-512 and verifies", async () => {
    const m = client(server.port, { subject: "sha512", messageText: TEXT });
    pemSigner(m);
    m.config("SigningAlgorithm=sha512");
    await m.sign();
    await m.send();
    expect(contentType()).toMatch(/micalg=sha-512/);
    expect(ok(verify(raw())).toString("latin1")).toContain("A second line.");
  });

  it("MessageText holds the signed entity afterwards; changing it drops the S/MIME result", async () => {
    const m = withAttachment(server.port);
    pemSigner(m);
    await m.sign();
    const signed = m.getMessageText();
    expect(signed).toContain("application/pkcs7-signature");
    expect(signed).toContain("Hello from smtpkit S/MIME.");
    expect(signed).toMatch(/filename="?data\.bin"?/);
    // As in SSMTP, what was signed is inside MessageText now.
    expect(m.getAttachmentCount()).toBe(0);

    m.setMessageText("Replaced, unsigned.\r\n");
    await m.send();
    expect(contentType()).not.toMatch(/multipart|pkcs7/);
    const mail = await simpleParser(raw());
    expect(mail.text).toBe("Replaced, unsigned.\n");
    expect(mail.attachments).toHaveLength(0);
    expect(raw().toString("latin1")).not.toContain("pkcs7");
  });

  it("without a CertStore rejects with 601", async () => {
    const m = client(server.port);
    await rejectsWith(m.sign(), ErrorCode.InvalidValue);
    expect(m.getMessageText()).toBe("hello\r\n");
  });
});

describe("encrypt() and signAndEncrypt()", () => {
  it("encrypt() for addRecipientCert(recipient.pem): openssl cms -decrypt gives the original entity", async () => {
    const m = withAttachment(server.port);
    m.addRecipientCert(fixture("recipient.pem"));
    await m.encrypt();
    await m.send();
    expect(contentType()).toMatch(/^application\/pkcs7-mime; smime-type=enveloped-data/);
    expect(raw().toString("latin1")).not.toContain("Hello from smtpkit");
    const entity = ok(decrypt(raw()));
    expect(entity.toString("latin1")).toMatch(/^Content-Type: multipart\/mixed;/);
    await expectTextAndAttachment(entity);
  });

  it("signAndEncrypt(): decrypt, then the inner entity verifies and holds text and attachment", async () => {
    const m = withAttachment(server.port);
    pemSigner(m);
    m.addRecipientCert(readFileSync(fixture("recipient.pem"), "utf8"));
    await m.signAndEncrypt();
    await m.send();
    expect(contentType()).toMatch(/^application\/pkcs7-mime; smime-type=enveloped-data/);
    const signed = ok(decrypt(raw()));
    expect(signed.toString("latin1")).toMatch(/^Content-Type: multipart\/signed;/);
    await expectTextAndAttachment(ok(verify(signed)));
  });

  it("EncryptingAlgorithm=aes128-gcm (AuthEnvelopedData) decrypts with openssl cms", async () => {
    const m = client(server.port, { subject: "gcm", messageText: TEXT });
    m.config("EncryptingAlgorithm=aes128-gcm");
    m.addRecipientCert(fixture("recipient.pem"));
    await m.encrypt();
    await m.send();
    expect(contentType()).toMatch(/^application\/pkcs7-mime; smime-type=authEnveloped-data/);
    expect(ok(decrypt(raw())).toString("latin1")).toContain("Hello from smtpkit S/MIME.\r\nA second line.\r\n");
  });

  it("encrypt() without a recipient certificate rejects with 601", async () => {
    const m = client(server.port);
    await rejectsWith(m.encrypt(), ErrorCode.InvalidValue);
    expect(m.getMessageText()).toBe("hello\r\n");
  });
});

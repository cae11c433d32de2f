/**
 * The IP*Works Certificate class: every field checked against what the
 * `openssl x509` CLI prints for the same fixture, the store types and
 * subject selection, and the encoded forms (DER, base64 DER, PEM).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { Certificate, ErrorCode, ssmtp, Smtp } from "../../src/index.js";
import { throwsWith } from "../support/client.js";

const SMIME_DIR = fileURLToPath(new URL("../fixtures/smime/", import.meta.url));
const fixture = (name: string): string => join(SMIME_DIR, name);
const PFX_PASSWORD = "fixture-pass";
const SIGNER_PEM = readFileSync(fixture("signer.pem"), "utf8");
const SIGNER_KEY = readFileSync(fixture("signer.key"), "utf8");
const work = mkdtempSync(join(tmpdir(), "smtpkit-certificate-spec-"));

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** One `openssl x509 -noout` field of a PEM file: the text after "name=". */
function x509(file: string, ...args: string[]): string {
  const r = spawnSync("openssl", ["x509", "-in", file, "-noout", "-nameopt", "oneline,-space_eq", ...args], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  const line = r.stdout.trim();
  return line.slice(line.indexOf("=") + 1);
}

function hex(fingerprint: string): string {
  return fingerprint.replace(/:/g, "").toUpperCase();
}

/** openssl's "Nov 24 23:41:23 2026 GMT" as IP*Works writes it: "24-Nov-2026 23:41:23". */
function ipworksDate(opensslDate: string): string {
  const d = new Date(opensslDate);
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${p(d.getUTCDate())}-${months[d.getUTCMonth()]}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

function expectSameAsOpenssl(cert: Certificate, pemFile: string): void {
  expect(cert.subject).toBe(x509(pemFile, "-subject"));
  expect(cert.issuer).toBe(x509(pemFile, "-issuer"));
  expect(cert.serialNumber).toBe(x509(pemFile, "-serial"));
  expect(cert.thumbprintSHA1).toBe(hex(x509(pemFile, "-fingerprint", "-sha1")));
  expect(cert.thumbprintMD5).toBe(hex(x509(pemFile, "-fingerprint", "-md5")));
  expect(cert.thumbprintSHA256).toBe(hex(x509(pemFile, "-fingerprint", "-sha256")));
  expect(cert.effectiveDate).toBe(ipworksDate(x509(pemFile, "-startdate")));
  expect(cert.expirationDate).toBe(ipworksDate(x509(pemFile, "-enddate")));
  const der = spawnSync("openssl", ["x509", "-in", pemFile, "-outform", "DER"]).stdout;
  expect(cert.encodedB.equals(der)).toBe(true);
  expect(cert.encoded).toBe(der.toString("base64"));
  // The IP*Works JavaScript getters say the same.
  expect(cert.getSubject()).toBe(cert.subject);
  expect(cert.getThumbprintSHA1()).toBe(cert.thumbprintSHA1);
  expect(cert.getEffectiveDate()).toBe(cert.effectiveDate);
  expect(cert.getEncoded()).toBe(cert.encoded);
}

describe("new Certificate(storeType, store, storePassword, subject)", () => {
  it("PFX file (2) with '*': the signer with its key, every field as openssl x509 prints it", () => {
    const cert = new Certificate(2, fixture("signer.pfx"), PFX_PASSWORD, "*");
    expectSameAsOpenssl(cert, fixture("signer.pem"));
    expect(cert.privateKeyAvailable).toBe(true);
    expect(cert.getPrivateKeyAvailable()).toBe(true);
    expect(cert.publicKeyAlgorithm).toBe("RSA");
    expect(cert.publicKeyLength).toBe(2048);
    expect(cert.subjectAltNames).toContain("signer@example.test");
    expect([cert.storeType, cert.store, cert.storePassword]).toEqual([2, fixture("signer.pfx"), PFX_PASSWORD]);
  });

  it("PFX selects by subject: an exact DN, or text the DN contains (the CA in the PFX has no key)", () => {
    const ca = new Certificate(2, fixture("signer.pfx"), PFX_PASSWORD, "CN=smtpkit test CA, O=smtpkit tests");
    expect(ca.subject).toBe("O=smtpkit tests, CN=smtpkit test CA");
    expect(ca.privateKeyAvailable).toBe(false);
    expect(new Certificate(2, fixture("signer.pfx"), PFX_PASSWORD, "smime signer").thumbprintSHA1).toBe(hex(x509(fixture("signer.pem"), "-fingerprint", "-sha1")));
    throwsWith(() => new Certificate(2, fixture("signer.pfx"), PFX_PASSWORD, "CN=nobody"), ErrorCode.InvalidValue);
  });

  it("PFX blob (3) as base64 and as bytes; PEM text (7); PEM file (6); auto (99)", () => {
    const pfx = readFileSync(fixture("signer.pfx"));
    const sha1 = hex(x509(fixture("signer.pem"), "-fingerprint", "-sha1"));
    expect(new Certificate(3, pfx.toString("base64"), PFX_PASSWORD, "*").thumbprintSHA1).toBe(sha1);
    expect(new Certificate(3, new Uint8Array(pfx), PFX_PASSWORD, "*").thumbprintSHA1).toBe(sha1);
    const pem7 = new Certificate(7, SIGNER_PEM + SIGNER_KEY, "", "*");
    expect(pem7.thumbprintSHA1).toBe(sha1);
    expect(pem7.privateKeyAvailable).toBe(true);
    const file = join(work, "signer-with-key.pem");
    writeFileSync(file, SIGNER_PEM + readFileSync(fixture("signer-encrypted.key"), "utf8"));
    expect(new Certificate(6, file, PFX_PASSWORD, "*").privateKeyAvailable).toBe(true);
    expect(new Certificate(99, file, PFX_PASSWORD, "*").thumbprintSHA1).toBe(sha1);
    expect(new Certificate(6, fixture("recipient.pem"), "", "*").privateKeyAvailable).toBe(false);
  });

  it("a wrong password is 601 and neither the password nor the key appears in the error or in inspect()", () => {
    const err = throwsWith(() => new Certificate(2, fixture("signer.pfx"), "wrong-secret-pass", "*"), ErrorCode.InvalidValue);
    expect(`${err.message} ${String(err.hint ?? "")} ${inspect(err)}`).not.toContain("wrong-secret-pass");
    const cert = new Certificate(7, SIGNER_PEM + SIGNER_KEY, "", "*");
    const shown = `${inspect(cert)} ${JSON.stringify(cert)}`;
    expect(shown).not.toContain("PRIVATE KEY");
    const withPass = new Certificate(2, fixture("signer.pfx"), PFX_PASSWORD, "*");
    expect(`${inspect(withPass)} ${JSON.stringify(withPass)}`).not.toContain(PFX_PASSWORD);
  });
});

describe("new Certificate(encoded)", () => {
  const der = spawnSync("openssl", ["x509", "-in", fixture("recipient.pem"), "-outform", "DER"]).stdout;

  it("DER bytes (Buffer and Uint8Array), base64 DER and PEM give the same certificate, fields as openssl prints them", () => {
    for (const encoded of [der, new Uint8Array(der), der.toString("base64"), der.toString("base64").replace(/(.{64})/g, "$1\r\n"), readFileSync(fixture("recipient.pem"), "utf8")]) {
      const cert = new Certificate(encoded);
      expectSameAsOpenssl(cert, fixture("recipient.pem"));
      expect(cert.privateKeyAvailable).toBe(false);
    }
  });

  it("bytes or text that are no certificate are 601", () => {
    throwsWith(() => new Certificate(Buffer.from("not a certificate at all")), ErrorCode.InvalidValue);
    throwsWith(() => new Certificate(Buffer.from(der.subarray(0, 200))), ErrorCode.InvalidValue);
  });
});

describe("ssmtp", () => {
  it("is the Smtp class under IP*Works S/MIME's name, with setCertificate / getCertificate", () => {
    expect(ssmtp).toBe(Smtp);
    const m = new ssmtp();
    const cert = new Certificate(2, fixture("signer.pfx"), PFX_PASSWORD, "*");
    m.setCertificate(cert);
    expect([m.getCertStoreType(), m.getCertStore(), m.getCertStorePassword()]).toEqual([2, fixture("signer.pfx"), PFX_PASSWORD]);
    expect(m.getCertificate()).toBe(cert);
    // Changing CertStore afterwards: the store properties win, as they are what a port reads back.
    m.setCertStoreType(7);
    m.setCertStore(readFileSync(fixture("chained.pem"), "utf8") + readFileSync(fixture("chained.key"), "utf8"));
    m.setCertStorePassword("");
    expect(m.getCertificate()?.subject).toBe(x509(fixture("chained.pem"), "-subject"));
    throwsWith(() => m.setCertificate({} as Certificate), ErrorCode.InvalidValue);
  });
});

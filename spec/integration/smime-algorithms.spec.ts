/**
 * IP*Works' S/MIME algorithm spellings (SigningAlgorithm "SHA256",
 * "sha-256", EncryptingAlgorithm "AES256", "3DES", ...) normalized to what
 * smtpkit uses, and the ciphers those names added (AES-192-CBC, 3DES-CBC)
 * checked with `openssl cms -decrypt`.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/errors.js";
import { ENCRYPTING_ALGORITHMS, normalizeEncryptingAlgorithm, normalizeSigningAlgorithm } from "../../src/smime/algorithms.js";
import { serializeEntity, smimeEncrypt } from "../../src/smime/index.js";
import { throwsWith } from "../support/client.js";

const SMIME_DIR = fileURLToPath(new URL("../fixtures/smime/", import.meta.url));
const fixture = (name: string): string => join(SMIME_DIR, name);
const work = mkdtempSync(join(tmpdir(), "smtpkit-smime-alg-spec-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("normalizeSigningAlgorithm", () => {
  it.each([
    ["SHA256", "sha256"], ["sha-256", "sha256"], ["SHA-256", "sha256"], ["sha256", "sha256"], [" Sha_256 ", "sha256"], ["SHA2-256", "sha256"],
    ["SHA384", "sha384"], ["sha-384", "sha384"], ["SHA512", "sha512"], ["sha-512", "sha512"],
  ])("%j -> %s", (given, expected) => {
    expect(normalizeSigningAlgorithm(given)).toBe(expected);
  });

  it("SHA1, MD5, SHA224 and unknown names are 601 with the reason and the accepted names", () => {
    expect(throwsWith(() => normalizeSigningAlgorithm("SHA1"), ErrorCode.InvalidValue).message).toMatch(/SHA-1 .*accepted: SHA256, SHA384, SHA512/);
    throwsWith(() => normalizeSigningAlgorithm("md5"), ErrorCode.InvalidValue);
    throwsWith(() => normalizeSigningAlgorithm("SHA224"), ErrorCode.InvalidValue);
    throwsWith(() => normalizeSigningAlgorithm("whirlpool"), ErrorCode.InvalidValue);
  });
});

describe("normalizeEncryptingAlgorithm", () => {
  it.each([
    ["AES256", "aes256-cbc"], ["aes-256", "aes256-cbc"], ["aes256-cbc", "aes256-cbc"], ["AES-256-CBC", "aes256-cbc"],
    ["AES192", "aes192-cbc"], ["AES128", "aes128-cbc"], ["aes128-cbc", "aes128-cbc"],
    ["AES256GCM", "aes256-gcm"], ["aes-256-gcm", "aes256-gcm"], ["AESGCM", "aes256-gcm"], ["AES128GCM", "aes128-gcm"],
    ["3DES", "des-ede3-cbc"], ["3des", "des-ede3-cbc"], ["TripleDES", "des-ede3-cbc"], ["des-ede3-cbc", "des-ede3-cbc"],
  ])("%j -> %s", (given, expected) => {
    expect(normalizeEncryptingAlgorithm(given)).toBe(expected);
  });

  it("DES, RC2 and unknown names are 601", () => {
    expect(throwsWith(() => normalizeEncryptingAlgorithm("DES"), ErrorCode.InvalidValue).message).toMatch(/single DES/);
    throwsWith(() => normalizeEncryptingAlgorithm("RC2CBC40"), ErrorCode.InvalidValue);
    throwsWith(() => normalizeEncryptingAlgorithm("blowfish"), ErrorCode.InvalidValue);
  });
});

describe("every EncryptingAlgorithm decrypts with openssl cms", () => {
  const entity = serializeEntity([{ field: "Content-Type", value: "text/plain; charset=us-ascii" }], Buffer.from("Encrypted for an old receiver.\r\n"));
  it.each([...ENCRYPTING_ALGORITHMS])("%s", async (algorithm) => {
    const { headers, body } = await smimeEncrypt(entity, [readFileSync(fixture("recipient.pem"), "utf8")], { algorithm });
    const input = join(work, `${algorithm}.eml`);
    const out = join(work, `${algorithm}.out`);
    writeFileSync(input, serializeEntity(headers, body));
    const r = spawnSync("openssl", ["cms", "-decrypt", "-inform", "SMIME", "-binary", "-recip", fixture("recipient.pem"), "-inkey", fixture("recipient.key"), "-in", input, "-out", out]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(readFileSync(out).toString("latin1")).toContain("Encrypted for an old receiver.");
    const asn1 = spawnSync("openssl", ["cms", "-cmsout", "-print", "-inform", "SMIME", "-in", input]).stdout.toString();
    const oid = { "aes256-cbc": "aes-256-cbc", "aes192-cbc": "aes-192-cbc", "aes128-cbc": "aes-128-cbc", "aes256-gcm": "aes-256-gcm", "aes128-gcm": "aes-128-gcm", "des-ede3-cbc": "des-ede3-cbc" }[algorithm];
    expect(asn1).toContain(`algorithm: ${oid}`);
  });
});

/**
 * Paths to the TEST-ONLY TLS fixtures in spec/fixtures/tls/ (made by
 * scripts/gen-test-certs.sh) and small helpers around them.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export const TLS_FIXTURE_DIR: string = fileURLToPath(new URL("../fixtures/tls/", import.meta.url));

/** Passphrase of client-encrypted.key and client.pfx. */
export const FIXTURE_PASSPHRASE = "fixture-pass";

export const fixtureNames = [
  "ca.pem",
  "ca.key",
  "server.pem",
  "server.key",
  "expired.pem",
  "expired.key",
  "wronghost.pem",
  "wronghost.key",
  "selfsigned.pem",
  "selfsigned.key",
  "client.pem",
  "client.key",
  "client-encrypted.key",
  "client.pfx",
] as const;

export type FixtureName = (typeof fixtureNames)[number];

/** Absolute path of a fixture file. */
export function fixturePath(name: FixtureName | (string & {})): string {
  return join(TLS_FIXTURE_DIR, name);
}

export const tlsFixtures = {
  caCert: fixturePath("ca.pem"),
  caKey: fixturePath("ca.key"),
  serverCert: fixturePath("server.pem"),
  serverKey: fixturePath("server.key"),
  expiredCert: fixturePath("expired.pem"),
  expiredKey: fixturePath("expired.key"),
  wrongHostCert: fixturePath("wronghost.pem"),
  wrongHostKey: fixturePath("wronghost.key"),
  selfSignedCert: fixturePath("selfsigned.pem"),
  selfSignedKey: fixturePath("selfsigned.key"),
  clientCert: fixturePath("client.pem"),
  clientKey: fixturePath("client.key"),
  clientEncryptedKey: fixturePath("client-encrypted.key"),
  clientPfx: fixturePath("client.pfx"),
} as const;

/** Reads a fixture file. */
export function readFixture(name: FixtureName | (string & {})): Buffer {
  return readFileSync(fixturePath(name));
}

/** Which server certificate a test server presents (CA-signed "server": localhost / 127.0.0.1 / ::1). */
export type ServerCertName = "server" | "expired" | "wronghost" | "selfsigned";

/** Key and certificate of a server certificate fixture. */
export function serverCertPair(name: ServerCertName = "server"): { key: Buffer; cert: Buffer } {
  return { key: readFixture(`${name}.key`), cert: readFixture(`${name}.pem`) };
}

/**
 * SHA-256 fingerprint of the (first) certificate in a PEM file, in Node's
 * format: upper-case hex pairs separated by colons ("AB:CD:...").
 */
export function fingerprint256(pemPath: string): string {
  return new X509Certificate(readFileSync(pemPath)).fingerprint256;
}

/** The same fingerprint without colons, lower-case. */
export function fingerprint256Hex(pemPath: string): string {
  return fingerprint256(pemPath).replace(/:/g, "").toLowerCase();
}

/** Fingerprints of the fixtures tests pin against, computed at run time. */
export const serverFingerprint256: string = fingerprint256(tlsFixtures.serverCert);
export const selfSignedFingerprint256: string = fingerprint256(tlsFixtures.selfSignedCert);

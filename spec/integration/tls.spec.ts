/**
 * TLS against real servers: SSLStartMode / SSLEnabled against a STARTTLS
 * server, a server without STARTTLS and an implicit-TLS server; STARTTLS
 * response injection; server certificate validation, the
 * SSLServerAuthentication event and pinning; client certificates; versions.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, type Smtp } from "../../src/index.js";
import type { SSLServerAuthenticationEvent } from "../../src/events.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";
import { client, record, rejectsWith, throwsWith } from "../support/client.js";
import {
  FIXTURE_PASSPHRASE,
  fingerprint256Hex,
  readFixture,
  selfSignedFingerprint256,
  serverFingerprint256,
  tlsFixtures,
} from "../support/tls-fixtures.js";
import { startSmtpServer, type Harness } from "../support/smtp-server-harness.js";
import { esmtpServer, type TcpServer } from "../support/tcp-server.js";

const CA = readFixture("ca.pem").toString("utf8");

/** A client that trusts the test CA. */
function tlsClient(port: number, options: SmtpOptions = {}): Smtp {
  return client(port, { ...options, settings: { SSLCACerts: CA, ...options.settings } });
}

let starttls: Harness;
let plain: Harness;
let implicit: Harness;
let selfSigned: Harness;
let expired: Harness;
let wrongHost: Harness;
let clientCertRequired: Harness;
const raws: TcpServer[] = [];
let tmp: string;

beforeAll(async () => {
  [starttls, plain, implicit, selfSigned, expired, wrongHost, clientCertRequired] = await Promise.all([
    startSmtpServer({ mode: "starttls" }),
    startSmtpServer({ mode: "plain" }),
    startSmtpServer({ mode: "implicit" }),
    startSmtpServer({ mode: "starttls", cert: "selfsigned" }),
    startSmtpServer({ mode: "starttls", cert: "expired" }),
    startSmtpServer({ mode: "starttls", cert: "wronghost" }),
    startSmtpServer({ mode: "starttls", requireClientCert: true }),
  ]);
  tmp = mkdtempSync(join(tmpdir(), "smtpkit-tls-spec-"));
});

afterAll(async () => {
  await Promise.all([starttls, plain, implicit, selfSigned, expired, wrongHost, clientCertRequired].filter(Boolean).map((s) => s.close()));
  await Promise.all(raws.splice(0).map((s) => s.close()));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/**
 * A hand-written ESMTP server ("raw.test", 8BITMIME) whose answer to STARTTLS
 * is `starttlsReply`, raw bytes in one write (the handshake follows when they
 * start with 220); offerStartTls false: STARTTLS is not offered.
 */
async function raw(opts: { starttlsReply?: string; offerStartTls?: boolean }): Promise<TcpServer> {
  const s = await esmtpServer({ name: "raw.test", extensions: ["8BITMIME"], starttls: opts.offerStartTls === false ? false : opts.starttlsReply ?? true });
  raws.push(s);
  return s;
}

const verbs = (lines: { line: string }[]): string[] => lines.map((l) => l.line.split(/[ :]/, 1)[0]?.toUpperCase() ?? "");

describe("SSLStartMode against a STARTTLS server, a plain one and an implicit-TLS one", () => {
  it("0 (automatic) on a STARTTLS server upgrades: STARTTLS, then a second EHLO, then the mail over TLS", async () => {
    const before = starttls.received.length;
    const m = tlsClient(starttls.port, { sslStartMode: 0 });
    const r = record(m);
    await m.connect();
    expect(m.config("SSLNegotiatedVersion")).toMatch(/^TLSv1/);
    expect(m.config("SSLNegotiatedCipher")).not.toBe("");
    await m.send();
    await m.disconnect();
    expect(m.config("SSLNegotiatedVersion")).toBe("");

    const sent = r.sent();
    expect(sent[0]).toMatch(/^EHLO /);
    expect(sent[1]).toBe("STARTTLS");
    expect(sent[2]).toMatch(/^EHLO /);
    expect(sent[3]).toMatch(/^MAIL FROM:/);
    expect(starttls.received.length).toBe(before + 1);
    expect(starttls.received[before]?.secure).toBe(true);
  });

  it("0 on a server without STARTTLS sends in clear text (opportunistic)", async () => {
    const before = plain.received.length;
    const m = tlsClient(plain.port, { sslStartMode: 0 });
    const r = record(m);
    await m.connect();
    expect(m.config("SSLNegotiatedVersion")).toBe("");
    expect(m.getSSLServerCert()).toBeUndefined();
    await m.send();
    await m.disconnect();
    expect(r.sent()).not.toContain("STARTTLS");
    expect(plain.received.length).toBe(before + 1);
    expect(plain.received[before]?.secure).toBe(false);
  });

  it("0 on a server that answers STARTTLS with 454 carries on in clear text", async () => {
    const s = await raw({ starttlsReply: "454 4.7.0 TLS not available due to temporary reason\r\n" });
    const m = tlsClient(s.port, { sslStartMode: 0 });
    await m.send();
    expect(verbs(s.log)).toEqual(["EHLO", "STARTTLS", "MAIL", "RCPT", "DATA", "QUIT"]);
    expect(s.log.every((l) => !l.secure)).toBe(true);
  });

  it("1 (implicit) on an implicit-TLS server: TLS from the first byte, no STARTTLS", async () => {
    const before = implicit.received.length;
    const handshakes = implicit.handshakes.length;
    const m = tlsClient(implicit.port, { sslStartMode: 1 });
    const r = record(m);
    await m.connect();
    expect(m.config("SSLNegotiatedVersion")).toMatch(/^TLSv1/);
    await m.send();
    await m.disconnect();
    expect(r.sent()).not.toContain("STARTTLS");
    expect(r.sent().filter((l) => l.startsWith("EHLO "))).toHaveLength(1);
    expect(implicit.handshakes.length).toBe(handshakes + 1);
    expect(implicit.received[before]?.secure).toBe(true);
  });

  it("1 against a plain-text server fails with 277 and the message points to STARTTLS", async () => {
    const before = starttls.mailCommands.length;
    const m = tlsClient(starttls.port, { sslStartMode: 1 });
    const err = await rejectsWith(m.send(), ErrorCode.TlsWrongMode);
    expect(err.message).toMatch(/STARTTLS/);
    expect(err.isTls()).toBe(true);
    expect(starttls.mailCommands.length).toBe(before);
  });

  it("2 (explicit) on a STARTTLS server upgrades before anything else", async () => {
    const before = starttls.received.length;
    const m = tlsClient(starttls.port, { sslStartMode: 2 });
    const r = record(m);
    await m.send();
    expect(r.sent().slice(0, 3)).toEqual([expect.stringMatching(/^EHLO /), "STARTTLS", expect.stringMatching(/^EHLO /)]);
    expect(starttls.received[before]?.secure).toBe(true);
  });

  it("2 on a server without STARTTLS fails with 275; the server saw neither MAIL FROM nor AUTH", async () => {
    const s = await raw({ offerStartTls: false });
    const m = tlsClient(s.port, { sslStartMode: 2, user: "alice", password: "secret-pw" });
    const r = record(m);
    const err = await rejectsWith(m.send(), ErrorCode.TlsNotOffered);
    expect(err.message).toMatch(/STARTTLS/);
    expect(verbs(s.log)).toEqual(["EHLO", "QUIT"]);
    expect(r.sent().join("\n")).not.toMatch(/AUTH|MAIL FROM/);

    // The same against smtp-server without STARTTLS: its MAIL FROM hook never ran.
    const mailBefore = plain.mailCommands.length;
    await rejectsWith(tlsClient(plain.port, { sslStartMode: 2 }).send(), ErrorCode.TlsNotOffered);
    expect(plain.mailCommands.length).toBe(mailBefore);
    expect(plain.auths).toHaveLength(0);
  });

  it("2 when the server answers STARTTLS with 454 fails with 276 and sends nothing else", async () => {
    const s = await raw({ starttlsReply: "454 4.7.0 TLS not available due to temporary reason\r\n" });
    const m = tlsClient(s.port, { sslStartMode: 2, user: "alice", password: "secret-pw" });
    const err = await rejectsWith(m.send(), ErrorCode.TlsStartRefused);
    expect(err.replyCode).toBe(454);
    expect(err.message).toContain("TLS not available");
    expect(verbs(s.log)).toEqual(["EHLO", "STARTTLS", "QUIT"]);
  });

  it("SSLEnabled=true with SSLStartMode 0 on a port other than 465 behaves like 2", async () => {
    const s = await raw({ offerStartTls: false });
    const err = await rejectsWith(tlsClient(s.port, { sslStartMode: 0, sslEnabled: true }).send(), ErrorCode.TlsNotOffered);
    expect(err.code).toBe(275);
    expect(verbs(s.log)).toEqual(["EHLO", "QUIT"]);

    const refusing = await raw({ starttlsReply: "454 4.7.0 not now\r\n" });
    await rejectsWith(tlsClient(refusing.port, { sslStartMode: 0, sslEnabled: true }).send(), ErrorCode.TlsStartRefused);
    expect(verbs(refusing.log)).toEqual(["EHLO", "STARTTLS", "QUIT"]);

    const before = starttls.received.length;
    const m = tlsClient(starttls.port, { sslStartMode: 0, sslEnabled: true });
    const r = record(m);
    await m.send();
    expect(r.sent()).toContain("STARTTLS");
    expect(starttls.received[before]?.secure).toBe(true);
  });

  it("3 (none) never sends STARTTLS, even when offered", async () => {
    const before = starttls.received.length;
    const m = tlsClient(starttls.port, { sslStartMode: 3 });
    const r = record(m);
    await m.connect();
    expect(m.serverCapabilities?.has("STARTTLS")).toBe(true);
    expect(m.config("SSLNegotiatedVersion")).toBe("");
    await m.send();
    await m.disconnect();
    expect(r.sent()).not.toContain("STARTTLS");
    expect(starttls.received[before]?.secure).toBe(false);
  });

  it("3 against an implicit-TLS server times out, hinting at SSLStartMode=1", async () => {
    const m = tlsClient(implicit.port, { sslStartMode: 3, timeout: 2 });
    const err = await rejectsWith(m.send(), ErrorCode.TimedOut);
    expect(err.message).toMatch(/SSLStartMode=1/);
    expect(err.hint).toMatch(/SSLStartMode=1/);
  });
});

describe("STARTTLS response injection", () => {
  it("a line sent with the 220 in one write is discarded; EHLO is redone over TLS and the send succeeds", async () => {
    const s = await raw({ starttlsReply: "220 go ahead\r\n250 injected\r\n" });
    const m = tlsClient(s.port, { sslStartMode: 2 });
    const r = record(m);
    await m.connect();
    expect(m.config("SSLNegotiatedVersion")).toMatch(/^TLSv1/);
    await m.send();
    await m.disconnect();

    expect(s.handshakes).toBe(1);
    expect(s.log.map((l) => `${l.secure ? "tls" : "clear"} ${l.line.split(/[ :]/, 1)[0]}`)).toEqual([
      "clear EHLO",
      "clear STARTTLS",
      "tls EHLO",
      "tls MAIL",
      "tls RCPT",
      "tls DATA",
      "tls QUIT",
    ]);
    const replies = r.trail.filter((t) => t.direction === 1).map((t) => t.message);
    expect(replies.some((msg) => msg.includes("injected"))).toBe(false);
    // The server's 220 is the reply to STARTTLS; the next reply is to the new EHLO.
    const i = replies.findIndex((msg) => msg.startsWith("220 go ahead"));
    expect(i).toBeGreaterThan(0);
    expect(replies[i + 1]).toMatch(/^250-raw\.test hello/);
    // The discard is noted as information (direction 2), not as a reply.
    expect(r.trail.some((t) => t.direction === 2 && /discarded/i.test(t.message))).toBe(true);
  });
});

describe("server certificate validation", () => {
  it("a CA-signed certificate is rejected by default when its CA is not trusted (273, untrusted issuer)", async () => {
    const m = client(starttls.port, { sslStartMode: 2 });
    const err = await rejectsWith(m.send(), ErrorCode.TlsCertUntrusted);
    expect(err.message).toMatch(/untrusted issuer/);
    expect(err.message).toMatch(/CN=localhost/);
  });

  it("a self-signed certificate is rejected (273) and the message says so", async () => {
    const before = selfSigned.mailCommands.length;
    const m = tlsClient(selfSigned.port, { sslStartMode: 2 });
    const err = await rejectsWith(m.send(), ErrorCode.TlsCertUntrusted);
    expect(err.message).toMatch(/self-signed/);
    expect(selfSigned.mailCommands.length).toBe(before);
  });

  it("an expired certificate is rejected with 272", async () => {
    const err = await rejectsWith(tlsClient(expired.port, { sslStartMode: 2 }).send(), ErrorCode.TlsCertExpired);
    expect(err.message).toMatch(/expired/);
  });

  it("a certificate for another host is rejected with 274", async () => {
    const err = await rejectsWith(tlsClient(wrongHost.port, { sslStartMode: 2 }).send(), ErrorCode.TlsHostMismatch);
    expect(err.message).toMatch(/host name mismatch/);
    expect(err.message).toMatch(/127\.0\.0\.1/);
    // By name too (SNI path): "localhost" is not on it either.
    const byName = tlsClient(wrongHost.port, { sslStartMode: 2, mailServer: "localhost" });
    await rejectsWith(byName.send(), ErrorCode.TlsHostMismatch);
  });

  it("connecting by host name checks that name (SNI) and succeeds with the right certificate", async () => {
    const before = starttls.received.length;
    await tlsClient(starttls.port, { sslStartMode: 2, mailServer: "localhost" }).send();
    expect(starttls.received[before]?.secure).toBe(true);
  });

  it("an SSLServerAuthentication listener can accept a self-signed certificate; the event carries its details", async () => {
    const before = selfSigned.received.length;
    const m = tlsClient(selfSigned.port, { sslStartMode: 2 });
    const events: { certSubject: string; certIssuer: string; status: string; certEncoded: Buffer; acceptBefore: boolean }[] = [];
    m.on("SSLServerAuthentication", (e: SSLServerAuthenticationEvent) => {
      events.push({ certSubject: e.certSubject, certIssuer: e.certIssuer, status: e.status, certEncoded: e.certEncoded, acceptBefore: e.accept });
      e.accept = true;
    });
    await m.send();
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(e.acceptBefore).toBe(false);
    expect(e.certSubject).toMatch(/CN=localhost/);
    expect(e.certIssuer).toMatch(/CN=localhost/);
    expect(e.status).toMatch(/self-signed/);
    expect(Buffer.isBuffer(e.certEncoded)).toBe(true);
    expect(e.certEncoded.equals(Buffer.from(new X509Certificate(readFixture("selfsigned.pem")).raw))).toBe(true);
    expect(selfSigned.received[before]?.secure).toBe(true);
  });

  it("the event fires with accept = true and status OK for a valid certificate", async () => {
    const m = tlsClient(starttls.port, { sslStartMode: 2 });
    const seen: { accept: boolean; status: string; certIssuer: string }[] = [];
    m.on("SSLServerAuthentication", (e) => seen.push({ accept: e.accept, status: e.status, certIssuer: e.certIssuer }));
    await m.send();
    expect(seen).toEqual([{ accept: true, status: "OK", certIssuer: expect.stringMatching(/smtpkit test CA/) }]);
  });

  it("a listener that sets accept = false rejects a valid certificate (271); nothing is sent over TLS", async () => {
    const before = starttls.mailCommands.length;
    const m = tlsClient(starttls.port, { sslStartMode: 2 });
    m.on("SSLServerAuthentication", (e) => {
      e.accept = false;
    });
    const err = await rejectsWith(m.send(), ErrorCode.TlsCertRejected);
    expect(err.message).toMatch(/accept = false/);
    expect(starttls.mailCommands.length).toBe(before);
  });

  it("SSLAcceptServerCert with the PEM pins a self-signed certificate", async () => {
    const before = selfSigned.received.length;
    const m = tlsClient(selfSigned.port, { sslStartMode: 2, sslAcceptServerCert: readFixture("selfsigned.pem").toString("utf8") });
    const statuses: string[] = [];
    m.on("SSLServerAuthentication", (e) => statuses.push(e.status));
    await m.send();
    expect(selfSigned.received[before]?.secure).toBe(true);
    expect(statuses[0]).toMatch(/accepted by SSLAcceptServerCert/);
  });

  it("SSLAcceptServerCert with the SHA-256 fingerprint (colons or plain hex) pins a self-signed certificate", async () => {
    const before = selfSigned.received.length;
    await tlsClient(selfSigned.port, { sslStartMode: 2, sslAcceptServerCert: selfSignedFingerprint256 }).send();
    await client(selfSigned.port, { sslStartMode: 2, sslAcceptServerCert: fingerprint256Hex(tlsFixtures.selfSignedCert) }).send();
    expect(selfSigned.received.length).toBe(before + 2);
  });

  it("a fingerprint that does not match rejects even a valid certificate (271)", async () => {
    const before = starttls.mailCommands.length;
    const m = tlsClient(starttls.port, { sslStartMode: 2, sslAcceptServerCert: selfSignedFingerprint256 });
    const err = await rejectsWith(m.send(), ErrorCode.TlsCertRejected);
    expect(err.message).toMatch(/pinned fingerprint/);
    expect(starttls.mailCommands.length).toBe(before);
  });

  it("getSSLServerCert() returns the server's certificate after the handshake", async () => {
    const m = tlsClient(starttls.port, { sslStartMode: 2 });
    expect(m.getSSLServerCert()).toBeUndefined();
    await m.connect();
    const cert = m.getSSLServerCert();
    expect(cert).toBeInstanceOf(X509Certificate);
    expect(cert?.subject).toMatch(/CN=localhost/);
    expect(cert?.fingerprint256).toBe(serverFingerprint256);
    expect(m.sslServerCert?.fingerprint256).toBe(serverFingerprint256);
    await m.disconnect();
  });

  it("SSLStatus events report the handshake and the certificate", async () => {
    const m = tlsClient(starttls.port, { sslStartMode: 2 });
    const messages: string[] = [];
    m.on("SSLStatus", (e) => messages.push(e.message));
    await m.send();
    expect(messages.some((s) => /starting TLS handshake/.test(s))).toBe(true);
    expect(messages.some((s) => /server certificate: .*CN=localhost/.test(s))).toBe(true);
    expect(messages.some((s) => /TLS handshake complete: TLSv1/.test(s))).toBe(true);
  });
});

describe("client certificates (server requires one signed by the test CA)", () => {
  it("fails without a client certificate; no mail reaches the server", async () => {
    const before = clientCertRequired.mailCommands.length;
    const m = tlsClient(clientCertRequired.port, { sslStartMode: 2 });
    let caught: unknown;
    try {
      await m.send();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(Error);
    expect((caught as { code?: number }).code).toEqual(expect.any(Number));
    expect(clientCertRequired.mailCommands.length).toBe(before);
  });

  // TLS 1.3: the client's side of the handshake is complete before the server
  // judges the (missing) certificate; the server's "certificate required"
  // alert then arrives while the client waits for the EHLO reply.
  it("without a client certificate the failure is a TLS error (27x) that names the missing client certificate (TLS 1.3)", async () => {
    const m = tlsClient(clientCertRequired.port, { sslStartMode: 2, settings: { SSLMinVersion: "TLSv1.3" } });
    let caught: unknown;
    try {
      await m.send();
    } catch (e) {
      caught = e;
    }
    const err = caught as { code?: number; message?: string; isTls?: () => boolean };
    expect({ code: err.code, message: err.message }).toMatchObject({ code: expect.any(Number) });
    expect(err.isTls?.(), `code ${String(err.code)}: ${String(err.message)}`).toBe(true);
    expect(err.message).toMatch(/client certificate|SSLCertStore/i);
  });

  it("PEM file (SSLCertStoreType 6) with certificate and key", async () => {
    const file = join(tmp, "client-combined.pem");
    writeFileSync(file, Buffer.concat([readFixture("client.pem"), readFixture("client.key")]));
    const before = clientCertRequired.received.length;
    await tlsClient(clientCertRequired.port, { sslStartMode: 2, sslCertStoreType: 6, sslCertStore: file }).send();
    expect(clientCertRequired.received.length).toBe(before + 1);
    expect(clientCertRequired.handshakes.at(-1)?.clientCertCN).toBe("smtpkit test client");
  });

  it("PEM blob (SSLCertStoreType 7) with the encrypted key and SSLCertStorePassword", async () => {
    const blob = readFixture("client.pem").toString("utf8") + readFixture("client-encrypted.key").toString("utf8");
    const before = clientCertRequired.received.length;
    await tlsClient(clientCertRequired.port, { sslStartMode: 2, sslCertStoreType: 7, sslCertStore: blob, sslCertStorePassword: FIXTURE_PASSPHRASE }).send();
    expect(clientCertRequired.received.length).toBe(before + 1);
    expect(clientCertRequired.handshakes.at(-1)?.clientCertCN).toBe("smtpkit test client");

    const wrong = tlsClient(clientCertRequired.port, { sslStartMode: 2, sslCertStoreType: 7, sslCertStore: blob, sslCertStorePassword: "not-it" });
    await rejectsWith(wrong.send(), ErrorCode.TlsClientCert);
  });

  it("PFX file (SSLCertStoreType 2)", async () => {
    const before = clientCertRequired.received.length;
    await tlsClient(clientCertRequired.port, { sslStartMode: 2, sslCertStoreType: 2, sslCertStore: tlsFixtures.clientPfx, sslCertStorePassword: FIXTURE_PASSPHRASE }).send();
    expect(clientCertRequired.received.length).toBe(before + 1);
    expect(clientCertRequired.handshakes.at(-1)?.clientCertCN).toBe("smtpkit test client");
  });

  it("PFX blob, base64 (SSLCertStoreType 3)", async () => {
    const before = clientCertRequired.received.length;
    const b64 = readFixture("client.pfx").toString("base64");
    await tlsClient(clientCertRequired.port, { sslStartMode: 2, sslCertStoreType: 3, sslCertStore: b64, sslCertStorePassword: FIXTURE_PASSPHRASE }).send();
    expect(clientCertRequired.received.length).toBe(before + 1);
  });

  it("a wrong PFX password fails with 278 before connecting", async () => {
    const connections = clientCertRequired.connections;
    const m = tlsClient(clientCertRequired.port, { sslStartMode: 2, sslCertStoreType: 2, sslCertStore: tlsFixtures.clientPfx, sslCertStorePassword: "wrong-password" });
    const err = await rejectsWith(m.send(), ErrorCode.TlsClientCert);
    expect(err.message).toMatch(/could not be loaded/);
    expect(clientCertRequired.connections).toBe(connections);
  });
});

describe("TLS versions, ciphers and the read-only settings", () => {
  it("SSLMinVersion=TLSv1.3 negotiates TLS 1.3 with smtp-server; SSLNegotiatedCipher is set", async () => {
    const m = tlsClient(starttls.port, { sslStartMode: 2 });
    m.config("SSLMinVersion=TLSv1.3");
    await m.connect();
    expect(m.config("SSLNegotiatedVersion")).toBe("TLSv1.3");
    expect(m.config("SSLNegotiatedCipher")).toMatch(/^TLS_/);
    expect(starttls.handshakes.at(-1)?.protocol).toBe("TLSv1.3");
    await m.send();
    await m.disconnect();
  });

  it("SSLMaxVersion=TLSv1.2 with SSLEnabledCipherSuites picks a matching TLS 1.2 suite", async () => {
    const m = tlsClient(starttls.port, { sslStartMode: 2, settings: { SSLMaxVersion: "TLSv1.2", SSLEnabledCipherSuites: "ECDHE+AESGCM" } });
    await m.connect();
    expect(m.config("SSLNegotiatedVersion")).toBe("TLSv1.2");
    expect(m.config("SSLNegotiatedCipher")).toMatch(/GCM/);
    await m.disconnect();
  });

  it("SSLNegotiatedVersion and SSLNegotiatedCipher are read-only (610)", () => {
    const m = tlsClient(starttls.port);
    throwsWith(() => m.config("SSLNegotiatedVersion=x"), ErrorCode.ReadOnly);
    throwsWith(() => m.config("SSLNegotiatedCipher=x"), ErrorCode.ReadOnly);
  });
});

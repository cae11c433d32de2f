/**
 * Opportunistic TLS (RFC 7435) in the default mode (SSLStartMode 0, SSLEnabled
 * false) against real smtp-server relays whose certificates do not verify: the
 * message goes encrypted, the SSLServerAuthentication event can refuse, PITrail
 * says the certificate was not verified, and credentials never go over such a
 * channel. Where TLS is required, verification stays mandatory.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, type Smtp } from "../../src/index.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";
import { client, record, rejectsWith } from "../support/client.js";
import { readFixture, selfSignedFingerprint256, serverFingerprint256 } from "../support/tls-fixtures.js";
import { startSmtpServer, type Harness } from "../support/smtp-server-harness.js";

const USER = "ann";
const PASSWORD = "s3cret-Pa55word";
const AUTH = { authMethods: ["PLAIN", "LOGIN"], users: { [USER]: PASSWORD } };

let selfSigned: Harness;
let expired: Harness;
let wrongHost: Harness;
let valid: Harness;

beforeAll(async () => {
  [selfSigned, expired, wrongHost, valid] = await Promise.all([
    startSmtpServer({ mode: "starttls", cert: "selfsigned", ...AUTH }),
    startSmtpServer({ mode: "starttls", cert: "expired" }),
    startSmtpServer({ mode: "starttls", cert: "wronghost" }),
    startSmtpServer({ mode: "starttls", ...AUTH }),
  ]);
});

afterAll(async () => {
  await Promise.all([selfSigned, expired, wrongHost, valid].filter(Boolean).map((s) => s.close()));
});

let seq = 0;
/** A default-mode client (nothing TLS-related set) with its own recipient. */
function defaultClient(server: Harness, options: SmtpOptions = {}): { m: Smtp; rcpt: string } {
  const rcpt = `opp${++seq}@example.com`;
  return { m: client(server.port, { sendTo: rcpt, ...options }), rcpt };
}

const receivedBy = (s: Harness, rcpt: string) => s.received.filter((r) => r.rcptTo.includes(rcpt));

describe("default mode (SSLStartMode 0, SSLEnabled false), certificate that does not verify", () => {
  it("a self-signed STARTTLS relay gets the message, encrypted; the event fires with the reason; PITrail says not verified", async () => {
    const { m, rcpt } = defaultClient(selfSigned);
    expect(m.sslStartMode).toBe(0);
    expect(m.sslEnabled).toBe(false);
    const r = record(m);
    const events: { accept: boolean; status: string; certSubject: string }[] = [];
    m.on("SSLServerAuthentication", (e) => events.push({ accept: e.accept, status: e.status, certSubject: e.certSubject }));
    const result = await m.send();
    expect(result.replyCode).toBe(250);

    const got = receivedBy(selfSigned, rcpt);
    expect(got).toHaveLength(1);
    expect(got[0]?.secure).toBe(true);
    expect(r.sent()).toContain("STARTTLS");

    expect(events).toHaveLength(1);
    expect(events[0]?.accept).toBe(true);
    expect(events[0]?.status).toMatch(/self-signed/);
    expect(events[0]?.status).toMatch(/not verified/);
    expect(events[0]?.certSubject).toMatch(/CN=localhost/);

    const info = r.trail.filter((t) => t.direction === 2 && /not verified/.test(t.message));
    expect(info).toHaveLength(1);
    expect(info[0]?.message).toMatch(/self-signed/);
    expect(info[0]?.message).toMatch(/encrypted/);
  });

  it("an expired certificate and another host's certificate are also used for encryption only", async () => {
    for (const server of [expired, wrongHost]) {
      const { m, rcpt } = defaultClient(server);
      const r = record(m);
      await m.send();
      expect(receivedBy(server, rcpt).map((x) => x.secure)).toEqual([true]);
      expect(r.trail.some((t) => t.direction === 2 && /not verified/.test(t.message))).toBe(true);
    }
  });

  it("a listener that sets accept = false refuses it: 273 as before, nothing sent after STARTTLS", async () => {
    const { m, rcpt } = defaultClient(selfSigned);
    const before = selfSigned.mailCommands.length;
    m.on("SSLServerAuthentication", (e) => {
      e.accept = false;
    });
    const err = await rejectsWith(m.send(), ErrorCode.TlsCertUntrusted);
    expect(err.message).toMatch(/accept = false/);
    expect(err.message).toMatch(/self-signed/);
    expect(selfSigned.mailCommands.length).toBe(before);
    expect(receivedBy(selfSigned, rcpt)).toHaveLength(0);
  });

  it("a listener refusing an expired certificate gives 272, one refusing a valid certificate 271", async () => {
    const a = defaultClient(expired).m;
    a.on("SSLServerAuthentication", (e) => {
      e.accept = false;
    });
    await rejectsWith(a.send(), ErrorCode.TlsCertExpired);
    const b = defaultClient(valid, { settings: { SSLCACerts: readFixture("ca.pem").toString("utf8") } }).m;
    b.on("SSLServerAuthentication", (e) => {
      e.accept = false;
    });
    await rejectsWith(b.send(), ErrorCode.TlsCertRejected);
  });

  it("with User set, the session stops before AUTH (the server sees no AUTH) with an error naming the fixes", async () => {
    const authsBefore = selfSigned.auths.length;
    const mailBefore = selfSigned.mailCommands.length;
    const { m, rcpt } = defaultClient(selfSigned, { user: USER, password: PASSWORD });
    const r = record(m);
    const err = await rejectsWith(m.send(), ErrorCode.TlsCertUntrusted);
    expect(err.message).toMatch(/refusing to send credentials/);
    expect(err.message).toMatch(/not verified/);
    expect(err.message).toMatch(/self-signed/);
    expect(err.hint).toMatch(/SSLCACerts/);
    expect(err.hint).toMatch(/SSLAcceptServerCert/);
    expect(err.hint).toMatch(/SSLServerAuthentication/);
    expect(err.isTls()).toBe(true);

    expect(selfSigned.auths.length).toBe(authsBefore);
    expect(selfSigned.mailCommands.length).toBe(mailBefore);
    expect(receivedBy(selfSigned, rcpt)).toHaveLength(0);
    const verbs = r.sent().map((l) => l.split(" ", 1)[0]);
    expect(verbs).not.toContain("AUTH");
    expect(verbs).not.toContain("MAIL");
    // No secret anywhere.
    expect(err.message).not.toContain(PASSWORD);
    expect(r.trail.some((t) => t.message.includes(PASSWORD))).toBe(false);
  });

  it("AllowCleartextAuth does not open unverified TLS to credentials", async () => {
    const authsBefore = selfSigned.auths.length;
    const { m } = defaultClient(selfSigned, { user: USER, password: PASSWORD, settings: { AllowCleartextAuth: true } });
    await rejectsWith(m.send(), ErrorCode.TlsCertUntrusted);
    expect(selfSigned.auths.length).toBe(authsBefore);
  });

  it("each fix the error names lets the login through: a pin, or SSLStartMode 2 with a listener that accepts", async () => {
    const before = selfSigned.auths.filter((a) => a.accepted).length;
    const pinned = defaultClient(selfSigned, { user: USER, password: PASSWORD, sslAcceptServerCert: selfSignedFingerprint256 });
    await pinned.m.send();
    expect(receivedBy(selfSigned, pinned.rcpt)).toHaveLength(1);

    const pem = defaultClient(selfSigned, { user: USER, password: PASSWORD, sslAcceptServerCert: readFixture("selfsigned.pem").toString("utf8") });
    await pem.m.send();
    expect(receivedBy(selfSigned, pem.rcpt)).toHaveLength(1);

    const decided = defaultClient(selfSigned, { user: USER, password: PASSWORD, sslStartMode: 2 });
    decided.m.on("SSLServerAuthentication", (e) => {
      if (!e.accept && /self-signed/.test(e.status)) e.accept = true;
    });
    await decided.m.send();
    expect(receivedBy(selfSigned, decided.rcpt)).toHaveLength(1);

    const logins = selfSigned.auths.filter((a) => a.accepted).slice(before);
    expect(logins).toHaveLength(3);
    expect(logins.every((a) => a.secure && a.username === USER)).toBe(true);
  });

  it("a certificate that verifies (SSLCACerts) in the default mode: event status OK, AUTH proceeds, no 'not verified' line", async () => {
    const { m, rcpt } = defaultClient(valid, { user: USER, password: PASSWORD, settings: { SSLCACerts: readFixture("ca.pem").toString("utf8") } });
    const r = record(m);
    const statuses: string[] = [];
    m.on("SSLServerAuthentication", (e) => statuses.push(e.status));
    await m.send();
    expect(statuses).toEqual(["OK"]);
    expect(receivedBy(valid, rcpt).map((x) => [x.secure, x.user !== undefined])).toEqual([[true, true]]);
    expect(r.trail.some((t) => /not verified/.test(t.message))).toBe(false);
  });

  it("a pin keeps its meaning: a fingerprint that does not match refuses the certificate (271), no opportunistic fallback", async () => {
    const { m, rcpt } = defaultClient(selfSigned, { sslAcceptServerCert: serverFingerprint256 });
    const err = await rejectsWith(m.send(), ErrorCode.TlsCertRejected);
    expect(err.message).toMatch(/pinned fingerprint/);
    expect(receivedBy(selfSigned, rcpt)).toHaveLength(0);
  });
});

describe("where TLS is required, verification stays mandatory", () => {
  it("SSLStartMode 2 with a self-signed certificate: 273, nothing sent", async () => {
    const before = selfSigned.mailCommands.length;
    const { m } = defaultClient(selfSigned, { sslStartMode: 2 });
    const events: boolean[] = [];
    m.on("SSLServerAuthentication", (e) => events.push(e.accept));
    const err = await rejectsWith(m.send(), ErrorCode.TlsCertUntrusted);
    expect(err.message).toMatch(/self-signed/);
    expect(err.message).not.toMatch(/not verified: opportunistic/);
    expect(events).toEqual([false]);
    expect(selfSigned.mailCommands.length).toBe(before);
  });

  it("SSLEnabled true (SSLStartMode 0) with a self-signed certificate: 273", async () => {
    const before = selfSigned.mailCommands.length;
    await rejectsWith(defaultClient(selfSigned, { sslEnabled: true }).m.send(), ErrorCode.TlsCertUntrusted);
    expect(selfSigned.mailCommands.length).toBe(before);
  });

  it("SSLStartMode 2 with an expired certificate: 272; with another host's: 274", async () => {
    const trustCa = { settings: { SSLCACerts: readFixture("ca.pem").toString("utf8") } };
    await rejectsWith(defaultClient(expired, { sslStartMode: 2, ...trustCa }).m.send(), ErrorCode.TlsCertExpired);
    await rejectsWith(defaultClient(wrongHost, { sslStartMode: 2, ...trustCa }).m.send(), ErrorCode.TlsHostMismatch);
  });
});

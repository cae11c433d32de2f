/**
 * AUTH against real servers from Debian: aiosmtpd (STARTTLS / SMTPS with
 * AUTH PLAIN and LOGIN, a message actually stored) and Postfix with Cyrus
 * SASL verifying every mechanism smtpkit speaks against a sasldb2.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, type Smtp } from "../../src/index.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";
import { client, record, rejectsWith } from "../support/client.js";
import { readFixture } from "../support/tls-fixtures.js";
import { startAiosmtpd, type AiosmtpdPeer } from "../support/peers/aiosmtpd.js";
import { ALL_CYRUS_MECHANISMS, startPostfixSasl, type PostfixSaslPeer } from "../support/peers/postfix-sasl.js";

const CA = readFixture("ca.pem").toString("utf8");
const USER = "alice";
const PASSWORD = "c0rrect-h0rse:battery staple";

function peerClient(port: number, options: SmtpOptions = {}): Smtp {
  return client(port, {
    user: USER,
    password: PASSWORD,
    sslStartMode: 2,
    timeout: 15,
    ...options,
    settings: { SSLCACerts: CA, ...options.settings },
  });
}

describe("aiosmtpd (STARTTLS, AUTH PLAIN / LOGIN)", () => {
  let peer: AiosmtpdPeer;

  beforeAll(async () => {
    peer = await startAiosmtpd({ user: USER, password: PASSWORD, requireTls: true, smtps: true });
  });
  afterAll(async () => {
    await peer?.stop();
  });

  it.each([
    [4, "PLAIN"],
    [0, "PLAIN"],
    [11, "PLAIN"],
  ] as const)("AuthMechanism %i logs in with %s over STARTTLS and the message is stored", async (mechanism, expected) => {
    const before = (await peer.messages()).length;
    const m = peerClient(peer.port, { authMechanism: mechanism, sendTo: `rcpt-${mechanism}@example.test`, subject: `aiosmtpd ${mechanism}` });
    const r = record(m);
    const result = await m.send();
    expect(result).toMatchObject({ replyCode: 250, accepted: [`rcpt-${mechanism}@example.test`], rejected: [] });
    expect(result.messageBytes).toBeGreaterThan(0);
    expect(r.sent()).toContain(`AUTH ${expected} ****`);
    expect(r.sent().indexOf("STARTTLS")).toBeLessThan(r.sent().findIndex((l) => l.startsWith("AUTH")));
    const messages = await peer.messages();
    expect(messages.length).toBe(before + 1);
    const msg = messages[before]!;
    expect(msg).toMatchObject({ mailFrom: "sender@example.com", rcptTos: [`rcpt-${mechanism}@example.test`], tls: true, authLogin: USER, listener: "starttls" });
    expect(msg.data.toString("utf8")).toMatch(new RegExp(`^Subject: aiosmtpd ${mechanism}\\r$`, "m"));
  });

  it("implicit TLS (SSLStartMode 1) on the SMTPS port with AUTH PLAIN: the message is stored", async () => {
    const before = (await peer.messages()).length;
    const m = peerClient(peer.smtpsPort!, { sslStartMode: 1, authMechanism: 4 });
    await m.send();
    const msg = (await peer.messages())[before];
    expect(msg).toMatchObject({ listener: "smtps", tls: true, authLogin: USER, rcptTos: ["rcpt@example.com"] });
  });

  it("a wrong password fails with 620 / 535 and nothing is stored", async () => {
    const before = (await peer.messages()).length;
    const err = await rejectsWith(peerClient(peer.port, { authMechanism: 4, password: "wrong" }).send(), ErrorCode.Auth);
    expect(err.replyCode).toBe(535);
    expect(err.isAuth()).toBe(true);
    expect((await peer.messages()).length).toBe(before);
  });

  it("without STARTTLS (SSLStartMode 3) aiosmtpd offers no AUTH: 624 with a STARTTLS hint, and AUTH is never sent", async () => {
    const m = peerClient(peer.port, { sslStartMode: 3 });
    const r = record(m);
    const err = await rejectsWith(m.send(), ErrorCode.AuthNotOffered);
    expect(err.message).toMatch(/STARTTLS/);
    expect(r.sent().some((l) => l.startsWith("AUTH"))).toBe(false);
  });
});

describe("Postfix + Cyrus SASL (sasldb2)", () => {
  let all: PostfixSaslPeer;
  let loginOnly: PostfixSaslPeer;

  beforeAll(async () => {
    [all, loginOnly] = await Promise.all([
      startPostfixSasl({ user: USER, password: PASSWORD, mechanisms: [...ALL_CYRUS_MECHANISMS], tls: true }),
      startPostfixSasl({ user: USER, password: PASSWORD, mechanisms: ["LOGIN"], tls: true }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([all?.stop(), loginOnly?.stop()]);
  });

  const cases = [
    [1, "CRAM-MD5"],
    [2, "NTLM"],
    [4, "PLAIN"],
    [5, "DIGEST-MD5"],
    [9, "SCRAM-SHA-1"],
    [10, "SCRAM-SHA-256"],
    [0, "PLAIN"],
    [11, "SCRAM-SHA-256"],
  ] as const;

  /** The PITrail of a failed attempt and the Postfix log, for a useful failure message. */
  function diagnostics(trail: string[], peer: PostfixSaslPeer): string {
    return `\n--- PITrail ---\n${trail.join("\n")}\n--- postfix log ---\n${peer.log().split("\n").slice(-25).join("\n")}`;
  }

  it.each(cases)("AuthMechanism %i (%s) with the right password: AUTH 235 and the message is accepted (250)", async (mechanism, expected) => {
    const m = peerClient(all.port, { authMechanism: mechanism, mailServer: "localhost" });
    const trail: string[] = [];
    m.on("PITrail", (e) => trail.push(`${e.direction} ${e.message}`));
    let failure: unknown;
    try {
      await m.send();
    } catch (e) {
      failure = e;
    }
    expect(failure, failure instanceof Error ? failure.message + diagnostics(trail, all) : "").toBeUndefined();
    const authAt = trail.findIndex((t) => t.startsWith(`0 AUTH ${expected}`));
    expect(authAt, trail.join("\n")).toBeGreaterThan(0);
    expect(trail.slice(authAt).some((t) => /^1 235[ -]/.test(t))).toBe(true);
    expect(trail.some((t) => /^1 250 2\.0\.0 Ok: .*queued as /.test(t)), trail.join("\n")).toBe(true);
    const log = await all.waitForLog(new RegExp(`sasl_method=${expected}, sasl_username=${USER}`));
    expect(log).toMatch(new RegExp(`sasl_method=${expected}`));
  });

  it.each(cases)("AuthMechanism %i (%s) with a wrong password fails with 620 / 535", async (mechanism) => {
    const m = peerClient(all.port, { authMechanism: mechanism, mailServer: "localhost", password: "not-the-password" });
    const trail: string[] = [];
    m.on("PITrail", (e) => trail.push(`${e.direction} ${e.message}`));
    const err = await rejectsWith(m.send(), ErrorCode.Auth);
    expect(err.replyCode, err.message + diagnostics(trail, all)).toBe(535);
    expect(trail.some((t) => /^0 MAIL FROM/.test(t))).toBe(false);
  });

  it("DIGEST-MD5 and NTLM also work when MailServer is an IP address (digest-uri smtp/127.0.0.1)", async () => {
    for (const mechanism of [5, 2] as const) {
      const m = peerClient(all.port, { authMechanism: mechanism, mailServer: "127.0.0.1" });
      const r = record(m);
      await m.send();
      expect(r.trail.some((t) => t.direction === 1 && /^235 /.test(t.message))).toBe(true);
    }
  });

  it("LOGIN: AuthMechanism 0 uses LOGIN when the server offers only LOGIN; wrong password 620 / 535", async () => {
    const m = peerClient(loginOnly.port, { authMechanism: 0 });
    const r = record(m);
    await m.send();
    expect(r.sent()).toContain("AUTH LOGIN");
    await loginOnly.waitForLog(/sasl_method=LOGIN, sasl_username=alice/);

    const err = await rejectsWith(peerClient(loginOnly.port, { authMechanism: 0, password: "nope" }).send(), ErrorCode.Auth);
    expect(err.replyCode).toBe(535);
  });

  it("with smtpd_tls_auth_only Postfix offers no AUTH before STARTTLS: SSLStartMode 3 gives 624", async () => {
    const err = await rejectsWith(peerClient(all.port, { sslStartMode: 3 }).send(), ErrorCode.AuthNotOffered);
    expect(err.message).toMatch(/STARTTLS|SSLStartMode/);
  });
});

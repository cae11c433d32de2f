/**
 * SMTP AUTH against smtp-server over STARTTLS (test CA trusted): each
 * mechanism smtp-server verifies, the automatic choices, local refusals
 * (621-624), wrong credentials, AUTH in clear text, authenticate() after
 * connect(), XOAUTH2 token refresh, and credential masking in PITrail.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, type Smtp } from "../../src/index.js";
import type { SmtpOptions } from "../../src/schema/accessor-types.js";
import { client, record, rejectsWith } from "../support/client.js";
import { readFixture } from "../support/tls-fixtures.js";
import { EXPIRED_TOKEN_JSON, startSmtpServer, type Harness } from "../support/smtp-server-harness.js";

const CA = readFixture("ca.pem").toString("utf8");
const USER = "alice@example.test";
const PASSWORD = "Tr0ub4dor&3-horse-staple";
const TOKEN = "ya29.fresh-access-token-0123456789";
const EXPIRED_TOKEN = "ya29.expired-access-token-9876543210";

const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

/** A client for `port` that trusts the test CA and logs in as USER. */
function authClient(port: number, options: SmtpOptions = {}): Smtp {
  return client(port, { user: USER, password: PASSWORD, sslStartMode: 2, ...options, settings: { SSLCACerts: CA, ...options.settings } });
}

let all: Harness; // PLAIN LOGIN CRAM-MD5 XOAUTH2 over STARTTLS
let loginOnly: Harness;
let plainLogin: Harness;
let noAuth: Harness;
let insecureOk: Harness; // takes AUTH before STARTTLS

beforeAll(async () => {
  const users = { [USER]: PASSWORD };
  const tokens = { [USER]: TOKEN };
  [all, loginOnly, plainLogin, noAuth, insecureOk] = await Promise.all([
    startSmtpServer({ mode: "starttls", authMethods: ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"], users, tokens }),
    startSmtpServer({ mode: "starttls", authMethods: ["LOGIN"], users }),
    startSmtpServer({ mode: "starttls", authMethods: ["PLAIN", "LOGIN"], users }),
    startSmtpServer({ mode: "starttls" }),
    startSmtpServer({ mode: "starttls", authMethods: ["PLAIN", "LOGIN"], users, allowInsecureAuth: true }),
  ]);
});

afterAll(async () => {
  await Promise.all([all, loginOnly, plainLogin, noAuth, insecureOk].filter(Boolean).map((s) => s.close()));
});

/** Sends with `m` and returns the AUTH attempts `server` saw during it. */
async function sendAndSeeAuths(m: Smtp, server: Harness): Promise<Harness["auths"]> {
  const before = server.auths.length;
  const received = server.received.length;
  await m.send();
  expect(server.received.length).toBe(received + 1);
  expect(server.received[received]?.user).toBe(USER);
  return server.auths.slice(before);
}

describe("each mechanism smtp-server verifies", () => {
  it.each([
    [4, "PLAIN"],
    [0, "PLAIN"],
    [1, "CRAM-MD5"],
    [11, "CRAM-MD5"],
  ] as const)("AuthMechanism %i logs in with %s", async (mechanism, expected) => {
    const m = authClient(all.port, { authMechanism: mechanism });
    const r = record(m);
    const auths = await sendAndSeeAuths(m, all);
    expect(auths).toEqual([expect.objectContaining({ method: expected, username: USER, secure: true, accepted: true })]);
    expect(r.sent().find((l) => l.startsWith("AUTH "))).toMatch(new RegExp(`^AUTH ${expected}\\b`));
  });

  it("LOGIN: AuthMechanism 0 picks LOGIN when only LOGIN is offered", async () => {
    const m = authClient(loginOnly.port, { authMechanism: 0 });
    const auths = await sendAndSeeAuths(m, loginOnly);
    expect(auths).toEqual([expect.objectContaining({ method: "LOGIN", username: USER, password: PASSWORD, accepted: true })]);
  });

  it("AuthMechanism 11 picks PLAIN over LOGIN when those are all that is offered", async () => {
    const auths = await sendAndSeeAuths(authClient(plainLogin.port, { authMechanism: 11 }), plainLogin);
    expect(auths.map((a) => a.method)).toEqual(["PLAIN"]);
  });

  it("XOAUTH2 (7) with the token in config AuthorizationIdentity (a leading \"Bearer \" is accepted)", async () => {
    const m = authClient(all.port, { authMechanism: 7, password: "", settings: { AuthorizationIdentity: `Bearer ${TOKEN}` } });
    const auths = await sendAndSeeAuths(m, all);
    expect(auths).toEqual([expect.objectContaining({ method: "XOAUTH2", username: USER, accessToken: TOKEN, accepted: true })]);
  });

  it("XOAUTH2 (7) with the token in Password", async () => {
    const m = authClient(all.port, { authMechanism: 7, password: TOKEN });
    const auths = await sendAndSeeAuths(m, all);
    expect(auths).toEqual([expect.objectContaining({ method: "XOAUTH2", username: USER, accessToken: TOKEN, accepted: true })]);
  });
});

describe("refused locally", () => {
  it("a mechanism the server does not offer fails with 621 and the message lists what it offers", async () => {
    const before = plainLogin.auths.length;
    const mails = plainLogin.mailCommands.length;
    const err = await rejectsWith(authClient(plainLogin.port, { authMechanism: 1 }).send(), ErrorCode.AuthMechanismNotOffered);
    expect(err.message).toMatch(/CRAM-MD5/);
    expect(err.message).toMatch(/PLAIN, LOGIN/);
    await rejectsWith(authClient(plainLogin.port, { authMechanism: 10 }).send(), ErrorCode.AuthMechanismNotOffered);
    await rejectsWith(authClient(loginOnly.port, { authMechanism: 4 }).send(), ErrorCode.AuthMechanismNotOffered);
    expect(plainLogin.auths.length).toBe(before);
    expect(plainLogin.mailCommands.length).toBe(mails);
  });

  it.each([3, 6] as const)("AuthMechanism %i (APOP / Kerberos) fails with 623", async (mechanism) => {
    const before = all.auths.length;
    const err = await rejectsWith(authClient(all.port, { authMechanism: mechanism }).send(), ErrorCode.AuthMechanismNotApplicable);
    expect(err.message).toMatch(mechanism === 3 ? /APOP/ : /Kerberos/);
    expect(all.auths.length).toBe(before);
  });

  it("User set but the server offers no AUTH: 624", async () => {
    const err = await rejectsWith(authClient(noAuth.port).send(), ErrorCode.AuthNotOffered);
    expect(err.isAuth()).toBe(true);
    expect(noAuth.mailCommands).toHaveLength(0);
  });

  it("without TLS (SSLStartMode 3) AUTH is refused with 622 and never sent", async () => {
    const before = all.auths.length;
    const mails = all.mailCommands.length;
    const m = authClient(all.port, { sslStartMode: 3 });
    const r = record(m);
    const err = await rejectsWith(m.send(), ErrorCode.AuthNeedsTls);
    expect(err.message).toMatch(/AllowCleartextAuth/);
    expect(r.sent().some((l) => l.startsWith("AUTH"))).toBe(false);
    expect(all.auths.length).toBe(before);
    expect(all.mailCommands.length).toBe(mails);
  });

  it("with config AllowCleartextAuth=true AUTH goes out in clear text", async () => {
    const m = authClient(insecureOk.port, { sslStartMode: 3, settings: { AllowCleartextAuth: true } });
    const auths = await sendAndSeeAuths(m, insecureOk);
    expect(auths).toEqual([expect.objectContaining({ method: "PLAIN", username: USER, secure: false, accepted: true })]);
  });
});

describe("refused by the server", () => {
  it("a wrong password fails with 620, reply code 535 and the server's text", async () => {
    const before = all.mailCommands.length;
    const m = authClient(all.port, { authMechanism: 4, password: "wrong-password" });
    const err = await rejectsWith(m.send(), ErrorCode.Auth);
    expect(err.replyCode).toBe(535);
    expect(err.message).toContain("bad credentials for test server");
    expect(err.lastReply).toMatch(/^535 /);
    expect(err.isAuth()).toBe(true);
    expect(err.message).not.toContain("wrong-password");
    expect(all.mailCommands.length).toBe(before);
    expect(m.getConnected()).toBe(false);
  });

  it.each([[0, () => loginOnly], [1, () => all]] as const)("a wrong password with AuthMechanism %i also gives 620 / 535", async (mechanism, server) => {
    const err = await rejectsWith(authClient(server().port, { authMechanism: mechanism, password: "wrong-password" }).send(), ErrorCode.Auth);
    expect(err.replyCode).toBe(535);
  });
});

describe("authenticate() after connect()", () => {
  it("logs in on the open connection when User was set after connecting", async () => {
    const connections = all.connections;
    const before = all.auths.length;
    const m = client(all.port, { sslStartMode: 2, settings: { SSLCACerts: CA } });
    await rejectsWith(m.authenticate(), ErrorCode.NotConnected);
    await m.connect();
    expect(all.auths.length).toBe(before);
    await rejectsWith(m.authenticate(), ErrorCode.InvalidValue);
    m.setUser(USER);
    m.setPassword(PASSWORD);
    await m.authenticate();
    expect(all.auths.slice(before)).toEqual([expect.objectContaining({ method: "PLAIN", username: USER, accepted: true })]);
    // Once logged in, a second call is a no-op.
    await m.authenticate();
    expect(all.auths.length).toBe(before + 1);
    const received = all.received.length;
    await m.send();
    expect(all.received[received]?.user).toBe(USER);
    await m.disconnect();
    expect(all.connections).toBe(connections + 1);
  });
});

describe("XOAUTH2 token refresh", () => {
  it("an expired token calls tokenRefresher with {user, mechanism, reply}; the new token logs in", async () => {
    const before = all.auths.length;
    const m = authClient(all.port, { authMechanism: 7, password: "", settings: { AuthorizationIdentity: EXPIRED_TOKEN } });
    const requests: unknown[] = [];
    m.tokenRefresher = async (req) => {
      requests.push(req);
      return TOKEN;
    };
    const r = record(m);
    const received = all.received.length;
    await m.send();
    expect(requests).toEqual([{ user: USER, mechanism: "XOAUTH2", reply: expect.stringMatching(/^535 /) }]);
    expect(all.auths.slice(before).map((a) => [a.accessToken, a.accepted])).toEqual([
      [EXPIRED_TOKEN, false],
      [TOKEN, true],
    ]);
    expect(all.received[received]?.user).toBe(USER);
    // The server's error JSON was answered; the token never shows in PITrail.
    const trail = r.trail.map((t) => t.message).join("\n");
    expect(trail).toContain(Buffer.from(JSON.stringify(EXPIRED_TOKEN_JSON)).toString("base64"));
    expect(trail).not.toContain(TOKEN);
    expect(trail).not.toContain(EXPIRED_TOKEN);
  });

  it("a tokenRefresher that returns undefined gives up: 620", async () => {
    const m = authClient(all.port, { authMechanism: 7, password: EXPIRED_TOKEN });
    let calls = 0;
    m.tokenRefresher = () => {
      calls++;
      return undefined;
    };
    const err = await rejectsWith(m.send(), ErrorCode.Auth);
    expect(calls).toBe(1);
    expect(err.replyCode).toBe(535);
  });

  it("without a tokenRefresher an expired token fails with 620", async () => {
    const err = await rejectsWith(authClient(all.port, { authMechanism: 7, password: EXPIRED_TOKEN }).send(), ErrorCode.Auth);
    expect(err.isAuth()).toBe(true);
  });
});

describe("credentials in PITrail", () => {
  const secrets = [
    PASSWORD,
    TOKEN,
    b64(`\0${USER}\0${PASSWORD}`), // PLAIN initial response
    b64(USER), // LOGIN user name
    b64(PASSWORD), // LOGIN password
    b64(`user=${USER}\x01auth=Bearer ${TOKEN}\x01\x01`), // XOAUTH2 initial response
  ];

  /** Logs in with PLAIN, LOGIN, CRAM-MD5 and XOAUTH2 and returns every PITrail message. */
  async function trailOfAllMechanisms(logCredentials: boolean): Promise<string[]> {
    const messages: string[] = [];
    const runs: [Harness, SmtpOptions][] = [
      [all, { authMechanism: 4 }],
      [loginOnly, { authMechanism: 0 }],
      [all, { authMechanism: 1 }],
      [all, { authMechanism: 7, password: TOKEN }],
    ];
    for (const [server, options] of runs) {
      const m = authClient(server.port, { ...options, settings: { LogCredentials: logCredentials } });
      m.on("PITrail", (e) => messages.push(e.message));
      await m.send();
    }
    return messages;
  }

  it("never contain the password, the token, or their base64 forms; AUTH lines show ****", async () => {
    const messages = await trailOfAllMechanisms(false);
    for (const secret of secrets) {
      expect(messages.filter((msg) => msg.includes(secret)), `PITrail shows ${JSON.stringify(secret)}`).toEqual([]);
    }
    expect(messages).toContain("AUTH PLAIN ****");
    expect(messages).toContain("AUTH XOAUTH2 ****");
    expect(messages).toContain("AUTH LOGIN");
    expect(messages).toContain("AUTH CRAM-MD5");
    expect(messages.filter((msg) => msg === "****").length).toBeGreaterThanOrEqual(3); // LOGIN x2, CRAM-MD5
  });

  it("with config LogCredentials=true they do appear", async () => {
    const messages = await trailOfAllMechanisms(true);
    const all = messages.join("\n");
    for (const secret of secrets.slice(2)) expect(all).toContain(secret);
    expect(messages).toContain(`AUTH PLAIN ${b64(`\0${USER}\0${PASSWORD}`)}`);
    expect(all).not.toContain("****");
  });
});

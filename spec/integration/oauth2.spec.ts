/**
 * The built-in OAuth2 token provider against a token endpoint on 127.0.0.1
 * (a real HTTP server speaking RFC 6749 §6) and smtp-server taking XOAUTH2
 * over STARTTLS: the first token is fetched when AUTH needs one, cached,
 * fetched anew on the server's refusal, rotated refresh tokens reported;
 * endpoint refusals and outages are typed errors that hold no secret. Also
 * the `logger` option, whose records must never hold a token either.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, OAuth2TokenProvider, Smtp, type SmtpOptions } from "../../src/index.js";
import type { SmtpHooks } from "../../src/smtp.js";
import { rejectsWith } from "../support/client.js";
import { readFixture } from "../support/tls-fixtures.js";
import { startSmtpServer, type Harness } from "../support/smtp-server-harness.js";

const CA = readFixture("ca.pem").toString("utf8");
const USER = "alice@example.test";
const CLIENT_ID = "client-id-123";
const CLIENT_SECRET = "client-secret-do-not-leak";
const REFRESH = "1//refresh-token-do-not-leak";

interface Endpoint {
  url: string;
  requests: Record<string, string>[];
  /** What the next requests get. */
  answer: (form: Record<string, string>, n: number) => { status: number; body: unknown };
  close(): Promise<void>;
}

function startEndpoint(): Promise<Endpoint> {
  const requests: Record<string, string>[] = [];
  const endpoint: Endpoint = {
    url: "",
    requests,
    answer: (_form, n) => ({ status: 200, body: { access_token: `token-${n}`, token_type: "Bearer", expires_in: 3599 } }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = "";
    req.setEncoding("utf8").on("data", (c: string) => (text += c));
    req.on("end", () => {
      const form = Object.fromEntries(new URLSearchParams(text));
      form["content-type"] = req.headers["content-type"] ?? "";
      requests.push(form);
      const { status, body } = endpoint.answer(form, requests.length);
      res.writeHead(status, { "content-type": "application/json" }).end(typeof body === "string" ? body : JSON.stringify(body));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
      resolve(endpoint);
    });
  });
}

let smtp: Harness;
let endpoint: Endpoint;
/** The one token smtp-server accepts for USER; tests move it to play a revoked token. */
const tokens: Record<string, string> = { [USER]: "token-1" };

beforeAll(async () => {
  [smtp, endpoint] = await Promise.all([startSmtpServer({ mode: "starttls", authMethods: ["PLAIN", "XOAUTH2"], tokens }), startEndpoint()]);
});

afterAll(async () => {
  await Promise.all([smtp?.close(), endpoint?.close()]);
});

function reset(answer?: Endpoint["answer"]): void {
  endpoint.requests.length = 0;
  endpoint.answer = answer ?? ((_form, n) => ({ status: 200, body: { access_token: `token-${n}`, token_type: "Bearer", expires_in: 3599 } }));
  tokens[USER] = "token-1";
}

function mailer(options: SmtpOptions & SmtpHooks): Smtp {
  return new Smtp({
    mailServer: "127.0.0.1",
    mailPort: smtp.port,
    timeout: 10,
    sslStartMode: 2,
    user: USER,
    from: USER,
    sendTo: "rcpt@example.com",
    subject: "oauth2",
    messageText: "hello\r\n",
    settings: { SSLCACerts: CA },
    ...options,
  });
}

const oauth2 = { tokenUrl: "", clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, refreshToken: REFRESH };
const provider = (extra: Partial<typeof oauth2> = {}): typeof oauth2 => ({ ...oauth2, tokenUrl: endpoint.url, ...extra });

describe("the oauth2 option", () => {
  it("fetches the first token when AUTH needs one (refresh_token grant) and logs in with XOAUTH2", async () => {
    reset();
    const m = mailer({ oauth2: provider() });
    expect(m.getAuthMechanism()).toBe(7);
    const auths = smtp.auths.length;
    await m.send();
    expect(endpoint.requests).toEqual([
      { grant_type: "refresh_token", refresh_token: REFRESH, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, "content-type": "application/x-www-form-urlencoded" },
    ]);
    expect(smtp.auths.slice(auths)).toEqual([expect.objectContaining({ method: "XOAUTH2", username: USER, accessToken: "token-1", accepted: true })]);
  });

  it("keeps the token until it expires: two sends, one request", async () => {
    reset();
    const m = mailer({ oauth2: provider() });
    await m.send();
    await m.send();
    expect(endpoint.requests).toHaveLength(1);
  });

  it("a token about to expire (expires_in under a minute) is fetched again for the next login", async () => {
    reset((_form, n) => ({ status: 200, body: { access_token: "token-1", expires_in: 30 + n } }));
    const m = mailer({ oauth2: provider() });
    await m.send();
    await m.send();
    expect(endpoint.requests).toHaveLength(2);
  });

  it("a token the server refuses is replaced once: a new one from the endpoint, and the login succeeds", async () => {
    reset();
    const m = mailer({ oauth2: provider() });
    await m.send();
    tokens[USER] = "token-2"; // the server no longer takes token-1
    const auths = smtp.auths.length;
    await m.send();
    expect(endpoint.requests).toHaveLength(2);
    expect(smtp.auths.slice(auths).map((a) => [a.accessToken, a.accepted])).toEqual([["token-1", false], ["token-2", true]]);
  });

  it("a rotated refresh token is reported and used for the next request", async () => {
    reset((form, n) => ({ status: 200, body: { access_token: `token-${n}`, expires_in: 1, refresh_token: `${form["refresh_token"]}-r${n}` } }));
    const rotated: string[] = [];
    const m = mailer({ oauth2: { ...provider(), onRefreshToken: (t: string) => rotated.push(t) } });
    await m.send();
    tokens[USER] = "token-2";
    await m.send();
    expect(rotated).toEqual([`${REFRESH}-r1`, `${REFRESH}-r1-r2`]);
    expect(endpoint.requests.map((r) => r["refresh_token"])).toEqual([REFRESH, `${REFRESH}-r1`]);
  });

  it("the endpoint refusing the refresh token (invalid_grant): 625 with a hint, no AUTH sent, no secret in the error", async () => {
    reset(() => ({ status: 400, body: { error: "invalid_grant", error_description: "Token has been expired or revoked." } }));
    const m = mailer({ oauth2: provider() });
    const auths = smtp.auths.length;
    const err = await rejectsWith(m.send(), ErrorCode.OAuthToken);
    expect(err.message).toContain("HTTP 400, invalid_grant: Token has been expired or revoked.");
    expect(err.hint).toMatch(/sign in again/);
    expect(smtp.auths.length).toBe(auths);
    expect(JSON.stringify({ m: err.message, h: err.hint, s: err.stack })).not.toMatch(/do-not-leak/);
  });

  it("an answer without access_token, or not JSON: 625", async () => {
    reset(() => ({ status: 200, body: "<html>proxy login</html>" }));
    const err = await rejectsWith(mailer({ oauth2: provider() }).send(), ErrorCode.OAuthToken);
    expect(err.message).toContain("the answer is not JSON");
    reset(() => ({ status: 200, body: { token_type: "Bearer" } }));
    const err2 = await rejectsWith(mailer({ oauth2: provider() }).send(), ErrorCode.OAuthToken);
    expect(err2.message).toContain("no access_token");
  });

  it("the endpoint down: 625 naming the endpoint and the cause, promptly", async () => {
    const dead = await startEndpoint();
    const url = dead.url;
    await dead.close();
    const err = await rejectsWith(mailer({ oauth2: provider({ tokenUrl: url }) }).send(), ErrorCode.OAuthToken);
    expect(err.message).toContain(`the OAuth2 token endpoint ${url} could not be reached`);
    expect(err.message).toContain("ECONNREFUSED");
    expect(err.message).not.toMatch(/do-not-leak/);
  });

  it("a hostile endpoint: an endless answer is cut at 64 KiB (625, not JSON); one that never answers times out (625)", async () => {
    const hostile = createServer((req, res) => {
      req.resume();
      if (req.url === "/endless") {
        res.writeHead(200, { "content-type": "application/json" });
        const chunk = Buffer.alloc(16 * 1024, 0x41);
        const pump = (): void => {
          while (res.write(chunk)) {
            /* fill the socket buffer */
          }
          res.once("drain", pump);
        };
        res.on("error", () => undefined);
        pump();
      }
      // /silent: never answered
    });
    await new Promise<void>((resolve) => hostile.listen(0, "127.0.0.1", () => resolve()));
    const base = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
    try {
      const endless = await rejectsWith(new OAuth2TokenProvider({ ...oauth2, tokenUrl: `${base}/endless` }).accessToken(), ErrorCode.OAuthToken);
      expect(endless.message).toContain("the answer is not JSON");
      const silent = await rejectsWith(new OAuth2TokenProvider({ ...oauth2, tokenUrl: `${base}/silent`, timeout: 1 }).accessToken(), ErrorCode.OAuthToken);
      expect(silent.message).toContain("no answer within 1 s");
    } finally {
      hostile.closeAllConnections();
      await new Promise<void>((resolve) => hostile.close(() => resolve()));
    }
  });

  it("bad options are refused at once (601): plain http off this machine, no client id, both oauth2 and tokenRefresher", () => {
    const code = (f: () => unknown): number | undefined => {
      try {
        f();
      } catch (e) {
        return (e as { code?: number }).code;
      }
      return undefined;
    };
    expect(code(() => new OAuth2TokenProvider({ ...oauth2, tokenUrl: "http://auth.example.com/token" }))).toBe(ErrorCode.InvalidValue);
    expect(code(() => new OAuth2TokenProvider({ ...oauth2, tokenUrl: endpoint.url, clientId: "" }))).toBe(ErrorCode.InvalidValue);
    expect(code(() => new OAuth2TokenProvider({ clientId: "x", refreshToken: "y" }))).toBe(ErrorCode.InvalidValue);
    expect(code(() => new OAuth2TokenProvider({ clientId: "x", refreshToken: "y", provider: "google", tenant: "contoso.onmicrosoft.com" }))).toBe(ErrorCode.InvalidValue);
    expect(code(() => mailer({ oauth2: provider(), tokenRefresher: () => "t" }))).toBe(ErrorCode.InvalidValue);
    expect(code(() => new OAuth2TokenProvider({ clientId: "x", refreshToken: "y", provider: "microsoft", tenant: "contoso.onmicrosoft.com" }))).toBeUndefined();
  });

  it("callers asking at once share one request", async () => {
    reset();
    const p = new OAuth2TokenProvider(provider());
    const tokens3 = await Promise.all([p.accessToken(), p.accessToken(), p.refresh()]);
    expect(tokens3).toEqual(["token-1", "token-1", "token-1"]);
    expect(endpoint.requests).toHaveLength(1);
  });
});

describe("tokenRefresher in the constructor options", () => {
  it("is asked for the first token when none is set (reply empty), then after a refusal (reply set)", async () => {
    reset();
    const asked: { reply: string; mechanism: string }[] = [];
    const m = mailer({
      authMechanism: 7,
      // A stale token first: the server refuses it, and the refresher is asked again with the refusal.
      tokenRefresher: ({ reply, mechanism }) => {
        asked.push({ reply, mechanism });
        return reply === "" ? "stale-token" : "token-1";
      },
    });
    const auths = smtp.auths.length;
    await m.send();
    expect(asked.map((a) => [a.mechanism, a.reply === "" ? "first" : a.reply.slice(0, 4)])).toEqual([["XOAUTH2", "first"], ["XOAUTH2", "535 "]]);
    expect(smtp.auths.slice(auths).map((a) => [a.accessToken, a.accepted])).toEqual([["stale-token", false], ["token-1", true]]);
  });
});

describe("the logger option", () => {
  it("gets the trace as debug records, connection news as info and a failure as error, with no token in any record", async () => {
    reset();
    const records: { level: string; record: Record<string, unknown>; message: string }[] = [];
    const at = (level: string) => (record: Record<string, unknown>, message: string): void => {
      records.push({ level, record, message });
    };
    const m = mailer({ oauth2: provider(), logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") } });
    await m.send();
    const trace = records.filter((r) => r.record["event"] === "PITrail").map((r) => r.message);
    expect(trace).toContain("C: AUTH XOAUTH2 ****");
    expect(trace.some((l) => /^S: 235/.test(l))).toBe(true);
    expect(records.some((r) => r.level === "info" && r.record["event"] === "ConnectionStatus")).toBe(true);
    expect(records.every((r) => r.record["component"] === "smtpkit")).toBe(true);
    expect(JSON.stringify(records)).not.toMatch(/token-1|do-not-leak/);

    const refused = records.length;
    m.setSendTo("reject@example.com");
    await rejectsWith(m.send(), ErrorCode.Protocol);
    const after = records.slice(refused);
    expect(after.some((r) => r.level === "warn" && r.record["event"] === "RecipientStatus" && r.record["address"] === "reject@example.com")).toBe(true);
    const failure = after.find((r) => r.level === "error");
    expect(failure?.record).toMatchObject({ component: "smtpkit", code: ErrorCode.Protocol, replyCode: 550 });
    expect(failure?.message).toContain("reject@example.com");
  });

  it("a logger without the four methods is refused at construction", () => {
    expect(() => new Smtp({ logger: { info: () => undefined } as never })).toThrow(/debug, info, warn and error/);
  });
});

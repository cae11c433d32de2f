/**
 * The Debian test peers themselves, driven with raw SMTP over node:net / node:tls (no smtpkit):
 * proves the harnesses in spec/support/peers/ really listen, offer what they claim and verify
 * credentials, so a failing smtpkit AUTH/TLS spec points at smtpkit, not at the peer.
 */
import { createHmac, pbkdf2Sync, createHash, randomBytes } from "node:crypto";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAiosmtpd, type AiosmtpdPeer } from "../support/peers/aiosmtpd.js";
import { ALL_CYRUS_MECHANISMS, startPostfixSasl, type PostfixSaslPeer } from "../support/peers/postfix-sasl.js";
import { fingerprint256, readFixture, serverFingerprint256, tlsFixtures } from "../support/tls-fixtures.js";

const USER = "alice";
const PASSWORD = "s3cret pass\u00e9"; // a space and a non-ASCII character on purpose

interface Reply {
  code: number;
  lines: string[];
}

/** Minimal SMTP conversation over a socket that can be upgraded with STARTTLS. */
class RawSmtp {
  private buf = "";
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly onData = (d: Buffer) => {
    this.buf += d.toString("utf8");
    this.wake?.();
  };
  private readonly onEnd = () => {
    this.closed = true;
    this.wake?.();
  };

  private constructor(private sock: Socket | TLSSocket) {
    this.attach(sock);
  }

  static async open(port: number, implicitTls = false): Promise<RawSmtp> {
    const sock = implicitTls
      ? tlsConnect({ host: "127.0.0.1", port, servername: "localhost", ca: readFixture("ca.pem") })
      : netConnect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      sock.once(implicitTls ? "secureConnect" : "connect", () => resolve());
      sock.once("error", reject);
    });
    return new RawSmtp(sock);
  }

  get socket(): Socket | TLSSocket {
    return this.sock;
  }

  private attach(sock: Socket | TLSSocket): void {
    sock.on("data", this.onData);
    sock.on("end", this.onEnd);
    sock.on("close", this.onEnd);
    sock.on("error", this.onEnd);
  }

  async reply(): Promise<Reply> {
    for (;;) {
      const lines: string[] = [];
      let rest = this.buf;
      for (;;) {
        const nl = rest.indexOf("\r\n");
        if (nl < 0) break;
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 2);
        lines.push(line);
        if (line.length < 4 || line[3] === " ") {
          this.buf = rest;
          return { code: Number.parseInt(line.slice(0, 3), 10), lines };
        }
      }
      if (this.closed) throw new Error(`connection closed; pending: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }

  async cmd(line: string): Promise<Reply> {
    this.sock.write(`${line}\r\n`);
    return this.reply();
  }

  async ehlo(): Promise<string[]> {
    const r = await this.cmd("EHLO client.smtpkit.test");
    expect(r.code).toBe(250);
    return r.lines.map((l) => l.slice(4));
  }

  async startTls(): Promise<TLSSocket> {
    const r = await this.cmd("STARTTLS");
    expect(r.code).toBe(220);
    const plain = this.sock;
    plain.off("data", this.onData);
    plain.off("end", this.onEnd);
    plain.off("close", this.onEnd);
    plain.off("error", this.onEnd);
    const secure = tlsConnect({ socket: plain, servername: "localhost", ca: readFixture("ca.pem") });
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", () => resolve());
      secure.once("error", reject);
    });
    this.sock = secure;
    this.attach(secure);
    return secure;
  }

  close(): void {
    this.sock.destroy();
  }
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");
const authPlain = (user: string, pass: string) => `AUTH PLAIN ${b64(`\0${user}\0${pass}`)}`;
const authKeywords = (ehlo: string[]) =>
  ehlo.find((l) => /^AUTH /i.test(l))?.slice(5).trim().split(/\s+/) ?? [];

describe("test peers (raw SMTP, no smtpkit)", () => {
  let aio: AiosmtpdPeer;
  let pf: PostfixSaslPeer;
  let pfTls: PostfixSaslPeer;

  beforeAll(async () => {
    [aio, pf, pfTls] = await Promise.all([
      startAiosmtpd({ user: USER, password: PASSWORD, smtps: true, authWithoutTls: true }),
      startPostfixSasl({ user: USER, password: PASSWORD, mechanisms: [...ALL_CYRUS_MECHANISMS] }),
      startPostfixSasl({ user: USER, password: PASSWORD, mechanisms: ["PLAIN", "LOGIN"], tls: true }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([aio?.stop(), pf?.stop(), pfTls?.stop()]);
  });

  it("fixture fingerprints are computed at run time", () => {
    expect(serverFingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(fingerprint256(tlsFixtures.selfSignedCert)).not.toBe(serverFingerprint256);
  });

  describe("aiosmtpd", () => {
    it("greets, offers STARTTLS, and AUTH only after it", async () => {
      const c = await RawSmtp.open(aio.port);
      try {
        expect((await c.reply()).code).toBe(220);
        const ehlo = await c.ehlo();
        expect(ehlo).toContain("STARTTLS");
        expect(authKeywords(ehlo)).toEqual([]);
        expect((await c.cmd(authPlain(USER, PASSWORD))).code).toBe(538);
        expect((await c.cmd("MAIL FROM:<a@example.test>")).code).toBe(530);

        const secure = await c.startTls();
        expect(secure.authorized).toBe(true);
        expect(secure.getPeerX509Certificate()?.fingerprint256).toBe(serverFingerprint256);
        const ehlo2 = await c.ehlo();
        expect(ehlo2).not.toContain("STARTTLS");
        expect(authKeywords(ehlo2).sort()).toEqual(["LOGIN", "PLAIN"]);
      } finally {
        c.close();
      }
    });

    it("AUTH PLAIN after STARTTLS: 535 with a wrong password, 235 with the right one; records the message", async () => {
      const c = await RawSmtp.open(aio.port);
      try {
        await c.reply();
        await c.ehlo();
        await c.startTls();
        await c.ehlo();
        expect((await c.cmd(authPlain(USER, "wrong"))).code).toBe(535);
        expect((await c.cmd(authPlain(USER, PASSWORD))).code).toBe(235);
        expect((await c.cmd("MAIL FROM:<sender@example.test>")).code).toBe(250);
        expect((await c.cmd("RCPT TO:<rcpt@example.test>")).code).toBe(250);
        expect((await c.cmd("DATA")).code).toBe(354);
        expect((await c.cmd("Subject: peers\r\n\r\n..leading dot\r\nbody\r\n.")).code).toBe(250);
        expect((await c.cmd("QUIT")).code).toBe(221);
      } finally {
        c.close();
      }
      const msgs = await aio.messages();
      const m = msgs.find((x) => x.mailFrom === "sender@example.test");
      expect(m).toBeDefined();
      expect(m!.rcptTos).toEqual(["rcpt@example.test"]);
      expect(m!.data.toString("utf8")).toBe("Subject: peers\r\n\r\n.leading dot\r\nbody\r\n");
      expect(m!.tls).toBe(true);
      expect(m!.authLogin).toBe(USER);
    });

    it("SMTPS port speaks TLS at once; the plain-auth port allows AUTH LOGIN in clear", async () => {
      const s = await RawSmtp.open(aio.smtpsPort!, true);
      try {
        expect((await s.reply()).code).toBe(220);
        expect(authKeywords(await s.ehlo()).sort()).toEqual(["LOGIN", "PLAIN"]);
        expect((await s.cmd(authPlain(USER, PASSWORD))).code).toBe(235);
      } finally {
        s.close();
      }
      const p = await RawSmtp.open(aio.plainAuthPort!);
      try {
        expect((await p.reply()).code).toBe(220);
        const ehlo = await p.ehlo();
        expect(ehlo).not.toContain("STARTTLS");
        expect((await p.cmd("AUTH LOGIN")).code).toBe(334);
        expect((await p.cmd(b64(USER))).code).toBe(334);
        expect((await p.cmd(b64(PASSWORD))).code).toBe(235);
      } finally {
        p.close();
      }
    });
  });

  describe("postfix + Cyrus SASL", () => {
    it("EHLO lists every requested mechanism; AUTH PLAIN 535 wrong / 235 right; unauthenticated relay refused", async () => {
      const c = await RawSmtp.open(pf.port);
      try {
        expect((await c.reply()).code).toBe(220);
        const mechs = authKeywords(await c.ehlo());
        expect([...mechs].sort()).toEqual([...ALL_CYRUS_MECHANISMS].sort());
        expect((await c.cmd("MAIL FROM:<a@example.test>")).code).toBe(250);
        expect((await c.cmd("RCPT TO:<b@example.test>")).code).toBe(554);
        expect((await c.cmd("RSET")).code).toBe(250);
        expect((await c.cmd(authPlain(USER, "wrong"))).code).toBe(535);
        expect((await c.cmd(authPlain(USER, PASSWORD))).code).toBe(235);
        expect((await c.cmd("MAIL FROM:<a@example.test>")).code).toBe(250);
        expect((await c.cmd("RCPT TO:<b@example.test>")).code).toBe(250);
      } finally {
        c.close();
      }
      // Cyrus canonicalises the bare login into the realm (smtpd_sasl_local_domain = localhost).
      await pf.waitForLog(/sasl_method=PLAIN, sasl_username=alice@localhost/);
    });

    it("verifies CRAM-MD5 and SCRAM-SHA-256 computed here", async () => {
      const c = await RawSmtp.open(pf.port);
      try {
        await c.reply();
        await c.ehlo();
        // CRAM-MD5 (RFC 2195)
        const ch = await c.cmd("AUTH CRAM-MD5");
        expect(ch.code).toBe(334);
        const challenge = Buffer.from(ch.lines[0]!.slice(4), "base64");
        const digest = createHmac("md5", PASSWORD).update(challenge).digest("hex");
        expect((await c.cmd(b64(`${USER} ${digest}`))).code).toBe(235);
      } finally {
        c.close();
      }
      const s = await RawSmtp.open(pf.port);
      try {
        await s.reply();
        await s.ehlo();
        // SCRAM-SHA-256 (RFC 5802 / 7677), no channel binding
        const cnonce = randomBytes(18).toString("base64");
        const bare = `n=${USER},r=${cnonce}`;
        const first = await s.cmd(`AUTH SCRAM-SHA-256 ${b64(`n,,${bare}`)}`);
        expect(first.code).toBe(334);
        const serverFirst = Buffer.from(first.lines[0]!.slice(4), "base64").toString("utf8");
        const attrs = Object.fromEntries(serverFirst.split(",").map((kv) => [kv[0]!, kv.slice(2)]));
        expect(attrs.r!.startsWith(cnonce)).toBe(true);
        const salted = pbkdf2Sync(PASSWORD, Buffer.from(attrs.s!, "base64"), Number(attrs.i), 32, "sha256");
        const clientKey = createHmac("sha256", salted).update("Client Key").digest();
        const storedKey = createHash("sha256").update(clientKey).digest();
        const finalBare = `c=biws,r=${attrs.r}`;
        const authMessage = `${bare},${serverFirst},${finalBare}`;
        const sig = createHmac("sha256", storedKey).update(authMessage).digest();
        const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i]!));
        let r = await s.cmd(b64(`${finalBare},p=${proof.toString("base64")}`));
        if (r.code === 334) {
          const serverKey = createHmac("sha256", salted).update("Server Key").digest();
          const expected = createHmac("sha256", serverKey).update(authMessage).digest("base64");
          expect(Buffer.from(r.lines[0]!.slice(4), "base64").toString()).toBe(`v=${expected}`);
          r = await s.cmd("");
        }
        expect(r.code).toBe(235);
      } finally {
        s.close();
      }
    });

    it("with tls: STARTTLS offered, AUTH only after it", async () => {
      const c = await RawSmtp.open(pfTls.port);
      try {
        expect((await c.reply()).code).toBe(220);
        const ehlo = await c.ehlo();
        expect(ehlo).toContain("STARTTLS");
        expect(authKeywords(ehlo)).toEqual([]);
        const secure = await c.startTls();
        expect(secure.authorized).toBe(true);
        expect(secure.getPeerX509Certificate()?.fingerprint256).toBe(serverFingerprint256);
        expect(authKeywords(await c.ehlo()).sort()).toEqual(["LOGIN", "PLAIN"]);
        expect((await c.cmd(authPlain(USER, "wrong"))).code).toBe(535);
        expect((await c.cmd(authPlain(USER, PASSWORD))).code).toBe(235);
      } finally {
        c.close();
      }
    });

    it("instances are separate (own ports, dirs and master processes)", () => {
      expect(pf.port).not.toBe(pfTls.port);
      expect(pf.dir).not.toBe(pfTls.dir);
      expect(pf.pid).not.toBe(pfTls.pid);
    });
  });
});

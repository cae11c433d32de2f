/**
 * The SMTP command types (src/engine/smtp-commands.ts): the line each one
 * prints, its reply class (which replies can answer it at all), the reply
 * that means success and the error for any other; and a group of them
 * written through a real SmtpConnection over TCP, byte for byte.
 */
import { once } from "node:events";
import { createServer, Socket, type AddressInfo, type Server } from "node:net";
import { describe, expect, it } from "vitest";
import { ErrorCode, SmtpError } from "../../src/errors.js";
import { SmtpConnection } from "../../src/engine/connection.js";
import { ReplyParser } from "../../src/engine/reply-parser.js";
import { plausible } from "../../src/engine/reply-expectations.js";
import type { SmtpReply } from "../../src/engine/reply.js";
import { Auth, Bdat, DATA, Ehlo, Expn, Helo, Mail, NOOP, QUIT, Raw, Rcpt, RSET, SASL_CANCEL, SASL_CANCEL_LOGGED, SaslResponse, STARTTLS, Vrfy, type SmtpCommand } from "../../src/engine/smtp-commands.js";

/** One reply as the server sends it, through the real parser. */
function reply(wire: string): SmtpReply {
  const replies = new ReplyParser().push(Buffer.from(wire.endsWith("\r\n") ? wire : `${wire}\r\n`, "latin1"));
  expect(replies).toHaveLength(1);
  return replies[0] as SmtpReply;
}

/** The codes among `codes` that the command takes for success. */
function accepted(command: SmtpCommand, codes: readonly number[]): number[] {
  return codes.filter((code) => command.accepts(reply(`${code} ok`)));
}

/** The codes among `codes` that can answer the command at all. */
function answerable(command: SmtpCommand, codes: readonly number[]): number[] {
  return codes.filter((code) => plausible(command.expect, code));
}

const CODES = [211, 214, 220, 221, 235, 250, 251, 252, 334, 354, 421, 450, 451, 452, 500, 501, 502, 503, 504, 530, 535, 550, 552, 554];

describe("the lines the commands print", () => {
  it("MAIL FROM with parameters and SIZE, the null sender, and the RFC 821 verbs", () => {
    expect(new Mail("MAIL", "a@example.com", []).line).toBe("MAIL FROM:<a@example.com>");
    expect(new Mail("MAIL", "a@example.com", ["BODY=8BITMIME", "SMTPUTF8"], 1234).line).toBe("MAIL FROM:<a@example.com> BODY=8BITMIME SMTPUTF8 SIZE=1234");
    expect(new Mail("MAIL", "", [], 0).line).toBe("MAIL FROM:<> SIZE=0");
    expect(new Mail("SOML", "a@example.com", []).line).toBe("SOML FROM:<a@example.com>");
  });

  it("RCPT TO with its options trimmed", () => {
    expect(new Rcpt("b@example.com", 0, "").line).toBe("RCPT TO:<b@example.com>");
    expect(new Rcpt("b@example.com", 2, "  NOTIFY=FAILURE ORCPT=rfc822;b@example.com ").line).toBe("RCPT TO:<b@example.com> NOTIFY=FAILURE ORCPT=rfc822;b@example.com");
  });

  it("BDAT carries its chunk and counts its bytes exactly", () => {
    const chunk = Buffer.from("Subject: x\r\n\r\nhé\r\n", "utf8");
    const last = new Bdat(chunk, true);
    expect(last.line).toBe(`BDAT ${chunk.length} LAST`);
    expect(last.payload).toBe(chunk);
    expect(new Bdat(Buffer.alloc(0), false).line).toBe("BDAT 0");
  });

  it("the constant commands", () => {
    expect([DATA, RSET, NOOP, QUIT, STARTTLS].map((c) => c.line)).toEqual(["DATA", "RSET", "NOOP", "QUIT", "STARTTLS"]);
    expect(STARTTLS.lastInClear).toBe(true);
    expect([DATA, RSET, NOOP, QUIT].some((c) => c.lastInClear)).toBe(false);
    expect(new Ehlo("client.example.com").line).toBe("EHLO client.example.com");
    expect(new Helo("[192.0.2.1]").line).toBe("HELO [192.0.2.1]");
  });

  it("VRFY, EXPN and raw commands take a trimmed one-line argument", () => {
    expect(new Vrfy(" a@example.com ").line).toBe("VRFY a@example.com");
    expect(new Expn("staff").line).toBe("EXPN staff");
    expect(new Raw("HELP ").line).toBe("HELP");
    expect(() => new Vrfy("   ")).toThrow(expect.objectContaining({ code: ErrorCode.InvalidValue }));
    expect(() => new Expn("staff\r\nRSET")).toThrow(expect.objectContaining({ code: ErrorCode.LineBreakInjection }));
    expect(() => new Raw("NOOP\nQUIT")).toThrow(expect.objectContaining({ code: ErrorCode.LineBreakInjection }));
  });

  it("AUTH and SASL responses mask credentials unless logging them was asked for", () => {
    const initial = Buffer.from("\0user\0secret");
    const masked = new Auth("PLAIN", initial, false, false);
    expect(masked.line).toBe(`AUTH PLAIN ${initial.toString("base64")}`);
    expect(masked.display).toBe("AUTH PLAIN ****");
    expect(new Auth("PLAIN", initial, true, false).display).toBe(masked.line);
    // An empty initial response is "=" (RFC 4954 §4); none at all leaves the line bare.
    expect(new Auth("EXTERNAL", Buffer.alloc(0), false, false).line).toBe("AUTH EXTERNAL =");
    expect(new Auth("LOGIN", undefined, false, false).line).toBe("AUTH LOGIN");
    expect(new Auth("LOGIN", undefined, false, false).display).toBe("AUTH LOGIN");
    const response = new SaslResponse(Buffer.from("secret"), false);
    expect(response.line).toBe("c2VjcmV0");
    expect(response.display).toBe("****");
    expect(new SaslResponse(Buffer.from("secret"), true).display).toBe("c2VjcmV0");
    expect([SASL_CANCEL.line, SASL_CANCEL.display, SASL_CANCEL_LOGGED.display]).toEqual(["*", "* (cancel)", "*"]);
  });
});

describe("what each command takes for success", () => {
  it("MAIL, RSET, NOOP, EHLO, HELO, EXPN, BDAT: 250 only", () => {
    for (const c of [new Mail("MAIL", "a@b", []), RSET, NOOP, new Ehlo("x"), new Helo("x"), new Expn("x"), new Bdat(Buffer.from("x\r\n"), true)]) {
      expect(accepted(c, CODES), c.line).toEqual([250]);
    }
  });

  it("RCPT: 250 and 251 (will forward); VRFY: 250, 251, 252 (cannot verify, will accept)", () => {
    expect(accepted(new Rcpt("b@example.com", 0, ""), CODES)).toEqual([250, 251]);
    expect(accepted(new Vrfy("b@example.com"), CODES)).toEqual([250, 251, 252]);
  });

  it("DATA: 354; STARTTLS: 220; AUTH: 235, with 334 a challenge; QUIT: any 2xx", () => {
    expect(accepted(DATA, CODES)).toEqual([354]);
    expect(accepted(STARTTLS, CODES)).toEqual([220]);
    const auth = new Auth("PLAIN", undefined, false, false);
    expect(accepted(auth, CODES)).toEqual([235]);
    expect(CODES.filter((code) => auth.challenges(reply(`${code} x`)))).toEqual([334]);
    expect(accepted(QUIT, CODES)).toEqual([211, 214, 220, 221, 235, 250, 251, 252]);
  });
});

describe("which replies can answer each command at all (out of step otherwise)", () => {
  const negative = CODES.filter((c) => c >= 400);

  it("MAIL and RCPT: 250 to 252 or a refusal, never 354 or 220", () => {
    expect(answerable(new Mail("MAIL", "a@b", []), CODES)).toEqual([250, 251, 252, ...negative]);
    expect(answerable(new Rcpt("b@c", 0, ""), CODES)).toEqual([250, 251, 252, ...negative]);
  });

  it("RSET and NOOP have no refusal of their own: 250, 421 or a syntax error", () => {
    expect(answerable(RSET, CODES)).toEqual([250, 421, 500, 501, 502, 503, 504]);
    expect(answerable(NOOP, CODES)).toEqual([250, 421, 500, 501, 502, 503, 504]);
  });

  it("DATA: 354 or a refusal; BDAT: 250 or a refusal, never an addressing status", () => {
    expect(answerable(DATA, CODES)).toEqual([354, ...negative]);
    const bdat = new Bdat(Buffer.from("x\r\n"), true);
    expect(answerable(bdat, CODES)).toEqual([250, 251, ...negative]);
    expect(plausible(bdat.expect, 250, "2.1.5")).toBe(false);
    expect(plausible(bdat.expect, 250, "2.0.0")).toBe(true);
  });

  it("QUIT: a 2xx but not 220; STARTTLS: 220 or a refusal; AUTH: 235, 334 or a refusal; raw: anything", () => {
    expect(answerable(QUIT, CODES)).toEqual([211, 214, 221, 235, 250, 251, 252, 421]);
    expect(answerable(STARTTLS, CODES)).toEqual([220, ...negative]);
    expect(answerable(new Auth("PLAIN", undefined, false, false), CODES)).toEqual([235, 334, ...negative]);
    expect(answerable(new Raw("HELP"), CODES)).toEqual(CODES);
  });
});

describe("the error for a refusal", () => {
  it("names the recipient, its type and the command, and keeps the reply", () => {
    const err = new Rcpt("b@example.com", 1, "NOTIFY=NEVER").refused(reply("550 5.1.1 <b@example.com>: Recipient address rejected"));
    expect(err).toBeInstanceOf(SmtpError);
    expect(err.code).toBe(ErrorCode.Protocol);
    expect(err.message).toBe("the server refused Cc recipient b@example.com: 550 5.1.1 <b@example.com>: Recipient address rejected");
    expect(err.recipient).toBe("b@example.com");
    expect(err.command).toBe("RCPT TO:<b@example.com> NOTIFY=NEVER");
    expect([err.replyCode, err.enhancedStatus, err.lastReply]).toEqual([550, "5.1.1", "550 5.1.1 <b@example.com>: Recipient address rejected"]);
    expect(err.isPermanent()).toBe(true);
  });

  it("a 421 to RCPT says the session is closing and still names the recipient", () => {
    const err = new Rcpt("b@example.com", 0, "").closing(reply("421 4.3.2 shutting down"));
    expect(err.message).toBe("the server closed the session: 421 4.3.2 shutting down");
    expect(err.recipient).toBe("b@example.com");
    expect(err.isTransient()).toBe(true);
  });

  it("MAIL, DATA, RSET, BDAT, HELO, VRFY, EXPN", () => {
    const r = reply("554 5.7.1 no");
    expect(new Mail("MAIL", "a@example.com", ["BODY=8BITMIME"]).refused(r)).toMatchObject({ message: "the server refused the sender: 554 5.7.1 no", command: "MAIL FROM:<a@example.com> BODY=8BITMIME" });
    expect(DATA.refused(r)).toMatchObject({ message: "the server refused DATA: 554 5.7.1 no", command: "DATA" });
    expect(RSET.refused(r)).toMatchObject({ message: "the server refused RSET: 554 5.7.1 no", command: "RSET" });
    expect(new Bdat(Buffer.alloc(10), false).refused(r)).toMatchObject({ message: "the server refused a message chunk (BDAT 10): 554 5.7.1 no", command: "BDAT 10" });
    expect(new Helo("x").refused(r)).toMatchObject({ message: "the server refused HELO: 554 5.7.1 no", command: "HELO x" });
    expect(new Vrfy(" a@example.com").refused(r)).toMatchObject({ message: "the server could not verify  a@example.com: 554 5.7.1 no", command: "VRFY a@example.com" });
    expect(new Expn("staff").refused(r)).toMatchObject({ message: "the server could not expand staff: 554 5.7.1 no", command: "EXPN staff" });
  });

  it("STARTTLS refused is 276 and says nothing else was sent", () => {
    const err = STARTTLS.refused(reply("454 4.7.0 TLS not available"));
    expect(err.code).toBe(ErrorCode.TlsStartRefused);
    expect(err.message).toBe("the server refused STARTTLS: 454 4.7.0 TLS not available; nothing else was sent");
    expect(err.command).toBe("STARTTLS");
  });

  it("AUTH: 535 refuses the credentials (the hint fits password or token), others name the mechanism; the command stays masked", () => {
    const password = new Auth("PLAIN", Buffer.from("\0u\0p"), false, false).refused(reply("535 5.7.8 Authentication credentials invalid"));
    expect(password.code).toBe(ErrorCode.Auth);
    expect(password.reason).toBe("the server refused the credentials (AUTH PLAIN): 535 5.7.8 Authentication credentials invalid");
    expect(password.hint).toBe("check User and Password; see docs/troubleshooting.md#auth-refused");
    expect(password.command).toBe("AUTH PLAIN ****");
    expect(new Auth("XOAUTH2", Buffer.from("t"), false, true).refused(reply("535 5.7.8 expired")).hint).toMatch(/token/);
    expect(new Auth("CRAM-MD5", undefined, false, false).refused(reply("538 5.7.11 Encryption required")).message).toBe("the server wants a different mechanism or encryption for AUTH CRAM-MD5: 538 5.7.11 Encryption required");
    expect(new Auth("LOGIN", undefined, false, false).refused(reply("454 4.7.0 try later")).message).toBe("AUTH LOGIN failed: 454 4.7.0 try later");
  });
});

/** A client socket and the server's side of it, on 127.0.0.1. */
async function connectedPair(): Promise<{ server: Server; socket: Socket; peer: Socket }> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const accepted = once(server, "connection") as Promise<[Socket]>;
  const socket = new Socket();
  socket.connect((server.address() as AddressInfo).port, "127.0.0.1");
  await once(socket, "connect");
  const [peer] = await accepted;
  return { server, socket, peer };
}

describe("commands on the wire", () => {
  it("a pipelined group goes out in one write, byte for byte, and each reply answers its command", async () => {
    const { server, socket, peer } = await connectedPair();
    const chunks: Buffer[] = [];
    peer.on("data", (d: Buffer) => chunks.push(d));
    const conn = new SmtpConnection(socket, { maxLineLength: 2048, hooks: { trail: () => undefined, reply: () => undefined, closed: () => undefined } });
    try {
      const body = Buffer.from("Subject: t\r\n\r\nhi\r\n");
      const rcpt = new Rcpt("b@example.com", 0, "");
      const group: SmtpCommand[] = [RSET, new Mail("MAIL", "a@example.com", [], body.length), rcpt, new Bdat(body, true), NOOP];
      const replies = conn.send(group, 2000);
      const expected = `RSET\r\nMAIL FROM:<a@example.com> SIZE=${body.length}\r\nRCPT TO:<b@example.com>\r\nBDAT ${body.length} LAST\r\n${body.toString("latin1")}NOOP\r\n`;
      while (Buffer.concat(chunks).length < expected.length) await once(peer, "data");
      expect(Buffer.concat(chunks).toString("latin1")).toBe(expected);
      peer.write("250 2.0.0 reset\r\n250 2.1.0 ok\r\n550 5.1.1 unknown\r\n250 2.0.0 queued\r\n250 2.0.0 ok\r\n");
      const got = await Promise.all(replies);
      expect(got.map((r) => r.code)).toEqual([250, 250, 550, 250, 250]);
      expect(group.map((c, i) => c.accepts(got[i] as SmtpReply))).toEqual([true, true, false, true, true]);
      expect(rcpt.refused(got[2] as SmtpReply).recipient).toBe("b@example.com");
      expect(conn.outOfStep).toBeUndefined();
    } finally {
      conn.destroy();
      peer.destroy();
      server.close();
    }
  });

  it("a reply outside a command's class breaks the connection instead of answering it", async () => {
    const { server, socket, peer } = await connectedPair();
    const conn = new SmtpConnection(socket, { maxLineLength: 2048, hooks: { trail: () => undefined, reply: () => undefined, closed: () => undefined } });
    try {
      const [data] = conn.send([DATA], 2000);
      // 250 cannot answer DATA: a shifted reply, not a go-ahead.
      peer.write("250 2.0.0 ok\r\n");
      await expect(data).rejects.toMatchObject({ code: ErrorCode.MalformedReply });
      expect(conn.outOfStep?.code).toBe(ErrorCode.MalformedReply);
      expect(conn.isOpen).toBe(false);
    } finally {
      conn.destroy();
      peer.destroy();
      server.close();
    }
  });
});

import { describe, it, expect } from "vitest";
import { createHmac } from "node:crypto";
import { creds, expectAuthFailure } from "../support/sasl.js";
import { NTLM, ntowfv2, ntlmv2Response, splitUser } from "../../src/auth/ntlm.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

// MS-NLMP §4.2.1 common values and §4.2.4 (NTLMv2).
const SERVER_CHALLENGE = hex("0123456789abcdef");
const CLIENT_CHALLENGE = hex("aaaaaaaaaaaaaaaa");
/** AV pairs of §4.2.4: MsvAvNbDomainName "Domain", MsvAvNbComputerName "Server", MsvAvEOL. */
const TARGET_INFO = hex(`
  02 00 0c 00 44 00 6f 00 6d 00 61 00 69 00 6e 00
  01 00 0c 00 53 00 65 00 72 00 76 00 65 00 72 00
  00 00 00 00`);
/** §4.2.4.1.3 CHALLENGE_MESSAGE. */
const CHALLENGE_MESSAGE = hex(`
  4e 54 4c 4d 53 53 50 00 02 00 00 00 0c 00 0c 00
  38 00 00 00 33 82 8a e2 01 23 45 67 89 ab cd ef
  00 00 00 00 00 00 00 00 24 00 24 00 44 00 00 00
  06 00 70 17 00 00 00 0f 53 00 65 00 72 00 76 00
  65 00 72 00 02 00 0c 00 44 00 6f 00 6d 00 61 00
  69 00 6e 00 01 00 0c 00 53 00 65 00 72 00 76 00
  65 00 72 00 00 00 00 00`);

/** Reads a security buffer of an AUTHENTICATE message. */
function field(msg: Buffer, at: number): Buffer {
  const len = msg.readUInt16LE(at);
  const offset = msg.readUInt32LE(at + 4);
  return msg.subarray(offset, offset + len);
}

describe("NTLMv2 (MS-NLMP §4.2.4 test vectors)", () => {
  it("NTOWFv2, NTProofStr, LMv2 and SessionBaseKey", async () => {
    const key = await ntowfv2("Password", "User", "Domain");
    expect(key.toString("hex")).toBe("0c868a403bfd7a93a3001ef22ef02e3f");
    const r = ntlmv2Response(key, SERVER_CHALLENGE, CLIENT_CHALLENGE, 0n, TARGET_INFO);
    expect(r.ntProofStr.toString("hex")).toBe("68cd0ab851e51c96aabc927bebef6a1c");
    expect(r.lmResponse.toString("hex")).toBe("86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
    expect(r.sessionBaseKey.toString("hex")).toBe("8de40ccadbc14a82f15cb0ad0de95ca3");
  });

  it("the exchange sends the published responses for the published CHALLENGE message", async () => {
    const x = NTLM.start(creds({ user: "Domain\\User", password: "Password" }), {
      ntlm: { clientChallenge: CLIENT_CHALLENGE, timestamp: 0n, workstation: "COMPUTER" },
    });
    const msg = await x.respond(CHALLENGE_MESSAGE);
    expect(msg.subarray(0, 12)).toEqual(Buffer.from("NTLMSSP\0\x03\0\0\0", "latin1"));
    expect(field(msg, 12).toString("hex")).toBe("86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa");
    const nt = field(msg, 20);
    expect(nt.subarray(0, 16).toString("hex")).toBe("68cd0ab851e51c96aabc927bebef6a1c");
    // temp = 0x0101, Z(6), Time, ClientChallenge, Z(4), ServerName (the target info), Z(4)
    expect(nt.subarray(16)).toEqual(Buffer.concat([hex("0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000"), TARGET_INFO, Buffer.alloc(4)]));
    expect(field(msg, 28).toString("utf16le")).toBe("Domain");
    expect(field(msg, 36).toString("utf16le")).toBe("User");
    expect(field(msg, 44).toString("utf16le")).toBe("COMPUTER");
    expect(field(msg, 52).length).toBe(0);
    const flags = msg.readUInt32LE(60);
    expect(flags & 0x1).toBe(0x1); // UNICODE
    expect(flags & 0x40000000).toBe(0); // no KEY_EXCH
    expect(msg.readUInt32LE(28 + 4)).toBe(64); // no MIC: payload right after the 64-byte header
    x.finish();
  });
});

describe("NTLM exchange", () => {
  it("sends the NEGOTIATE message as the initial response", () => {
    const x = NTLM.start(creds({ user: "u", password: "p" }));
    // Signature, type 1, flags 0x20888205 (UNICODE, REQUEST_TARGET, NTLM, ALWAYS_SIGN, EXTENDED_SESSIONSECURITY, TARGET_INFO, 128),
    // empty DomainNameFields and WorkstationFields; no Version.
    expect(x.initialResponse).toEqual(hex("4e544c4d53535000 01000000 05828820 0000000020000000 0000000020000000"));
  });

  it("answers an empty 334 with the NEGOTIATE message once", async () => {
    const x = NTLM.start(creds({ user: "u", password: "p" }));
    expect(await x.respond(Buffer.alloc(0))).toEqual(x.initialResponse);
    await expectAuthFailure(x.respond(Buffer.alloc(0)));
  });

  it("sends a UPN whole, with an empty domain", async () => {
    expect(splitUser("user@example.com")).toEqual({ user: "user@example.com", domain: "" });
    expect(splitUser("CORP\\jdoe")).toEqual({ user: "jdoe", domain: "CORP" });
    const x = NTLM.start(creds({ user: "user@example.com", password: "p" }));
    const msg = await x.respond(CHALLENGE_MESSAGE);
    expect(field(msg, 36).toString("utf16le")).toBe("user@example.com");
    expect(field(msg, 28).length).toBe(0);
  });

  it("with a server MsvAvTimestamp: uses it, sends Z(24) as LM response, sets MsvAvFlags and a valid MIC", async () => {
    const timestamp = hex("0090d336b734c301");
    const targetInfo = Buffer.concat([TARGET_INFO.subarray(0, 32), hex("0700 0800"), timestamp, hex("0000 0000")]);
    // The §4.2.4 CHALLENGE header (56 bytes), "Server", then the longer target info.
    const header = Buffer.from(CHALLENGE_MESSAGE.subarray(0, 56));
    header.writeUInt16LE(targetInfo.length, 40);
    header.writeUInt16LE(targetInfo.length, 42);
    header.writeUInt32LE(56 + 12, 44);
    const challengeMsg = Buffer.concat([header, Buffer.from("Server", "utf16le"), targetInfo]);

    const x = NTLM.start(creds({ user: "Domain\\User", password: "Password" }), { ntlm: { clientChallenge: CLIENT_CHALLENGE, timestamp: 0n } });
    const negotiate = x.initialResponse ?? Buffer.alloc(0);
    const msg = await x.respond(challengeMsg);
    expect(field(msg, 12)).toEqual(Buffer.alloc(24));
    const nt = field(msg, 20);
    expect(nt.subarray(24, 32)).toEqual(timestamp);
    // Blob AV pairs: the server's, then MsvAvFlags = 2 (MIC present), then EOL.
    expect(nt.subarray(44, nt.length - 4)).toEqual(Buffer.concat([targetInfo.subarray(0, targetInfo.length - 4), hex("0600 0400 02000000"), hex("0000 0000")]));
    expect(msg.readUInt32LE(28 + 4)).toBe(88);

    // Independent check of the MIC: HMAC_MD5(SessionBaseKey, NEGOTIATE || CHALLENGE || AUTHENTICATE with MIC zeroed).
    // NTOWFv1("Password"), the NT hash of MS-NLMP §4.2.2.1.2.
    const ntHash = hex("a4f49c406510bdcab6824ee7c30fd852");
    const key = createHmac("md5", ntHash).update(Buffer.from("USERDomain", "utf16le")).digest();
    const sessionBaseKey = createHmac("md5", key).update(nt.subarray(0, 16)).digest();
    const zeroed = Buffer.from(msg);
    zeroed.fill(0, 72, 88);
    const mic = createHmac("md5", sessionBaseKey).update(negotiate).update(challengeMsg).update(zeroed).digest();
    expect(msg.subarray(72, 88)).toEqual(mic);
  });

  it("rejects malformed challenges and a second challenge with code 620", async () => {
    const start = () => NTLM.start(creds({ user: "u", password: "p" }));
    await expectAuthFailure(start().respond(Buffer.from("not ntlm at all, definitely not")));
    const wrongType = Buffer.from(CHALLENGE_MESSAGE);
    wrongType.writeUInt32LE(3, 8);
    await expectAuthFailure(start().respond(wrongType));
    const outside = Buffer.from(CHALLENGE_MESSAGE);
    outside.writeUInt32LE(0x1000, 44);
    await expectAuthFailure(start().respond(outside));
    const x = start();
    await x.respond(CHALLENGE_MESSAGE);
    await expectAuthFailure(x.respond(CHALLENGE_MESSAGE));
  });
});

/**
 * NTLM (MS-NLMP) as used by SMTP: "AUTH NTLM <NEGOTIATE>", 334 <CHALLENGE>,
 * then <AUTHENTICATE>. NTLMv2 only: LM and NTLMv1 responses are never
 * computed (they fall to offline cracking in minutes). No session security is
 * negotiated (no KEY_EXCH, SIGN or SEAL): SMTP uses NTLM purely to log in.
 *
 * User name forms: "DOMAIN\user" is split into domain and user; "user@domain"
 * (UPN) is sent whole as the user name with an empty domain, as Windows does:
 * the UPN suffix is often not the NetBIOS / AD domain name, so splitting it
 * would break logins that work from Outlook.
 */

import { createHmac, randomBytes } from "node:crypto";
import { md4 } from "./md4.js";
import { authError, type SaslCredentials, type SaslExchange, type SaslMechanism, type StartOptions } from "./mechanism.js";

const NAME = "NTLM";

export const NtlmFlags = {
  NEGOTIATE_UNICODE: 0x00000001,
  NEGOTIATE_OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  NEGOTIATE_NTLM: 0x00000200,
  NEGOTIATE_ALWAYS_SIGN: 0x00008000,
  NEGOTIATE_EXTENDED_SESSIONSECURITY: 0x00080000,
  NEGOTIATE_TARGET_INFO: 0x00800000,
  NEGOTIATE_128: 0x20000000,
} as const;

/** The flags of our NEGOTIATE message. */
export const NEGOTIATE_FLAGS =
  NtlmFlags.NEGOTIATE_UNICODE |
  NtlmFlags.NEGOTIATE_NTLM |
  NtlmFlags.REQUEST_TARGET |
  NtlmFlags.NEGOTIATE_ALWAYS_SIGN |
  NtlmFlags.NEGOTIATE_EXTENDED_SESSIONSECURITY |
  NtlmFlags.NEGOTIATE_TARGET_INFO |
  NtlmFlags.NEGOTIATE_128;

/** AV_PAIR ids (MS-NLMP 2.2.2.1) that the client acts on. */
const AV_EOL = 0;
const AV_FLAGS = 6;
const AV_TIMESTAMP = 7;
/** MsvAvFlags bit: the AUTHENTICATE message carries a MIC. */
const AV_FLAG_MIC = 0x2;

const SIGNATURE = Buffer.from("NTLMSSP\0", "latin1");

/** Milliseconds between 1601-01-01 (FILETIME epoch) and 1970-01-01. */
const FILETIME_UNIX_OFFSET_MS = 11_644_473_600_000n;

export function filetimeNow(): bigint {
  return (BigInt(Date.now()) + FILETIME_UNIX_OFFSET_MS) * 10_000n;
}

function utf16(s: string): Buffer {
  return Buffer.from(s, "utf16le");
}

function hmacMd5(key: Buffer, ...data: Buffer[]): Buffer {
  const h = createHmac("md5", key);
  for (const d of data) h.update(d);
  return h.digest();
}

/**
 * Windows upper-cases one UTF-16 unit to one (RtlUpcaseUnicodeString), so
 * "ß" stays "ß" where String.prototype.toUpperCase gives "SS".
 */
function windowsUpper(s: string): string {
  let out = "";
  for (const ch of s) {
    const up = ch.toUpperCase();
    out += up.length === ch.length ? up : ch;
  }
  return out;
}

/**
 * NTOWFv2 (MS-NLMP 3.3.2): HMAC_MD5(MD4(UTF-16LE(password)), UTF-16LE(UPPER(user) + domain)).
 * Still a Promise (MD4 is synchronous now) so its callers keep their form.
 */
export async function ntowfv2(password: string, user: string, domain: string): Promise<Buffer> {
  return hmacMd5(md4(utf16(password)), utf16(windowsUpper(user) + domain));
}

export interface Ntlmv2Result {
  /** NTProofStr || temp: the NtChallengeResponse. */
  ntResponse: Buffer;
  ntProofStr: Buffer;
  /** LMv2: HMAC_MD5(key, server || client challenge) || client challenge. */
  lmResponse: Buffer;
  sessionBaseKey: Buffer;
}

/** ComputeResponse for NTLMv2 (MS-NLMP 3.3.2); `targetInfo` is the AV_PAIR list placed in the blob. */
export function ntlmv2Response(responseKey: Buffer, serverChallenge: Buffer, clientChallenge: Buffer, timestamp: bigint, targetInfo: Buffer): Ntlmv2Result {
  const time = Buffer.alloc(8);
  time.writeBigUInt64LE(timestamp);
  const temp = Buffer.concat([Buffer.from([1, 1]), Buffer.alloc(6), time, clientChallenge, Buffer.alloc(4), targetInfo, Buffer.alloc(4)]);
  const ntProofStr = hmacMd5(responseKey, serverChallenge, temp);
  return {
    ntResponse: Buffer.concat([ntProofStr, temp]),
    ntProofStr,
    lmResponse: Buffer.concat([hmacMd5(responseKey, serverChallenge, clientChallenge), clientChallenge]),
    sessionBaseKey: hmacMd5(responseKey, ntProofStr),
  };
}

export interface AvPair {
  id: number;
  value: Buffer;
}

export function parseAvPairs(data: Buffer): AvPair[] {
  const pairs: AvPair[] = [];
  let at = 0;
  while (at + 4 <= data.length) {
    const id = data.readUInt16LE(at);
    const len = data.readUInt16LE(at + 2);
    if (at + 4 + len > data.length) throw authError(NAME, "truncated target information");
    if (id === AV_EOL) return pairs;
    pairs.push({ id, value: data.subarray(at + 4, at + 4 + len) });
    at += 4 + len;
  }
  throw authError(NAME, "target information lacks MsvAvEOL");
}

export function serializeAvPairs(pairs: readonly AvPair[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of pairs) {
    const head = Buffer.alloc(4);
    head.writeUInt16LE(p.id, 0);
    head.writeUInt16LE(p.value.length, 2);
    parts.push(head, p.value);
  }
  parts.push(Buffer.alloc(4)); // MsvAvEOL
  return Buffer.concat(parts);
}

export interface NtlmChallenge {
  flags: number;
  serverChallenge: Buffer;
  targetName: Buffer;
  /** Raw AV_PAIR list ("" when the server sent none). */
  targetInfo: Buffer;
}

/** Reads a security buffer (len u16, maxlen u16, offset u32) and checks its bounds. */
function field(msg: Buffer, at: number): Buffer {
  const len = msg.readUInt16LE(at);
  const offset = msg.readUInt32LE(at + 4);
  if (offset + len > msg.length) throw authError(NAME, "CHALLENGE message field points outside the message");
  return msg.subarray(offset, offset + len);
}

export function parseChallenge(msg: Buffer): NtlmChallenge {
  if (msg.length < 32 || !msg.subarray(0, 8).equals(SIGNATURE) || msg.readUInt32LE(8) !== 2) {
    throw authError(NAME, "the server's challenge is not an NTLM CHALLENGE message");
  }
  const flags = msg.readUInt32LE(20);
  return {
    flags,
    serverChallenge: Buffer.from(msg.subarray(24, 32)),
    targetName: field(msg, 12),
    targetInfo: msg.length >= 48 && flags & NtlmFlags.NEGOTIATE_TARGET_INFO ? field(msg, 40) : Buffer.alloc(0),
  };
}

/** NEGOTIATE_MESSAGE without domain, workstation or version: 32 bytes. */
export function negotiateMessage(): Buffer {
  const msg = Buffer.alloc(32);
  SIGNATURE.copy(msg, 0);
  msg.writeUInt32LE(1, 8);
  msg.writeUInt32LE(NEGOTIATE_FLAGS >>> 0, 12);
  msg.writeUInt32LE(32, 20); // empty DomainNameFields, offset at the end
  msg.writeUInt32LE(32, 28); // empty WorkstationFields
  return msg;
}

/** "DOMAIN\user" → ["user", "DOMAIN"]; anything else (also a UPN) → [user, ""]. */
export function splitUser(user: string): { user: string; domain: string } {
  const slash = user.indexOf("\\");
  return slash < 0 ? { user, domain: "" } : { user: user.slice(slash + 1), domain: user.slice(0, slash) };
}

async function authenticateMessage(
  c: SaslCredentials,
  negotiate: Buffer,
  challengeMsg: Buffer,
  options: StartOptions | undefined,
): Promise<Buffer> {
  const challenge = parseChallenge(challengeMsg);
  if (!(challenge.flags & NtlmFlags.NEGOTIATE_NTLM)) throw authError(NAME, "the server did not agree to NTLM authentication");
  const unicode = (challenge.flags & NtlmFlags.NEGOTIATE_UNICODE) !== 0;
  const encode = (s: string): Buffer => (unicode ? utf16(s) : Buffer.from(s, "latin1"));

  const { user, domain } = splitUser(c.user);
  const workstation = options?.ntlm?.workstation ?? "";
  const clientChallenge = options?.ntlm?.clientChallenge ?? randomBytes(8);
  if (clientChallenge.length !== 8) throw authError(NAME, "the client challenge must be 8 bytes");

  // MS-NLMP 3.1.5.1.2: with a server timestamp, use it, send a MIC and an empty LM response.
  const pairs = challenge.targetInfo.length > 0 ? parseAvPairs(challenge.targetInfo) : [];
  const serverTime = pairs.find((p) => p.id === AV_TIMESTAMP);
  const withMic = serverTime !== undefined && serverTime.value.length === 8;
  let timestamp = options?.ntlm?.timestamp ?? filetimeNow();
  let targetInfo = challenge.targetInfo.length > 0 ? challenge.targetInfo : serializeAvPairs([]);
  if (withMic) {
    timestamp = serverTime.value.readBigUInt64LE(0);
    const flagsPair = pairs.find((p) => p.id === AV_FLAGS);
    const avFlags = Buffer.alloc(4);
    avFlags.writeUInt32LE(((flagsPair && flagsPair.value.length === 4 ? flagsPair.value.readUInt32LE(0) : 0) | AV_FLAG_MIC) >>> 0);
    targetInfo = serializeAvPairs([...pairs.filter((p) => p.id !== AV_FLAGS), { id: AV_FLAGS, value: avFlags }]);
  }

  const key = await ntowfv2(c.password, user, domain);
  const result = ntlmv2Response(key, challenge.serverChallenge, clientChallenge, timestamp, targetInfo);
  const lm = withMic ? Buffer.alloc(24) : result.lmResponse;

  const flags = (NEGOTIATE_FLAGS & challenge.flags & ~NtlmFlags.NEGOTIATE_UNICODE) | (unicode ? NtlmFlags.NEGOTIATE_UNICODE : NtlmFlags.NEGOTIATE_OEM);
  // With a MIC the header has the (zero) Version and the MIC: 88 bytes, else 64.
  const headerLength = withMic ? 88 : 64;
  const payload: [number, Buffer][] = [
    [28, encode(domain)],
    [36, encode(user)],
    [44, encode(workstation)],
    [12, lm],
    [20, result.ntResponse],
    [52, Buffer.alloc(0)], // EncryptedRandomSessionKey: no KEY_EXCH
  ];
  const header = Buffer.alloc(headerLength);
  SIGNATURE.copy(header, 0);
  header.writeUInt32LE(3, 8);
  header.writeUInt32LE(flags >>> 0, 60);
  let offset = headerLength;
  for (const [at, data] of payload) {
    header.writeUInt16LE(data.length, at);
    header.writeUInt16LE(data.length, at + 2);
    header.writeUInt32LE(offset, at + 4);
    offset += data.length;
  }
  const msg = Buffer.concat([header, ...payload.map(([, data]) => data)]);
  if (withMic) {
    // ExportedSessionKey = SessionBaseKey without KEY_EXCH; MIC computed over the message with the MIC zeroed.
    hmacMd5(result.sessionBaseKey, negotiate, challengeMsg, msg).copy(msg, 72);
  }
  return msg;
}

export const NTLM: SaslMechanism = {
  name: NAME,
  strength: 30,
  cleartext: false,
  usesToken: false,

  start(c: SaslCredentials, options?: StartOptions): SaslExchange {
    const negotiate = negotiateMessage();
    let askedAgain = false;
    let answered = false;
    return {
      initialResponse: negotiate,
      async respond(challenge: Buffer): Promise<Buffer> {
        if (answered) throw authError(NAME, "unexpected challenge after the AUTHENTICATE message");
        // A server that ignored the initial response asks for it with an empty 334.
        if (challenge.length === 0) {
          if (askedAgain) throw authError(NAME, "the server sent no CHALLENGE message");
          askedAgain = true;
          return negotiate;
        }
        answered = true;
        return authenticateMessage(c, negotiate, challenge, options);
      },
      finish(): void {},
    };
  },
};

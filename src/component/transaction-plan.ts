/**
 * Decides how a composed message is sent on a given session: which MAIL and
 * RCPT parameters (BODY, SMTPUTF8, SIZE, DSN, REQUIRETLS), whether the
 * envelope is pipelined, and DATA or BDAT. Extensions are used when the
 * server offers them and the matching Use... setting is on.
 */
import { domainToASCII } from "node:url";
import type { Envelope, EnvelopeRecipient, TransactionPlan } from "../engine/transaction.js";
import type { SmtpSession } from "../engine/session.js";
import { ErrorCode, SmtpError } from "../errors.js";
import { checkedStream } from "../mime/content-check.js";
import type { PropertyStore } from "../schema/property-store.js";
import type { BoolSettingName } from "../schema/store-keys.js";
import type { ComposedMessage } from "./compose.js";

export interface PlannedTransaction {
  envelope: Envelope;
  plan: TransactionPlan;
  /** Things worth a PITrail info line (an extension wanted but not offered). */
  notes: string[];
}

export function planTransaction(store: PropertyStore, session: SmtpSession, composed: ComposedMessage, verb: TransactionPlan["verb"]): PlannedTransaction {
  const caps = session.capabilities;
  const use = (setting: BoolSettingName, extension: string): boolean => store.bool(setting) && caps.has(extension);
  const notes: string[] = [];
  const mail: string[] = [...composed.envelope.mailParameters];

  const binaryMime = use("UseChunking", "CHUNKING") && caps.has("BINARYMIME") && verb === "MAIL";
  // NUL bytes cannot travel in DATA, nor lines over 998 octets (RFC 5322 §2.1.1); BDAT with BINARYMIME carries both unchanged.
  const binary = composed.binary === true || composed.longLines === true;
  if (binary) {
    if (!binaryMime) throw needsBinaryMime(composed);
    mail.push("BODY=BINARYMIME");
  } else if (composed.eightBit) {
    if (use("Use8BitMime", "8BITMIME")) mail.push("BODY=8BITMIME");
    // A stream's 8-bit bytes are only known as it is sent: checkedStream() stops it then.
    else if (!composed.unscanned && !store.bool("Allow8BitWithout8BitMime")) throw needs8BitMime(caps.has("8BITMIME"));
  }
  let { sender, recipients } = composed.envelope;
  if (composed.utf8Addresses) {
    if (use("UseSMTPUTF8", "SMTPUTF8")) mail.push("SMTPUTF8");
    else {
      sender = asciiAddress(sender);
      recipients = recipients.map((r) => ({ ...r, address: asciiAddress(r.address) }));
    }
  }

  if (store.bool("RequireTLS")) {
    if (!session.secure || !caps.has("REQUIRETLS")) {
      throw new SmtpError(ErrorCode.ExtensionRequired, session.secure
        ? "RequireTLS is set but the server does not offer REQUIRETLS (RFC 8689); nothing was sent"
        : "RequireTLS is set but the connection is not encrypted; nothing was sent");
    }
    mail.push("REQUIRETLS");
  }

  const dsn = dsnSettings(store);
  if (dsn.wanted) {
    if (use("UseDSN", "DSN")) {
      if (dsn.ret) mail.push(`RET=${dsn.ret}`);
      if (dsn.envid) mail.push(`ENVID=${xtext(dsn.envid)}`);
      recipients = recipients.map((r) => withDsn(r, dsn.notify, dsn.orcpt));
    } else {
      notes.push("DSN settings are set but the server does not offer DSN: they were left out");
    }
  }

  const sizeOffered = use("UseSize", "SIZE");
  return {
    envelope: { sender, mailParameters: mail, recipients },
    plan: {
      verb,
      rset: session.transactions > 0 && store.bool("SendRSET"),
      pipelining: use("UsePipelining", "PIPELINING"),
      chunking: use("UseChunking", "CHUNKING") && verb === "MAIL",
      binary,
      chunkSize: store.int("ChunkSize"),
      sizeLimit: sizeOffered && caps.sizeLimit ? caps.sizeLimit : undefined,
      announceSize: sizeOffered,
    },
    notes,
  };
}

function needsBinaryMime(composed: ComposedMessage): SmtpError {
  if (composed.binary) {
    return new SmtpError(ErrorCode.ExtensionRequired, "the message contains binary data (NUL bytes), which needs CHUNKING and BINARYMIME (RFC 3030), and the server does not offer them; nothing was sent", {
      hint: "encode binary parts as base64 MIME, or send through a server that offers BINARYMIME",
    });
  }
  // A complete message (or a body whose encoding OtherHeaders declares) is the caller's: it is not re-encoded.
  return new SmtpError(ErrorCode.ExtensionRequired, "the message has a line longer than 998 octets (RFC 5322 §2.1.1), which servers cut, wrap or refuse, and the server does not offer CHUNKING and BINARYMIME (RFC 3030) to carry it unchanged; nothing was sent", {
    hint: "give the text as MessageText, which is encoded as needed, or encode the body (quoted-printable) before handing it over",
  });
}

function needs8BitMime(offered: boolean): SmtpError {
  return new SmtpError(ErrorCode.ExtensionRequired, `the message has 8-bit data and ${offered ? "Use8BitMime is off" : "the server does not offer 8BITMIME (RFC 6152)"}; it is not converted to 7-bit (a complete message, or a body whose framing OtherHeaders declares, goes as given), so nothing was sent`, {
    hint: "encode it as 7-bit (quoted-printable or base64), or set config Allow8BitWithout8BitMime=true to send it as it is",
  });
}

/**
 * The message as this server can take it. 8-bit content for a server without
 * 8BITMIME (or with Use8BitMime off) is converted to 7-bit when the message
 * is ours (RFC 6152 §3), and `sign` (DKIM) is applied again, since the body
 * changed; only then is a promise returned, so the usual send keeps its
 * timing (a series writes the next envelope in the same tick). A stream sent
 * as it is gets its bytes checked while it is sent (see checkedStream).
 */
export function messageForServer(store: PropertyStore, session: SmtpSession, composed: ComposedMessage, sign: (message: ComposedMessage) => Promise<ComposedMessage>): ComposedMessage | Promise<ComposedMessage> {
  const eightBit = store.bool("Use8BitMime") && session.capabilities.has("8BITMIME");
  if (composed.eightBit && !eightBit && composed.sevenBit) {
    return sign(composed.sevenBit(composed.parts.slice(1))).then((converted) => {
      // The original is cleaned up once the send is over: the converted one's spool file (DKIM) goes with it.
      const own = composed.cleanup;
      const added = converted.cleanup;
      if (added) composed.cleanup = async () => {
        await own?.();
        await added();
      };
      return converted;
    });
  }
  if (!composed.unscanned) return composed;
  const sevenBit = !eightBit && !store.bool("Allow8BitWithout8BitMime");
  // The header block in front of a body stream is ours and checked already; cleanup stays with the original.
  const parts = composed.parts.map((p) => (Buffer.isBuffer(p) ? p : checkedStream(p, { sevenBit })));
  return { ...composed, parts, cleanup: undefined };
}

/** Without SMTPUTF8 an IDN domain can still go as punycode; a non-ASCII local part cannot. */
export function asciiAddress(address: string): string {
  const at = address.lastIndexOf("@");
  const local = at >= 0 ? address.slice(0, at) : address;
  const domain = at >= 0 ? address.slice(at + 1) : "";
  if (/[^\x00-\x7f]/.test(local)) {
    throw new SmtpError(ErrorCode.ExtensionRequired, `the address ${address} has a non-ASCII local part, which needs SMTPUTF8, and the server does not offer it; nothing was sent`);
  }
  if (!/[^\x00-\x7f]/.test(domain)) return address;
  const ascii = domainToASCII(domain);
  if (!ascii) throw new SmtpError(ErrorCode.InvalidAddress, `the domain of ${address} is not a valid internationalized domain name`);
  return `${local}@${ascii}`;
}

interface DsnSettings {
  wanted: boolean;
  notify: string;
  ret: string;
  envid: string;
  orcpt: boolean;
}

function dsnSettings(store: PropertyStore): DsnSettings {
  const notify = String(store.setting("DSNNotify")).trim().toUpperCase().replace(/\s+/g, "");
  const ret = String(store.setting("DSNRet")).trim().toUpperCase();
  const envid = String(store.setting("DSNEnvelopeId"));
  const orcpt = store.bool("DSNOriginalRecipient");
  if (notify && !/^(NEVER|(SUCCESS|FAILURE|DELAY)(,(SUCCESS|FAILURE|DELAY))*)$/.test(notify)) {
    throw new SmtpError(ErrorCode.InvalidValue, `DSNNotify must be NEVER or a comma list of SUCCESS, FAILURE, DELAY; got "${notify}"`);
  }
  return { wanted: notify !== "" || ret !== "" || envid !== "" || orcpt, notify, ret, envid, orcpt };
}

function withDsn(r: EnvelopeRecipient, notify: string, orcpt: boolean): EnvelopeRecipient {
  const params = r.options ? [r.options.trim()] : [];
  if (notify && !/\bNOTIFY=/i.test(r.options)) params.push(`NOTIFY=${notify}`);
  if (orcpt && !/\bORCPT=/i.test(r.options)) params.push(`ORCPT=rfc822;${xtext(r.address)}`);
  return { ...r, options: params.join(" ") };
}

/** RFC 3461 §4: xtext, "+" and "=" and anything outside 33..126 as +XX. */
export function xtext(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    out += byte < 33 || byte > 126 || byte === 0x2b || byte === 0x3d ? `+${byte.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(byte);
  }
  return out;
}

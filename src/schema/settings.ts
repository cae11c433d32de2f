/**
 * THE table of config("Name=Value") settings. config(), validation and
 * docs/api.md derive from it.
 */
import type { SettingSpec } from "./spec-types.js";

export const SETTINGS = [
  { name: "AllowCleartextAuth", type: "bool", default: false, doc: "Allow AUTH on a connection that is not encrypted. Off by default: PLAIN, LOGIN and the OAuth mechanisms would show the password or token to anyone on the path, and challenge-response mechanisms give enough for an offline guess." },
  { name: "AllowEmptyTo", type: "bool", default: false, doc: "Allow sending with an empty SendTo (only Cc / BCc / MessageRecipients)." },
  { name: "AuthorizationIdentity", type: "string", default: "", check: "singleLine", doc: "SASL authorization identity (act as this user). With XOAUTH2 / OAUTHBEARER it holds the access token (a leading \"Bearer \" is accepted); when it is empty the token is taken from Password." },
  { name: "Charset", type: "string", default: "", check: "singleLine", doc: "Charset for RFC 2047 header encoding and for MessageText (any charset iconv-lite knows). Empty: UTF-8 wherever non-ASCII text needs encoding." },
  { name: "ConnectionTimeout", type: "int", default: 0, min: 0, max: 2147483, unit: "seconds", doc: "Limit for the TCP connect (and the greeting); 0 uses Timeout." },
  { name: "ChunkSize", type: "int", default: 262144, min: 512, max: 67108864, doc: "Bytes per BDAT chunk when the message is sent with CHUNKING; a whole message up to this size goes in the same flight as MAIL and RCPT when the server also offers PIPELINING." },
  { name: "DSNEnvelopeId", type: "string", default: "", check: "singleLine", doc: "RFC 3461 ENVID sent with MAIL FROM (xtext-encoded) when the server offers DSN: your identifier, quoted back in delivery reports." },
  { name: "DSNNotify", type: "string", default: "", check: "singleLine", doc: "RFC 3461 NOTIFY for every recipient whose MessageRecipientOptions has none: NEVER, or a comma list of SUCCESS, FAILURE, DELAY. Sent only when the server offers DSN." },
  { name: "DSNOriginalRecipient", type: "bool", default: false, doc: "Send ORCPT=rfc822;<address> with each RCPT (RFC 3461) when the server offers DSN." },
  { name: "DSNRet", type: "string", default: "", check: "singleLine", choices: ["", "FULL", "HDRS"], doc: "RFC 3461 RET sent with MAIL FROM when the server offers DSN: FULL (return the whole message in a failure report) or HDRS (headers only)." },
  { name: "Hello", type: "string", default: "", check: "singleLine", doc: "The EHLO / HELO argument. Empty: this machine's host name when it is a valid domain, otherwise the local address as an address literal ([192.0.2.1] or [IPv6:...])." },
  { name: "LogCredentials", type: "bool", default: false, doc: "Show AUTH arguments and responses in PITrail. Off: they appear as `****`." },
  { name: "MaxHeaderLength", type: "int", default: 80, min: 20, max: 998, doc: "Header lines are folded to at most this many characters where whitespace allows." },
  { name: "MaxLineLength", type: "int", default: 2048, min: 512, max: 16777216, doc: "Longest server reply line accepted, in bytes; a longer one fails with code 606 and closes the connection." },
  { name: "OtherHeaders", type: "string", default: "", check: "headerBlock", property: "OtherHeaders", doc: "Same as the OtherHeaders property." },
  { name: "RequireTLS", type: "bool", default: false, doc: "Ask for RFC 8689 REQUIRETLS: the message may only travel over TLS. Needs a TLS connection and a server that offers REQUIRETLS, otherwise the send fails (614) before anything is sent." },
  { name: "ReturnPath", type: "string", default: "", check: "singleLine", property: "ReturnPath", doc: "Same as the ReturnPath property." },
  { name: "SendRSET", type: "bool", default: true, doc: "On a connection kept open between sends, start each new transaction with RSET." },
  { name: "SSLCACerts", type: "string", default: "", check: "none", doc: "Extra trusted root certificates (PEM text, or a path to a PEM file), added to the system roots." },
  { name: "SSLEnabledCipherSuites", type: "string", default: "", check: "singleLine", doc: "OpenSSL cipher list for TLS 1.2 and below (e.g. `ECDHE+AESGCM`); empty: Node's default." },
  { name: "SSLMaxVersion", type: "string", default: "TLSv1.3", check: "singleLine", choices: ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"], doc: "Highest TLS version offered." },
  { name: "SSLMinVersion", type: "string", default: "TLSv1.2", check: "singleLine", choices: ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"], doc: "Lowest TLS version accepted." },
  { name: "SSLNegotiatedCipher", type: "string", default: "", check: "none", readOnly: true, doc: "Read-only: the cipher suite of the current TLS connection (empty without TLS)." },
  { name: "SSLNegotiatedVersion", type: "string", default: "", check: "none", readOnly: true, doc: "Read-only: the protocol of the current TLS connection, e.g. TLSv1.3 (empty without TLS)." },
  { name: "SSLServerName", type: "string", default: "", check: "singleLine", doc: "Host name sent as SNI and checked against the certificate; empty: MailServer (no SNI when MailServer is an IP address)." },
  { name: "StopOnBccErrors", type: "bool", default: true, doc: "A refused BCc recipient fails the send. When false it fires Error and the message goes to the others." },
  { name: "StopOnCcErrors", type: "bool", default: true, doc: "A refused Cc recipient fails the send. When false it fires Error and the message goes to the others." },
  { name: "StopOnToErrors", type: "bool", default: true, doc: "A refused To recipient fails the send. When false it fires Error and the message goes to the others." },
  { name: "Use8BitMime", type: "bool", default: true, doc: "Declare BODY=8BITMIME (RFC 6152) for a message with 8-bit content when the server offers it." },
  { name: "UseChunking", type: "bool", default: true, doc: "Send with BDAT (RFC 3030 CHUNKING) instead of DATA when the server offers it: no dot-stuffing, and with PIPELINING a small message goes in one round trip." },
  { name: "UseDSN", type: "bool", default: true, doc: "Send the DSN parameters (DSNNotify, DSNRet, DSNEnvelopeId, DSNOriginalRecipient) when the server offers DSN." },
  { name: "UsePipelining", type: "bool", default: true, doc: "Send RSET, MAIL, every RCPT and DATA (or BDAT) as one group (RFC 2920 PIPELINING) when the server offers it; every reply is still checked." },
  { name: "UseSize", type: "bool", default: true, doc: "When the server announces SIZE (RFC 1870): refuse a message over its limit before sending (613) and send SIZE= with MAIL FROM." },
  { name: "UseSMTPUTF8", type: "bool", default: true, doc: "Use SMTPUTF8 (RFC 6531) for non-ASCII addresses when the server offers it. Without it, non-ASCII domains go as punycode and a non-ASCII local part fails (614)." },
] as const satisfies readonly SettingSpec[];

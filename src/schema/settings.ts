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
  { name: "Hello", type: "string", default: "", check: "singleLine", doc: "The EHLO / HELO argument. Empty: this machine's host name when it is a valid domain, otherwise the local address as an address literal ([192.0.2.1] or [IPv6:...])." },
  { name: "LogCredentials", type: "bool", default: false, doc: "Show AUTH arguments and responses in PITrail. Off: they appear as `****`." },
  { name: "MaxHeaderLength", type: "int", default: 80, min: 20, max: 998, doc: "Header lines are folded to at most this many characters where whitespace allows." },
  { name: "MaxLineLength", type: "int", default: 2048, min: 512, max: 16777216, doc: "Longest server reply line accepted, in bytes; a longer one fails with code 606 and closes the connection." },
  { name: "OtherHeaders", type: "string", default: "", check: "headerBlock", property: "OtherHeaders", doc: "Same as the OtherHeaders property." },
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
] as const satisfies readonly SettingSpec[];

/**
 * THE table of config("Name=Value") settings. config(), validation and
 * docs/api.md derive from it.
 */
import type { SettingSpec } from "./spec-types.js";

export const SETTINGS = [
  { name: "AllowEmptyTo", type: "bool", default: false, doc: "Allow sending with an empty SendTo (only Cc / BCc / MessageRecipients)." },
  { name: "Charset", type: "string", default: "", check: "singleLine", doc: "Charset for RFC 2047 header encoding and for MessageText (any charset iconv-lite knows). Empty: UTF-8 wherever non-ASCII text needs encoding." },
  { name: "ConnectionTimeout", type: "int", default: 0, min: 0, max: 2147483, unit: "seconds", doc: "Limit for the TCP connect (and the greeting); 0 uses Timeout." },
  { name: "Hello", type: "string", default: "", check: "singleLine", doc: "The EHLO / HELO argument. Empty: this machine's host name when it is a valid domain, otherwise the local address as an address literal ([192.0.2.1] or [IPv6:...])." },
  { name: "MaxHeaderLength", type: "int", default: 80, min: 20, max: 998, doc: "Header lines are folded to at most this many characters where whitespace allows." },
  { name: "MaxLineLength", type: "int", default: 2048, min: 512, max: 16777216, doc: "Longest server reply line accepted, in bytes; a longer one fails with code 606 and closes the connection." },
  { name: "OtherHeaders", type: "string", default: "", check: "headerBlock", property: "OtherHeaders", doc: "Same as the OtherHeaders property." },
  { name: "ReturnPath", type: "string", default: "", check: "singleLine", property: "ReturnPath", doc: "Same as the ReturnPath property." },
  { name: "SendRSET", type: "bool", default: true, doc: "On a connection kept open between sends, start each new transaction with RSET." },
  { name: "StopOnBccErrors", type: "bool", default: true, doc: "A refused BCc recipient fails the send. When false it fires Error and the message goes to the others." },
  { name: "StopOnCcErrors", type: "bool", default: true, doc: "A refused Cc recipient fails the send. When false it fires Error and the message goes to the others." },
  { name: "StopOnToErrors", type: "bool", default: true, doc: "A refused To recipient fails the send. When false it fires Error and the message goes to the others." },
] as const satisfies readonly SettingSpec[];

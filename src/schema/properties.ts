/**
 * THE table of Smtp properties. Accessor types, runtime accessors, validation,
 * constructor options and docs/api.md all derive from it; nothing else lists
 * property names.
 */
import { AUTH_MECHANISM_ROWS } from "../auth/mechanism-values.js";
import { ENCRYPTING_ALGORITHMS, normalizeEncryptingAlgorithm, normalizeSigningAlgorithm, SIGNING_ALGORITHMS } from "../smime/algorithms.js";
import { CERT_STORE_TYPES } from "../transport/cert-store-types.js";
import { FIREWALL_TYPES } from "../transport/firewall-types.js";
import type { CollectionSpec, ScalarSpec } from "./spec-types.js";
import { authMechanismDoc, certStoreTypeDoc, enumNames, firewallTypeDoc, sslCertStoreTypeDoc } from "./enum-tables.js";

/** The table of every property: its name, type, default, checks and doc (docs/api.md and the accessors are made from it). */
export const PROPERTIES = [
  { name: "AllowExtensions", type: "bool", default: true, doc: "Use ESMTP: send EHLO first and fall back to HELO when the server refuses it. When false only HELO is sent." },
  { name: "AttachedFile", type: "string", default: "", check: "singleLine", message: true, doc: "IP*Works SSMTP: the path of a file to attach (in addition to the Attachments collection); the message becomes multipart/mixed." },
  { name: "AuthMechanism", type: "enum", default: 0, ...enumNames(AUTH_MECHANISM_ROWS), doc: authMechanismDoc() },
  { name: "BCc", js: "bcc", type: "string", default: "", check: "singleLine", message: true, doc: "Comma-separated blind-copy recipients: they get RCPT TO but never appear in the headers." },
  { name: "CertStore", type: "string", default: "", check: "none", doc: "S/MIME signer certificate for sign() / signAndEncrypt(): a file path, PEM text (certificate and private key), or base64 PKCS#12, as CertStoreType says." },
  { name: "CertStorePassword", type: "string", default: "", check: "singleLine", doc: "Password of the PKCS#12 store or passphrase of the PEM private key in CertStore." },
  { name: "CertStoreType", type: "enum", default: 99, ...enumNames(CERT_STORE_TYPES), doc: certStoreTypeDoc() },
  { name: "Cc", type: "string", default: "", check: "singleLine", message: true, doc: "Comma-separated carbon-copy recipients (Cc header plus RCPT TO)." },
  { name: "Command", type: "string", default: "", check: "singleLine", custom: true, writeOnly: true, doc: "Write-only: setting it sends the line to the server as a command (connecting first if needed); the reply lands in LastReply and PITrail, a failure fires Error. sendCommand(line) does the same and returns the reply." },
  { name: "Connected", type: "bool", default: false, custom: true, doc: "Whether a connection is open. setConnected(true) connects (like connect()), setConnected(false) disconnects; both return a Promise." },
  { name: "DeliveryNotificationTo", type: "string", default: "", check: "singleLine", message: true, doc: "Address written to a Return-Receipt-To header (a request for a delivery receipt; RFC 3461 DSN goes per recipient through MessageRecipientOptions)." },
  { name: "EncryptingAlgorithm", type: "string", default: "aes256-cbc", check: "singleLine", choices: ENCRYPTING_ALGORITHMS, normalize: normalizeEncryptingAlgorithm, doc: "S/MIME content encryption for encrypt() / signAndEncrypt(): aes256-cbc, aes192-cbc, aes128-cbc, aes256-gcm, aes128-gcm or des-ede3-cbc; IP*Works' spellings (AES256, AES128, 3DES, ...) are taken case-insensitively. Also the config setting EncryptingAlgorithm." },
  { name: "FirewallAutoDetect", object: { name: "Firewall", field: "AutoDetect" }, type: "bool", default: false, doc: "Take the proxy from the environment: ALL_PROXY, SOCKS_PROXY, HTTPS_PROXY (or lower case), as URLs such as socks5://user:pass@host:1080 or http://host:3128; hosts matching NO_PROXY connect directly. Used when FirewallType is 0." },
  { name: "FirewallHost", object: { name: "Firewall", field: "Host" }, type: "string", default: "", check: "singleLine", doc: "Host name or address of the proxy." },
  { name: "FirewallPassword", object: { name: "Firewall", field: "Password" }, type: "string", default: "", check: "singleLine", doc: "Password for the proxy (HTTP Basic or SOCKS5)." },
  { name: "FirewallPort", object: { name: "Firewall", field: "Port" }, type: "int", default: 0, min: 0, max: 65535, doc: "Port of the proxy; 0 is filled in when FirewallType is set: 80 for a tunnel, 1080 for SOCKS." },
  { name: "FirewallType", object: { name: "Firewall", field: "FirewallType" }, type: "enum", default: 0, ...enumNames(FIREWALL_TYPES), doc: firewallTypeDoc() },
  { name: "FirewallUser", object: { name: "Firewall", field: "User" }, type: "string", default: "", check: "singleLine", doc: "User for the proxy (HTTP Basic, SOCKS5 user / password, SOCKS4 user id)." },
  { name: "From", type: "string", default: "", check: "singleLine", message: true, doc: "The sender, e.g. `\"Jane Doe\" <jane@example.com>`. Written to the From header; its (first) address is the envelope sender unless ReturnPath is set. With several mailboxes the first is also written as Sender (RFC 5322)." },
  { name: "Idle", type: "bool", default: true, readOnly: true, doc: "True when no method of this object is running." },
  { name: "Importance", type: "enum", default: 0, values: ["miUnspecified", "miHigh", "miNormal", "miLow"], message: true, doc: "Writes an Importance header (high, normal, low); 0 leaves it out." },
  { name: "IncludeCertificate", type: "bool", default: true, doc: "sign(): include the signer's certificate in the signature. Also the config setting IncludeCertificate." },
  { name: "IncludeChain", type: "bool", default: false, doc: "sign(): include the intermediate certificates of CertStore too. Also the config setting IncludeChain." },
  { name: "LastReply", type: "string", default: "", check: "none", readOnly: true, doc: "The last reply received from the server (all lines of a multi-line reply, joined with CRLF)." },
  { name: "LocalHost", type: "string", default: "", check: "singleLine", fixedWhileConnected: true, doc: "Local address to bind before connecting (an IP of this machine); empty lets the system choose." },
  { name: "MailPort", type: "int", default: 25, min: 1, max: 65535, fixedWhileConnected: true, doc: "The server's TCP port (25 relay, 587 submission)." },
  { name: "MailServer", type: "string", default: "", check: "singleLine", fixedWhileConnected: true, doc: "Host name or IP address of the SMTP server (IPv6 addresses with or without brackets). Through a proxy, a name starting with `*` is passed to the proxy unresolved. Empty with config DirectDelivery=true: each recipient's domain is delivered to directly (MX lookup)." },
  { name: "Message", type: "string", default: "", check: "none", message: true, doc: "A complete RFC 5322 message (headers, empty line, body). When set it is sent as is instead of one built from the header properties; only the envelope (ReturnPath/From and the recipients) comes from the properties." },
  { name: "MessageDate", type: "string", default: "", check: "singleLine", message: true, doc: "Value of the Date header; when empty the current date and time are used." },
  { name: "MessageHTML", type: "string", default: "", check: "none", message: true, doc: "An HTML body. With MessageText as well the message becomes multipart/alternative (text first); inline images from the Attachments collection are referenced as cid:<ContentId>." },
  { name: "MessageHeadersString", type: "string", default: "", check: "none", readOnly: true, doc: "The header block the next send() transmits, folded, as one CRLF-separated string: worked out from the message properties when read, with the Message-ID, Date and multipart boundaries it generates kept for that send (and its retries). After a send: the headers sent, until a message property changes. Empty when the message cannot be composed (e.g. From is empty). Known only at send time: a DKIM-Signature (computed over the body, added in front), the headers re-encoded for a server without 8BITMIME (7-bit conversion); a missing attachment file is found by send(), not here." },
  { name: "MessageId", type: "string", default: "", check: "singleLine", message: true, doc: "Value of the Message-ID header, e.g. `<id@example.com>`; when empty a unique one is generated for each message." },
  { name: "MessageText", type: "string", default: "", check: "none", message: true, doc: "The message body. Line ends are normalized to CRLF and lines starting with \".\" are dot-stuffed on the wire. Ignored when setMessageStream() supplied a stream." },
  { name: "OtherHeaders", type: "string", default: "", check: "headerBlock", message: true, doc: "Extra header lines (`Name: value`, separated by CRLF) added as they are. A header given here replaces the one the component would generate (e.g. Date)." },
  { name: "Password", type: "string", default: "", check: "singleLine", doc: "Password for AUTH (or the OAuth access token for XOAUTH2 / OAUTHBEARER when config AuthorizationIdentity is empty). Never shown in PITrail unless config LogCredentials=true." },
  { name: "Priority", type: "enum", default: 0, values: ["epUnspecified", "epNormal", "epUrgent", "epNonUrgent"], message: true, doc: "Writes a Priority header (normal, urgent, non-urgent); 0 leaves it out." },
  { name: "ReadReceiptTo", type: "string", default: "", check: "singleLine", message: true, doc: "Address written to a Disposition-Notification-To header (RFC 8098 read receipt request)." },
  { name: "ReplyTo", type: "string", default: "", check: "singleLine", message: true, doc: "Value of the Reply-To header (address list)." },
  { name: "ReturnPath", type: "string", default: "", check: "singleLine", message: true, doc: "Envelope sender (MAIL FROM, where bounces go); the From address when empty. Use `<>` for a null reverse path." },
  { name: "RuntimeLicense", type: "string", default: "", check: "singleLine", noEffect: true, doc: "IP*Works' run-time license key. Accepted and kept (setRuntimeLicense() / getRuntimeLicense()) so a port runs unchanged; smtpkit needs no license, so it has no effect. The value is never traced." },
  { name: "SendTo", type: "string", default: "", check: "singleLine", message: true, doc: "Comma-separated primary recipients (To header plus RCPT TO). Required unless config AllowEmptyTo=true." },
  { name: "Sensitivity", type: "enum", default: 0, values: ["esUnspecified", "esPersonal", "esPrivate", "esCompanyConfidential"], message: true, doc: "Writes a Sensitivity header (Personal, Private, Company-Confidential); 0 leaves it out." },
  { name: "SigningAlgorithm", type: "string", default: "sha256", check: "singleLine", choices: SIGNING_ALGORITHMS, normalize: normalizeSigningAlgorithm, doc: "S/MIME signature digest for sign() / signAndEncrypt(): sha256, sha384 or sha512; IP*Works' spellings (SHA256, sha-256, ...) are taken case-insensitively. Also the config setting SigningAlgorithm." },
  { name: "SSLAcceptServerCert", js: "sslAcceptServerCert", type: "string", default: "", check: "none", doc: "A server certificate to trust as is (pinning): PEM text, base64 DER, or its SHA-256 fingerprint (hex, colons optional). A server presenting it is accepted even when validation fails; with a fingerprint, any other certificate is rejected." },
  { name: "SSLAcceptServerCertEncoded", js: "sslAcceptServerCertEncoded", aliasOf: "SSLAcceptServerCert", type: "string", default: "", check: "none", doc: "IP*Works' name for SSLAcceptServerCert: the same value (PEM text, base64 DER or a SHA-256 fingerprint), read and written through either name." },
  { name: "SSLCertStore", js: "sslCertStore", type: "string", default: "", check: "none", doc: "The client certificate: a file path, or the certificate itself (PEM text with the private key, or base64 PKCS#12), as SSLCertStoreType says. Empty: no client certificate." },
  { name: "SSLCertEncoded", js: "sslCertEncoded", aliasOf: "SSLCertStore", type: "string", default: "", check: "none", doc: "IP*Works' name for the client certificate, here another name for SSLCertStore: the certificate with its private key (PEM text or base64 PKCS#12, as SSLCertStoreType says), read and written through either name." },
  { name: "SSLCertStorePassword", js: "sslCertStorePassword", type: "string", default: "", check: "singleLine", doc: "Password of the PKCS#12 store or passphrase of the PEM private key." },
  { name: "SSLCertStoreType", js: "sslCertStoreType", type: "enum", default: 99, ...enumNames(CERT_STORE_TYPES), doc: sslCertStoreTypeDoc() },
  { name: "SSLCertSubject", js: "sslCertSubject", type: "string", default: "", check: "singleLine", doc: "When set (and not \"*\"), the client certificate's subject must contain this text, e.g. `CN=client`; otherwise the store's certificate is used." },
  { name: "SSLEnabled", js: "sslEnabled", type: "bool", default: false, doc: "Require TLS. With SSLStartMode 0 this means implicit TLS on port 465 and STARTTLS that must succeed on other ports. When false, SSLStartMode 0 still uses STARTTLS when the server offers it (opportunistic)." },
  { name: "SSLServerCert", js: "sslServerCert", type: "string", default: "", check: "none", readOnly: true, custom: true, docType: "X509Certificate | undefined", doc: "The server's certificate after the TLS handshake (a node:crypto X509Certificate: subject, issuer, validTo, fingerprint256, raw), undefined before." },
  { name: "SSLServerCertEncoded", js: "sslServerCertEncoded", encodedOf: "SSLServerCert", type: "string", default: "", check: "none", readOnly: true, doc: "The server's certificate from the last TLS handshake as base64 DER (SSLServerCert's raw bytes); empty before one." },
  { name: "SSLStartMode", js: "sslStartMode", type: "enum", default: 0, values: ["sslAutomatic", "sslImplicit", "sslExplicit", "sslNone"], doc: "0 automatic: implicit TLS on port 465, elsewhere STARTTLS when offered (required when SSLEnabled); 1 implicit TLS from the first byte; 2 explicit: STARTTLS required, the session fails before MAIL FROM or AUTH if it is missing or refused; 3 no TLS." },
  { name: "Subject", type: "string", default: "", check: "singleLine", message: true, doc: "The Subject header; non-ASCII text is RFC 2047-encoded with config Charset (UTF-8 by default)." },
  { name: "Timeout", type: "int", default: 60, min: 0, max: 2147483, unit: "seconds", doc: "Seconds of inactivity allowed: waiting for a reply (restarted by every byte the server sends) or for the server to take more data; 0 waits forever. With config AbsoluteTimeout it bounds the whole method instead." },
  { name: "User", type: "string", default: "", check: "singleLine", doc: "User name for AUTH. When set, connect() (and a send() that connects) authenticates with AuthMechanism after TLS is up." },
] as const satisfies readonly ScalarSpec[];

/** The table of the collections (MessageRecipients, Attachments, ...): their items' fields. */
export const COLLECTIONS = [
  {
    name: "MessageRecipients",
    item: "MessageRecipient",
    js: "messageRecipients",
    doc: "Recipients in addition to SendTo / Cc / BCc, each with a type and raw RCPT TO parameters. To and Cc entries also appear in the headers.",
    fields: [
      { name: "Address", type: "string", default: "", check: "singleLine", doc: "The recipient's address." },
      { name: "Name", type: "string", default: "", check: "singleLine", doc: "Display name written to the To / Cc header." },
      { name: "Options", type: "string", default: "", check: "singleLine", doc: "Raw ESMTP parameters appended to this recipient's RCPT TO (e.g. `NOTIFY=SUCCESS,FAILURE`)." },
      { name: "Type", type: "enum", default: 0, values: ["rtTo", "rtCc", "rtBCc"], doc: "0 To, 1 Cc, 2 BCc (envelope only)." },
    ],
  },
  {
    name: "Attachments",
    item: "Attachment",
    js: "attachments",
    doc: "Files attached to the message (IP*Works SSMTP). addAttachment() also takes a Buffer or a stream; such entries show File as empty. Files are read and encoded while the message is sent, never held in memory whole.",
    fields: [
      { name: "File", type: "string", default: "", check: "singleLine", doc: "Path of the file to attach." },
      { name: "Name", type: "string", default: "", check: "singleLine", doc: "File name shown to the recipient; default: the file's name." },
      { name: "ContentType", type: "string", default: "", check: "singleLine", doc: "MIME type; default: from the name's extension." },
      { name: "ContentId", type: "string", default: "", check: "singleLine", doc: "Content-ID for an inline part referenced from MessageHTML as cid:<ContentId>." },
      { name: "Inline", type: "bool", default: false, doc: "Content-Disposition: inline (default: inline when ContentId is set)." },
    ],
  },
  {
    name: "RecipientCerts",
    item: "RecipientCert",
    js: "recipientCerts",
    itemObjects: "Certificate",
    doc: "S/MIME recipients' certificates for encrypt() / signAndEncrypt(): DER bytes, base64 DER, PEM text or a path; addRecipientCert() adds one.",
    fields: [
      { name: "Encoded", type: "string", default: "", check: "none", doc: "The certificate: PEM text or a path to a PEM file." },
    ],
  },
  {
    name: "MessageHeaders",
    item: "MessageHeader",
    js: "messageHeaders",
    readOnly: true,
    doc: "The headers of MessageHeadersString (the next send's; after a send, those sent), as field / value pairs with values in their encoded wire form.",
    fields: [
      { name: "Field", type: "string", default: "", check: "none", doc: "Header name." },
      { name: "Value", type: "string", default: "", check: "none", doc: "Header value (unfolded, encoded as sent)." },
    ],
  },
] as const satisfies readonly CollectionSpec[];

// Generated from the schema tables (src/schema/properties.ts, settings.ts, constants.ts) by
// scripts/gen-accessor-types.mjs (`npm run docs` runs it): do not edit by hand.
// spec/unit/typed-api.spec.ts fails when this file is out of date with the tables.
import type {
  CollectionFields, ItemInputOf, ItemListOf, ItemObjectOf, ObjectFields, ObjectOf, ReadonlyItemList,
} from "./item-types.js";
import type { AuthMechanism, CertStoreType, FirewallType, Importance, Priority, Sensitivity, SSLCertStoreType, SSLStartMode, MessageRecipientType } from "./constants.generated.js";

/** Every accessor the schema generates (installed by install-accessors.ts), each with its row's doc: Smtp's interface extends this. */
export interface GeneratedAccessors {
  /** Use ESMTP: send EHLO first and fall back to HELO when the server refuses it. When false only HELO is sent. */
  getAllowExtensions(): boolean;
  /** Use ESMTP: send EHLO first and fall back to HELO when the server refuses it. When false only HELO is sent. */
  setAllowExtensions(value: boolean): void;
  /** Use ESMTP: send EHLO first and fall back to HELO when the server refuses it. When false only HELO is sent. */
  allowExtensions: boolean;
  /** IP*Works SSMTP: the path of a file to attach (in addition to the Attachments collection); the message becomes multipart/mixed. */
  getAttachedFile(): string;
  /** IP*Works SSMTP: the path of a file to attach (in addition to the Attachments collection); the message becomes multipart/mixed. */
  setAttachedFile(value: string): void;
  /** IP*Works SSMTP: the path of a file to attach (in addition to the Attachments collection); the message becomes multipart/mixed. */
  attachedFile: string;
  /** SASL mechanism used when User is set: 0 PLAIN or LOGIN (whichever the server offers, PLAIN first), 1 CRAM-MD5, 2 NTLM (v2), 4 PLAIN, 5 DIGEST-MD5, 7 XOAUTH2, 8 OAUTHBEARER, 9 SCRAM-SHA-1, 10 SCRAM-SHA-256, 11 the strongest both sides support. 3 APOP and 6 Kerberos do not apply to SMTP and fail with code 623. */
  getAuthMechanism(): AuthMechanism;
  /** SASL mechanism used when User is set: 0 PLAIN or LOGIN (whichever the server offers, PLAIN first), 1 CRAM-MD5, 2 NTLM (v2), 4 PLAIN, 5 DIGEST-MD5, 7 XOAUTH2, 8 OAUTHBEARER, 9 SCRAM-SHA-1, 10 SCRAM-SHA-256, 11 the strongest both sides support. 3 APOP and 6 Kerberos do not apply to SMTP and fail with code 623. */
  setAuthMechanism(value: AuthMechanism): void;
  /** SASL mechanism used when User is set: 0 PLAIN or LOGIN (whichever the server offers, PLAIN first), 1 CRAM-MD5, 2 NTLM (v2), 4 PLAIN, 5 DIGEST-MD5, 7 XOAUTH2, 8 OAUTHBEARER, 9 SCRAM-SHA-1, 10 SCRAM-SHA-256, 11 the strongest both sides support. 3 APOP and 6 Kerberos do not apply to SMTP and fail with code 623. */
  authMechanism: AuthMechanism;
  /** Comma-separated blind-copy recipients: they get RCPT TO but never appear in the headers. */
  getBCc(): string;
  /** Comma-separated blind-copy recipients: they get RCPT TO but never appear in the headers. */
  setBCc(value: string): void;
  /** Comma-separated blind-copy recipients: they get RCPT TO but never appear in the headers. */
  bcc: string;
  /** S/MIME signer certificate for sign() / signAndEncrypt(): a file path, PEM text (certificate and private key), or base64 PKCS#12, as CertStoreType says. */
  getCertStore(): string;
  /** S/MIME signer certificate for sign() / signAndEncrypt(): a file path, PEM text (certificate and private key), or base64 PKCS#12, as CertStoreType says. */
  setCertStore(value: string): void;
  /** S/MIME signer certificate for sign() / signAndEncrypt(): a file path, PEM text (certificate and private key), or base64 PKCS#12, as CertStoreType says. */
  certStore: string;
  /** Password of the PKCS#12 store or passphrase of the PEM private key in CertStore. */
  getCertStorePassword(): string;
  /** Password of the PKCS#12 store or passphrase of the PEM private key in CertStore. */
  setCertStorePassword(value: string): void;
  /** Password of the PKCS#12 store or passphrase of the PEM private key in CertStore. */
  certStorePassword: string;
  /** What CertStore holds: 2 PKCS#12 file, 3 PKCS#12 blob (base64), 6 PEM file, 7 PEM text, 99 detect. */
  getCertStoreType(): CertStoreType;
  /** What CertStore holds: 2 PKCS#12 file, 3 PKCS#12 blob (base64), 6 PEM file, 7 PEM text, 99 detect. */
  setCertStoreType(value: CertStoreType): void;
  /** What CertStore holds: 2 PKCS#12 file, 3 PKCS#12 blob (base64), 6 PEM file, 7 PEM text, 99 detect. */
  certStoreType: CertStoreType;
  /** Comma-separated carbon-copy recipients (Cc header plus RCPT TO). */
  getCc(): string;
  /** Comma-separated carbon-copy recipients (Cc header plus RCPT TO). */
  setCc(value: string): void;
  /** Comma-separated carbon-copy recipients (Cc header plus RCPT TO). */
  cc: string;
  /** Address written to a Return-Receipt-To header (a request for a delivery receipt; RFC 3461 DSN goes per recipient through MessageRecipientOptions). */
  getDeliveryNotificationTo(): string;
  /** Address written to a Return-Receipt-To header (a request for a delivery receipt; RFC 3461 DSN goes per recipient through MessageRecipientOptions). */
  setDeliveryNotificationTo(value: string): void;
  /** Address written to a Return-Receipt-To header (a request for a delivery receipt; RFC 3461 DSN goes per recipient through MessageRecipientOptions). */
  deliveryNotificationTo: string;
  /** S/MIME content encryption for encrypt() / signAndEncrypt(): aes256-cbc, aes192-cbc, aes128-cbc, aes256-gcm, aes128-gcm or des-ede3-cbc; IP*Works' spellings (AES256, AES128, 3DES, ...) are taken case-insensitively. Also the config setting EncryptingAlgorithm. */
  getEncryptingAlgorithm(): string;
  /** S/MIME content encryption for encrypt() / signAndEncrypt(): aes256-cbc, aes192-cbc, aes128-cbc, aes256-gcm, aes128-gcm or des-ede3-cbc; IP*Works' spellings (AES256, AES128, 3DES, ...) are taken case-insensitively. Also the config setting EncryptingAlgorithm. */
  setEncryptingAlgorithm(value: string): void;
  /** S/MIME content encryption for encrypt() / signAndEncrypt(): aes256-cbc, aes192-cbc, aes128-cbc, aes256-gcm, aes128-gcm or des-ede3-cbc; IP*Works' spellings (AES256, AES128, 3DES, ...) are taken case-insensitively. Also the config setting EncryptingAlgorithm. */
  encryptingAlgorithm: string;
  /** Take the proxy from the environment: ALL_PROXY, SOCKS_PROXY, HTTPS_PROXY (or lower case), as URLs such as socks5://user:pass@host:1080 or http://host:3128; hosts matching NO_PROXY connect directly. Used when FirewallType is 0. */
  getFirewallAutoDetect(): boolean;
  /** Take the proxy from the environment: ALL_PROXY, SOCKS_PROXY, HTTPS_PROXY (or lower case), as URLs such as socks5://user:pass@host:1080 or http://host:3128; hosts matching NO_PROXY connect directly. Used when FirewallType is 0. */
  setFirewallAutoDetect(value: boolean): void;
  /** Take the proxy from the environment: ALL_PROXY, SOCKS_PROXY, HTTPS_PROXY (or lower case), as URLs such as socks5://user:pass@host:1080 or http://host:3128; hosts matching NO_PROXY connect directly. Used when FirewallType is 0. */
  firewallAutoDetect: boolean;
  /** Host name or address of the proxy. */
  getFirewallHost(): string;
  /** Host name or address of the proxy. */
  setFirewallHost(value: string): void;
  /** Host name or address of the proxy. */
  firewallHost: string;
  /** Password for the proxy (HTTP Basic or SOCKS5). */
  getFirewallPassword(): string;
  /** Password for the proxy (HTTP Basic or SOCKS5). */
  setFirewallPassword(value: string): void;
  /** Password for the proxy (HTTP Basic or SOCKS5). */
  firewallPassword: string;
  /** Port of the proxy; 0 is filled in when FirewallType is set: 80 for a tunnel, 1080 for SOCKS. */
  getFirewallPort(): number;
  /** Port of the proxy; 0 is filled in when FirewallType is set: 80 for a tunnel, 1080 for SOCKS. */
  setFirewallPort(value: number): void;
  /** Port of the proxy; 0 is filled in when FirewallType is set: 80 for a tunnel, 1080 for SOCKS. */
  firewallPort: number;
  /** 0 direct, 1 HTTP CONNECT tunnel (with Basic auth when FirewallUser is set), 2 SOCKS4, 3 SOCKS5 (user / password auth), 10 SOCKS4A. TLS (implicit and STARTTLS) runs end to end through the proxy. */
  getFirewallType(): FirewallType;
  /** 0 direct, 1 HTTP CONNECT tunnel (with Basic auth when FirewallUser is set), 2 SOCKS4, 3 SOCKS5 (user / password auth), 10 SOCKS4A. TLS (implicit and STARTTLS) runs end to end through the proxy. */
  setFirewallType(value: FirewallType): void;
  /** 0 direct, 1 HTTP CONNECT tunnel (with Basic auth when FirewallUser is set), 2 SOCKS4, 3 SOCKS5 (user / password auth), 10 SOCKS4A. TLS (implicit and STARTTLS) runs end to end through the proxy. */
  firewallType: FirewallType;
  /** User for the proxy (HTTP Basic, SOCKS5 user / password, SOCKS4 user id). */
  getFirewallUser(): string;
  /** User for the proxy (HTTP Basic, SOCKS5 user / password, SOCKS4 user id). */
  setFirewallUser(value: string): void;
  /** User for the proxy (HTTP Basic, SOCKS5 user / password, SOCKS4 user id). */
  firewallUser: string;
  /** The sender, e.g. `"Jane Doe" <jane@example.com>`. Written to the From header; its (first) address is the envelope sender unless ReturnPath is set. With several mailboxes the first is also written as Sender (RFC 5322). */
  getFrom(): string;
  /** The sender, e.g. `"Jane Doe" <jane@example.com>`. Written to the From header; its (first) address is the envelope sender unless ReturnPath is set. With several mailboxes the first is also written as Sender (RFC 5322). */
  setFrom(value: string): void;
  /** The sender, e.g. `"Jane Doe" <jane@example.com>`. Written to the From header; its (first) address is the envelope sender unless ReturnPath is set. With several mailboxes the first is also written as Sender (RFC 5322). */
  from: string;
  /** True when no method of this object is running. */
  getIdle(): boolean;
  /** True when no method of this object is running. */
  readonly idle: boolean;
  /** Writes an Importance header (high, normal, low); 0 leaves it out. */
  getImportance(): Importance;
  /** Writes an Importance header (high, normal, low); 0 leaves it out. */
  setImportance(value: Importance): void;
  /** Writes an Importance header (high, normal, low); 0 leaves it out. */
  importance: Importance;
  /** sign(): include the signer's certificate in the signature. Also the config setting IncludeCertificate. */
  getIncludeCertificate(): boolean;
  /** sign(): include the signer's certificate in the signature. Also the config setting IncludeCertificate. */
  setIncludeCertificate(value: boolean): void;
  /** sign(): include the signer's certificate in the signature. Also the config setting IncludeCertificate. */
  includeCertificate: boolean;
  /** sign(): include the intermediate certificates of CertStore too. Also the config setting IncludeChain. */
  getIncludeChain(): boolean;
  /** sign(): include the intermediate certificates of CertStore too. Also the config setting IncludeChain. */
  setIncludeChain(value: boolean): void;
  /** sign(): include the intermediate certificates of CertStore too. Also the config setting IncludeChain. */
  includeChain: boolean;
  /** The last reply received from the server (all lines of a multi-line reply, joined with CRLF). */
  getLastReply(): string;
  /** The last reply received from the server (all lines of a multi-line reply, joined with CRLF). */
  readonly lastReply: string;
  /** Local address to bind before connecting (an IP of this machine); empty lets the system choose. */
  getLocalHost(): string;
  /** Local address to bind before connecting (an IP of this machine); empty lets the system choose. */
  setLocalHost(value: string): void;
  /** Local address to bind before connecting (an IP of this machine); empty lets the system choose. */
  localHost: string;
  /** The server's TCP port (25 relay, 587 submission). */
  getMailPort(): number;
  /** The server's TCP port (25 relay, 587 submission). */
  setMailPort(value: number): void;
  /** The server's TCP port (25 relay, 587 submission). */
  mailPort: number;
  /** Host name or IP address of the SMTP server (IPv6 addresses with or without brackets). Through a proxy, a name starting with `*` is passed to the proxy unresolved. Empty with config DirectDelivery=true: each recipient's domain is delivered to directly (MX lookup). */
  getMailServer(): string;
  /** Host name or IP address of the SMTP server (IPv6 addresses with or without brackets). Through a proxy, a name starting with `*` is passed to the proxy unresolved. Empty with config DirectDelivery=true: each recipient's domain is delivered to directly (MX lookup). */
  setMailServer(value: string): void;
  /** Host name or IP address of the SMTP server (IPv6 addresses with or without brackets). Through a proxy, a name starting with `*` is passed to the proxy unresolved. Empty with config DirectDelivery=true: each recipient's domain is delivered to directly (MX lookup). */
  mailServer: string;
  /** A complete RFC 5322 message (headers, empty line, body). When set it is sent as is instead of one built from the header properties; only the envelope (ReturnPath/From and the recipients) comes from the properties. */
  getMessage(): string;
  /** A complete RFC 5322 message (headers, empty line, body). When set it is sent as is instead of one built from the header properties; only the envelope (ReturnPath/From and the recipients) comes from the properties. */
  setMessage(value: string): void;
  /** A complete RFC 5322 message (headers, empty line, body). When set it is sent as is instead of one built from the header properties; only the envelope (ReturnPath/From and the recipients) comes from the properties. */
  message: string;
  /** Value of the Date header; when empty the current date and time are used. */
  getMessageDate(): string;
  /** Value of the Date header; when empty the current date and time are used. */
  setMessageDate(value: string): void;
  /** Value of the Date header; when empty the current date and time are used. */
  messageDate: string;
  /** An HTML body. With MessageText as well the message becomes multipart/alternative (text first); inline images from the Attachments collection are referenced as cid:<ContentId>. */
  getMessageHTML(): string;
  /** An HTML body. With MessageText as well the message becomes multipart/alternative (text first); inline images from the Attachments collection are referenced as cid:<ContentId>. */
  setMessageHTML(value: string): void;
  /** An HTML body. With MessageText as well the message becomes multipart/alternative (text first); inline images from the Attachments collection are referenced as cid:<ContentId>. */
  messageHTML: string;
  /** The header block the next send() transmits, folded, as one CRLF-separated string: worked out from the message properties when read, with the Message-ID, Date and multipart boundaries it generates kept for that send (and its retries). After a send: the headers sent, until a message property changes. Empty when the message cannot be composed (e.g. From is empty). Known only at send time: a DKIM-Signature (computed over the body, added in front), the headers re-encoded for a server without 8BITMIME (7-bit conversion); a missing attachment file is found by send(), not here. */
  getMessageHeadersString(): string;
  /** The header block the next send() transmits, folded, as one CRLF-separated string: worked out from the message properties when read, with the Message-ID, Date and multipart boundaries it generates kept for that send (and its retries). After a send: the headers sent, until a message property changes. Empty when the message cannot be composed (e.g. From is empty). Known only at send time: a DKIM-Signature (computed over the body, added in front), the headers re-encoded for a server without 8BITMIME (7-bit conversion); a missing attachment file is found by send(), not here. */
  readonly messageHeadersString: string;
  /** Value of the Message-ID header, e.g. `<id@example.com>`; when empty a unique one is generated for each message. */
  getMessageId(): string;
  /** Value of the Message-ID header, e.g. `<id@example.com>`; when empty a unique one is generated for each message. */
  setMessageId(value: string): void;
  /** Value of the Message-ID header, e.g. `<id@example.com>`; when empty a unique one is generated for each message. */
  messageId: string;
  /** The message body. Line ends are normalized to CRLF and lines starting with "." are dot-stuffed on the wire. Ignored when setMessageStream() supplied a stream. */
  getMessageText(): string;
  /** The message body. Line ends are normalized to CRLF and lines starting with "." are dot-stuffed on the wire. Ignored when setMessageStream() supplied a stream. */
  setMessageText(value: string): void;
  /** The message body. Line ends are normalized to CRLF and lines starting with "." are dot-stuffed on the wire. Ignored when setMessageStream() supplied a stream. */
  messageText: string;
  /** Extra header lines (`Name: value`, separated by CRLF) added as they are. A header given here replaces the one the component would generate (e.g. Date). */
  getOtherHeaders(): string;
  /** Extra header lines (`Name: value`, separated by CRLF) added as they are. A header given here replaces the one the component would generate (e.g. Date). */
  setOtherHeaders(value: string): void;
  /** Extra header lines (`Name: value`, separated by CRLF) added as they are. A header given here replaces the one the component would generate (e.g. Date). */
  otherHeaders: string;
  /** Password for AUTH (or the OAuth access token for XOAUTH2 / OAUTHBEARER when config AuthorizationIdentity is empty). Never shown in PITrail unless config LogCredentials=true. */
  getPassword(): string;
  /** Password for AUTH (or the OAuth access token for XOAUTH2 / OAUTHBEARER when config AuthorizationIdentity is empty). Never shown in PITrail unless config LogCredentials=true. */
  setPassword(value: string): void;
  /** Password for AUTH (or the OAuth access token for XOAUTH2 / OAUTHBEARER when config AuthorizationIdentity is empty). Never shown in PITrail unless config LogCredentials=true. */
  password: string;
  /** Writes a Priority header (normal, urgent, non-urgent); 0 leaves it out. */
  getPriority(): Priority;
  /** Writes a Priority header (normal, urgent, non-urgent); 0 leaves it out. */
  setPriority(value: Priority): void;
  /** Writes a Priority header (normal, urgent, non-urgent); 0 leaves it out. */
  priority: Priority;
  /** Address written to a Disposition-Notification-To header (RFC 8098 read receipt request). */
  getReadReceiptTo(): string;
  /** Address written to a Disposition-Notification-To header (RFC 8098 read receipt request). */
  setReadReceiptTo(value: string): void;
  /** Address written to a Disposition-Notification-To header (RFC 8098 read receipt request). */
  readReceiptTo: string;
  /** Value of the Reply-To header (address list). */
  getReplyTo(): string;
  /** Value of the Reply-To header (address list). */
  setReplyTo(value: string): void;
  /** Value of the Reply-To header (address list). */
  replyTo: string;
  /** Envelope sender (MAIL FROM, where bounces go); the From address when empty. Use `<>` for a null reverse path. */
  getReturnPath(): string;
  /** Envelope sender (MAIL FROM, where bounces go); the From address when empty. Use `<>` for a null reverse path. */
  setReturnPath(value: string): void;
  /** Envelope sender (MAIL FROM, where bounces go); the From address when empty. Use `<>` for a null reverse path. */
  returnPath: string;
  /** IP*Works' run-time license key. Accepted and kept (setRuntimeLicense() / getRuntimeLicense()) so a port runs unchanged; smtpkit needs no license, so it has no effect. The value is never traced. */
  getRuntimeLicense(): string;
  /** IP*Works' run-time license key. Accepted and kept (setRuntimeLicense() / getRuntimeLicense()) so a port runs unchanged; smtpkit needs no license, so it has no effect. The value is never traced. */
  setRuntimeLicense(value: string): void;
  /** IP*Works' run-time license key. Accepted and kept (setRuntimeLicense() / getRuntimeLicense()) so a port runs unchanged; smtpkit needs no license, so it has no effect. The value is never traced. */
  runtimeLicense: string;
  /** Comma-separated primary recipients (To header plus RCPT TO). Required unless config AllowEmptyTo=true. */
  getSendTo(): string;
  /** Comma-separated primary recipients (To header plus RCPT TO). Required unless config AllowEmptyTo=true. */
  setSendTo(value: string): void;
  /** Comma-separated primary recipients (To header plus RCPT TO). Required unless config AllowEmptyTo=true. */
  sendTo: string;
  /** Writes a Sensitivity header (Personal, Private, Company-Confidential); 0 leaves it out. */
  getSensitivity(): Sensitivity;
  /** Writes a Sensitivity header (Personal, Private, Company-Confidential); 0 leaves it out. */
  setSensitivity(value: Sensitivity): void;
  /** Writes a Sensitivity header (Personal, Private, Company-Confidential); 0 leaves it out. */
  sensitivity: Sensitivity;
  /** S/MIME signature digest for sign() / signAndEncrypt(): sha256, sha384 or sha512; IP*Works' spellings (SHA256, sha-256, ...) are taken case-insensitively. Also the config setting SigningAlgorithm. */
  getSigningAlgorithm(): string;
  /** S/MIME signature digest for sign() / signAndEncrypt(): sha256, sha384 or sha512; IP*Works' spellings (SHA256, sha-256, ...) are taken case-insensitively. Also the config setting SigningAlgorithm. */
  setSigningAlgorithm(value: string): void;
  /** S/MIME signature digest for sign() / signAndEncrypt(): sha256, sha384 or sha512; IP*Works' spellings (SHA256, sha-256, ...) are taken case-insensitively. Also the config setting SigningAlgorithm. */
  signingAlgorithm: string;
  /** A server certificate to trust as is (pinning): PEM text, base64 DER, or its SHA-256 fingerprint (hex, colons optional). A server presenting it is accepted even when validation fails; with a fingerprint, any other certificate is rejected. */
  getSSLAcceptServerCert(): string;
  /** A server certificate to trust as is (pinning): PEM text, base64 DER, or its SHA-256 fingerprint (hex, colons optional). A server presenting it is accepted even when validation fails; with a fingerprint, any other certificate is rejected. */
  setSSLAcceptServerCert(value: string): void;
  /** A server certificate to trust as is (pinning): PEM text, base64 DER, or its SHA-256 fingerprint (hex, colons optional). A server presenting it is accepted even when validation fails; with a fingerprint, any other certificate is rejected. */
  sslAcceptServerCert: string;
  /** IP*Works' name for SSLAcceptServerCert: the same value (PEM text, base64 DER or a SHA-256 fingerprint), read and written through either name. */
  getSSLAcceptServerCertEncoded(): string;
  /** IP*Works' name for SSLAcceptServerCert: the same value (PEM text, base64 DER or a SHA-256 fingerprint), read and written through either name. */
  setSSLAcceptServerCertEncoded(value: string): void;
  /** IP*Works' name for SSLAcceptServerCert: the same value (PEM text, base64 DER or a SHA-256 fingerprint), read and written through either name. */
  sslAcceptServerCertEncoded: string;
  /** The client certificate: a file path, or the certificate itself (PEM text with the private key, or base64 PKCS#12), as SSLCertStoreType says. Empty: no client certificate. */
  getSSLCertStore(): string;
  /** The client certificate: a file path, or the certificate itself (PEM text with the private key, or base64 PKCS#12), as SSLCertStoreType says. Empty: no client certificate. */
  setSSLCertStore(value: string): void;
  /** The client certificate: a file path, or the certificate itself (PEM text with the private key, or base64 PKCS#12), as SSLCertStoreType says. Empty: no client certificate. */
  sslCertStore: string;
  /** IP*Works' name for the client certificate, here another name for SSLCertStore: the certificate with its private key (PEM text or base64 PKCS#12, as SSLCertStoreType says), read and written through either name. */
  getSSLCertEncoded(): string;
  /** IP*Works' name for the client certificate, here another name for SSLCertStore: the certificate with its private key (PEM text or base64 PKCS#12, as SSLCertStoreType says), read and written through either name. */
  setSSLCertEncoded(value: string): void;
  /** IP*Works' name for the client certificate, here another name for SSLCertStore: the certificate with its private key (PEM text or base64 PKCS#12, as SSLCertStoreType says), read and written through either name. */
  sslCertEncoded: string;
  /** Password of the PKCS#12 store or passphrase of the PEM private key. */
  getSSLCertStorePassword(): string;
  /** Password of the PKCS#12 store or passphrase of the PEM private key. */
  setSSLCertStorePassword(value: string): void;
  /** Password of the PKCS#12 store or passphrase of the PEM private key. */
  sslCertStorePassword: string;
  /** What SSLCertStore holds: 2 PKCS#12 file, 3 PKCS#12 blob (base64), 6 PEM file (certificate and key), 7 PEM text, 99 detect (a path or content; PEM or PKCS#12). Windows stores (0, 1), Java key stores (4, 5), Public key files and blobs (8, 9, 10, 13), PKCS#7 certificate bundles (no private key) (11, 12), Key-only formats (PuTTY, XML, JWK) (14, 15, 16, 17, 18, 19) and Hardware security keys (20) are accepted as values but not available on Node: the connection fails with code 278. */
  getSSLCertStoreType(): SSLCertStoreType;
  /** What SSLCertStore holds: 2 PKCS#12 file, 3 PKCS#12 blob (base64), 6 PEM file (certificate and key), 7 PEM text, 99 detect (a path or content; PEM or PKCS#12). Windows stores (0, 1), Java key stores (4, 5), Public key files and blobs (8, 9, 10, 13), PKCS#7 certificate bundles (no private key) (11, 12), Key-only formats (PuTTY, XML, JWK) (14, 15, 16, 17, 18, 19) and Hardware security keys (20) are accepted as values but not available on Node: the connection fails with code 278. */
  setSSLCertStoreType(value: SSLCertStoreType): void;
  /** What SSLCertStore holds: 2 PKCS#12 file, 3 PKCS#12 blob (base64), 6 PEM file (certificate and key), 7 PEM text, 99 detect (a path or content; PEM or PKCS#12). Windows stores (0, 1), Java key stores (4, 5), Public key files and blobs (8, 9, 10, 13), PKCS#7 certificate bundles (no private key) (11, 12), Key-only formats (PuTTY, XML, JWK) (14, 15, 16, 17, 18, 19) and Hardware security keys (20) are accepted as values but not available on Node: the connection fails with code 278. */
  sslCertStoreType: SSLCertStoreType;
  /** When set (and not "*"), the client certificate's subject must contain this text, e.g. `CN=client`; otherwise the store's certificate is used. */
  getSSLCertSubject(): string;
  /** When set (and not "*"), the client certificate's subject must contain this text, e.g. `CN=client`; otherwise the store's certificate is used. */
  setSSLCertSubject(value: string): void;
  /** When set (and not "*"), the client certificate's subject must contain this text, e.g. `CN=client`; otherwise the store's certificate is used. */
  sslCertSubject: string;
  /** Require TLS. With SSLStartMode 0 this means implicit TLS on port 465 and STARTTLS that must succeed on other ports. When false, SSLStartMode 0 still uses STARTTLS when the server offers it (opportunistic). */
  getSSLEnabled(): boolean;
  /** Require TLS. With SSLStartMode 0 this means implicit TLS on port 465 and STARTTLS that must succeed on other ports. When false, SSLStartMode 0 still uses STARTTLS when the server offers it (opportunistic). */
  setSSLEnabled(value: boolean): void;
  /** Require TLS. With SSLStartMode 0 this means implicit TLS on port 465 and STARTTLS that must succeed on other ports. When false, SSLStartMode 0 still uses STARTTLS when the server offers it (opportunistic). */
  sslEnabled: boolean;
  /** The server's certificate from the last TLS handshake as base64 DER (SSLServerCert's raw bytes); empty before one. */
  getSSLServerCertEncoded(): string;
  /** The server's certificate from the last TLS handshake as base64 DER (SSLServerCert's raw bytes); empty before one. */
  readonly sslServerCertEncoded: string;
  /** 0 automatic: implicit TLS on port 465, elsewhere STARTTLS when offered (required when SSLEnabled); 1 implicit TLS from the first byte; 2 explicit: STARTTLS required, the session fails before MAIL FROM or AUTH if it is missing or refused; 3 no TLS. */
  getSSLStartMode(): SSLStartMode;
  /** 0 automatic: implicit TLS on port 465, elsewhere STARTTLS when offered (required when SSLEnabled); 1 implicit TLS from the first byte; 2 explicit: STARTTLS required, the session fails before MAIL FROM or AUTH if it is missing or refused; 3 no TLS. */
  setSSLStartMode(value: SSLStartMode): void;
  /** 0 automatic: implicit TLS on port 465, elsewhere STARTTLS when offered (required when SSLEnabled); 1 implicit TLS from the first byte; 2 explicit: STARTTLS required, the session fails before MAIL FROM or AUTH if it is missing or refused; 3 no TLS. */
  sslStartMode: SSLStartMode;
  /** The Subject header; non-ASCII text is RFC 2047-encoded with config Charset (UTF-8 by default). */
  getSubject(): string;
  /** The Subject header; non-ASCII text is RFC 2047-encoded with config Charset (UTF-8 by default). */
  setSubject(value: string): void;
  /** The Subject header; non-ASCII text is RFC 2047-encoded with config Charset (UTF-8 by default). */
  subject: string;
  /** Seconds of inactivity allowed: waiting for a reply (restarted by every byte the server sends) or for the server to take more data; 0 waits forever. With config AbsoluteTimeout it bounds the whole method instead. */
  getTimeout(): number;
  /** Seconds of inactivity allowed: waiting for a reply (restarted by every byte the server sends) or for the server to take more data; 0 waits forever. With config AbsoluteTimeout it bounds the whole method instead. */
  setTimeout(value: number): void;
  /** Seconds of inactivity allowed: waiting for a reply (restarted by every byte the server sends) or for the server to take more data; 0 waits forever. With config AbsoluteTimeout it bounds the whole method instead. */
  timeout: number;
  /** User name for AUTH. When set, connect() (and a send() that connects) authenticates with AuthMechanism after TLS is up. */
  getUser(): string;
  /** User name for AUTH. When set, connect() (and a send() that connects) authenticates with AuthMechanism after TLS is up. */
  setUser(value: string): void;
  /** User name for AUTH. When set, connect() (and a send() that connects) authenticates with AuthMechanism after TLS is up. */
  user: string;
  /** The number of MessageRecipients items. Recipients in addition to SendTo / Cc / BCc, each with a type and raw RCPT TO parameters. To and Cc entries also appear in the headers. */
  getMessageRecipientCount(): number;
  /** The number of MessageRecipients items. Recipients in addition to SendTo / Cc / BCc, each with a type and raw RCPT TO parameters. To and Cc entries also appear in the headers. */
  setMessageRecipientCount(count: number): void;
  /** MessageRecipient Address of item `index` (0-based): The recipient's address. */
  getMessageRecipientAddress(index: number): string;
  /** MessageRecipient Address of item `index` (0-based): The recipient's address. */
  setMessageRecipientAddress(index: number, value: string): void;
  /** MessageRecipient Name of item `index` (0-based): Display name written to the To / Cc header. */
  getMessageRecipientName(index: number): string;
  /** MessageRecipient Name of item `index` (0-based): Display name written to the To / Cc header. */
  setMessageRecipientName(index: number, value: string): void;
  /** MessageRecipient Options of item `index` (0-based): Raw ESMTP parameters appended to this recipient's RCPT TO (e.g. `NOTIFY=SUCCESS,FAILURE`). */
  getMessageRecipientOptions(index: number): string;
  /** MessageRecipient Options of item `index` (0-based): Raw ESMTP parameters appended to this recipient's RCPT TO (e.g. `NOTIFY=SUCCESS,FAILURE`). */
  setMessageRecipientOptions(index: number, value: string): void;
  /** MessageRecipient Type of item `index` (0-based): 0 To, 1 Cc, 2 BCc (envelope only). */
  getMessageRecipientType(index: number): MessageRecipientType;
  /** MessageRecipient Type of item `index` (0-based): 0 To, 1 Cc, 2 BCc (envelope only). */
  setMessageRecipientType(index: number, value: MessageRecipientType): void;
  /** The live list of MessageRecipient objects: Recipients in addition to SendTo / Cc / BCc, each with a type and raw RCPT TO parameters. To and Cc entries also appear in the headers. */
  getMessageRecipients(): ItemListOf<ItemObjectOf<"MessageRecipients">, ItemInputOf<"MessageRecipients">>;
  /** Replaces the MessageRecipients with these items (objects, plain objects of fields, or the first field's value): Recipients in addition to SendTo / Cc / BCc, each with a type and raw RCPT TO parameters. To and Cc entries also appear in the headers. */
  setMessageRecipients(items: Iterable<ItemInputOf<"MessageRecipients">>): void;
  /** MessageRecipients as an array of plain objects (copies): Recipients in addition to SendTo / Cc / BCc, each with a type and raw RCPT TO parameters. To and Cc entries also appear in the headers. */
  get messageRecipients(): CollectionFields<"MessageRecipients">[];
  /** MessageRecipients as an array of plain objects (copies): Recipients in addition to SendTo / Cc / BCc, each with a type and raw RCPT TO parameters. To and Cc entries also appear in the headers. Fields left out take their defaults. */
  set messageRecipients(list: readonly Partial<CollectionFields<"MessageRecipients">>[]);
  /** The number of Attachments items. Files attached to the message (IP*Works SSMTP). addAttachment() also takes a Buffer or a stream; such entries show File as empty. Files are read and encoded while the message is sent, never held in memory whole. */
  getAttachmentCount(): number;
  /** The number of Attachments items. Files attached to the message (IP*Works SSMTP). addAttachment() also takes a Buffer or a stream; such entries show File as empty. Files are read and encoded while the message is sent, never held in memory whole. */
  setAttachmentCount(count: number): void;
  /** Attachment File of item `index` (0-based): Path of the file to attach. */
  getAttachmentFile(index: number): string;
  /** Attachment File of item `index` (0-based): Path of the file to attach. */
  setAttachmentFile(index: number, value: string): void;
  /** Attachment Name of item `index` (0-based): File name shown to the recipient; default: the file's name. */
  getAttachmentName(index: number): string;
  /** Attachment Name of item `index` (0-based): File name shown to the recipient; default: the file's name. */
  setAttachmentName(index: number, value: string): void;
  /** Attachment ContentType of item `index` (0-based): MIME type; default: from the name's extension. */
  getAttachmentContentType(index: number): string;
  /** Attachment ContentType of item `index` (0-based): MIME type; default: from the name's extension. */
  setAttachmentContentType(index: number, value: string): void;
  /** Attachment ContentId of item `index` (0-based): Content-ID for an inline part referenced from MessageHTML as cid:<ContentId>. */
  getAttachmentContentId(index: number): string;
  /** Attachment ContentId of item `index` (0-based): Content-ID for an inline part referenced from MessageHTML as cid:<ContentId>. */
  setAttachmentContentId(index: number, value: string): void;
  /** Attachment Inline of item `index` (0-based): Content-Disposition: inline (default: inline when ContentId is set). */
  getAttachmentInline(index: number): boolean;
  /** Attachment Inline of item `index` (0-based): Content-Disposition: inline (default: inline when ContentId is set). */
  setAttachmentInline(index: number, value: boolean): void;
  /** The live list of Attachment objects: Files attached to the message (IP*Works SSMTP). addAttachment() also takes a Buffer or a stream; such entries show File as empty. Files are read and encoded while the message is sent, never held in memory whole. */
  getAttachments(): ItemListOf<ItemObjectOf<"Attachments">, ItemInputOf<"Attachments">>;
  /** Replaces the Attachments with these items (objects, plain objects of fields, or the first field's value): Files attached to the message (IP*Works SSMTP). addAttachment() also takes a Buffer or a stream; such entries show File as empty. Files are read and encoded while the message is sent, never held in memory whole. */
  setAttachments(items: Iterable<ItemInputOf<"Attachments">>): void;
  /** Attachments as an array of plain objects (copies): Files attached to the message (IP*Works SSMTP). addAttachment() also takes a Buffer or a stream; such entries show File as empty. Files are read and encoded while the message is sent, never held in memory whole. */
  get attachments(): CollectionFields<"Attachments">[];
  /** Attachments as an array of plain objects (copies): Files attached to the message (IP*Works SSMTP). addAttachment() also takes a Buffer or a stream; such entries show File as empty. Files are read and encoded while the message is sent, never held in memory whole. Fields left out take their defaults. */
  set attachments(list: readonly Partial<CollectionFields<"Attachments">>[]);
  /** The number of RecipientCerts items. S/MIME recipients' certificates for encrypt() / signAndEncrypt(): DER bytes, base64 DER, PEM text or a path; addRecipientCert() adds one. */
  getRecipientCertCount(): number;
  /** The number of RecipientCerts items. S/MIME recipients' certificates for encrypt() / signAndEncrypt(): DER bytes, base64 DER, PEM text or a path; addRecipientCert() adds one. */
  setRecipientCertCount(count: number): void;
  /** RecipientCert Encoded of item `index` (0-based): The certificate: PEM text or a path to a PEM file. */
  getRecipientCertEncoded(index: number): string;
  /** RecipientCert Encoded of item `index` (0-based): The certificate: PEM text or a path to a PEM file. */
  setRecipientCertEncoded(index: number, value: string): void;
  /** RecipientCerts as an array of plain objects (copies): S/MIME recipients' certificates for encrypt() / signAndEncrypt(): DER bytes, base64 DER, PEM text or a path; addRecipientCert() adds one. */
  get recipientCerts(): CollectionFields<"RecipientCerts">[];
  /** RecipientCerts as an array of plain objects (copies): S/MIME recipients' certificates for encrypt() / signAndEncrypt(): DER bytes, base64 DER, PEM text or a path; addRecipientCert() adds one. Fields left out take their defaults. */
  set recipientCerts(list: readonly Partial<CollectionFields<"RecipientCerts">>[]);
  /** The number of MessageHeaders items. The headers of MessageHeadersString (the next send's; after a send, those sent), as field / value pairs with values in their encoded wire form. */
  getMessageHeaderCount(): number;
  /** MessageHeader Field of item `index` (0-based): Header name. */
  getMessageHeaderField(index: number): string;
  /** MessageHeader Value of item `index` (0-based): Header value (unfolded, encoded as sent). */
  getMessageHeaderValue(index: number): string;
  /** The live list of MessageHeader objects: The headers of MessageHeadersString (the next send's; after a send, those sent), as field / value pairs with values in their encoded wire form. */
  getMessageHeaders(): ReadonlyItemList<ItemObjectOf<"MessageHeaders">>;
  /** MessageHeaders as an array of plain objects (copies): The headers of MessageHeadersString (the next send's; after a send, those sent), as field / value pairs with values in their encoded wire form. */
  readonly messageHeaders: readonly CollectionFields<"MessageHeaders">[];
  /** FirewallAutoDetect, FirewallHost, FirewallPassword, FirewallPort, FirewallType, FirewallUser as one Firewall object: a live view whose fields read and write those properties. */
  getFirewall(): ObjectOf<"Firewall">;
  /** Sets FirewallAutoDetect, FirewallHost, FirewallPassword, FirewallPort, FirewallType, FirewallUser from a Firewall object or a plain object of its fields (each checked first). */
  setFirewall(value: ObjectOf<"Firewall"> | Partial<ObjectFields<"Firewall">>): void;
  /** FirewallAutoDetect, FirewallHost, FirewallPassword, FirewallPort, FirewallType, FirewallUser as one Firewall object: a live view whose fields read and write those properties. */
  firewall: ObjectOf<"Firewall">;
}

/** Constructor options (Smtp, SmtpPool): every writable property by its camelCase name, the writable collections as arrays, and settings. */
export interface SmtpOptions {
  /** Use ESMTP: send EHLO first and fall back to HELO when the server refuses it. When false only HELO is sent. */
  allowExtensions?: boolean;
  /** IP*Works SSMTP: the path of a file to attach (in addition to the Attachments collection); the message becomes multipart/mixed. */
  attachedFile?: string;
  /** SASL mechanism used when User is set: 0 PLAIN or LOGIN (whichever the server offers, PLAIN first), 1 CRAM-MD5, 2 NTLM (v2), 4 PLAIN, 5 DIGEST-MD5, 7 XOAUTH2, 8 OAUTHBEARER, 9 SCRAM-SHA-1, 10 SCRAM-SHA-256, 11 the strongest both sides support. 3 APOP and 6 Kerberos do not apply to SMTP and fail with code 623. */
  authMechanism?: AuthMechanism;
  /** Comma-separated blind-copy recipients: they get RCPT TO but never appear in the headers. */
  bcc?: string;
  /** S/MIME signer certificate for sign() / signAndEncrypt(): a file path, PEM text (certificate and private key), or base64 PKCS#12, as CertStoreType says. */
  certStore?: string;
  /** Password of the PKCS#12 store or passphrase of the PEM private key in CertStore. */
  certStorePassword?: string;
  /** What CertStore holds: 2 PKCS#12 file, 3 PKCS#12 blob (base64), 6 PEM file, 7 PEM text, 99 detect. */
  certStoreType?: CertStoreType;
  /** Comma-separated carbon-copy recipients (Cc header plus RCPT TO). */
  cc?: string;
  /** Address written to a Return-Receipt-To header (a request for a delivery receipt; RFC 3461 DSN goes per recipient through MessageRecipientOptions). */
  deliveryNotificationTo?: string;
  /** S/MIME content encryption for encrypt() / signAndEncrypt(): aes256-cbc, aes192-cbc, aes128-cbc, aes256-gcm, aes128-gcm or des-ede3-cbc; IP*Works' spellings (AES256, AES128, 3DES, ...) are taken case-insensitively. Also the config setting EncryptingAlgorithm. */
  encryptingAlgorithm?: string;
  /** Take the proxy from the environment: ALL_PROXY, SOCKS_PROXY, HTTPS_PROXY (or lower case), as URLs such as socks5://user:pass@host:1080 or http://host:3128; hosts matching NO_PROXY connect directly. Used when FirewallType is 0. */
  firewallAutoDetect?: boolean;
  /** Host name or address of the proxy. */
  firewallHost?: string;
  /** Password for the proxy (HTTP Basic or SOCKS5). */
  firewallPassword?: string;
  /** Port of the proxy; 0 is filled in when FirewallType is set: 80 for a tunnel, 1080 for SOCKS. */
  firewallPort?: number;
  /** 0 direct, 1 HTTP CONNECT tunnel (with Basic auth when FirewallUser is set), 2 SOCKS4, 3 SOCKS5 (user / password auth), 10 SOCKS4A. TLS (implicit and STARTTLS) runs end to end through the proxy. */
  firewallType?: FirewallType;
  /** User for the proxy (HTTP Basic, SOCKS5 user / password, SOCKS4 user id). */
  firewallUser?: string;
  /** The sender, e.g. `"Jane Doe" <jane@example.com>`. Written to the From header; its (first) address is the envelope sender unless ReturnPath is set. With several mailboxes the first is also written as Sender (RFC 5322). */
  from?: string;
  /** Writes an Importance header (high, normal, low); 0 leaves it out. */
  importance?: Importance;
  /** sign(): include the signer's certificate in the signature. Also the config setting IncludeCertificate. */
  includeCertificate?: boolean;
  /** sign(): include the intermediate certificates of CertStore too. Also the config setting IncludeChain. */
  includeChain?: boolean;
  /** Local address to bind before connecting (an IP of this machine); empty lets the system choose. */
  localHost?: string;
  /** The server's TCP port (25 relay, 587 submission). */
  mailPort?: number;
  /** Host name or IP address of the SMTP server (IPv6 addresses with or without brackets). Through a proxy, a name starting with `*` is passed to the proxy unresolved. Empty with config DirectDelivery=true: each recipient's domain is delivered to directly (MX lookup). */
  mailServer?: string;
  /** A complete RFC 5322 message (headers, empty line, body). When set it is sent as is instead of one built from the header properties; only the envelope (ReturnPath/From and the recipients) comes from the properties. */
  message?: string;
  /** Value of the Date header; when empty the current date and time are used. */
  messageDate?: string;
  /** An HTML body. With MessageText as well the message becomes multipart/alternative (text first); inline images from the Attachments collection are referenced as cid:<ContentId>. */
  messageHTML?: string;
  /** Value of the Message-ID header, e.g. `<id@example.com>`; when empty a unique one is generated for each message. */
  messageId?: string;
  /** The message body. Line ends are normalized to CRLF and lines starting with "." are dot-stuffed on the wire. Ignored when setMessageStream() supplied a stream. */
  messageText?: string;
  /** Extra header lines (`Name: value`, separated by CRLF) added as they are. A header given here replaces the one the component would generate (e.g. Date). */
  otherHeaders?: string;
  /** Password for AUTH (or the OAuth access token for XOAUTH2 / OAUTHBEARER when config AuthorizationIdentity is empty). Never shown in PITrail unless config LogCredentials=true. */
  password?: string;
  /** Writes a Priority header (normal, urgent, non-urgent); 0 leaves it out. */
  priority?: Priority;
  /** Address written to a Disposition-Notification-To header (RFC 8098 read receipt request). */
  readReceiptTo?: string;
  /** Value of the Reply-To header (address list). */
  replyTo?: string;
  /** Envelope sender (MAIL FROM, where bounces go); the From address when empty. Use `<>` for a null reverse path. */
  returnPath?: string;
  /** IP*Works' run-time license key. Accepted and kept (setRuntimeLicense() / getRuntimeLicense()) so a port runs unchanged; smtpkit needs no license, so it has no effect. The value is never traced. */
  runtimeLicense?: string;
  /** Comma-separated primary recipients (To header plus RCPT TO). Required unless config AllowEmptyTo=true. */
  sendTo?: string;
  /** Writes a Sensitivity header (Personal, Private, Company-Confidential); 0 leaves it out. */
  sensitivity?: Sensitivity;
  /** S/MIME signature digest for sign() / signAndEncrypt(): sha256, sha384 or sha512; IP*Works' spellings (SHA256, sha-256, ...) are taken case-insensitively. Also the config setting SigningAlgorithm. */
  signingAlgorithm?: string;
  /** A server certificate to trust as is (pinning): PEM text, base64 DER, or its SHA-256 fingerprint (hex, colons optional). A server presenting it is accepted even when validation fails; with a fingerprint, any other certificate is rejected. */
  sslAcceptServerCert?: string;
  /** IP*Works' name for SSLAcceptServerCert: the same value (PEM text, base64 DER or a SHA-256 fingerprint), read and written through either name. */
  sslAcceptServerCertEncoded?: string;
  /** The client certificate: a file path, or the certificate itself (PEM text with the private key, or base64 PKCS#12), as SSLCertStoreType says. Empty: no client certificate. */
  sslCertStore?: string;
  /** IP*Works' name for the client certificate, here another name for SSLCertStore: the certificate with its private key (PEM text or base64 PKCS#12, as SSLCertStoreType says), read and written through either name. */
  sslCertEncoded?: string;
  /** Password of the PKCS#12 store or passphrase of the PEM private key. */
  sslCertStorePassword?: string;
  /** What SSLCertStore holds: 2 PKCS#12 file, 3 PKCS#12 blob (base64), 6 PEM file (certificate and key), 7 PEM text, 99 detect (a path or content; PEM or PKCS#12). Windows stores (0, 1), Java key stores (4, 5), Public key files and blobs (8, 9, 10, 13), PKCS#7 certificate bundles (no private key) (11, 12), Key-only formats (PuTTY, XML, JWK) (14, 15, 16, 17, 18, 19) and Hardware security keys (20) are accepted as values but not available on Node: the connection fails with code 278. */
  sslCertStoreType?: SSLCertStoreType;
  /** When set (and not "*"), the client certificate's subject must contain this text, e.g. `CN=client`; otherwise the store's certificate is used. */
  sslCertSubject?: string;
  /** Require TLS. With SSLStartMode 0 this means implicit TLS on port 465 and STARTTLS that must succeed on other ports. When false, SSLStartMode 0 still uses STARTTLS when the server offers it (opportunistic). */
  sslEnabled?: boolean;
  /** 0 automatic: implicit TLS on port 465, elsewhere STARTTLS when offered (required when SSLEnabled); 1 implicit TLS from the first byte; 2 explicit: STARTTLS required, the session fails before MAIL FROM or AUTH if it is missing or refused; 3 no TLS. */
  sslStartMode?: SSLStartMode;
  /** The Subject header; non-ASCII text is RFC 2047-encoded with config Charset (UTF-8 by default). */
  subject?: string;
  /** Seconds of inactivity allowed: waiting for a reply (restarted by every byte the server sends) or for the server to take more data; 0 waits forever. With config AbsoluteTimeout it bounds the whole method instead. */
  timeout?: number;
  /** User name for AUTH. When set, connect() (and a send() that connects) authenticates with AuthMechanism after TLS is up. */
  user?: string;
  /** MessageRecipients, as plain objects of fields (the others take their defaults): Recipients in addition to SendTo / Cc / BCc, each with a type and raw RCPT TO parameters. To and Cc entries also appear in the headers. */
  messageRecipients?: Partial<CollectionFields<"MessageRecipients">>[];
  /** Attachments, as plain objects of fields (the others take their defaults): Files attached to the message (IP*Works SSMTP). addAttachment() also takes a Buffer or a stream; such entries show File as empty. Files are read and encoded while the message is sent, never held in memory whole. */
  attachments?: Partial<CollectionFields<"Attachments">>[];
  /** RecipientCerts, as plain objects of fields (the others take their defaults): S/MIME recipients' certificates for encrypt() / signAndEncrypt(): DER bytes, base64 DER, PEM text or a path; addRecipientCert() adds one. */
  recipientCerts?: Partial<CollectionFields<"RecipientCerts">>[];
  /** config() settings by name, typed from the SETTINGS table: `{ StopOnToErrors: false, ChunkSize: 65536 }`. */
  settings?: SmtpSettings;
}

/** The `settings` option: config() settings by name with typed values (read-only settings left out). */
export interface SmtpSettings {
  /** Allow AUTH on a connection that is not encrypted. Off by default: PLAIN, LOGIN and the OAuth mechanisms would show the password or token to anyone on the path, and challenge-response mechanisms give enough for an offline guess. */
  AllowCleartextAuth?: boolean;
  /** Timeout limits the whole operation (connect() or send() from start to end) instead of each wait for the server. */
  AbsoluteTimeout?: boolean;
  /** Allow sending with an empty SendTo (only Cc / BCc / MessageRecipients). */
  AllowEmptyTo?: boolean;
  /** Send a complete message (Message, sendMessage(), a queued file) that has 8-bit bytes as it is to a server that does not offer 8BITMIME (or with Use8BitMime=false). Off: such a message is refused (614) before MAIL FROM, or, when it is a stream, stopped before the end of its data so nothing is delivered. Messages built from the properties are converted to 7-bit for such a server instead (RFC 6152 §3). */
  Allow8BitWithout8BitMime?: boolean;
  /** SASL authorization identity (act as this user). With XOAUTH2 / OAUTHBEARER it holds the access token (a leading "Bearer " is accepted); when it is empty the token is taken from Password. */
  AuthorizationIdentity?: string;
  /** Charset for RFC 2047 header encoding and for MessageText (any charset iconv-lite knows). Empty: UTF-8 wherever non-ASCII text needs encoding. */
  Charset?: string;
  /** Limit for the TCP connect (and the greeting); 0 uses Timeout. */
  ConnectionTimeout?: number;
  /** Bytes per BDAT chunk when the message is sent with CHUNKING; a whole message up to this size goes in the same flight as MAIL and RCPT when the server also offers PIPELINING. */
  ChunkSize?: number;
  /** IP*Works: close the stream given to setMessageStream() once it has been sent. Accepted; no effect on Node.js: the stream is always read once, to its end, and a Readable that has ended closes itself (autoDestroy), so false cannot keep it usable. */
  CloseStreamAfterTransfer?: boolean;
  /** IP*Works: the Windows code page for Unicode to multibyte conversion. Accepted; no effect on Node.js: strings are Unicode, and text is encoded with Charset (UTF-8 by default). */
  CodePage?: number;
  /** sign(): a detached multipart/signed signature (readable without S/MIME support); false: opaque application/pkcs7-mime. */
  DetachedSignature?: boolean;
  /** With an empty MailServer, deliver straight to each recipient domain's mail servers: MX lookup (A / AAAA when there is no MX), hosts tried in preference order, one transaction per domain. */
  DirectDelivery?: boolean;
  /** Port used for direct delivery. */
  DirectDeliveryPort?: number;
  /** DKIM signature algorithm; empty: from the key (RSA or Ed25519, RFC 8463). */
  DKIMAlgorithm?: "" | "rsa-sha256" | "ed25519-sha256";
  /** DKIM header/body canonicalization (RFC 6376 §3.4). */
  DKIMCanonicalization?: "relaxed/relaxed" | "relaxed/simple" | "simple/relaxed" | "simple/simple";
  /** Signing domain (d=). With DKIMSelector and DKIMPrivateKey set, every message is DKIM-signed. */
  DKIMDomain?: string;
  /** Header names to sign, comma separated; empty: From, Sender, To, Cc, Subject, Date, Message-ID, Reply-To, MIME-Version, Content-Type and the like, when present. */
  DKIMHeaders?: string;
  /** The DKIM private key: PEM text or a path to a PEM file (RSA of 1024 bits or more, or Ed25519). */
  DKIMPrivateKey?: string;
  /** DKIM selector (s=): the public key is published at <selector>._domainkey.<DKIMDomain>. */
  DKIMSelector?: string;
  /** DNS servers for direct delivery, comma separated (`192.0.2.53`, `127.0.0.1:5353`, `[::1]:53`); empty: the system's. */
  DNSServers?: string;
  /** RFC 3461 ENVID sent with MAIL FROM (xtext-encoded) when the server offers DSN: your identifier, quoted back in delivery reports. */
  DSNEnvelopeId?: string;
  /** RFC 3461 NOTIFY for every recipient whose MessageRecipientOptions has none: NEVER, or a comma list of SUCCESS, FAILURE, DELAY. Sent only when the server offers DSN. */
  DSNNotify?: string;
  /** Send ORCPT=rfc822;<address> with each RCPT (RFC 3461) when the server offers DSN. */
  DSNOriginalRecipient?: boolean;
  /** RFC 3461 RET sent with MAIL FROM when the server offers DSN: FULL (return the whole message in a failure report) or HDRS (headers only). */
  DSNRet?: "" | "FULL" | "HDRS";
  /** Same as the EncryptingAlgorithm property. */
  EncryptingAlgorithm?: string;
  /** Same as the FirewallAutoDetect property. */
  FirewallAutoDetect?: boolean;
  /** IP*Works: extra data for the proxy (header lines `Name: value`, CRLF-separated, for an HTTP tunnel). Accepted and checked like OtherHeaders; no effect yet: the proxy requests are sent without it. */
  FirewallData?: string;
  /** Same as the FirewallHost property. */
  FirewallHost?: string;
  /** IP*Works (IPPort only): bind to a SOCKS proxy as a server. Accepted; no effect: an SMTP client only connects out. */
  FirewallListener?: boolean;
  /** Same as the FirewallPassword property (never traced). */
  FirewallPassword?: string;
  /** Same as the FirewallPort property. */
  FirewallPort?: number;
  /** Same as the FirewallType property. */
  FirewallType?: FirewallType;
  /** Same as the FirewallUser property. */
  FirewallUser?: string;
  /** The EHLO / HELO argument. Empty: this machine's host name when it is a valid domain, otherwise the local address as an address literal ([192.0.2.1] or [IPv6:...]). */
  Hello?: string;
  /** Same as the IncludeCertificate property. */
  IncludeCertificate?: boolean;
  /** Same as the IncludeChain property. */
  IncludeChain?: boolean;
  /** Socket read buffer (high-water mark) in bytes; 0: Node's default. */
  InBufferSize?: number;
  /** Idle time before the first TCP keep-alive probe when TCPKeepAlive is on; 0: the system default. */
  KeepAliveTime?: number;
  /** Accepted for IP*Works compatibility; no effect on Node.js, which cannot set the probe interval: it stays the system's. */
  KeepAliveInterval?: number;
  /** Close gracefully (FIN after the data is sent, waiting up to LingerTime). false: close with a reset at once. */
  Linger?: boolean;
  /** How long a graceful close waits for the server to close its side before the socket is destroyed. */
  LingerTime?: number;
  /** Same as the LocalHost property (not while connected). */
  LocalHost?: string;
  /** processQueue() keeps a delivered file, renamed to .sent, instead of deleting it. */
  KeepQueue?: boolean;
  /** Local port to bind before connecting; 0: the system picks one. */
  LocalPort?: number;
  /** Show AUTH arguments and responses in PITrail. Off: they appear as `****`. */
  LogCredentials?: boolean;
  /** Header lines are folded to at most this many characters where whitespace allows. */
  MaxHeaderLength?: number;
  /** Longest server reply line accepted, in bytes; a longer one fails with code 606 and closes the connection. */
  MaxLineLength?: number;
  /** Most bytes one server reply (all its lines) may have; a longer one fails with code 606 and closes the connection, so a hostile server cannot fill the client's memory. */
  MaxReplyLength?: number;
  /** Longest total wait for one server reply, however its bytes trickle in (Timeout restarts on every byte; this does not). 0: four times Timeout. */
  MaxReplyTime?: number;
  /** Most lines one multi-line server reply may have; more fail with code 606 and close the connection. */
  MaxReplyLines?: number;
  /** Limit for the message data, in bytes per second; 0: no limit. */
  MaxTransferRate?: number;
  /** Same as the OtherHeaders property. */
  OtherHeaders?: string;
  /** Socket write buffer (high-water mark) in bytes; 0: Node's default. */
  OutBufferSize?: number;
  /** A .sending claim older than this belongs to a worker that died: processQueue() takes it back. Keep it well above the time one message takes. */
  QueueClaimTimeout?: number;
  /** Messages one processQueue() run or queue worker works on at once (files claimed, or Redis jobs taken); 0: twice QueueConnections. */
  QueueConcurrency?: number;
  /** Connections processQueue() opens at most (through an SmtpPool). */
  QueueConnections?: number;
  /** Redis queue: messages all workers of the queue together start at most per QueueGlobalRateInterval (BullMQ's limiter, in windows fine enough that no sliding interval sees more than 1 % or one message above it); 0: no limit. Give every worker the same value. */
  QueueGlobalRateLimit?: number;
  /** Redis queue: the interval QueueGlobalRateLimit counts in. */
  QueueGlobalRateInterval?: number;
  /** Redis queue: a worker's lock on a job lasts this long and is renewed halfway while it works; the job of a worker that died is taken back by another one after at most about twice this. */
  QueueLockDuration?: number;
  /** Redis queue: the largest composed message queue() stores in a job, in bytes; a larger one is refused (631). A job lives in Redis memory whole. */
  QueueMaxJobSize?: number;
  /** Attempts before a transiently failing queued message is moved to .failed. */
  QueueMaxAttempts?: number;
  /** Messages per second processQueue() starts at most, across its connections; 0: no limit. */
  QueueRateLimit?: number;
  /** Wait before the first retry of a transient failure; doubled after each further attempt. */
  QueueRetryDelay?: number;
  /** IP*Works: the length of the records incoming data is cut into for a DataIn event. Accepted; no effect: SMTP has no DataIn event and server replies are read line by line. */
  RecordLength?: number;
  /** Ask for RFC 8689 REQUIRETLS: the message may only travel over TLS. Needs a TLS connection and a server that offers REQUIRETLS, otherwise the send fails (614) before anything is sent. */
  RequireTLS?: boolean;
  /** Same as the ReturnPath property. */
  ReturnPath?: string;
  /** On a connection kept open between sends, start each new transaction with RSET. */
  SendRSET?: boolean;
  /** Same as the SigningAlgorithm property. */
  SigningAlgorithm?: string;
  /** Extra trusted root certificates (PEM text, or a path to a PEM file), added to the system roots. */
  SSLCACerts?: string;
  /** OpenSSL cipher list for TLS 1.2 and below (e.g. `ECDHE+AESGCM`); empty: Node's default. */
  SSLEnabledCipherSuites?: string;
  /** Highest TLS version offered. */
  SSLMaxVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
  /** Lowest TLS version accepted. */
  SSLMinVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
  /** Host name sent as SNI and checked against the certificate; empty: MailServer (no SNI when MailServer is an IP address). */
  SSLServerName?: string;
  /** A refused BCc recipient fails the send. When false it fires Error and the message goes to the others. */
  StopOnBccErrors?: boolean;
  /** A refused Cc recipient fails the send. When false it fires Error and the message goes to the others. */
  StopOnCcErrors?: boolean;
  /** A refused To recipient fails the send. When false it fires Error and the message goes to the others. */
  StopOnToErrors?: boolean;
  /** Send TCP keep-alive probes on an idle connection. */
  TCPKeepAlive?: boolean;
  /** Disable Nagle's algorithm (TCP_NODELAY); together with the end of data leaving in the same write as the last body bytes this avoids a delayed-ACK stall of ~40 ms per message. */
  TcpNoDelay?: boolean;
  /** Declare BODY=8BITMIME (RFC 6152) for a message with 8-bit content when the server offers it. */
  Use8BitMime?: boolean;
  /** Send with BDAT (RFC 3030 CHUNKING) instead of DATA when the server offers it: no dot-stuffing, and with PIPELINING a small message goes in one round trip. */
  UseChunking?: boolean;
  /** Send the DSN parameters (DSNNotify, DSNRet, DSNEnvelopeId, DSNOriginalRecipient) when the server offers DSN. */
  UseDSN?: boolean;
  /** Send RSET, MAIL, every RCPT and DATA (or BDAT) as one group (RFC 2920 PIPELINING) when the server offers it; every reply is still checked. */
  UsePipelining?: boolean;
  /** 0 IPv4 only, 1 IPv6 only, 2 both: the addresses of MailServer are tried Happy-Eyeballs style (RFC 8305), whichever connects first wins. */
  UseIPv6?: number;
  /** When the server announces SIZE (RFC 1870): refuse a message over its limit before sending (613) and send SIZE= with MAIL FROM. */
  UseSize?: boolean;
  /** Use SMTPUTF8 (RFC 6531) for non-ASCII addresses when the server offers it. Without it, non-ASCII domains go as punycode and a non-ASCII local part fails (614). */
  UseSMTPUTF8?: boolean;
}

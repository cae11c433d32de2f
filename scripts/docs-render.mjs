// Renders docs/api.md, docs/errors.md and the generated tables inside the
// hand-written docs from the tables in src/.
//
// Tables in, markdown out. scripts/gen-docs.mjs renders from the built
// package and writes the files; spec/unit/docs.spec.ts and
// spec/unit/doc-tables.spec.ts render from the TypeScript sources and check
// that the files on disk are what they would render now.
//
// Properties, collections, settings, events, error codes, AuthMechanism
// values, proxy types and certificate store types come from their tables in
// src/. Methods are not in a table, so they are written once here. The
// IP*Works name mapping of docs/porting-ipworks.md introspects the Smtp class
// for each vendor name of spec/fixtures/ipworks-names.json.

import { readFileSync } from "node:fs";
import { EventEmitter } from "node:events";

/** Accepted by every async method as its last argument. */
const CALL_OPTIONS = "opts?: { signal?: AbortSignal }";

export const METHODS = [
  {
    name: "constructor",
    signature: "new Smtp(options?: SmtpOptions)",
    doc: "Creates a component. `options` sets any writable property by its camelCase name (`mailServer`, `sendTo`, ...), `messageRecipients` as an array, and `settings` as `{ Name: value }` for config() settings. An unknown option or a bad value throws SmtpError at once. `smtp` is the same class under its IP*Works name.",
  },
  {
    name: "config",
    signature: "config(configurationString: ConfigString): string",
    doc: "`config(\"Name=Value\")` sets a setting and returns `\"\"`; `config(\"Name\")` returns the current value as text. Names are case-insensitive. An unknown name throws code 603, a bad value code 601. `ConfigString` is any string (a port's lines pass as they are), with the setting names listed so that an editor completes them; for a compile error on a misspelt name type the line as `ConfigLine` (`const line: ConfigLine = \"StopOnToErrors=false\"`), or use the typed `settings` option.",
  },
  {
    name: "connect",
    signature: `connect(${CALL_OPTIONS}): Promise<void>`,
    doc: "Opens the TCP connection to MailServer:MailPort, reads the greeting and sends EHLO (HELO when AllowExtensions is false or EHLO is refused). The connection then stays open for any number of send() calls until disconnect().",
  },
  {
    name: "disconnect",
    signature: `disconnect(${CALL_OPTIONS}): Promise<void>`,
    doc: "Sends QUIT and closes the connection. Not an error when not connected.",
  },
  {
    name: "send",
    signature: `send(${CALL_OPTIONS}): Promise<SendResult>;   send(message: MessageObject, ${CALL_OPTIONS}): Promise<SendResult>`,
    doc: "Sends the message: MAIL FROM, RCPT TO for each recipient, DATA, the message, and the end of data. When not connected it connects first and disconnects afterwards; on a connection opened with connect() the connection stays open (and the next send starts with RSET when SendRSET is true). Resolves only when the server accepted the message with 250. The result: `accepted` (addresses the server accepted), `rejected` (refused recipients, only possible when the StopOn...Errors setting for their type is false), `recipients` (one entry per RCPT TO: address, type, accepted, replyCode, enhancedStatus, reply), `replyCode`, `enhancedStatus` and `reply` (the server's answer to the end of data), `messageBytes` (bytes written in DATA: CRLF line ends, dot-stuffed, the final dot line not counted). With a message object (`{ from, to, cc, bcc, replyTo, subject, text, html, attachments: [{ filename, content | path | stream, contentType, cid }], headers, envelope: { from, to }, priority: \"high\" | \"normal\" | \"low\", date, messageId }`, addresses as strings, arrays or `{ name, address }`; the camelCase message properties are accepted too) the message properties are reset and set from it first; an unknown field is refused with the nearest known one. See [composing.md](composing.md).",
  },
  {
    name: "toEml / saveEml",
    signature: `toEml(${CALL_OPTIONS}): Promise<Buffer>;   saveEml(path: string, ${CALL_OPTIONS}): Promise<void>`,
    doc: "The message exactly as the next send() transmits it, without sending: headers and body after DKIM and S/MIME, with the Message-ID, Date and boundaries that send() will use (a server without 8BITMIME gets it converted to 7 bit; SMTP dot-stuffing is not part of a message). saveEml() streams it to a file written under a new name and renamed over `path` (a symbolic link there is replaced, never followed). A message stream or a stream attachment cannot be previewed (601): it could not be read again to send.",
  },
  {
    name: "reset",
    signature: `reset(${CALL_OPTIONS}): Promise<void>`,
    doc: "Closes any connection and returns every property, collection and setting to its default.",
  },
  {
    name: "interrupt",
    signature: "interrupt(): Promise<void>",
    doc: "Stops the method in progress: it rejects with code 301 and the object stays usable. Aborting the `signal` passed to a method has the same effect.",
  },
  {
    name: "resetHeaders",
    signature: "resetHeaders(): void",
    doc: "Clears the message properties (From, SendTo, Cc, BCc, Subject, MessageText, Message, OtherHeaders, MessageRecipients, ...) and any message stream. The connection and the connection properties stay.",
  },
  {
    name: "authenticate",
    signature: `authenticate(${CALL_OPTIONS}): Promise<void>`,
    doc: "Logs in on the open connection with User / Password and AuthMechanism (as SocketTools' Authenticate). connect() already does this when User is set; use it when User is set after connecting. Rejects with 608 when not connected, 620-624 when the login fails.",
  },
  {
    name: "doEvents",
    signature: "doEvents(): Promise<void>",
    doc: "IP*Works DoEvents(): resolves at once. Node.js has no message queue to pump (events fire from the event loop); `await smtp.doEvents()` in a ported loop just yields to it.",
  },
  {
    name: "getSSLServerCert",
    signature: "getSSLServerCert(): X509Certificate | undefined   // also smtp.sslServerCert",
    doc: "The server's certificate from the last TLS handshake, as a node:crypto X509Certificate (subject, issuer, validTo, fingerprint256, raw).",
  },
  {
    name: "tokenRefresher",
    signature: "smtp.tokenRefresher = async ({ user, mechanism, reply }) => newToken | undefined",
    doc: "A property holding a function, called when the server refuses an XOAUTH2 / OAUTHBEARER token (e.g. expired). Return a fresh access token and AUTH is tried once more with it; return undefined to give up (the login then fails with 620).",
  },
  {
    name: "sendToTerminalOnly / sendToTerminalOrEmail / sendToTerminalAndEmail",
    signature: `sendToTerminalOnly(${CALL_OPTIONS}): Promise<SendResult>`,
    doc: "As send(), with the RFC 821 SEND FROM (the user's terminal only), SOML FROM (terminal if logged in, else mailbox) or SAML FROM (both) instead of MAIL FROM. Few servers implement them: expect a 502 from most.",
  },
  {
    name: "sendMessage",
    signature: `sendMessage(from: string, recipients: string | string[], message: string | Buffer | Readable, ${CALL_OPTIONS}): Promise<SendResult>`,
    doc: "SocketTools style: sends a complete RFC 5322 message to the given envelope in one call, leaving the message properties alone. Connection, TLS, AUTH and the Use... settings come from the properties.",
  },
  {
    name: "verify",
    signature: `verify(address: string, ${CALL_OPTIONS}): Promise<string>`,
    doc: "VRFY: resolves with the server's reply (also in LastReply) for 250, 251 and 252 (cannot verify, will accept); rejects with 161 otherwise. Connects first when needed, and then disconnects again.",
  },
  {
    name: "expand",
    signature: `expand(name: string, ${CALL_OPTIONS}): Promise<string[]>`,
    doc: "EXPN: fires Expand for each member of the mailing list and resolves with them all. Most public servers refuse EXPN (502 / 550).",
  },
  {
    name: "sendCommand",
    signature: `sendCommand(line: string, ${CALL_OPTIONS}): Promise<SmtpReply>`,
    doc: "Sends one command line and resolves with the reply whatever its code (code, lines, enhancedStatus, text, raw); it also lands in LastReply. Connects first when needed and leaves the connection open. The write-only Command property does the same without waiting.",
  },
  {
    name: "getServerCapabilities",
    signature: "getServerCapabilities(): ServerCapabilities | undefined   // also smtp.serverCapabilities",
    doc: "What the server announced in its EHLO reply on the current connection: `extensions` (keyword -> parameters), `has(keyword)`, `authMechanisms`, `sizeLimit`, `esmtp`, `domain`.",
  },
  {
    name: "getRecipientResults",
    signature: "getRecipientResults(): readonly RecipientResult[]   // also smtp.recipientResults",
    doc: "Each recipient of the last send with `accepted`, `transient` (4xx), `replyCode`, `enhancedStatus` and `reply`. The RecipientStatus event reports the same one by one.",
  },
  {
    name: "addAttachment",
    signature: "addAttachment(source: string | Buffer | Readable, opts?: { name?, contentType?, contentId?, inline? }): void",
    doc: "Adds an entry to the Attachments collection: a file path, bytes or a stream (sent once). Files and streams are encoded while the message is sent. With a contentId the part can be shown inline from MessageHTML (cid:...). See [composing.md](composing.md).",
  },
  {
    name: "sign / encrypt / signAndEncrypt",
    signature: "sign(): Promise<void>   encrypt(): Promise<void>   signAndEncrypt(): Promise<void>",
    doc: "IP*Works SSMTP: S/MIME-signs (CertStore*, SigningAlgorithm, DetachedSignature, IncludeCertificate, IncludeChain) and / or encrypts (RecipientCerts, EncryptingAlgorithm) the current content; the result replaces it (MessageText holds the S/MIME entity). Content added afterwards is refused at send (601): call them last. See [smime-dkim.md](smime-dkim.md).",
  },
  {
    name: "addRecipientCert",
    signature: "addRecipientCert(certificate: string | Uint8Array | Certificate): void",
    doc: "IP*Works AddRecipientCert(): adds an S/MIME recipient certificate to RecipientCerts for encrypt(): DER bytes (Buffer / Uint8Array), base64 DER, PEM text, a Certificate, or a path to a file holding DER, base64 DER or PEM (read at encrypt()). Decided by content: a string that decodes as base64 to a DER certificate is a certificate. Bytes that are no certificate: 601.",
  },
  {
    name: "setCertificate / getCertificate",
    signature: "setCertificate(cert: Certificate): void   getCertificate(): Certificate | undefined",
    doc: "IP*Works SSMTP Certificate: the S/MIME signer, a `Certificate` (`new Certificate(storeType, store, storePassword, subject)`). Sets CertStoreType, CertStore and CertStorePassword from it; the certificate it selected by subject signs while they stay so. getCertificate() returns it, or the first certificate of CertStore. See [smime-dkim.md](smime-dkim.md).",
  },
  {
    name: "queue",
    signature: "queue(dir: string): Promise<string>",
    doc: "IP*Works Queue(): writes the current message with its envelope to a new `.queued` file in `dir` (which must exist; 302 otherwise) and returns its path. The file is written under a temporary name, fsynced and renamed, so it appears complete or not at all; a message stream is copied, never held in memory. Format and life cycle: [queue.md](queue.md). Given a Redis URL (`redis://[[user]:password@]host[:port][/db][?queue=name]`, `rediss://` for TLS) it stores the composed message in a new BullMQ job of that queue and returns the job's id (optional peers bullmq and ioredis; 630 when Redis cannot be used, 631 above QueueMaxJobSize): [queue.md](queue.md#beyond-one-machine-the-outbox-on-redis).",
  },
  {
    name: "processQueue",
    signature: `processQueue(dir: string, ${CALL_OPTIONS}): Promise<{ sent: string[], deferred: string[], failed: string[], partial: string[] }>`,
    doc: "IP*Works ProcessQueue(): sends every due `.queued` file through an SmtpPool built from this object (config QueueConnections, QueueRateLimit). Each file is claimed by an atomic rename; delivered files are deleted (or kept as `.sent` with KeepQueue), transient failures go back with a retry count and a next-attempt time (QueueRetryDelay, doubling, up to QueueMaxAttempts), permanent ones become `.failed` with an `.errors` file; each recipient's outcome is kept, so a retry goes only to those still pending. Fires QueueProgress per file. Given a Redis URL, it sends every due job of that queue the same way (BullMQ: retries with back-off, the failed set, a global rate limit across workers) and returns job ids.",
  },
  {
    name: "startQueueWorker",
    signature: "startQueueWorker(url: string): Promise<{ url: string, close(): Promise<void>, closed: Promise<void>, counts: { sent, deferred, failed, partial } }>",
    doc: "A long-running worker on a Redis queue: sends jobs as they arrive, with this object's configuration as it is at the call, until `close()` (which lets the jobs in flight finish). Resolves once Redis answered (630 otherwise); fires QueueProgress per job; the object stays free for other calls. A dead worker's jobs are taken back by the others; a message whose verdict was lost is filed as delivery unknown, never resent. See [queue.md](queue.md#beyond-one-machine-the-outbox-on-redis).",
  },
  {
    name: "setMessageStream",
    signature: "setMessageStream(stream: Readable): void",
    doc: "The body of the next send() is read from this stream instead of MessageText, as it is sent, so it is never held in memory whole. One send() consumes it. Transfer then reports percentDone -1 (size unknown).",
  },
  {
    name: "getConnected / setConnected",
    signature: "getConnected(): boolean; setConnected(value: boolean): Promise<void>",
    doc: "The Connected property. `setConnected(true)` is connect(), `setConnected(false)` is disconnect(). The camelCase `connected = value` cannot be awaited, so a failure there is reported through the Error event.",
  },
  {
    name: "serverCapabilities",
    signature: "readonly serverCapabilities: ServerCapabilities | undefined",
    doc: "What the server announced in its EHLO reply while connected: `has(\"SIZE\")`, `params(keyword)`, `sizeLimit`, `authMechanisms`, `esmtp` (false after a HELO fallback), `domain`, `extensions`.",
  },
];

/**
 * A module of src/: its build under Node (gen-docs.mjs runs after `npm run
 * build`), its TypeScript source under vitest, so the drift checks compare
 * the docs with the sources as they are now.
 */
function fromSrc(path) {
  return import(process.env.VITEST ? `../src/${path}.ts` : `../dist/esm/${path}.js`);
}

export const { EVENTS } = await fromSrc("events");
const { AUTH_MECHANISM_VALUES } = await fromSrc("auth/mechanism-values");
const { FIREWALL_TYPES } = await fromSrc("transport/firewall-types");
const { CERT_STORE_TYPES } = await fromSrc("transport/cert-store-types");
const { PROPERTIES: SOURCE_PROPERTIES } = await fromSrc("schema/properties");
/** The package itself (dist/esm/index.js, or src/index.ts under vitest): the Smtp class and its schema tables. */
const PACKAGE = await fromSrc("index");

const RETRY_TEXT = {
  transient: "transient",
  permanent: "permanent",
  depends: "depends",
};

// ---------------------------------------------------------------- helpers

function lowerFirst(s) {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** Text inside a table cell: no line breaks, no unescaped pipes. */
function cell(text) {
  return String(text).replace(/\r?\n/g, " ").replace(/\|/g, "\\|");
}

function code(text) {
  return "`" + String(text) + "`";
}

function table(head, rows) {
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const row of rows) lines.push(`| ${row.map(cell).join(" | ")} |`);
  return lines.join("\n");
}

/** "string", "int 1..65535", "int, seconds, 0..60", "enum: 0 miUnspecified, 1 miHigh, ...". */
function typeText(spec) {
  switch (spec.type) {
    case "int":
      return `int${spec.unit ? ` (${spec.unit})` : ""}, ${spec.min}..${spec.max}`;
    case "enum": {
      const extra = Object.entries(spec.extra ?? {}).map(([k, v]) => `${k} ${v}`);
      return `enum: ${[...spec.values.map((v, i) => `${i} ${v}`), ...extra].join(", ")}`;
    }
    case "string":
      if (spec.docType) return spec.docType;
      return spec.choices ? `string: ${spec.choices.join(", ")}` : "string";
    default:
      return spec.docType ?? spec.type;
  }
}

function defaultText(spec) {
  if (spec.type === "string") return spec.default === "" ? "(empty)" : code(JSON.stringify(spec.default));
  if (spec.docType) return "undefined";
  if (spec.type === "enum") return `${code(spec.default)} (${spec.values[spec.default] ?? spec.extra?.[spec.default]})`;
  return code(spec.default);
}

function accessText(spec) {
  if (spec.readOnly) return "read-only";
  if (spec.writeOnly) return "write-only";
  if (spec.fixedWhileConnected) return "R/W (not while connected)";
  return "R/W";
}

/** A value for the examples, from the field's type. */
function sampleValue(field) {
  if (field.name === "Address") return '"ann@example.com"';
  if (field.name === "Name") return '"Ann Example"';
  switch (field.type) {
    case "int":
      return String(field.min);
    case "enum":
      return String(Math.min(1, field.values.length - 1));
    case "bool":
      return "true";
    default:
      return '"..."';
  }
}

// ---------------------------------------------------------------- api.md

/** "## Constants": the named constants of every enum (src/schema/constants.ts ENUMS), readable and IP*Works names. */
function constantsSection(enums) {
  const out = [];
  out.push("## Constants");
  out.push("");
  out.push("Every enum property, enum collection field and enum setting has named constants, exported from the package under the property's name (`MessageRecipientType` for the field Type of MessageRecipients). Each constant is there under a readable name and under its IP*Works name, so a port's constants keep working. The objects are frozen; a type of the same name is the union of the values, and the enum properties, fields, options and settings take only those values (`smtp.sslStartMode = 7` does not compile).");
  out.push("");
  const example = enums.find((e) => e.source === "property" && e.name === "SSLStartMode") ?? enums.find((e) => e.source === "property");
  if (example) {
    const js = example.row.js ?? lowerFirst(example.row.name);
    const member = example.members[Math.min(2, example.members.length - 1)];
    out.push("```ts");
    out.push(`import { Smtp, ${example.name} } from "smtpkit";`);
    out.push("");
    out.push(`const smtp = new Smtp({ ${js}: ${example.name}.${member.key} }); // ${member.value}`);
    out.push(`smtp.${js} = ${example.name}.${member.constant};        // the IP*Works name, the same value`);
    out.push("```");
    out.push("");
  }
  const rows = enums.map((e) => [code(e.name), e.source === "field" ? "collection field" : e.source, e.members.map((m) => `${m.value} ${code(m.key)} / ${code(m.constant)}`).join(", ")]);
  out.push(table(["Constants", "For the", "Values (readable / IP*Works name)"], rows));
  out.push("");
  return out;
}

export function renderApi({ PROPERTIES, COLLECTIONS, SETTINGS, EVENTS: events = EVENTS, ENUMS: enums = PACKAGE.ENUMS }) {
  const out = [];
  out.push("# smtpkit API reference");
  out.push("");
  out.push("<!-- Generated by scripts/gen-docs.mjs from the schema tables in src/schema. Do not edit: run `npm run docs`. -->");
  out.push("");
  out.push("`Smtp` (also exported as `smtp`, its IP*Works name) follows the IP*Works SMTP component: properties, methods, events, and config() settings. Property access is synchronous; methods that talk to the server return Promises; every failure is an `SmtpError` (see [errors.md](errors.md)).");
  out.push("");
  out.push("Porting an IP*Works SMTP or S/MIME SSMTP program: [porting-ipworks.md](porting-ipworks.md) maps every IP*Works name to its smtpkit form and lists the deliberate differences.");
  out.push("");
  out.push("Every export of the package (classes, functions, types and their JSDoc), as the code declares it: [reference/README.md](reference/README.md), generated by TypeDoc.");
  out.push("");
  out.push("- [Properties](#properties)");
  out.push("- [Collections](#collections)");
  out.push("- [Objects](#objects)");
  out.push("- [Settings](#settings)");
  out.push("- [Constants](#constants)");
  out.push("- [Methods](#methods)");
  out.push("- [Events](#events)");
  out.push("");

  // Properties
  out.push("## Properties");
  out.push("");
  out.push("Each property can be used in two ways: the IP*Works accessor pair, or a camelCase property. Both validate the value and throw SmtpError (601 invalid value, 602 line break in a one-line value, 610 read-only, 612 not while connected) when it is refused.");
  out.push("");
  out.push("```ts");
  out.push('smtp.setMailServer("mail.example.com"); // IP*Works style');
  out.push('smtp.mailServer = "mail.example.com";   // camelCase');
  out.push("smtp.getMailServer();                   // \"mail.example.com\"");
  out.push("```");
  out.push("");
  const propRows = PROPERTIES.map((p) => {
    const accessors = p.readOnly ? code(`get${p.name}()`) : p.writeOnly ? `${code(`set${p.name}(v)`)} (write-only)` : p.name === "Connected" ? `${code("getConnected()")} / ${code("setConnected(v): Promise")}` : `${code(`get${p.name}()`)} / ${code(`set${p.name}(v)`)}`;
    return [p.name, accessors, code(p.js ?? lowerFirst(p.name)), typeText(p), defaultText(p), accessText(p), p.doc];
  });
  out.push(table(["IP*Works name", "Accessors", "camelCase", "Type", "Default", "Access", "Description"], propRows));
  out.push("");

  // Collections
  out.push("## Collections");
  out.push("");
  out.push("IP*Works indexed properties. Each collection has a Count accessor and one indexed accessor per field (index 0..Count-1; code 609 outside that range), plus an array form under its camelCase name that reads and writes whole items as plain objects. The array getter returns copies: change items through the setter or the indexed accessors.");
  out.push("");
  for (const c of COLLECTIONS) {
    const fieldKeys = c.fields.map((f) => lowerFirst(f.name));
    out.push(`### ${c.name}${c.readOnly ? " (read-only)" : ""}`);
    out.push("");
    out.push(c.doc);
    out.push("");
    out.push(`- Count: ${c.readOnly ? code(`get${c.item}Count()`) : `${code(`get${c.item}Count()`)} / ${code(`set${c.item}Count(n)`)}`}`);
    out.push(`- Array form: ${code(`${c.js}`)}${c.readOnly ? " (read-only)" : ""}, an array of ${code(`{ ${fieldKeys.join(", ")} }`)}`);
    const items = c.itemObjects ?? c.item;
    // List methods in plain text: code spans in this line name methods of Smtp itself.
    const edits = c.readOnly ? "" : ", add(item), insert(i, item), set(i, item), remove(i), clear()";
    out.push(`- Object form: ${code(`get${c.name}()`)}${c.readOnly ? "" : ` / ${code(`set${c.name}(items)`)}`}, a live list of ${code(items)} objects (get(i) / item(i), size(), iteration${edits}); ${c.readOnly ? "it cannot be changed" : c.itemObjects ? `its items are ${code(items)} values; add() takes what the add method of this collection takes` : `an item read from it edits the message, one made with ${code(`new ${items}(...)`)} is added by add()`}`);
    out.push("");
    const rows = c.fields.map((f) => {
      const accessors = c.readOnly
        ? code(`get${c.item}${f.name}(i)`)
        : `${code(`get${c.item}${f.name}(i)`)} / ${code(`set${c.item}${f.name}(i, v)`)}`;
      return [f.name, accessors, code(lowerFirst(f.name)), typeText(f), defaultText(f), f.doc];
    });
    out.push(table(["Field", "Accessors", "Key", "Type", "Default", "Description"], rows));
    out.push("");
    if (!c.readOnly) {
      const first = c.fields[0];
      const second = c.fields[c.fields.length - 1];
      out.push("```ts");
      out.push("// IP*Works style");
      out.push(`smtp.set${c.item}Count(1);`);
      out.push(`smtp.set${c.item}${first.name}(0, ${sampleValue(first)});`);
      if (second !== first) out.push(`smtp.set${c.item}${second.name}(0, ${sampleValue(second)});`);
      out.push("// array form (replaces the whole collection)");
      const sample = [first, second].filter((f, i, all) => all.indexOf(f) === i).map((f) => `${lowerFirst(f.name)}: ${sampleValue(f)}`);
      out.push(`smtp.${c.js} = [{ ${sample.join(", ")} }];`);
      out.push("```");
    } else {
      out.push("```ts");
      out.push(`for (let i = 0; i < smtp.get${c.item}Count(); i++) console.log(${c.fields.map((f) => `smtp.get${c.item}${f.name}(i)`).join(", ")});`);
      out.push(`for (const { ${fieldKeys.join(", ")} } of smtp.${c.js}) console.log(${fieldKeys.join(", ")});`);
      out.push("```");
    }
    out.push("");
  }

  // Objects
  out.push("## Objects");
  out.push("");
  out.push("IP*Works SSMTP groups some properties into one object. The object form reads and writes the same properties as their own accessors: a view from the getter is live, an object made with `new` holds its own values (checked as the properties are) until it is given to the setter.");
  out.push("");
  const objects = new Map();
  for (const p of PROPERTIES) if (p.object) objects.set(p.object.name, [...(objects.get(p.object.name) ?? []), p]);
  for (const [name, rows] of objects) {
    out.push(`### ${name}`);
    out.push("");
    out.push(`- Object form: ${code(`get${name}()`)} / ${code(`set${name}(value)`)}, camelCase ${code(lowerFirst(name))}; ${code(`new ${name}({ ${rows.map((r) => lowerFirst(r.object.field)).join(", ")} })`)} (the class is exported)`);
    out.push("");
    out.push(table(["Field", "Key", "Property", "Type"], rows.map((r) => [r.object.field, code(lowerFirst(r.object.field)), r.name, typeText(r)])));
    out.push("");
    out.push("```ts");
    out.push(`smtp.set${name}(new ${name}({ ${rows.slice(0, 2).map((r) => `${lowerFirst(r.object.field)}: ${sampleValue(r)}`).join(", ")} }));`);
    out.push(`console.log(smtp.${lowerFirst(name)}.${lowerFirst(rows[0].object.field)});`);
    out.push("```");
    out.push("");
  }

  // Settings
  out.push("## Settings");
  out.push("");
  out.push("Set with `config(\"Name=Value\")`, read with `config(\"Name\")` (names are case-insensitive), or give them to the constructor: `new Smtp({ settings: { AllowEmptyTo: true } })`. Booleans accept true/false, 1/0, yes/no, on/off.");
  out.push("");
  const settingRows = SETTINGS.map((s) => [s.name, typeText(s), defaultText(s), s.readOnly ? `Read-only. ${s.doc.replace(/^Read-only: /, "")}` : s.doc]);
  out.push(table(["Setting", "Type", "Default", "Description"], settingRows));
  out.push("");
  out.push("In TypeScript the `settings` option is typed from this table: a misspelt name, a string for a boolean setting or a value outside a setting's choices does not compile.");
  out.push("");

  // Constants
  out.push(...constantsSection(enums));

  // Methods
  out.push("## Methods");
  out.push("");
  out.push("Methods that talk to the server return Promises and reject with SmtpError. One method runs at a time per object: calling another while one is running rejects with code 166. Every async method accepts `{ signal }`; aborting it has the effect of interrupt().");
  out.push("");
  for (const m of METHODS) {
    out.push(`### ${m.name}`);
    out.push("");
    out.push("```ts");
    out.push(m.signature);
    out.push("```");
    out.push("");
    out.push(m.doc);
    out.push("");
  }

  // Events
  out.push("## Events");
  out.push("");
  out.push("Subscribe with `smtp.on(\"Name\", (e) => ...)`. Each listener gets one object whose fields are the IP*Works event parameters in camelCase.");
  out.push("");
  out.push(table(["Event", "Fields", "Description"], events.map((e) => [e.name, code(e.fields), e.doc])));
  out.push("");
  out.push("```ts");
  out.push('smtp.on("PITrail", (e) => console.log(["C:", "S:", "*"][e.direction], e.message));');
  out.push('smtp.on("Transfer", (e) => console.log(`${e.bytesTransferred} bytes, ${e.percentDone}%`));');
  out.push("```");
  out.push("");
  return out.join("\n");
}

// ---------------------------------------------------------------- errors.md

export function renderErrors(ERROR_CODES) {
  const out = [];
  out.push("# smtpkit error codes");
  out.push("");
  out.push("<!-- Generated by scripts/gen-docs.mjs from ERROR_CODES in src/errors.ts. Do not edit: run `npm run docs`. -->");
  out.push("");
  out.push("Every failure rejects (or throws) with an `SmtpError`. Its `code` keeps the IP*Works number where IP*Works has one, so ported code that tests `err.code` keeps working; socket failures use the Winsock numbers IP*Works reports (10054, 10060, ...); what IP*Works has no number for is numbered from 601. The numbers are also exported by name: `ErrorCode.NoRecipient === 165`.");
  out.push("");
  out.push("## Codes");
  out.push("");
  const rows = [...ERROR_CODES].sort((a, b) => a.code - b.code).map((e) => [String(e.code), code(e.name), e.meaning, RETRY_TEXT[e.retry] ?? e.retry]);
  out.push(table(["Code", "Name", "Meaning", "Retry"], rows));
  out.push("");
  out.push("**Retry** says whether trying the same thing again later can succeed: *transient* (a busy or unreachable server, a broken connection), *permanent* (fix the input or the configuration first), or *depends* (on the server's reply code when there is one, 4xx transient and 5xx permanent, otherwise on the cause). At run time ask the error itself with `isTransient()` / `isPermanent()`.");
  out.push("");
  out.push("## SmtpError");
  out.push("");
  out.push("`SmtpError` extends `Error` (`name` is `\"SmtpError\"`). Besides `code` and `message` it carries what is known about the failure; fields that do not apply are `undefined`.");
  out.push("");
  out.push(table(["Field", "Type", "Meaning"], [
    [code("code"), "number", "One of the codes above."],
    [code("replyCode"), "number", "The server's 3-digit reply code, when a reply caused the error."],
    [code("enhancedStatus"), "string", "The RFC 3463 enhanced status code (`5.1.1`), when the server sent one."],
    [code("lastReply"), "string", "The server's complete reply, all lines."],
    [code("command"), "string", "The command whose reply or failure this is (`RCPT TO:<ann@example.com>`, `greeting`, ...)."],
    [code("recipient"), "string", "The recipient a refused RCPT TO is about."],
    [code("hint"), "string", "What to do about it, when there is something useful to say (also appended to `message`)."],
    [code("cause"), "unknown", "The underlying error (e.g. the socket error), when there is one."],
  ]));
  out.push("");
  out.push("Predicates:");
  out.push("");
  out.push(table(["Method", "True when"], [
    [code("isTransient()"), "Retrying later may work: a 4xx reply, or (without a reply) a network fault, a timeout, an interrupt, or code 166."],
    [code("isPermanent()"), "Retrying the same thing will fail again: a 5xx reply, or (without a reply) anything not transient, such as bad input."],
    [code("isTimeout()"), "Code 10060: the connect or a reply took longer than allowed."],
    [code("isTls()"), "Codes 270-299."],
    [code("isAuth()"), "Code 620, or reply code 530, 534, 535 or 538."],
    [code("isNetwork()"), "The failure came from the connection rather than from a reply or from bad input (162, 605, 606, 607, 10035, 10053, 10054, 10060, 10061, 10065, 11001)."],
  ]));
  out.push("");
  out.push("`isSmtpError(e)` is a type guard for `e instanceof SmtpError`.");
  out.push("");
  out.push("## Example");
  out.push("");
  out.push("```ts");
  out.push('import { Smtp, SmtpError, ErrorCode } from "smtpkit";');
  out.push("");
  out.push('const smtp = new Smtp({ mailServer: "mail.example.com", from: "me@example.com", sendTo: "ann@example.com" });');
  out.push("try {");
  out.push("  const result = await smtp.send();");
  out.push("  console.log(`accepted by ${result.accepted.join(\", \")}: ${result.reply}`);");
  out.push("} catch (e) {");
  out.push("  if (!(e instanceof SmtpError)) throw e;");
  out.push("  console.error(`Error ${e.code}: ${e.message}`);");
  out.push("  if (e.code === ErrorCode.Protocol) console.error(`server said ${e.replyCode} ${e.enhancedStatus ?? \"\"} to ${e.command}`);");
  out.push("  if (e.recipient) console.error(`refused recipient: ${e.recipient}`);");
  out.push("  if (e.isTransient()) {");
  out.push("    // queue the message and try again later");
  out.push("  }");
  out.push("}");
  out.push("```");
  out.push("");
  return out.join("\n");
}

// ---------------------------------------------------------------- tables in hand-written docs

/** "0 amUserPassword (default)": a value as the doc tables name it; `property` marks its default. */
function valueName(row, property) {
  const spec = property && SOURCE_PROPERTIES.find((p) => p.name === property);
  return `${row.value} ${row.constant}${spec && spec.default === row.value ? " (default)" : ""}`;
}

// ---------------------------------------------------------------- porting-ipworks.md

/** The IP*Works SMTP / SSMTP member names, copied from the vendor's pages. */
const IPWORKS_NAMES = JSON.parse(readFileSync(new URL("../spec/fixtures/ipworks-names.json", import.meta.url), "utf8"));

/** The lists of the name file that belong to one component: "SMTP", "SSMTP", or the extra SMTP names. */
function vendorLists(component) {
  return Object.entries(IPWORKS_NAMES.lists)
    .filter(([title]) => (component === "SSMTP" ? title.startsWith("SSMTP") : !title.startsWith("SSMTP")))
    .map(([, list]) => list);
}

/** Each name of `kind` once, in the order of the name file, with the components that list it. */
function vendorNames(kind, components = ["SMTP", "SSMTP"]) {
  const names = new Map();
  for (const component of components) {
    for (const list of vendorLists(component)) {
      for (const name of list[kind]) names.set(name, [...new Set([...(names.get(name) ?? []), component])]);
    }
  }
  return [...names].map(([name, where]) => ({ name, where: where.join(", ") }));
}

/** "method", "accessor" or undefined: what the real Smtp class (its prototype chain below EventEmitter) has under `key`. */
function smtpMember(key) {
  for (let p = PACKAGE.Smtp.prototype; p && p !== EventEmitter.prototype && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const d = Object.getOwnPropertyDescriptor(p, key);
    if (!d) continue;
    if (d.get || d.set) return "accessor";
    return typeof d.value === "function" ? "method" : undefined;
  }
  return undefined;
}

const isMethod = (key) => smtpMember(key) === "method";

/** The documented signature of method `key` from METHODS, without the call options: "send(): Promise<SendResult>". */
function methodSignature(key) {
  const entry = METHODS.find((m) => m.name.split(" / ").includes(key));
  if (!entry) return undefined;
  const parts = entry.signature.replace(/\s+\/\/.*$/, "").split(/;\s+|\s{3,}/);
  const part = parts.find((p) => p.startsWith(`${key}(`)) ?? (parts.length === 1 ? parts[0].replace(/^[A-Za-z]+\(/, `${key}(`) : undefined);
  return part?.replace(`, ${CALL_OPTIONS}`, "").replace(CALL_OPTIONS, "");
}

/** How the property side of the schema describes a row: read-only, no effect, another name for. */
function rowNotes(row) {
  const notes = [];
  if (row.readOnly) notes.push("read-only");
  if (row.writeOnly) notes.push("write-only");
  if (row.fixedWhileConnected) notes.push("not while connected");
  if (row.aliasOf) notes.push(`another name for ${row.aliasOf}`);
  if (row.noEffect) notes.push("accepted, no effect on Node.js");
  return notes;
}

const NOT_AVAILABLE = "not available";

/** One IP*Works property name: every form the Smtp class has for it. */
function propertyMapping(name) {
  const forms = [];
  const notes = [];
  const camel = [];
  const collection = PACKAGE.COLLECTIONS.find((c) => name === c.name || name === `${c.item}Count` || (name.startsWith(c.item) && c.fields.some((f) => name === c.item + f.name)));
  const indexed = collection && name !== collection.name && name !== `${collection.item}Count`;
  const arg = indexed ? "i" : "";
  if (isMethod(`get${name}`)) forms.push(code(`get${name}(${arg})`));
  if (isMethod(`set${name}`)) {
    const signature = methodSignature(`set${name}`);
    forms.push(code(signature && /Promise/.test(signature) ? `set${name}(v): Promise` : `set${name}(${indexed ? "i, v" : "v"})`));
  }
  const row = PACKAGE.PROPERTIES.find((p) => p.name === name);
  if (row) notes.push(...rowNotes(row));
  const camelName = row ? row.js ?? lowerFirst(name) : collection && name === collection.name ? collection.js : lowerFirst(name);
  if (smtpMember(camelName) === "accessor") camel.push(code(camelName));
  if (collection) {
    if (name === collection.name) {
      const items = collection.itemObjects ?? collection.item;
      notes.push(`${code(`get${name}()`)}: a live list of ${items} objects; ${code(camelName)}: an array of plain objects; indexed: ${code(`get${collection.item}Count()`)}, ${code(`get${collection.item}${collection.fields[0].name}(i)`)}, ...`);
    }
    else notes.push(`indexed, collection ${collection.name}`);
  }
  const setting = PACKAGE.SETTINGS.find((s) => s.name === name);
  if (setting) forms.push(code(`config("${setting.name}")`));
  const objectFields = PACKAGE.PROPERTIES.filter((p) => p.object?.name === name).map((p) => p.name);
  if (objectFields.length > 0) notes.push(`object with the fields of ${objectFields.join(", ")}`);
  return [name, forms.join(", ") || NOT_AVAILABLE, camel.join(", "), notes.join("; ")];
}

function propertyTable(component) {
  return table(["IP*Works property", "smtpkit accessors", "camelCase property", "Notes"], vendorNames("properties", [component]).map(({ name }) => propertyMapping(name)));
}

function methodTable() {
  const rows = vendorNames("methods").map(({ name, where }) => {
    const key = lowerFirst(name);
    if (!isMethod(key)) return [name, where, NOT_AVAILABLE, ""];
    // A property's setter listed as a method (SetRuntimeLicense): the accessor the schema generates.
    const property = name.startsWith("Set") && PACKAGE.PROPERTIES.find((p) => p.name === name.slice(3));
    const signature = methodSignature(key) ?? (property ? `${key}(v): void` : undefined);
    const returns = signature ? (/\)\s*:\s*Promise/.test(signature) ? "Promise" : "value (synchronous)") : "";
    return [name, where, code(signature ?? `${key}()`), returns];
  });
  return table(["IP*Works method", "In", "smtpkit", "Returns"], rows);
}

function eventTable() {
  const rows = vendorNames("events").map(({ name, where }) => {
    const event = EVENTS.find((e) => e.name === name);
    return event ? [name, where, code(`on("${name}", (e) => ...)`), code(event.fields)] : [name, where, NOT_AVAILABLE, ""];
  });
  return table(["IP*Works event", "In", "smtpkit", "Fields of e"], rows);
}

function settingTable() {
  const rows = vendorNames("config").map(({ name, where }) => {
    const setting = PACKAGE.SETTINGS.find((s) => s.name.toLowerCase() === name.toLowerCase());
    if (!setting) return [name, where, NOT_AVAILABLE, ""];
    const notes = rowNotes(setting);
    if (setting.property) notes.push(`also the ${setting.property} property`);
    return [name, where, code(`config("${setting.name}=...")`), notes.join("; ")];
  });
  return table(["IP*Works setting", "In", "smtpkit", "Notes"], rows);
}

/** The properties and settings accepted for IP*Works compatibility without effect on Node.js, and why. */
function noEffectTable() {
  const rows = [
    ...PACKAGE.PROPERTIES.filter((p) => p.noEffect).map((p) => [p.name, "property", p.doc]),
    ...PACKAGE.SETTINGS.filter((s) => s.noEffect).map((s) => [s.name, "setting", s.doc]),
  ];
  return table(["Name", "Kind", "What smtpkit does"], rows);
}

/** The SSLCertStoreType / CertStoreType values that cannot exist on Node, grouped as the store-type table groups them. */
function unsupportedStoreTable() {
  const families = new Map();
  for (const row of CERT_STORE_TYPES.filter((r) => !r.supported)) families.set(row.family, [...(families.get(row.family) ?? []), row]);
  return table(["Values", "Store"], [...families].map(([family, rows]) => [rows.map((r) => `${r.value} ${r.constant}`).join(", "), family]));
}

/** The worked port: examples/ipworks-ssmtp-port.cjs as it runs, and the IP*Works program it came from. */
const PORT_EXAMPLE = "examples/ipworks-ssmtp-port.cjs";
const SMTPKIT_REQUIRE = 'const ipworkssmime = require("smtpkit");';
const IPWORKS_REQUIRE = 'const ipworkssmime = require("@nsoftware/ipworkssmime");';

function portExample() {
  const after = readFileSync(new URL(`../${PORT_EXAMPLE}`, import.meta.url), "utf8");
  if (!after.includes(SMTPKIT_REQUIRE)) throw new Error(`${PORT_EXAMPLE} has no line ${SMTPKIT_REQUIRE}`);
  const program = after.split("\n").filter((l) => !l.startsWith("//")).join("\n").trim();
  return [
    "The IP*Works program (before) and the smtpkit program (after) differ in one line:",
    "",
    "```diff",
    `-${IPWORKS_REQUIRE}`,
    `+${SMTPKIT_REQUIRE}`,
    "```",
    "",
    `After (\`${PORT_EXAMPLE}\`, run by spec/integration/port-programs.spec.ts):`,
    "",
    "```js",
    program,
    "```",
  ].join("\n");
}

/**
 * Tables inside hand-written docs, each between two marker comments and
 * rewritten by `npm run docs` from the table in `source`.
 */
export const DOC_TABLES = [
  {
    file: "tls-and-auth.md",
    name: "cert-store-types",
    source: "src/transport/cert-store-types.ts",
    render: () => table(["SSLCertStoreType", "SSLCertStore holds"], CERT_STORE_TYPES.filter((r) => r.supported).map((r) => [valueName(r, "SSLCertStoreType"), r.docHolds])),
  },
  {
    file: "tls-and-auth.md",
    name: "auth-mechanisms",
    source: "src/auth/mechanism-values.ts",
    render: () => table(["AuthMechanism", "Mechanism", "Notes"], AUTH_MECHANISM_VALUES.map((m) => [valueName(m, "AuthMechanism"), m.docMechanism, m.docNotes])),
  },
  {
    file: "network.md",
    name: "firewall-types",
    source: "src/transport/firewall-types.ts",
    render: () => table(["FirewallType", "Proxy", "Authentication", "Who resolves MailServer"], FIREWALL_TYPES.map((t) => [valueName(t), t.docProxy, t.docAuth, t.docResolves])),
  },
  ...[
    ["smtp-properties", "properties of the IP*Works SMTP component", () => propertyTable("SMTP")],
    ["ssmtp-properties", "properties of the IP*Works S/MIME SSMTP component", () => propertyTable("SSMTP")],
    ["methods", "methods", methodTable],
    ["events", "events", eventTable],
    ["settings", "config settings", settingTable],
  ].map(([name, what, render]) => ({
    file: "porting-ipworks.md",
    name: `ipworks-${name}`,
    source: `the ${what} in spec/fixtures/ipworks-names.json and the Smtp class`,
    render,
  })),
  {
    file: "porting-ipworks.md",
    name: "no-effect",
    source: "the noEffect rows of src/schema/properties.ts and src/schema/settings.ts",
    render: noEffectTable,
  },
  {
    file: "porting-ipworks.md",
    name: "unsupported-store-types",
    source: "src/transport/cert-store-types.ts",
    render: unsupportedStoreTable,
  },
  {
    file: "porting-ipworks.md",
    name: "port-example",
    source: PORT_EXAMPLE,
    render: portExample,
  },
];

/** `text` (the content of docs/`file`) with every generated table in it rendered anew; throws when a marker is missing. */
export function renderDocTables(file, text) {
  let out = text;
  for (const t of DOC_TABLES.filter((d) => d.file === file)) {
    const begin = `<!-- ${t.name}: generated from ${t.source} by \`npm run docs\`; do not edit -->`;
    const end = `<!-- /${t.name} -->`;
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/${file}: the markers of table ${t.name} are missing`);
    out = `${out.slice(0, from + begin.length)}\n\n${t.render()}\n\n${out.slice(to)}`;
  }
  return out;
}

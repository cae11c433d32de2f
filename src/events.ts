/**
 * Event payloads, named as in IP*Works with lowerCamel fields. Listeners get
 * one object per event; fields are read-only except where IP*Works has in/out
 * parameters (SSLServerAuthentication.accept).
 */

/** PITrail direction: 0 client -> server, 1 server -> client, 2 component info. */
export const Direction = { Client: 0, Server: 1, Info: 2 } as const;

/** PITrail: the protocol trace; `direction` 0 a command sent, 1 a reply received, 2 a note from the component. */
export interface PITrailEvent {
  readonly direction: 0 | 1 | 2;
  readonly message: string;
}

/** ConnectionStatus: the connection was established or closed (statusCode: the error code when it broke). */
export interface ConnectionStatusEvent {
  readonly connectionEvent: string;
  readonly statusCode: number;
  readonly description: string;
}

/** StartTransfer / EndTransfer: the message data is about to be sent, or has all been handed to the connection. */
export interface TransferDirectionEvent {
  /** 0: the client is sending. */
  readonly direction: 0 | 1;
}

/** Transfer: progress while the message is sent. */
export interface TransferEvent {
  readonly direction: 0 | 1;
  /** Message bytes written so far (headers and body in wire form: CRLF line ends, dot-stuffed; the final "." not counted). */
  readonly bytesTransferred: number;
  /** 0-100, or -1 when the total size is not known (stream bodies). */
  readonly percentDone: number;
  /** The chunk just sent, decoded as UTF-8 (computed only when read). */
  readonly text: string;
}

/** Error: a failure that does not reject a method (a refused recipient under StopOn...Errors=false, a failed `connected = value`). */
export interface ErrorEvent {
  readonly errorCode: number;
  readonly description: string;
}

/** Expand: one member of the list expand() asked about. */
export interface ExpandEvent {
  readonly address: string;
}

/** SSLServerAuthentication: the server's certificate and the verdict; set `accept` to overrule it. */
export interface SSLServerAuthenticationEvent {
  readonly certEncoded: Buffer;
  readonly certSubject: string;
  readonly certIssuer: string;
  readonly status: string;
  accept: boolean;
}

/** SSLStatus: progress of the TLS handshake. */
export interface SSLStatusEvent {
  readonly message: string;
}

/** RecipientStatus: the server's answer to one RCPT TO, as soon as it is known. */
export interface RecipientStatusEvent {
  readonly address: string;
  /** 0 To, 1 Cc, 2 BCc. */
  readonly type: 0 | 1 | 2;
  readonly accepted: boolean;
  /** A refusal that may succeed later (4xx). */
  readonly transient: boolean;
  readonly replyCode: number;
  readonly enhancedStatus: string | undefined;
  readonly reply: string;
}

/** QueueProgress: processQueue() or a queue worker finished with one file or Redis job. */
export interface QueueProgressEvent {
  /** The queue file (its .queued name), or the Redis job's id. */
  readonly file: string;
  /** 1-based position among the files found, and their number. */
  readonly index: number;
  readonly total: number;
  readonly status: "sent" | "deferred" | "failed" | "partial";
  readonly detail: string;
}

/** The events of Smtp by name, each with its listener: `smtp.on("PITrail", (e) => ...)`. */
export interface SmtpEvents {
  PITrail: (e: PITrailEvent) => void;
  ConnectionStatus: (e: ConnectionStatusEvent) => void;
  StartTransfer: (e: TransferDirectionEvent) => void;
  Transfer: (e: TransferEvent) => void;
  EndTransfer: (e: TransferDirectionEvent) => void;
  Error: (e: ErrorEvent) => void;
  Expand: (e: ExpandEvent) => void;
  SSLServerAuthentication: (e: SSLServerAuthenticationEvent) => void;
  SSLStatus: (e: SSLStatusEvent) => void;
  RecipientStatus: (e: RecipientStatusEvent) => void;
  QueueProgress: (e: QueueProgressEvent) => void;
}

/** An event as docs/api.md shows it: the listener's payload fields and what it reports. */
export interface EventDoc {
  readonly name: keyof SmtpEvents;
  readonly fields: string;
  readonly doc: string;
}

/** THE list of events, in the order docs/api.md shows them. */
export const EVENTS = [
  {
    name: "PITrail",
    fields: "{ direction: 0 | 1 | 2, message: string }",
    doc: "The protocol trace. direction 0: a command the client sent; 1: a reply from the server (a multi-line reply arrives as one message, lines joined with CRLF); 2: a note from the component (e.g. `connecting to ...`). The message data itself is not traced (see Transfer).",
  },
  {
    name: "ConnectionStatus",
    fields: "{ connectionEvent: string, statusCode: number, description: string }",
    doc: "The connection was established (`Remote host connection complete`) or closed (`Remote host disconnected`, with the error code as statusCode when it broke).",
  },
  {
    name: "StartTransfer",
    fields: "{ direction: 0 | 1 }",
    doc: "The message data is about to be sent (direction 0: client to server).",
  },
  {
    name: "Transfer",
    fields: "{ direction: 0 | 1, bytesTransferred: number, percentDone: number, text: string }",
    doc: "Progress while the message is sent: bytes of the message written so far (in wire form: CRLF line ends, dot-stuffed; the final dot line not counted), percent done (-1 when the size is unknown, e.g. a stream body), and the chunk just sent as text.",
  },
  {
    name: "EndTransfer",
    fields: "{ direction: 0 | 1 }",
    doc: "All of the message data has been handed to the connection.",
  },
  {
    name: "Error",
    fields: "{ errorCode: number, description: string }",
    doc: "A failure that does not reject a method: a refused recipient when the StopOn...Errors setting for its type is false, or a failed `connected = value` assignment. Unlike Node's `error` event it is safe to leave without a listener.",
  },
  {
    name: "Expand",
    fields: "{ address: string }",
    doc: "One member of the list expand() asked about, as the server wrote it.",
  },
  {
    name: "QueueProgress",
    fields: "{ file: string, index: number, total: number, status: \"sent\" | \"deferred\" | \"failed\" | \"partial\", detail: string }",
    doc: "processQueue() or a queue worker finished with one file or Redis job (`file` is the file name or the job id; `index` of `total`, the messages waiting when the run started): the outcome and the server's reply or the error.",
  },
  {
    name: "RecipientStatus",
    fields: "{ address: string, type: 0 | 1 | 2, accepted: boolean, transient: boolean, replyCode: number, enhancedStatus: string | undefined, reply: string }",
    doc: "The server's answer to one RCPT TO, as soon as it is known.",
  },
  {
    name: "SSLServerAuthentication",
    fields: "{ certEncoded: Buffer, certSubject: string, certIssuer: string, status: string, accept: boolean }",
    doc: "Fires on every TLS handshake with the server's certificate and smtpkit's verdict: `accept` is true when validation passed (or SSLAcceptServerCert matched) and `status` says why not otherwise (expired, self-signed, untrusted issuer, host name mismatch). Set `e.accept = true` to trust a certificate that failed, or `false` to refuse one that passed; nothing is sent over TLS before this verdict.",
  },
  {
    name: "SSLStatus",
    fields: "{ message: string }",
    doc: "Progress of the TLS handshake: start, the server certificate and its status, the negotiated protocol and cipher.",
  },
] as const satisfies readonly EventDoc[];

/** The names of the events, in the order of EVENTS. */
export const EVENT_NAMES: readonly (keyof SmtpEvents)[] = EVENTS.map((e) => e.name);

/** Fails to compile when an event of SmtpEvents is missing from EVENTS. */
type NoneMissing<Missing extends never> = Missing;
type EveryEventListed = NoneMissing<Exclude<keyof SmtpEvents, (typeof EVENTS)[number]["name"]>>;

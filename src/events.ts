/**
 * Event payloads, named as in IP*Works with lowerCamel fields. Listeners get
 * one object per event; fields are read-only except where IP*Works has in/out
 * parameters (SSLServerAuthentication.accept).
 */

/** PITrail direction: 0 client -> server, 1 server -> client, 2 component info. */
export const Direction = { Client: 0, Server: 1, Info: 2 } as const;

export interface PITrailEvent {
  readonly direction: 0 | 1 | 2;
  readonly message: string;
}

export interface ConnectionStatusEvent {
  readonly connectionEvent: string;
  readonly statusCode: number;
  readonly description: string;
}

export interface TransferDirectionEvent {
  /** 0: the client is sending. */
  readonly direction: 0 | 1;
}

export interface TransferEvent {
  readonly direction: 0 | 1;
  /** Message bytes written so far (headers and body in wire form: CRLF line ends, dot-stuffed; the final "." not counted). */
  readonly bytesTransferred: number;
  /** 0-100, or -1 when the total size is not known (stream bodies). */
  readonly percentDone: number;
  /** The chunk just sent, decoded as UTF-8 (computed only when read). */
  readonly text: string;
}

export interface ErrorEvent {
  readonly errorCode: number;
  readonly description: string;
}

export interface ExpandEvent {
  readonly address: string;
}

export interface SSLServerAuthenticationEvent {
  readonly certEncoded: Buffer;
  readonly certSubject: string;
  readonly certIssuer: string;
  readonly status: string;
  accept: boolean;
}

export interface SSLStatusEvent {
  readonly message: string;
}

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

export interface QueueProgressEvent {
  /** The queue file (its .queued name). */
  readonly file: string;
  /** 1-based position among the files found, and their number. */
  readonly index: number;
  readonly total: number;
  readonly status: "sent" | "deferred" | "failed" | "partial";
  readonly detail: string;
}

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

/**
 * What a mail transaction takes and gives: the envelope, the plan worked out
 * from the server's extensions and the settings, the hooks the component's
 * events hang on, and each recipient's and the message's outcome.
 */
import type { SmtpError } from "../../errors.js";
import type { MessagePart, TransferProgress } from "../data-transfer.js";

/** 0 To, 1 Cc, 2 BCc, as MessageRecipientType. */
export type RecipientType = 0 | 1 | 2;

export interface EnvelopeRecipient {
  address: string;
  type: RecipientType;
  /** Raw RCPT parameters (MessageRecipientOptions, DSN). */
  options: string;
}

export interface Envelope {
  /** Reverse path without brackets; "" is the null sender <>. */
  sender: string;
  /** MAIL FROM parameters such as "BODY=8BITMIME". */
  mailParameters: readonly string[];
  recipients: readonly EnvelopeRecipient[];
}

/** The server's answer to one recipient's RCPT TO. */
export interface RecipientResult {
  address: string;
  type: RecipientType;
  accepted: boolean;
  /** A refusal that may succeed later (4xx). */
  transient: boolean;
  replyCode: number;
  enhancedStatus: string | undefined;
  reply: string;
  /** Direct delivery: the mail host that answered for this recipient. */
  host?: string;
}

/** What a send resolves with: the recipients' answers and the server's reply to the end of the message. */
export interface SendResult {
  /** Addresses the server accepted. */
  accepted: string[];
  /** Recipients the server refused (only possible when the StopOn setting for their type is false). */
  rejected: RecipientResult[];
  recipients: RecipientResult[];
  /** The reply to the end of the message. */
  replyCode: number;
  enhancedStatus: string | undefined;
  reply: string;
  /** Message bytes written (CRLF line ends; dot-stuffed for DATA), without the final ".". */
  messageBytes: number;
}

export interface TransactionHooks {
  /** StopOnToErrors / StopOnCcErrors / StopOnBccErrors. */
  stopOn(type: RecipientType): boolean;
  /** Each recipient's outcome, as soon as it is known (RecipientStatus event). */
  recipientResult(result: RecipientResult): void;
  /** A refused recipient that does not stop the send (fires the Error event). */
  recipientRefused(err: SmtpError): void;
  startTransfer(): void;
  transfer(p: TransferProgress): void;
  endTransfer(): void;
  /**
   * The whole message is written and only its verdict is awaited: the next
   * message's commands may follow it on the wire now (pipelined series). Only
   * called when the server offers PIPELINING, and not when the transaction
   * fails before that point.
   */
  handover?(): void;
}

/** The transfer choices, worked out from the server's extensions and the settings. */
export interface TransactionPlan {
  /** MAIL for mail; SEND, SOML, SAML for the terminal variants. */
  verb: "MAIL" | "SEND" | "SOML" | "SAML";
  /** Start with RSET (a reused connection with SendRSET). */
  rset: boolean;
  pipelining: boolean;
  chunking: boolean;
  chunkSize: number;
  /** Server SIZE limit (0 / undefined: none) and whether to announce SIZE=. */
  sizeLimit: number | undefined;
  announceSize: boolean;
  /** BODY=BINARYMIME: the bytes go as they are (BDAT only), line ends untouched. */
  binary: boolean;
}

export interface MessageData {
  parts: readonly MessagePart[];
}

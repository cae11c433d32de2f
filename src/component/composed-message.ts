/** The message as composed for sending: envelope, header block, body parts and what the transaction must know about them. */
import type { MessagePart } from "../engine/data-transfer.js";
import type { Envelope } from "../engine/transaction.js";
import type { Header } from "../message/header-block.js";

export interface ComposedMessage {
  envelope: Envelope;
  headers: Header[];
  headersString: string;
  parts: MessagePart[];
  /** The content has 8-bit bytes (BODY=8BITMIME when the server offers it). */
  eightBit: boolean;
  /** An envelope address is non-ASCII (SMTPUTF8 when the server offers it). */
  utf8Addresses: boolean;
  /** In-memory content with NUL bytes: only BDAT with BODY=BINARYMIME can carry it unchanged. */
  binary?: boolean;
  /** Removes temporary files (a DKIM spool) once the message is sent or queued. */
  cleanup?: () => Promise<void>;
  /** The message came complete (Message property, sendMessage()): one buffer holds headers and body. */
  prebuilt?: boolean;
  /**
   * Content sent as it is has a line over 998 octets (RFC 5322 §2.1.1): only
   * BDAT with BODY=BINARYMIME carries it unchanged. Its line breaks are CRLF already.
   */
  longLines?: boolean;
  /**
   * A stream is sent as it is, unread until then: eightBit is a guess, and its
   * line lengths and 8-bit bytes are checked while it is sent.
   */
  unscanned?: boolean;
  /**
   * For a server without 8BITMIME (RFC 6152 §3): the same message as 7-bit,
   * made from the body parts (those after the header block) of the message
   * being sent, unsigned. Absent when the message cannot be converted (a
   * complete one is the caller's) or need not be.
   */
  sevenBit?: (body: readonly MessagePart[]) => ComposedMessage;
}

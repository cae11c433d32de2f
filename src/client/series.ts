/**
 * A pipelined series: many messages on one open connection in one method
 * call. Each message's envelope is written together with the end of the
 * previous one (RFC 2920), and each message is composed while the previous
 * one waits for its replies, so a steady stream costs one write and one
 * round trip per message. Only the open connection is used: once it is gone
 * the series ends, and the caller (the pool) decides what to do next.
 */
import type { ComposedMessage } from "../component/compose.js";
import type { SmtpSession } from "../engine/session.js";
import type { SendResult } from "../engine/transaction.js";
import type { SmtpError } from "../errors.js";
import { failureOf } from "./failure.js";

/** One message of a series. */
export interface SeriesMessage<Client> {
  /** Puts the message on the client, or returns a complete message to send as it is (sendMessage). */
  prepare(client: Client): ComposedMessage | undefined;
  /** The message was composed with this Message-ID: a retry must keep it. */
  composed?(messageId: string | undefined): void;
  /**
   * Called once with the outcome. `turnMissed`: the connection was gone
   * before this message's turn, so nothing of it was sent and it can go
   * again as it is.
   */
  settle(result: SendResult | undefined, error: SmtpError | undefined, turnMissed: boolean): void;
}

/** Where a message of a series runs, and how it says the next one may start. */
export interface SeriesStep {
  session: SmtpSession | undefined;
  handover: (() => void) | undefined;
  /** Set once the message's transaction begins on the connection. */
  started: boolean;
}

/** What the series needs of the client it runs on. */
export interface SeriesHost<Client> {
  readonly client: Client;
  readonly session: SmtpSession | undefined;
  /** False when each method call is meant as one send (AbsoluteTimeout): the series is then one message. */
  readonly overlap: boolean;
  compose(complete: ComposedMessage | undefined): Promise<ComposedMessage>;
  sendComposed(composed: ComposedMessage, raw: boolean, signal: AbortSignal, step: SeriesStep): Promise<SendResult>;
}

/** Sends what `next()` hands out until it returns undefined or the connection is gone; every message taken is settled. */
export async function runSeries<Client>(host: SeriesHost<Client>, next: () => Promise<SeriesMessage<Client> | undefined>, signal: AbortSignal): Promise<void> {
  const overlap = host.overlap;
  const inFlight = new Set<Promise<void>>();
  let previous: Promise<unknown> | undefined;
  while (host.session?.isOpen && !signal.aborted) {
    const item = await next();
    if (!item) break;
    let composed: ComposedMessage;
    let raw: boolean;
    try {
      const complete = item.prepare(host.client);
      raw = complete !== undefined;
      composed = await host.compose(complete);
      item.composed?.(composed.headers.find((h) => h.field.toLowerCase() === "message-id")?.value);
    } catch (e) {
      item.settle(undefined, failureOf(e, signal), false);
      continue;
    }
    // The message before has written its end of data, or is over.
    if (previous) await previous;
    let handedOver: () => void = () => undefined;
    const handover = new Promise<void>((resolve) => (handedOver = resolve));
    const step: SeriesStep = { session: host.session, handover: overlap ? handedOver : undefined, started: false };
    const done = host.sendComposed(composed, raw, signal, step).then(
      (result) => item.settle(result, undefined, false),
      (e: unknown) => item.settle(undefined, failureOf(e, signal), !step.started),
    );
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
    if (!overlap) break;
    previous = Promise.race([handover, done]);
    // Compose the next message once this one's commands are on the wire, not before.
    await step.session?.connection.flushed();
  }
  await Promise.all(inFlight);
}

/**
 * Engine callbacks turned into the component's events (and the properties
 * they update): session, TLS and transaction hooks for one client.
 */
import type { X509Certificate } from "node:crypto";
import type { TypedEmitter } from "tiny-typed-emitter";
import type { TlsHooks } from "../component/session-options.js";
import type { TransferProgress } from "../engine/data-transfer.js";
import type { SmtpReply } from "../engine/reply.js";
import type { SessionEvents } from "../engine/session.js";
import type { RecipientResult, TransactionHooks } from "../engine/transaction.js";
import type { SmtpEvents, TransferEvent } from "../events.js";
import type { PropertyStore } from "../schema/property-store.js";
import type { ServerCertificateCheck } from "../transport/tls-upgrade.js";

/** What the hooks record on the client. */
export interface ClientState {
  serverCert(cert: X509Certificate | undefined): void;
  recipient(result: RecipientResult): void;
}

export function emitError(events: TypedEmitter<SmtpEvents>, errorCode: number, description: string): void {
  // Error is informational here; with no listener it must not throw like Node's "error".
  events.emit("Error", { errorCode, description });
}

export function tlsHooks(events: TypedEmitter<SmtpEvents>): TlsHooks {
  return {
    status: (message) => events.emit("SSLStatus", { message }),
    authorize: (check) => authorizeServer(events, check),
  };
}

/** Fires SSLServerAuthentication and returns the listeners' verdict. */
function authorizeServer(events: TypedEmitter<SmtpEvents>, check: ServerCertificateCheck): boolean {
  const event = { certEncoded: check.certEncoded, certSubject: check.certSubject, certIssuer: check.certIssuer, status: check.status, accept: check.accept };
  events.emit("SSLServerAuthentication", event);
  return event.accept === true;
}

export function sessionEvents(store: PropertyStore, events: TypedEmitter<SmtpEvents>, state: ClientState): SessionEvents {
  return {
    trail: (direction, message) => events.listenerCount("PITrail") && events.emit("PITrail", { direction, message }),
    reply: (reply: SmtpReply) => store.setInternal("LastReply", reply.raw),
    connectionStatus: (connectionEvent, statusCode, description) => events.emit("ConnectionStatus", { connectionEvent, statusCode, description }),
    closed: () => {
      // The session object is dropped lazily (next call) so a method in flight still sees it.
      store.setSettingInternal("SSLNegotiatedVersion", "");
      store.setSettingInternal("SSLNegotiatedCipher", "");
    },
    secured: (tls) => {
      state.serverCert(tls.certificate);
      store.setSettingInternal("SSLNegotiatedVersion", tls.protocol);
      store.setSettingInternal("SSLNegotiatedCipher", tls.cipher);
      events.emit("ConnectionStatus", { connectionEvent: "SSL handshake complete", statusCode: 0, description: `${tls.protocol} ${tls.cipher}` });
    },
  };
}

export function transactionHooks(store: PropertyStore, events: TypedEmitter<SmtpEvents>, state: ClientState): TransactionHooks {
  const stopOn = [store.bool("StopOnToErrors"), store.bool("StopOnCcErrors"), store.bool("StopOnBccErrors")];
  return {
    stopOn: (type) => stopOn[type] === true,
    recipientResult: (r) => {
      state.recipient(r);
      // Event objects are only built for someone: at volume they are most of the garbage.
      if (events.listenerCount("RecipientStatus")) events.emit("RecipientStatus", { ...r });
    },
    recipientRefused: (err) => emitError(events, err.code, err.message),
    startTransfer: () => events.listenerCount("StartTransfer") && events.emit("StartTransfer", { direction: 0 }),
    transfer: (p: TransferProgress) => events.listenerCount("Transfer") && events.emit("Transfer", transferEvent(p)),
    endTransfer: () => events.listenerCount("EndTransfer") && events.emit("EndTransfer", { direction: 0 }),
  };
}

function transferEvent({ bytes, total, chunk }: TransferProgress): TransferEvent {
  const percentDone = total === undefined ? -1 : total === 0 ? 100 : Math.min(100, Math.floor((bytes * 100) / total));
  let text: string | undefined;
  return {
    direction: 0,
    bytesTransferred: bytes,
    percentDone,
    get text() {
      text ??= chunk.toString("utf8");
      return text;
    },
  };
}

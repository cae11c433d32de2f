/**
 * The connector seam: the engine runs a session on any duplex byte stream.
 * By default it opens TCP (directly or through the proxy); a caller may
 * supply its own connector instead: a Unix socket, an SSH channel, an
 * in-memory test harness. TLS (implicit or STARTTLS) still runs on top.
 */
import { Socket } from "node:net";
import type { Duplex } from "node:stream";

/** What a `connector` is asked to connect to. */
export interface ConnectTarget {
  /** MailServer (or the MX host for direct delivery), as configured. */
  host: string;
  port: number;
  /** Aborted by interrupt(), an AbortSignal or a timeout: stop connecting. */
  signal?: AbortSignal;
}

/** Opens the stream a session runs on. */
export type Connector = (target: ConnectTarget) => Promise<Duplex> | Duplex;

/** Local and remote addresses when the stream is a socket ("" otherwise). */
export function endpoints(stream: Duplex): { localAddress: string; remoteAddress: string; remotePort: number | undefined } {
  if (stream instanceof Socket) return { localAddress: stream.localAddress ?? "", remoteAddress: stream.remoteAddress ?? "", remotePort: stream.remotePort };
  return { localAddress: "", remoteAddress: "", remotePort: undefined };
}

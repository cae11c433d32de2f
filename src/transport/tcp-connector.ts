/** Opens the TCP connection: bounded by a timeout, cancellable, with the socket options applied. */
import { connect, isIP, type Socket } from "node:net";
import { ErrorCode, SmtpError } from "../errors.js";
import { socketError } from "./socket-errors.js";

/** Socket-level choices (IP*Works connection settings). */
export interface SocketOptions {
  localAddress?: string;
  localPort?: number;
  /** 0 IPv4 only, 1 IPv6 only, 2 both (Happy Eyeballs). */
  useIPv6?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  /** First keep-alive probe after this much idle time; 0 = system default. */
  keepAliveMs?: number;
  /** Socket buffer high-water marks; 0 = Node's default. */
  inBufferSize?: number;
  outBufferSize?: number;
}

export interface TcpOptions extends SocketOptions {
  host: string;
  port: number;
  /** 0 = no limit. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** "[::1]" -> "::1": users write IPv6 hosts both ways. */
export function normalizeHost(host: string): string {
  const h = host.trim();
  if (h.startsWith("[") && h.endsWith("]") && isIP(h.slice(1, -1)) === 6) return h.slice(1, -1);
  return h;
}

export function connectTcp(opts: TcpOptions): Promise<Socket> {
  const host = normalizeHost(opts.host);
  if (opts.signal?.aborted) return Promise.reject(opts.signal.reason);
  const family = opts.useIPv6 === 0 ? 4 : opts.useIPv6 === 1 ? 6 : 0;
  const socket = connect({
    host,
    port: opts.port,
    localAddress: opts.localAddress || undefined,
    localPort: opts.localPort || undefined,
    family,
    // Happy Eyeballs (RFC 8305) when both families are allowed.
    autoSelectFamily: family === 0,
    // noDelay: the end-of-data marker must not wait for a delayed ACK (~40 ms a message).
    noDelay: opts.noDelay ?? true,
    keepAlive: opts.keepAlive ?? false,
    keepAliveInitialDelay: opts.keepAliveMs ?? 0,
    ...(opts.inBufferSize ? { readableHighWaterMark: opts.inBufferSize } : {}),
    ...(opts.outBufferSize ? { writableHighWaterMark: opts.outBufferSize } : {}),
  });
  return whenConnected(socket, `connecting to ${host}:${opts.port}`, opts.timeoutMs, opts.signal);
}

/**
 * Resolves once `socket` is connected (at once if it is already), bounded by
 * `timeoutMs` (0: none) and cancellable; a failure is a typed error naming `where`.
 */
export function whenConnected(socket: Socket, where: string, timeoutMs: number, signal?: AbortSignal): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    if (!socket.connecting) {
      resolve(socket);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: unknown): void => {
      if (timer) clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("error", onError);
      signal?.removeEventListener("abort", onAbort);
      if (err !== undefined) {
        socket.destroy();
        reject(err);
      } else {
        resolve(socket);
      }
    };
    const onConnect = (): void => finish();
    const onError = (err: Error): void => finish(socketError(err, where));
    const onAbort = (): void => finish(signal?.reason);
    socket.once("connect", onConnect);
    socket.once("error", onError);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs > 0) {
      timer = setTimeout(() => finish(new SmtpError(ErrorCode.TimedOut, `${where}: no connection within ${timeoutMs / 1000} s`, {
        hint: "check MailServer / MailPort and any firewall in between; see docs/troubleshooting.md#timeouts",
      })), timeoutMs);
    }
  });
}

/** Opens the TCP connection: bounded by a timeout, cancellable, with Nagle off. */
import { connect, isIP, type Socket } from "node:net";
import { ErrorCode, SmtpError } from "../errors.js";
import { socketError } from "./socket-errors.js";

export interface TcpOptions {
  host: string;
  port: number;
  localAddress?: string;
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
  const where = `connecting to ${host}:${opts.port}`;
  return new Promise<Socket>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(opts.signal.reason);
      return;
    }
    // noDelay: the end-of-data marker must not wait for a delayed ACK (~40 ms a message).
    const socket = connect({ host, port: opts.port, localAddress: opts.localAddress || undefined, noDelay: true });
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: unknown): void => {
      if (timer) clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("error", onError);
      opts.signal?.removeEventListener("abort", onAbort);
      if (err !== undefined) {
        socket.destroy();
        reject(err);
      } else {
        resolve(socket);
      }
    };
    const onConnect = (): void => finish();
    const onError = (err: Error): void => finish(socketError(err, where));
    const onAbort = (): void => finish(opts.signal?.reason);
    socket.once("connect", onConnect);
    socket.once("error", onError);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.timeoutMs > 0) {
      timer = setTimeout(() => finish(new SmtpError(ErrorCode.TimedOut, `${where}: no connection within ${opts.timeoutMs / 1000} s`, {
        hint: "check MailServer / MailPort and any firewall in between",
      })), opts.timeoutMs);
    }
  });
}

/**
 * bullmq and ioredis are optional peer dependencies: they are required here,
 * on the first Redis URL, never with the package. Connections are made by
 * us (not by BullMQ from options) so that a Redis that is down, refuses the
 * password or speaks no TLS fails within the connection timeout with a
 * typed error and a hint, instead of retrying forever.
 */
import { isIP } from "node:net";
import type * as BullMQ from "bullmq";
import type { Redis, RedisOptions } from "ioredis";
import { ErrorCode, SmtpError } from "../../errors.js";
import { syncRequire } from "../../sync-require.js";
import type { RedisTarget } from "./redis-url.js";

export type BullMQModule = typeof BullMQ;
export type RedisClient = Redis;

interface Driver {
  bullmq: BullMQModule;
  Redis: typeof Redis;
}

let driver: Driver | undefined;

export function loadDriver(): Driver {
  if (driver) return driver;
  const load = <T>(name: string): T => {
    try {
      return syncRequire(name) as T;
    } catch (e) {
      throw new SmtpError(ErrorCode.QueueBackend, `a Redis queue URL needs the ${name} package, which is not installed`, { hint: "npm install bullmq ioredis", cause: e });
    }
  };
  const bullmq = load<BullMQModule>("bullmq");
  const ioredis = load<{ default?: typeof Redis; Redis?: typeof Redis }>("ioredis");
  const RedisClass = ioredis.Redis ?? ioredis.default;
  if (!RedisClass) throw new SmtpError(ErrorCode.QueueBackend, "the installed ioredis package exports no Redis client", { hint: "npm install ioredis@^5 || ioredis@^6" });
  driver = { bullmq, Redis: RedisClass };
  return driver;
}

/**
 * "producer": commands fail while Redis is down (queue() reports it).
 * "worker": commands wait for the reconnection (BullMQ's blocking reads need
 * maxRetriesPerRequest null), so a worker rides out a Redis restart.
 */
export type RedisRole = "producer" | "worker";

export async function openRedis(target: RedisTarget, role: RedisRole, timeoutMs: number): Promise<RedisClient> {
  const { Redis: RedisClass } = loadDriver();
  const options: RedisOptions = {
    host: target.host,
    port: target.port,
    db: target.db,
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    // Certificates are validated (Node's defaults) against the host of the URL.
    // SNI carries names only (RFC 6066); an address is still checked against the certificate.
    ...(target.tls ? { tls: isIP(target.host) ? {} : { servername: target.host } } : {}),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: role === "worker" ? null : 1,
    enableOfflineQueue: role === "worker",
    // Reconnect for ever once connected; the first connection is judged by connect() below.
    retryStrategy: (times: number) => Math.min(times * 200, 5000),
    connectionName: `smtpkit-${role}`,
  };
  const client = new RedisClass(options);
  // ioredis reports every failed reconnection as an "error" event; without a listener Node would throw it.
  let lastError: unknown;
  client.on("error", (e: unknown) => (lastError = e));
  // One deadline for the connection and the first command.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SmtpError(ErrorCode.TimedOut, "timeout")), timeoutMs);
  });
  try {
    await Promise.race([client.connect(), deadline]);
    // A password Redis does not want, or none where it wants one, shows up only at the first command.
    await Promise.race([client.ping(), deadline]);
  } catch (e) {
    client.disconnect();
    // connect() reports only "Connection is closed"; the "error" event before it says why (refused, NOAUTH, TLS).
    throw redisError(target, lastError ?? e, timeoutMs);
  } finally {
    clearTimeout(timer);
  }
  return client;
}

/** A Redis failure as a QueueBackend error whose hint says what to check. */
export function redisError(target: RedisTarget, e: unknown, timeoutMs?: number): SmtpError {
  if (e instanceof SmtpError && e.code !== ErrorCode.TimedOut) return e;
  const where = `Redis at ${target.host}:${target.port}`;
  const code = (e as NodeJS.ErrnoException | undefined)?.code ?? "";
  const text = e instanceof Error ? e.message : String(e);
  const fail = (what: string, hint: string): SmtpError => new SmtpError(ErrorCode.QueueBackend, `${where} ${what}`, { hint, cause: e });
  if (code === "ECONNREFUSED") return fail("refused the connection", "is redis-server running there? Check the host and port of the URL");
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return fail("cannot be found: the host name does not resolve", "check the host of the URL");
  if (/NOAUTH|WRONGPASS|invalid (username-)?password|AUTH.*(without|no password)/i.test(text)) {
    return fail(`refused the credentials: ${text.replace(/^ReplyError: /, "")}`, "check the user and password of the URL: redis://user:password@host (URL-encode special characters)");
  }
  if (/certificate|self[- ]signed|wrong version number|tls|ssl|EPROTO/i.test(`${code} ${text}`)) {
    return fail(`failed the TLS handshake: ${text}`, "rediss:// needs a TLS port whose certificate names the host; plain-text Redis takes redis://");
  }
  if (e instanceof SmtpError || code === "ETIMEDOUT" || /timeout|timed out/i.test(text)) {
    return fail(`did not answer within ${Math.round((timeoutMs ?? 0) / 1000)} s`, `check the host and port of the URL and any firewall in between; ${target.tls ? "a plain-text Redis on a rediss:// URL" : "a TLS-only Redis on a redis:// URL"} also stays silent`);
  }
  if (/Connection is closed|ECONNRESET|socket closed/i.test(`${code} ${text}`)) {
    return fail(`closed the connection: ${text}`, target.tls ? "check that the port speaks TLS" : "a TLS-only Redis needs rediss://");
  }
  return fail(`failed: ${text}`, "check the URL and the Redis server's log");
}

/** How long connecting to Redis may take: ConnectionTimeout, else Timeout, else a minute. */
export function redisTimeoutMs(store: { int(name: "ConnectionTimeout"): number; number(name: "Timeout"): number }): number {
  return (store.int("ConnectionTimeout") || store.number("Timeout") || 60) * 1000;
}

/**
 * The Redis outbox's address: `redis://[[user]:password@]host[:port][/db][?queue=name]`
 * (`rediss://` for TLS). queue() and processQueue() take one where they take
 * a directory; isRedisUrl() tells them apart.
 */
import { ErrorCode, SmtpError } from "../../errors.js";

export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  username: string | undefined;
  password: string | undefined;
  tls: boolean;
  /** The BullMQ queue name (`queue` query parameter, default "smtpkit"). */
  queueName: string;
  /** The URL without its password, for messages and traces. */
  label: string;
}

export const DEFAULT_QUEUE_NAME = "smtpkit";

export function isRedisUrl(target: string): boolean {
  return /^rediss?:\/\//i.test(target);
}

export function parseRedisUrl(text: string): RedisTarget {
  const invalid = (why: string): SmtpError =>
    new SmtpError(ErrorCode.InvalidValue, `invalid Redis URL ${maskPassword(text)}: ${why}`, { hint: "redis://[[user]:password@]host[:port][/db][?queue=name], or rediss:// for TLS" });
  if (/[\r\n\0]/.test(text)) throw new SmtpError(ErrorCode.LineBreakInjection, "a Redis URL must not contain CR, LF or NUL");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid("not a URL");
  }
  const tls = url.protocol.toLowerCase() === "rediss:";
  if (!tls && url.protocol.toLowerCase() !== "redis:") throw invalid("the scheme must be redis: or rediss:");
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw invalid("no host");
  const port = url.port === "" ? 6379 : Number(url.port);
  const path = url.pathname.replace(/^\//, "");
  if (path !== "" && !/^\d{1,5}$/.test(path)) throw invalid(`the path must be a database number, not ${JSON.stringify(path)}`);
  const db = path === "" ? 0 : Number(path);
  for (const key of url.searchParams.keys()) {
    if (key !== "queue") throw invalid(`unknown parameter ${JSON.stringify(key)} (only "queue" is read)`);
  }
  const queueName = url.searchParams.get("queue") ?? DEFAULT_QUEUE_NAME;
  // BullMQ builds its Redis keys as prefix:name:...; a colon in the name would run into them.
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(queueName)) throw invalid("the queue name may hold letters, digits, '.', '_' and '-' (at most 100)");
  return {
    host,
    port,
    db,
    username: url.username === "" ? undefined : decodeURIComponent(url.username),
    password: url.password === "" ? undefined : decodeURIComponent(url.password),
    tls,
    queueName,
    label: `${tls ? "rediss" : "redis"}://${url.username ? `${url.username}@` : ""}${url.host}/${db}?queue=${queueName}`,
  };
}

/** The URL with any password replaced by `****`, for error messages. */
export function maskPassword(text: string): string {
  return text.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/i, "$1****@");
}

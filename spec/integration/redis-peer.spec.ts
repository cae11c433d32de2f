/**
 * The private Redis peer itself (spec/support/peers/redis.ts): before the outbox specs lean on
 * restart() and kill() to mean "Redis went away and came back with its data", prove it.
 */
import { afterAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { REDIS_CLI, startRedis, type RedisPeer } from "../support/peers/redis.js";

const peers: RedisPeer[] = [];
async function peer(opts?: Parameters<typeof startRedis>[0]): Promise<RedisPeer> {
  const p = await startRedis(opts);
  peers.push(p);
  return p;
}

afterAll(async () => {
  await Promise.all(peers.map((p) => p.stop()));
});

/** redis-cli without the peer's credentials (REDISCLI_AUTH removed): output, exit status aside. */
function anonymousCli(port: number, ...args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.REDISCLI_AUTH;
  return new Promise((resolve) => {
    execFile(REDIS_CLI, ["-h", "127.0.0.1", "-p", String(port), ...args], { env, encoding: "utf8" }, (_err, stdout, stderr) => resolve(stdout + stderr));
  });
}

describe("startRedis()", () => {
  it("runs a private instance: SET / GET through cli(), a redis:// URL, its own dir", async () => {
    const redis = await peer();
    expect(redis.pid).toBeTypeOf("number");
    expect(existsSync(redis.dir)).toBe(true);
    expect(redis.url()).toBe(`redis://127.0.0.1:${redis.port}/0`);
    expect(redis.url(3, "out box")).toBe(`redis://127.0.0.1:${redis.port}/3?queue=out%20box`);
    expect(await redis.cli("SET", "k", "v")).toBe("OK");
    expect(await redis.cli("GET", "k")).toBe("v");
    expect(await redis.cli("GET", "missing")).toBe("");
  });

  it("restart() shuts down gracefully and comes back on the same port with the data (AOF)", async () => {
    const redis = await peer();
    await redis.cli("SET", "kept", "across restart");
    await redis.cli("RPUSH", "list", "a", "b");
    const before = redis.pid;
    await redis.restart({ downMs: 100 });
    expect(redis.pid).toBeTypeOf("number");
    expect(redis.pid).not.toBe(before);
    expect(await redis.cli("GET", "kept")).toBe("across restart");
    expect(await redis.cli("LRANGE", "list", "0", "-1")).toBe("a\nb");
    expect(redis.log()).toMatch(/shutdown/i);
  });

  it("kill() is a crash; start() brings back what appendfsync always had written", async () => {
    const redis = await peer({ appendfsync: "always" });
    await redis.cli("SET", "durable", "yes");
    const port = redis.port;
    await redis.kill();
    expect(redis.pid).toBeUndefined();
    await expect(redis.cli("PING")).rejects.toThrow(/Connection refused|Could not connect/);
    await redis.start();
    expect(redis.port).toBe(port);
    expect(await redis.cli("GET", "durable")).toBe("yes");
  });

  it("with a password: refuses clients without AUTH; cli() and url() carry it", async () => {
    const redis = await peer({ password: "s3cret pass" });
    expect(await anonymousCli(redis.port, "SET", "k", "v")).toMatch(/NOAUTH/);
    expect(await redis.cli("SET", "k", "v")).toBe("OK");
    expect(await redis.cli("GET", "k")).toBe("v");
    expect(redis.url(1, "q")).toBe(`redis://:s3cret%20pass@127.0.0.1:${redis.port}/1?queue=q`);
    await redis.restart();
    expect(await redis.cli("GET", "k")).toBe("v");
  });

  it("stop() ends the process and removes the dir; a second stop() is a no-op", async () => {
    const redis = await peer();
    const pid = redis.pid;
    if (pid === undefined) throw new Error("no pid while running");
    await redis.stop();
    expect(redis.pid).toBeUndefined();
    expect(existsSync(redis.dir)).toBe(false);
    expect(() => process.kill(pid, 0)).toThrow(); // ESRCH: gone (and reaped)
    await redis.stop();
    await expect(redis.start()).rejects.toThrow(/after stop/);
  });
});

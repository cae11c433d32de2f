// The Redis outbox's pure parts: the URL, the limiter window, the job codec.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { limiterWindow, worstCaseInInterval } from "../../src/queue/redis/rate-window.js";
import { messageJobData, readDelivery, readJobData } from "../../src/queue/redis/redis-job.js";
import { isRedisUrl, maskPassword, parseRedisUrl } from "../../src/queue/redis/redis-url.js";
import { SmtpError } from "../../src/errors.js";

describe("Redis URL", () => {
  it("reads host, port, db, credentials, TLS and the queue name", () => {
    const t = parseRedisUrl("rediss://mailer:p%40ss%3Aw@redis.example.com:6380/3?queue=shop-mail");
    expect(t).toMatchObject({ host: "redis.example.com", port: 6380, db: 3, username: "mailer", password: "p@ss:w", tls: true, queueName: "shop-mail" });
    expect(t.label).toBe("rediss://mailer@redis.example.com:6380/3?queue=shop-mail");
    expect(t.label).not.toContain("p%40ss");
  });

  it("defaults: port 6379, db 0, queue smtpkit, no credentials; IPv6 hosts lose their brackets", () => {
    expect(parseRedisUrl("redis://127.0.0.1")).toMatchObject({ host: "127.0.0.1", port: 6379, db: 0, username: undefined, password: undefined, tls: false, queueName: "smtpkit" });
    expect(parseRedisUrl("redis://[::1]:7000/").host).toBe("::1");
    expect(parseRedisUrl("redis://:secret@localhost").password).toBe("secret");
  });

  it.each([
    ["redis://", "no host"],
    ["redis://h/abc", "database number"],
    ["redis://h/0?db=1", "unknown parameter"],
    ["redis://h/0?queue=a:b", "queue name"],
    ["redis://h/0?queue=", "queue name"],
  ])("refuses %s (%s) with 601 and the URL form as hint", (url, why) => {
    const e = (() => {
      try {
        parseRedisUrl(url);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(SmtpError);
    expect((e as SmtpError).code).toBe(601);
    expect((e as SmtpError).message).toContain(why);
    expect((e as SmtpError).hint).toContain("redis://");
  });

  it("never puts the password in an error, and refuses line breaks", () => {
    let message = "";
    try {
      parseRedisUrl("redis://u:topsecret@h/x");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain("****");
    expect(message).not.toContain("topsecret");
    expect(maskPassword("redis://:topsecret@h")).toBe("redis://:****@h");
    expect(() => parseRedisUrl("redis://h/0\r\nFLUSHALL")).toThrow(/CR, LF or NUL/);
  });

  it("tells URLs from directories", () => {
    expect(isRedisUrl("redis://h")).toBe(true);
    expect(isRedisUrl("REDISS://h")).toBe(true);
    expect(isRedisUrl("/var/spool/redis://x")).toBe(false);
    expect(isRedisUrl("./redis")).toBe(false);
  });
});

/**
 * BullMQ's limiter, the worst a scheduler could do with it: a window opens at
 * its first job, takes `max` jobs, and the next opens at once when it ends.
 * Jobs are put at the latest instants of one window and the earliest of the
 * next, the burst that fixed windows allow.
 */
function worstSchedule(w: { max: number; duration: number }, horizonMs: number, offsetMs: number): number[] {
  const starts: number[] = [];
  for (let open = offsetMs; open < horizonMs; open += w.duration) {
    for (let k = 0; k < w.max; k++) starts.push(k % 2 === 0 ? open : open + w.duration - 0.001);
  }
  return starts.sort((a, b) => a - b);
}

function slidingMax(times: readonly number[], intervalMs: number): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= intervalMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

describe("global rate limit window", () => {
  it("keeps every sliding interval within 1 % or one message of the limit, and the long-run rate at or below it", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 100, max: 60_000 }), fc.integer({ min: 0, max: 999 }), (messages, intervalMs, offset) => {
        const w = limiterWindow(messages, intervalMs);
        expect(w.max).toBeGreaterThanOrEqual(1);
        expect(w.duration).toBeGreaterThanOrEqual(1);
        // Never faster than asked in the long run.
        expect(w.max / w.duration).toBeLessThanOrEqual(messages / intervalMs + 1e-12);
        const bound = worstCaseInInterval(w, intervalMs);
        expect(bound).toBeLessThanOrEqual(Math.max(messages * 1.01, messages + 1));
        const seen = slidingMax(worstSchedule(w, intervalMs * 3, offset % w.duration), intervalMs);
        expect(seen).toBeLessThanOrEqual(bound);
      }),
      { numRuns: 300 },
    );
  });

  it("meets the 10 % promise from 10 messages per interval on (the docs' threshold)", () => {
    for (const m of [10, 11, 20, 30, 50, 99, 100, 101, 250, 1000]) {
      expect(worstCaseInInterval(limiterWindow(m, 1000), 1000)).toBeLessThanOrEqual(m * 1.1);
    }
    // Below that one message is already more than 10 %: 5 per second can be 6 in a sliding second.
    expect(worstCaseInInterval(limiterWindow(5, 1000), 1000)).toBe(6);
  });

  it("refuses nonsense", () => {
    expect(() => limiterWindow(0, 1000)).toThrow(RangeError);
    expect(() => limiterWindow(5, 0)).toThrow(RangeError);
  });
});

describe("job codec", () => {
  const recipients = [{ address: "ann@example.org", options: "NOTIFY=SUCCESS", type: 0 as const }, { address: "bob@example.org", options: "", type: 2 as const }];

  it("round-trips any message bytes; UTF-8 stays readable, anything else is base64", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const message = Buffer.from(bytes);
        const data = messageJobData("shop@example.com", recipients, message);
        // Through JSON, as BullMQ stores it.
        const back = readJobData(JSON.parse(JSON.stringify(data)), "1");
        expect(back.bytes.equals(message)).toBe(true);
        expect(back.recipients).toEqual(recipients);
      }),
    );
    const text = messageJobData("", recipients, Buffer.from("Message-ID: <a@b>\r\nSubject: Grüße\r\n\r\nbody\r\n"));
    expect(text.encoding).toBe("utf8");
    expect(text.messageId).toBe("<a@b>");
    expect(messageJobData("", recipients, Buffer.from([0xff, 0xfe, 0x0d, 0x0a])).encoding).toBe("base64");
  });

  it("refuses a job another tool wrote badly, and an envelope with a line break", () => {
    expect(() => readJobData(null, "7")).toThrow(/job 7 is not a valid smtpkit message job: no data/);
    expect(() => readJobData({ smtpkit: 2 }, "7")).toThrow(/format version 2/);
    expect(() => readJobData({ smtpkit: 1, sender: "a@b", recipients: [] }, "7")).toThrow(/no recipient/);
    expect(() => readJobData({ smtpkit: 1, sender: "a@b", recipients: [{ address: "x@y" }], encoding: "utf8" }, "7")).toThrow(/no message/);
    expect(() => readJobData({ smtpkit: 1, sender: "a@b\r\nRCPT TO:<evil@x>", recipients: [{ address: "x@y" }], encoding: "utf8", message: "" }, "7")).toThrow(/CR, LF or NUL/);
  });

  it("reads any progress value as a delivery state without throwing", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const d = readDelivery(v);
        expect(Array.isArray(d.delivered)).toBe(true);
        expect(Array.isArray(d.failed)).toBe(true);
      }),
    );
    expect(readDelivery({ delivered: ["a@b"], failed: [{ address: "c@d", reply: "550 no" }], sending: { at: "t", worker: "w", recipients: ["c@d"] } })).toEqual({
      delivered: ["a@b"],
      failed: [{ address: "c@d", reply: "550 no" }],
      sending: { at: "t", worker: "w", recipients: ["c@d"] },
    });
  });
});

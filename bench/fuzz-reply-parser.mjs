// Fuzzes the built ReplyParser. Run by hand:
//
//   npm run build && node bench/fuzz-reply-parser.mjs [count] [seed]
//
// `count` streams (default 1,000,000), each one of:
//   - valid:   1-5 well-formed replies (multi-line, enhanced status, UTF-8, bare LF ends);
//   - mutated: a valid stream with 1-3 byte-level mutations;
//   - random:  random bytes (uniform, or biased to digits / SP / "-" / CR / LF);
// fed to the parser whole AND cut at random points (sometimes byte by byte).
//
// Checks:
//   - only SmtpError is ever thrown (anything else is a crash);
//   - a valid stream parses to exactly its replies (code, lines, text, raw, enhancedStatus);
//   - the outcome does not depend on the chunking (same replies, or the same error code);
//   - memory stays bounded: live heap sampled after GC, plus unbounded unfinished lines
//     (64 MB without a line end) that must be refused after ~maxLineLength bytes.
//
// Prints count, throughput, outcome counts and every crash with a reproducer.
// Exit code 1 when a crash was found.
import v8 from "node:v8";
import vm from "node:vm";
import { fileURLToPath } from "node:url";

const dist = new URL("../dist/esm/", import.meta.url);
let ReplyParser, SmtpError, createReply;
try {
  ({ ReplyParser } = await import(new URL("engine/reply-parser.js", dist).href));
  ({ SmtpError } = await import(new URL("errors.js", dist).href));
  ({ createReply } = await import(new URL("engine/reply.js", dist).href));
} catch (e) {
  console.error(`cannot load the built parser from ${fileURLToPath(dist)}: run \`npm run build\` first (${e.message})`);
  process.exit(2);
}

const COUNT = Number.parseInt(process.argv[2] ?? "1000000", 10);
const SEED = Number.parseInt(process.argv[3] ?? String(Date.now() % 2 ** 31), 10);
if (!Number.isInteger(COUNT) || COUNT <= 0) {
  console.error("usage: node bench/fuzz-reply-parser.mjs [count] [seed]");
  process.exit(2);
}

// ---------------------------------------------------------------- randomness (seeded, reproducible)

let state = SEED >>> 0 || 1;
function rnd() {
  // mulberry32
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1)); // inclusive
const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
const chance = (p) => rnd() < p;

// ---------------------------------------------------------------- GC for memory samples

let gc = globalThis.gc;
if (!gc) {
  v8.setFlagsFromString("--expose-gc");
  gc = vm.runInNewContext("gc");
}
const live = () => {
  // Twice: the second collection waits for V8's background sweep of dead Buffers.
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

// ---------------------------------------------------------------- generators

const WORDS = ["ok", "Ok", "queued as 4XyZ", "mx.example.com", "ESMTP", "PIPELINING", "SIZE 35882577", "AUTH PLAIN LOGIN", "grüße", "東京", "😀", "<a@b>", "...", "-", "250", "5.1.1", "x".repeat(50)];
const TEXT_BYTES = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\t\0\x01\x7f";

function lineText() {
  const r = rnd();
  if (r < 0.15) return "";
  if (r < 0.6) {
    const n = int(1, 6);
    const out = [];
    for (let i = 0; i < n; i++) out.push(pick(WORDS));
    return out.join(" ");
  }
  if (r < 0.95) {
    let s = "";
    const n = int(1, 80);
    for (let i = 0; i < n; i++) s += TEXT_BYTES[int(0, TEXT_BYTES.length - 1)];
    return s;
  }
  return "y".repeat(int(100, 2000)); // long, still within the default limit with the code
}

/** Text of a line as bytes: UTF-8 (strings here are UTF-8 safe: no lone surrogates). */
const utf8 = (s) => Buffer.from(s, "utf8");

function validReply() {
  const code = int(2, 5) * 100 + int(0, 9) * 10 + int(0, 9);
  const n = chance(0.6) ? 1 : int(2, 5);
  const texts = [];
  for (let i = 0; i < n; i++) {
    let t = lineText();
    if (i === 0 && chance(0.3)) t = `${String(code)[0]}.${int(0, 9)}.${int(0, 99)} ${t}`;
    texts.push(t);
  }
  const bareCode = n === 1 && texts[0] === "" && chance(0.3); // "250" alone
  const pieces = [];
  const raws = [];
  texts.forEach((t, i) => {
    const last = i === n - 1;
    const head = bareCode ? String(code) : `${code}${last ? " " : "-"}`;
    const end = chance(0.1) ? "\n" : "\r\n";
    pieces.push(Buffer.concat([Buffer.from(head, "latin1"), utf8(t), Buffer.from(end, "latin1")]));
    raws.push(head + t);
  });
  return { wire: Buffer.concat(pieces), expected: createReply(code, texts, raws.join("\r\n")) };
}

function validStream() {
  const n = int(1, 5);
  const replies = [];
  const wires = [];
  for (let i = 0; i < n; i++) {
    const r = validReply();
    wires.push(r.wire);
    replies.push(r.expected);
  }
  return { wire: Buffer.concat(wires), expected: replies };
}

const BIASED = Buffer.from("0123456789 -\r\n\r\n2345", "latin1");
function randomBytes() {
  const len = chance(0.05) ? int(1000, 5000) : int(0, 300);
  const out = Buffer.alloc(len);
  const biased = chance(0.5);
  for (let i = 0; i < len; i++) out[i] = biased ? BIASED[int(0, BIASED.length - 1)] : int(0, 255);
  return out;
}

function mutate(buf) {
  let b = Buffer.from(buf);
  const n = int(1, 3);
  for (let k = 0; k < n; k++) {
    const at = int(0, b.length);
    switch (int(0, 8)) {
      case 0: // flip a byte
        if (b.length) b[Math.min(at, b.length - 1)] ^= 1 << int(0, 7);
        break;
      case 1: // insert a random byte
        b = Buffer.concat([b.subarray(0, at), Buffer.from([int(0, 255)]), b.subarray(at)]);
        break;
      case 2: // delete a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + int(1, 5)))]);
        break;
      case 3: // insert CR or LF
        b = Buffer.concat([b.subarray(0, at), Buffer.from(pick(["\r", "\n", "\r\n", "\n\r"]), "latin1"), b.subarray(at)]);
        break;
      case 4: // truncate
        b = b.subarray(0, at);
        break;
      case 5: // duplicate a range (an extra / repeated line)
        b = Buffer.concat([b.subarray(0, at), b.subarray(int(0, at), at), b.subarray(at)]);
        break;
      case 6: // swap the separator after a code
        {
          const i = b.indexOf(pick([0x20, 0x2d]), at);
          if (i >= 0) b[i] = pick([0x20, 0x2d, 0x09, 0x00, 0x0a]);
        }
        break;
      case 7: // a long run without line end (sometimes past the limit)
        b = Buffer.concat([b.subarray(0, at), Buffer.alloc(chance(0.3) ? int(2040, 2100) : int(1, 100), pick(["z", "\r", "-", "5"])), b.subarray(at)]);
        break;
      default: // change a code digit
        {
          const i = int(0, Math.max(0, b.length - 1));
          if (b.length) b[i] = 0x30 + int(0, 9);
        }
    }
  }
  return b;
}

function cuts(len) {
  if (len <= 64 && chance(0.15)) return Array.from({ length: Math.max(0, len - 1) }, (_, i) => i + 1); // byte by byte
  const n = int(0, 8);
  const set = new Set();
  for (let i = 0; i < n; i++) set.add(int(0, len));
  return [...set].sort((a, b) => a - b);
}

function split(buf, points) {
  const out = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

// ---------------------------------------------------------------- running

class Crash extends Error {}

/** Outcome of feeding `chunks`: { replies } or { error: code }; a non-SmtpError throws Crash. */
function run(chunks, maxLineLength) {
  const p = new ReplyParser(maxLineLength ? { maxLineLength } : {});
  const replies = [];
  try {
    for (const c of chunks) {
      // The parser must not depend on the caller keeping its chunks intact.
      const copy = Buffer.from(c);
      replies.push(...p.push(copy));
      copy.fill(0x41);
    }
  } catch (e) {
    if (!(e instanceof SmtpError)) throw new Crash(`threw ${e?.constructor?.name ?? typeof e}: ${e?.message ?? String(e)}`);
    return { error: e.code };
  }
  return { replies, partial: p.partial };
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const describe = (o) => ("error" in o ? `error ${o.error}` : `${o.replies.length} replies${o.partial ? " + partial" : ""}`);

const crashes = [];
function report(kind, wire, points, maxLineLength, why) {
  if (crashes.length >= 20) {
    crashes.push(null);
    return;
  }
  crashes.push({ kind, why, maxLineLength, cuts: points, hex: wire.toString("hex") });
}

const counts = { valid: 0, mutated: 0, random: 0 };
const outcomes = { replies: 0, errors: {} };
let bytes = 0;
let replyCount = 0;
const heapStart = live();
let heapMax = heapStart;
const sampleEvery = Math.max(10_000, Math.floor(COUNT / 20));
const started = process.hrtime.bigint();

for (let i = 0; i < COUNT; i++) {
  const r = rnd();
  const kind = r < 0.4 ? "valid" : r < 0.7 ? "mutated" : "random";
  counts[kind]++;
  let wire;
  let expected;
  if (kind === "valid") ({ wire, expected } = validStream());
  else if (kind === "mutated") wire = mutate(validStream().wire);
  else wire = randomBytes();
  const maxLineLength = chance(0.1) ? pick([3, 4, 16, 512, 2048, 4096]) : undefined;
  const points = cuts(wire.length);
  bytes += wire.length * 2;
  try {
    const whole = run([wire], maxLineLength);
    const pieces = run(split(wire, points), maxLineLength);
    if (!same(whole, pieces)) {
      report(kind, wire, points, maxLineLength, `outcome depends on the chunking: whole gives ${describe(whole)}, pieces give ${describe(pieces)}`);
      continue;
    }
    if ("error" in whole) outcomes.errors[whole.error] = (outcomes.errors[whole.error] ?? 0) + 1;
    else {
      outcomes.replies++;
      replyCount += whole.replies.length;
      for (const rep of whole.replies) {
        if (!(rep.code >= 200 && rep.code <= 599) || !Array.isArray(rep.lines) || rep.lines.length === 0 || /[\r\n]/.test(rep.lines.join(""))) {
          report(kind, wire, points, maxLineLength, `impossible reply ${JSON.stringify(rep)}`);
          break;
        }
      }
    }
    if (kind === "valid" && maxLineLength === undefined) {
      if ("error" in whole) report(kind, wire, points, maxLineLength, `a valid stream was refused with ${whole.error}`);
      else if (whole.partial || !same(whole.replies, expected)) {
        report(kind, wire, points, maxLineLength, `a valid stream parsed to ${JSON.stringify(whole.replies)}${whole.partial ? " (+ partial)" : ""}, expected ${JSON.stringify(expected)}`);
      }
    }
  } catch (e) {
    if (!(e instanceof Crash)) throw e;
    report(kind, wire, points, maxLineLength, e.message);
  }
  if (i % sampleEvery === sampleEvery - 1) heapMax = Math.max(heapMax, live());
}
const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
const heapEnd = live();

// ---------------------------------------------------------------- bounded buffering

/** Pushes `total` bytes without a line end in 64 KB pieces; returns [bytes accepted before the refusal, live heap growth]. */
function flood(maxLineLength, total) {
  const p = new ReplyParser({ maxLineLength });
  const piece = Buffer.alloc(64 * 1024, 0x7a);
  piece.write("250-", 0, "latin1");
  const before = live();
  let fed = 0;
  let refusedAt = -1;
  let peak = before;
  while (fed < total) {
    try {
      p.push(fed === 0 ? piece : piece.fill(0x7a));
    } catch (e) {
      if (!(e instanceof SmtpError)) throw e;
      refusedAt = fed + piece.length;
      break;
    }
    fed += piece.length;
    if (fed % (4 * 1024 * 1024) === 0) peak = Math.max(peak, live());
  }
  peak = Math.max(peak, live());
  return { refusedAt, growth: peak - before, keep: p };
}
const floodDefault = flood(2048, 64 * 1024 * 1024);
const floodLarge = flood(1024 * 1024, 64 * 1024 * 1024);
let boundedFailures = [];
if (floodDefault.refusedAt < 0 || floodDefault.refusedAt > 64 * 1024) boundedFailures.push(`a 64 MB line with maxLineLength 2048 was refused only at ${floodDefault.refusedAt}`);
if (floodLarge.refusedAt < 0 || floodLarge.refusedAt > 1024 * 1024 + 64 * 1024) boundedFailures.push(`a 64 MB line with maxLineLength 1 MB was refused only at ${floodLarge.refusedAt}`);
if (floodLarge.growth > 8 * 1024 * 1024) boundedFailures.push(`buffering an unfinished 1 MB line grew the heap by ${floodLarge.growth} bytes`);
if (heapMax - heapStart > 64 * 1024 * 1024) boundedFailures.push(`live heap grew by ${heapMax - heapStart} bytes during the run`);

// ---------------------------------------------------------------- report

const mb = (n) => (n / 1024 / 1024).toFixed(1);
const found = crashes.filter(Boolean);
console.log(`fuzz-reply-parser: seed ${SEED}`);
console.log(`streams:    ${COUNT.toLocaleString("en")} (valid ${counts.valid.toLocaleString("en")}, mutated ${counts.mutated.toLocaleString("en")}, random ${counts.random.toLocaleString("en")}), each fed whole and in random chunks`);
console.log(`time:       ${elapsedS.toFixed(2)} s, ${Math.round(COUNT / elapsedS).toLocaleString("en")} streams/s, ${mb(bytes / elapsedS)} MB/s parsed`);
console.log(`outcomes:   ${outcomes.replies.toLocaleString("en")} streams parsed (${replyCount.toLocaleString("en")} replies); refused: ${Object.entries(outcomes.errors).map(([c, n]) => `${c} × ${n.toLocaleString("en")}`).join(", ")}`);
console.log(`memory:     live heap ${mb(heapStart)} MB at start, max ${mb(heapMax)} MB, ${mb(heapEnd)} MB at end`);
console.log(`bounded:    64 MB unfinished line refused after ${floodDefault.refusedAt} bytes (limit 2048, heap +${mb(Math.max(0, floodDefault.growth))} MB), after ${floodLarge.refusedAt} bytes (limit 1 MB, heap +${mb(Math.max(0, floodLarge.growth))} MB)`);
console.log(`crashes:    ${found.length}${crashes.length > found.length ? "+ (only the first 20 kept)" : ""}`);
for (const c of found) {
  console.log(`\n  [${c.kind}] ${c.why}`);
  console.log(`  reproduce: node --input-type=module -e 'const { ReplyParser } = await import("./dist/esm/engine/reply-parser.js"); const w = Buffer.from("${c.hex}", "hex"); const p = new ReplyParser(${c.maxLineLength ? `{ maxLineLength: ${c.maxLineLength} }` : ""}); let prev = 0; for (const at of [${c.cuts.join(", ")}, w.length]) { console.log(p.push(w.subarray(prev, at))); prev = at; }'`);
}
for (const f of boundedFailures) console.log(`\n  MEMORY: ${f}`);
process.exitCode = found.length > 0 || boundedFailures.length > 0 ? 1 : 0;

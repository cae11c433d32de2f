import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, open, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { simpleParser, type Attachment, type ParsedMail } from "mailparser";
import { buildMimeEntity, type AttachmentSource, type MimeEntity } from "../../src/mime/index.js";
import { foldHeader } from "../../src/message/header-folding.js";
import { ErrorCode, SmtpError } from "../../src/errors.js";

const BIG_SIZE = 30 * 1024 * 1024;
const BIG_NAME = "Résumé – 東京.pdf";
const LONG_NAME = `${"Quarterly figures for the northern región ".repeat(5).slice(0, 195)}.xlsx`;
const STREAM_NAME = "données été.csv";
const TEXT = "Hello wörld,\nthis is the plain text.\nA line that looks like a boundary: ----=_smtpkit_0000\n";
const HTML = '<p>Hello <b>wörld</b></p><img src="cid:logo@smtpkit.test" alt="logo">';
// A tiny valid 1x1 PNG.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);
const BUFFER_BYTES = randomBytes(200_000);
const STREAM_BYTES = Buffer.from("id;name\n1;Zoë\n2;Ægir\n".repeat(1000), "utf8");

let dir = "";
let bigPath = "";
let bigSha = "";

function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

/** `gc` without --expose-gc on the command line: the flag can be set at run time for a fresh context. */
function getGc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

function usedMemory(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** A whole message: the headers the SMTP layer would add, the entity's headers folded, then the body. */
function messageStream(entity: MimeEntity): Readable {
  const head =
    ["MIME-Version: 1.0", "From: sender@example.com", "To: rcpt@example.com", "Subject: MIME round trip"]
      .concat(entity.headers.map((h) => foldHeader(h.field, h.value, 76)))
      .join("\r\n") + "\r\n\r\n";
  const body = entity.body();
  return Readable.from(
    (async function* () {
      yield Buffer.from(head, "latin1");
      for await (const chunk of body) yield chunk as Buffer;
    })(),
    { objectMode: false },
  );
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function hashStream(stream: Readable): Promise<string> {
  const h = createHash("sha256");
  for await (const c of stream) h.update(c as Buffer);
  return h.digest("hex");
}

function inlineLogo(): AttachmentSource {
  return { source: PNG, name: "logo.png", contentId: "logo@smtpkit.test" };
}

function byName(parsed: ParsedMail, name: string): Attachment {
  const found = parsed.attachments.find((a) => a.filename === name);
  if (!found) throw new Error(`no attachment named ${name}; got ${parsed.attachments.map((a) => a.filename).join(", ")}`);
  return found;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "smtpkit-mime-"));
  bigPath = join(dir, "big.bin");
  const hash = createHash("sha256");
  const fh = await open(bigPath, "w");
  try {
    for (let written = 0; written < BIG_SIZE; written += 1024 * 1024) {
      const block = randomBytes(1024 * 1024);
      hash.update(block);
      await fh.write(block);
    }
  } finally {
    await fh.close();
  }
  bigSha = hash.digest("hex");
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("MIME round trip through mailparser", () => {
  it("returns text, HTML, the inline image and three attachments byte-exact", async () => {
    const entity = await buildMimeEntity({
      text: TEXT,
      html: HTML,
      charset: "",
      attachments: [
        inlineLogo(),
        { source: bigPath, name: BIG_NAME },
        { source: BUFFER_BYTES, name: LONG_NAME },
        { source: Readable.from([STREAM_BYTES.subarray(0, 1000), STREAM_BYTES.subarray(1000)]), name: STREAM_NAME },
      ],
    });
    expect(entity.headers.map((h) => h.field)).toEqual(["Content-Type"]);
    expect(entity.headers[0]?.value).toMatch(/^multipart\/mixed; boundary="----=_smtpkit_[0-9a-f]+"$/);
    expect(entity.size).toBeUndefined();

    const parsed = await simpleParser(messageStream(entity), { keepCidLinks: true });

    expect(parsed.text?.replace(/\r\n/g, "\n").trimEnd()).toBe(TEXT.trimEnd());
    expect(typeof parsed.html === "string" ? parsed.html : "").toContain('src="cid:logo@smtpkit.test"');
    expect(parsed.html).toContain("wörld");

    const logo = byName(parsed, "logo.png");
    expect(logo.contentId).toBe("<logo@smtpkit.test>");
    expect(logo.cid).toBe("logo@smtpkit.test");
    expect(logo.contentDisposition).toBe("inline");
    expect(logo.related).toBe(true);
    expect(logo.contentType).toBe("image/png");
    expect(sha256(logo.content)).toBe(sha256(PNG));

    const big = byName(parsed, BIG_NAME);
    expect(big.contentType).toBe("application/pdf");
    expect(big.contentDisposition).toBe("attachment");
    expect(big.size).toBe(BIG_SIZE);
    expect(sha256(big.content)).toBe(bigSha);

    const long = byName(parsed, LONG_NAME);
    expect(LONG_NAME.length).toBe(200);
    expect(long.contentType).toBe("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    expect(sha256(long.content)).toBe(sha256(BUFFER_BYTES));

    const csv = byName(parsed, STREAM_NAME);
    expect(csv.contentType).toBe("text/csv");
    expect(sha256(csv.content)).toBe(sha256(STREAM_BYTES));

    expect(parsed.attachments).toHaveLength(4);
  }, 120_000);

  it("nests text and HTML as alternatives inside mixed, with related for the inline image", async () => {
    const entity = await buildMimeEntity({
      text: TEXT,
      html: HTML,
      charset: "",
      attachments: [inlineLogo(), { source: Buffer.from("x"), name: "a.txt" }],
    });
    const wire = (await collect(entity.body())).toString("latin1");
    const types = [...wire.matchAll(/^Content-Type: ([a-z/]+)/gm)].map((m) => m[1]);
    expect(types).toEqual(["multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png", "text/plain"]);
    expect(wire).toContain('multipart/related; type="text/html";');
    expect(entity.size).toBe(Buffer.byteLength(wire, "latin1"));
  });

  it("keeps a non-ASCII text-only message readable", async () => {
    const entity = await buildMimeEntity({ text: "Grüße aus Köln\n", charset: "iso-8859-1", attachments: [] });
    expect(entity.headers).toEqual([
      { field: "Content-Type", value: "text/plain; charset=iso-8859-1" },
      { field: "Content-Transfer-Encoding", value: "quoted-printable" },
    ]);
    const parsed = await simpleParser(messageStream(entity));
    expect(parsed.text?.trimEnd()).toBe("Grüße aus Köln");
  });
});

describe("MIME body streams", () => {
  it("gives identical bytes on every body() call for file and Buffer sources", async () => {
    const entity = await buildMimeEntity({
      text: TEXT,
      html: HTML,
      charset: "",
      attachments: [inlineLogo(), { source: bigPath, name: BIG_NAME }, { source: BUFFER_BYTES, name: LONG_NAME }],
    });
    const first = await hashStream(entity.body());
    const second = await hashStream(entity.body());
    expect(second).toBe(first);
  }, 60_000);

  it("refuses a second body() when a Readable attachment was used", async () => {
    const entity = await buildMimeEntity({
      text: "x",
      charset: "",
      attachments: [{ source: Readable.from([Buffer.from("once")]), name: "once.txt" }],
    });
    await collect(entity.body());
    let error: unknown;
    try {
      entity.body();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SmtpError);
    expect((error as SmtpError).code).toBe(ErrorCode.InvalidValue);
  });

  it("streams a 30 MB file with flat memory", async () => {
    const gc = getGc();
    const entity = await buildMimeEntity({ text: "see attached", charset: "", attachments: [{ source: bigPath }] });
    gc();
    const baseline = usedMemory();
    let retainedPeak = 0;
    let rawPeak = 0;
    let sinceGc = 0;
    let total = 0;
    const h = createHash("sha256");
    for await (const chunk of entity.body()) {
      const buf = chunk as Buffer;
      h.update(buf);
      total += buf.length;
      sinceGc += buf.length;
      rawPeak = Math.max(rawPeak, usedMemory() - baseline);
      // After a collection only what the stream keeps alive remains: that is what must stay flat.
      if (sinceGc >= 4 * 1024 * 1024) {
        sinceGc = 0;
        gc();
        retainedPeak = Math.max(retainedPeak, usedMemory() - baseline);
      }
    }
    h.digest();
    expect(total).toBeGreaterThan((BIG_SIZE * 4) / 3);
    expect(retainedPeak).toBeLessThan(20 * 1024 * 1024);
    // Uncollected garbage is bounded by V8's young generation (tens of MB), not by the file.
    expect(rawPeak).toBeLessThan(64 * 1024 * 1024);
  }, 60_000);

  it("closes cleanly when the reader stops half-way through a file", async () => {
    const entity = await buildMimeEntity({ text: "x", charset: "", attachments: [{ source: bigPath }] });
    const body = entity.body();
    let seen = 0;
    for await (const chunk of body) {
      seen += (chunk as Buffer).length;
      if (seen > 1024 * 1024) break;
    }
    expect(body.destroyed).toBe(true);
    // The file is re-opened for the next body, which is complete.
    expect(await hashStream(entity.body())).toMatch(/^[0-9a-f]{64}$/);
  }, 60_000);

  it("opens a file only when its part is reached", async () => {
    const path = join(dir, "late.txt");
    const fh = await open(path, "w");
    await fh.write("late content");
    await fh.close();
    const entity = await buildMimeEntity({ text: "x", charset: "", attachments: [{ source: path }] });
    await rm(path);
    const body = entity.body();
    // The first chunks (boundary, text part) come before the file is needed; then its removal surfaces as 302.
    let error: unknown;
    try {
      await collect(body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SmtpError);
    expect((error as SmtpError).code).toBe(ErrorCode.CannotOpenFile);
  });
});

describe("MIME input errors", () => {
  it("rejects a missing file with 302 at build time", async () => {
    await expect(
      buildMimeEntity({ text: "x", charset: "", attachments: [{ source: join(dir, "does-not-exist.pdf") }] }),
    ).rejects.toMatchObject({ code: ErrorCode.CannotOpenFile });
  });

  it("rejects a directory with 302", async () => {
    const sub = join(dir, "a-directory");
    await mkdir(sub, { recursive: true });
    await expect(buildMimeEntity({ text: "x", charset: "", attachments: [{ source: sub }] })).rejects.toMatchObject({
      code: ErrorCode.CannotOpenFile,
    });
  });
});

describe("MIME boundaries", () => {
  it("appear only as delimiters, never inside the encoded content", async () => {
    const entity = await buildMimeEntity({
      text: TEXT,
      html: `${HTML}\n--not-a-boundary\n----=_smtpkit_\n`,
      charset: "",
      attachments: [inlineLogo(), { source: BUFFER_BYTES, name: BIG_NAME }, { source: BUFFER_BYTES, name: LONG_NAME }],
    });
    const headerText = entity.headers.map((h) => `${h.field}: ${h.value}\r\n`).join("");
    const wire = headerText + "\r\n" + (await collect(entity.body())).toString("latin1");
    const boundaries = [...wire.matchAll(/boundary="([^"]+)"/g)].map((m) => m[1] ?? "");
    expect(boundaries).toHaveLength(3);
    expect(new Set(boundaries).size).toBe(3);

    const expectedParts = new Map([
      [boundaries[0], 3], // mixed: alternative + 2 attachments
      [boundaries[1], 2], // alternative: text + related
      [boundaries[2], 2], // related: html + image
    ]);
    for (const b of boundaries) {
      const parts = expectedParts.get(b) ?? 0;
      // One occurrence in the header, one per part, one closing: nowhere else.
      expect(wire.split(b).length - 1).toBe(1 + parts + 1);
      const lines = wire.split("\r\n").filter((l) => l.startsWith(`--${b}`));
      expect(lines.filter((l) => l === `--${b}`)).toHaveLength(parts);
      expect(lines.filter((l) => l === `--${b}--`)).toHaveLength(1);
    }
    // No line is longer than 76 characters except where the RFCs allow it (none here).
    for (const line of wire.split("\r\n")) expect(line.length).toBeLessThanOrEqual(998);
    // Every line ends with CRLF.
    expect(wire.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
  }, 60_000);
});

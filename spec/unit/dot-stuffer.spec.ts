import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { DotStuffer, dotStuff, type DotStuffOptions } from "../../src/message/dot-stuffer.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");
const str = (buf: Buffer): string => buf.toString("latin1");

async function runStream(chunks: Array<Buffer | Uint8Array | string>, opts?: DotStuffOptions): Promise<{ out: Buffer[]; stream: DotStuffer }> {
  const stream = new DotStuffer(opts);
  const out: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => out.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("error", reject);
  });
  for (const c of chunks) stream.write(c);
  stream.end();
  await ended;
  return { out, stream };
}

/** What the input should look like after un-stuffing: every line break CRLF, last line completed. */
function normalized(input: string): string {
  const s = input.replace(/\r\n|\r|\n/g, "\r\n");
  return s === "" || s.endsWith("\r\n") ? s : s + "\r\n";
}

function unstuff(wire: string): string {
  const body = wire === ".\r\n" ? "" : wire.slice(0, -3);
  return body
    .split("\r\n")
    .map((line) => (line.startsWith(".") ? line.slice(1) : line))
    .join("\r\n");
}

function splitAt(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((x, y) => x - y);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(data.subarray(prev, p));
    prev = p;
  }
  chunks.push(data.subarray(prev));
  return chunks;
}

describe("dotStuff", () => {
  it("normalizes every line ending to CRLF", () => {
    expect(str(dotStuff(b("a\nb\rc\r\nd\n\re")))).toBe("a\r\nb\r\nc\r\nd\r\n\r\ne\r\n.\r\n");
  });

  it("doubles a leading dot on every line", () => {
    expect(str(dotStuff(b(".hidden\r\n.\r\nx.y\r\n..\r\n")))).toBe("..hidden\r\n..\r\nx.y\r\n...\r\n.\r\n");
  });

  it("stuffs a dot after a bare CR or bare LF (smuggling attempts)", () => {
    expect(str(dotStuff(b("a\n.\nb")))).toBe("a\r\n..\r\nb\r\n.\r\n");
    expect(str(dotStuff(b("a\r.\rb")))).toBe("a\r\n..\r\nb\r\n.\r\n");
    expect(str(dotStuff(b("a\r\n.\r\r\nMAIL FROM:<x>")))).toBe("a\r\n..\r\n\r\nMAIL FROM:<x>\r\n.\r\n");
  });

  it("adds the final CRLF only when missing", () => {
    expect(str(dotStuff(b("abc")))).toBe("abc\r\n.\r\n");
    expect(str(dotStuff(b("abc\r\n")))).toBe("abc\r\n.\r\n");
    expect(str(dotStuff(b("abc\r")))).toBe("abc\r\n.\r\n");
  });

  it("sends only the terminator for empty input", () => {
    expect(str(dotStuff(Buffer.alloc(0)))).toBe(".\r\n");
  });

  it("honours stuff: false and terminate: false", () => {
    expect(str(dotStuff(b(".a\nb"), { stuff: false }))).toBe(".a\r\nb\r\n.\r\n");
    expect(str(dotStuff(b(".a\nb"), { terminate: false }))).toBe("..a\r\nb");
    expect(str(dotStuff(Buffer.alloc(0), { terminate: false }))).toBe("");
  });

  it("keeps state across its internal 64 KiB windows", () => {
    const pad = "a".repeat(65535);
    expect(str(dotStuff(b(pad + "\r\n.b")))).toBe(pad + "\r\n..b\r\n.\r\n");
    expect(str(dotStuff(b(pad + "\n.b")))).toBe(pad + "\r\n..b\r\n.\r\n");
    expect(str(dotStuff(b(pad + "\r.b")))).toBe(pad + "\r\n..b\r\n.\r\n");
    const big = b(("line\r\n").repeat(30_000));
    expect(dotStuff(big, { terminate: false })).toBe(big);
  });

  it("returns clean input without rewriting it", () => {
    const clean = b("line one\r\nline two\r\n");
    expect(str(dotStuff(clean, { terminate: false }))).toBe("line one\r\nline two\r\n");
  });
});

describe("DotStuffer stream", () => {
  it("treats CR at the end of one chunk and LF at the start of the next as one line break", async () => {
    const { out } = await runStream([b("a\r"), b("\nb")]);
    expect(str(Buffer.concat(out))).toBe("a\r\nb\r\n.\r\n");
  });

  it("stuffs a dot that starts a chunk after a line break", async () => {
    const { out } = await runStream([b("a\r\n"), b(".b\r"), b("\n"), b(".c")]);
    expect(str(Buffer.concat(out))).toBe("a\r\n..b\r\n..c\r\n.\r\n");
  });

  it("stuffs a dot on the very first line", async () => {
    const { out } = await runStream([b("."), b("\r\n")]);
    expect(str(Buffer.concat(out))).toBe("..\r\n.\r\n");
  });

  it("converts string chunks as UTF-8", async () => {
    const { out } = await runStream(["Grüße\n", ".東京"]);
    expect(Buffer.concat(out).toString("utf8")).toBe("Grüße\r\n..東京\r\n.\r\n");
  });

  it("accepts Uint8Array chunks", async () => {
    const { out } = await runStream([new Uint8Array([0x2e, 0x0a])]);
    expect(str(Buffer.concat(out))).toBe("..\r\n.\r\n");
  });

  it("sends the last body bytes and the terminator in one Buffer", async () => {
    const { out } = await runStream([b("first\r\n"), b("second\r\n"), b("last line")]);
    expect(out.length).toBe(3);
    expect(str(out[0] ?? Buffer.alloc(0))).toBe("first\r\n");
    expect(str(out[1] ?? Buffer.alloc(0))).toBe("second\r\n");
    expect(str(out[2] ?? Buffer.alloc(0))).toBe("last line\r\n.\r\n");
  });

  it("pushes earlier output before the end of input", async () => {
    const stream = new DotStuffer();
    const seen: string[] = [];
    stream.on("data", (c: Buffer) => seen.push(str(c)));
    stream.write(b("one\r\n"));
    stream.write(b("two\r\n"));
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(["one\r\n"]);
    stream.end();
    await new Promise((r) => stream.on("end", r));
    expect(seen).toEqual(["one\r\n", "two\r\n.\r\n"]);
  });

  it("sends a single terminator for an empty stream", async () => {
    const { out } = await runStream([]);
    expect(out.map(str)).toEqual([".\r\n"]);
  });

  it("counts bytes in and out", async () => {
    const { out, stream } = await runStream([b(".a\n"), b("b")]);
    expect(stream.bytesIn).toBe(4);
    expect(stream.bytesOut).toBe(Buffer.concat(out).length);
    expect(stream.bytesOut).toBe("..a\r\nb\r\n.\r\n".length);
  });

  it("handles a large message with many lines", async () => {
    const line = "x".repeat(70) + "\n.y\r\n";
    const data = b(line.repeat(50_000));
    const chunks = splitAt(data, [65536, 131072, 1_000_000, 2_000_000]);
    const { out, stream } = await runStream(chunks);
    const wire = Buffer.concat(out);
    expect(wire.equals(dotStuff(data))).toBe(true);
    expect(stream.bytesIn).toBe(data.length);
    expect(str(wire.subarray(0, 80))).toBe("x".repeat(70) + "\r\n..y\r\nxxx");
  });
});

describe("dot-stuffing properties", () => {
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    // Mostly line-structure bytes, to hit the interesting cases often.
    fc.array(fc.constantFrom(0x0d, 0x0a, 0x2e, 0x61), { maxLength: 200 }).map((a) => Uint8Array.from(a)),
  );

  it("produces clean SMTP DATA that un-stuffs to the CRLF-normalized input", () => {
    fc.assert(
      fc.property(bytes, (arr) => {
        const input = Buffer.from(arr);
        const wire = str(dotStuff(input));
        expect(wire.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
        if (input.length === 0) expect(wire).toBe(".\r\n");
        else expect(wire.endsWith("\r\n.\r\n")).toBe(true);
        const lines = wire.slice(0, -3).split("\r\n");
        expect(lines.slice(0, -1)).not.toContain(".");
        expect(unstuff(wire)).toBe(normalized(str(input)));
      }),
      { numRuns: 1000 },
    );
  });

  it("gives the same output however the input is split into chunks", async () => {
    await fc.assert(
      fc.asyncProperty(bytes, fc.array(fc.nat(), { maxLength: 8 }), async (arr, cuts) => {
        const input = Buffer.from(arr);
        const { out, stream } = await runStream(splitAt(input, cuts));
        const wire = Buffer.concat(out);
        expect(str(wire)).toBe(str(dotStuff(input)));
        expect(stream.bytesIn).toBe(input.length);
        expect(stream.bytesOut).toBe(wire.length);
        // The terminator always leaves together with the last body bytes.
        const last = out[out.length - 1] ?? Buffer.alloc(0);
        if (input.length > 0) expect(last.length).toBeGreaterThan(3);
      }),
      { numRuns: 500 },
    );
  });
});

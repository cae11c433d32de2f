import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { Readable } from "node:stream";
import { simpleParser } from "mailparser";
import { buildMimeEntity, type MimeContent, type MimeEntity } from "../../src/mime/index.js";
import { buildStructure } from "../../src/mime/structure.js";
import { assignBoundaries } from "../../src/mime/boundaries.js";
import { ErrorCode } from "../../src/errors.js";

async function bodyText(entity: MimeEntity): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of entity.body()) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("latin1");
}

function contentTypes(wire: string): string[] {
  return [...wire.matchAll(/^Content-Type: ([a-z/.-]+)/gm)].map((m) => m[1] ?? "");
}

function content(partial: Partial<MimeContent>): MimeContent {
  return { charset: "", attachments: [], ...partial };
}

describe("buildMimeEntity structure", () => {
  it("sends text alone as a single text/plain part with CRLF line ends", async () => {
    const e = await buildMimeEntity(content({ text: "Hello\nworld\n" }));
    expect(e.headers).toEqual([
      { field: "Content-Type", value: "text/plain; charset=utf-8" },
      { field: "Content-Transfer-Encoding", value: "7bit" },
    ]);
    // The whole entity is this part: no delimiter follows, so the text gains no empty line.
    expect(await bodyText(e)).toBe("Hello\r\nworld\r\n");
    expect(e.size).toBe(14);
  });

  it("sends HTML alone as text/html", async () => {
    const e = await buildMimeEntity(content({ html: "<p>x</p>" }));
    expect(e.headers[0]?.value).toBe("text/html; charset=utf-8");
  });

  it("sends an empty text/plain part when there is nothing", async () => {
    const e = await buildMimeEntity(content({ text: "", html: "" }));
    expect(e.headers[0]?.value).toBe("text/plain; charset=utf-8");
    expect(await bodyText(e)).toBe("\r\n");
  });

  it("puts text before HTML in multipart/alternative", async () => {
    const e = await buildMimeEntity(content({ text: "t", html: "<p>h</p>" }));
    expect(e.headers).toHaveLength(1);
    expect(e.headers[0]?.value).toMatch(/^multipart\/alternative; boundary="/);
    expect(contentTypes(await bodyText(e))).toEqual(["text/plain", "text/html"]);
  });

  it("wraps attachments without text in multipart/mixed", async () => {
    const e = await buildMimeEntity(content({ attachments: [{ source: Buffer.from("abc"), name: "a.bin" }] }));
    const wire = await bodyText(e);
    expect(e.headers[0]?.value).toMatch(/^multipart\/mixed;/);
    expect(contentTypes(wire)).toEqual(["application/octet-stream"]);
    expect(wire).toContain('Content-Disposition: attachment; filename="a.bin"');
  });

  it("relates inline cid images to the HTML only when there is HTML", async () => {
    const logo = { source: Buffer.from("png"), name: "logo.png", contentId: "<logo@x>" };
    const withHtml = await bodyText(await buildMimeEntity(content({ html: "<img src=cid:logo@x>", attachments: [logo] })));
    expect(contentTypes(withHtml)).toEqual(["text/html", "image/png"]);
    expect(withHtml).toContain("Content-ID: <logo@x>\r\n");
    expect(withHtml).toContain("Content-Disposition: inline;");

    const e = await buildMimeEntity(content({ text: "t", attachments: [logo] }));
    expect(e.headers[0]?.value).toMatch(/^multipart\/mixed;/);
    expect(contentTypes(await bodyText(e))).toEqual(["text/plain", "image/png"]);
  });

  it("keeps an attachment with a content ID but inline: false in mixed", async () => {
    const e = await buildMimeEntity(
      content({ html: "<p>h</p>", attachments: [{ source: Buffer.from("x"), name: "x.png", contentId: "x@y", inline: false }] }),
    );
    const wire = await bodyText(e);
    expect(e.headers[0]?.value).toMatch(/^multipart\/mixed;/);
    expect(contentTypes(wire)).toEqual(["text/html", "image/png"]);
    expect(wire).toContain("Content-Disposition: attachment;");
  });

  it("uses the given content type and the extension otherwise", async () => {
    const wire = await bodyText(
      await buildMimeEntity(
        content({
          attachments: [
            { source: Buffer.from("x"), name: "data.json" },
            { source: Buffer.from("x"), name: "data.json", contentType: "application/x-custom" },
            { source: Buffer.from("x") },
          ],
        }),
      ),
    );
    expect(contentTypes(wire)).toEqual(["application/json", "application/x-custom", "application/octet-stream"]);
    expect(wire).toContain('filename="attachment"');
  });

  it("encodes text in the charset, and falls back to UTF-8 for what it cannot represent", async () => {
    const latin = await buildMimeEntity(content({ text: "le café est bon", charset: "ISO-8859-1" }));
    expect(latin.headers[0]?.value).toBe("text/plain; charset=ISO-8859-1");
    expect(await bodyText(latin)).toBe("le caf=E9 est bon\r\n");
    const fallback = await buildMimeEntity(content({ text: "東京 café", charset: "ISO-8859-1" }));
    expect(fallback.headers[0]?.value).toBe("text/plain; charset=utf-8");
  });

  it("chooses base64 for mostly non-ASCII text", async () => {
    const e = await buildMimeEntity(content({ text: "東京の天気は晴れです" }));
    expect(e.headers[1]?.value).toBe("base64");
    expect(Buffer.from(await bodyText(e), "base64").toString("utf8")).toBe("東京の天気は晴れです");
  });

  it("folds long part headers to short lines", async () => {
    const name = `${"長い名前".repeat(60)}.pdf`;
    const wire = await bodyText(await buildMimeEntity(content({ attachments: [{ source: Buffer.from("x"), name }] })));
    for (const line of wire.split("\r\n")) expect(line.length).toBeLessThanOrEqual(78);
    const parsed = await simpleParser(Buffer.from(`MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="${/--(\S+)/.exec(wire)?.[1] ?? ""}"\r\n\r\n${wire}`, "latin1"));
    expect(parsed.attachments[0]?.filename).toBe(name);
  });
});

describe("buildMimeEntity input errors", () => {
  const cases: [string, MimeContent][] = [
    ["an unknown charset", content({ text: "x", charset: "no-such-charset" })],
    ["a bad content type", content({ attachments: [{ source: Buffer.from("x"), contentType: "not a type" }] })],
    ["a content type with a line break", content({ attachments: [{ source: Buffer.from("x"), contentType: "text/plain\r\nX: y" }] })],
    ["a bad content ID", content({ attachments: [{ source: Buffer.from("x"), contentId: "a b" }] })],
    ["an empty name", content({ attachments: [{ source: Buffer.from("x"), name: "" }] })],
    ["an empty path", content({ attachments: [{ source: "" }] })],
    ["a source of the wrong type", content({ attachments: [{ source: 42 as unknown as Buffer }] })],
  ];
  for (const [what, input] of cases) {
    it(`rejects ${what} with 601`, async () => {
      await expect(buildMimeEntity(input)).rejects.toMatchObject({ code: ErrorCode.InvalidValue });
    });
  }
});

describe("boundaries", () => {
  it("are regenerated when one occurs in 7bit text", async () => {
    const zeros = "----=_smtpkit_" + "00".repeat(16);
    const root = await buildStructure(content({ text: `look: ${zeros}`, html: "<p>h</p>" }));
    let calls = 0;
    assignBoundaries(root, (n) => Buffer.alloc(n, calls++ === 0 ? 0 : 1));
    expect(calls).toBe(2);
    expect(root.kind === "multipart" ? root.boundary : "").toBe("----=_smtpkit_" + "01".repeat(16));
  });

  it("differ between the multiparts of one entity", async () => {
    const root = await buildStructure(
      content({ text: "t", html: "<img src=cid:a@b>", attachments: [{ source: Buffer.from("x"), contentId: "a@b" }, { source: Buffer.from("y") }] }),
    );
    let calls = 0;
    // The same bytes twice, then different ones: the second multipart must not reuse the first boundary.
    assignBoundaries(root, (n) => Buffer.alloc(n, calls++ < 2 ? 7 : calls));
    expect(calls).toBe(4);
  });
});

describe("in-memory entities", () => {
  it("report their exact size and give the same bytes each time", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.string({ unit: "binary", maxLength: 400 }), { nil: undefined }),
        fc.option(fc.string({ unit: "grapheme", maxLength: 400 }), { nil: undefined }),
        fc.array(fc.record({ bytes: fc.uint8Array({ maxLength: 500 }), name: fc.string({ unit: "binary", minLength: 1, maxLength: 80 }) }), {
          maxLength: 3,
        }),
        async (text, html, files) => {
          const e = await buildMimeEntity(
            content({ text, html, attachments: files.map((f) => ({ source: Buffer.from(f.bytes), name: f.name })) }),
          );
          const first = await bodyText(e);
          expect(e.size).toBe(Buffer.byteLength(first, "latin1"));
          expect(await bodyText(e)).toBe(first);
          expect(first.endsWith("\r\n")).toBe(true);
          expect(first.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
          for (const line of first.split("\r\n")) expect(line.length).toBeLessThanOrEqual(998);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("parse back to the same text and attachments", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 300 }),
        fc.uint8Array({ minLength: 1, maxLength: 500 }),
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 100 }),
        async (text, bytes, name) => {
          const e = await buildMimeEntity(content({ text, attachments: [{ source: Buffer.from(bytes), name }] }));
          const head = e.headers.map((h) => `${h.field}: ${h.value}\r\n`).join("");
          const parsed = await simpleParser(Buffer.from(`MIME-Version: 1.0\r\n${head}\r\n${await bodyText(e)}`, "latin1"));
          expect(parsed.text?.replace(/\r\n/g, "\n").trimEnd()).toBe(text.replace(/\r\n?/g, "\n").trimEnd());
          expect(parsed.attachments[0]?.filename).toBe(name);
          expect(parsed.attachments[0]?.content.equals(Buffer.from(bytes))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("streams a Readable attachment", async () => {
    const e = await buildMimeEntity(content({ attachments: [{ source: Readable.from(["abc", "def"]), name: "s.txt" }] }));
    expect(e.size).toBeUndefined();
    expect(await bodyText(e)).toContain("\r\n\r\nYWJjZGVm\r\n--");
  });
});

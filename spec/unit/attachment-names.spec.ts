/**
 * Names and header text that look like RFC 2047 encoded-words arrive as
 * written: a receiver decodes encoded-words in Subject and in parameter
 * values, so literal "=?...?=" text must itself be encoded (RFC 2047 §5).
 * Every message goes through the composer (composeMessage) and mailparser.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { simpleParser, type Attachment } from "mailparser";
import { composeMessage } from "../../src/component/compose.js";
import { partChunks } from "../../src/message/message-parts.js";
import { PropertyStore } from "../../src/schema/property-store.js";

/** A message from the properties, with Buffer attachments named `names`. */
async function compose(props: Record<string, string>, names: readonly string[] = []): Promise<Buffer> {
  const store = new PropertyStore({ isConnected: () => false });
  store.set("From", "sender@example.com");
  store.set("SendTo", "rcpt@example.com");
  store.set("MessageText", "see the attachments");
  for (const [k, v] of Object.entries(props)) store.set(k, v);
  store.setItems("Attachments", names.map((name) => ({ name })));
  const composed = await composeMessage(store, undefined, { attachmentSource: () => Buffer.from("payload"), prepared: undefined });
  const chunks: Buffer[] = [];
  for await (const c of partChunks(composed.parts)) chunks.push(c);
  return Buffer.concat(chunks);
}

/** The Content-Type `name` parameter as the receiver decoded it (the legacy form some clients read). */
function typeName(a: Attachment): unknown {
  const ct = a.headers.get("content-type") as { params?: Record<string, string> } | undefined;
  return ct?.params?.["name"];
}

/**
 * Pieces that matter to encoded-word, RFC 2231 and quoted-string decoders,
 * plus any code point but CR, LF and NUL (the single-line properties refuse
 * those when they are set).
 */
/** A well-formed encoded-word: what a decoder would replace by its decoded text. */
const encodedWord = fc
  .tuple(fc.constantFrom("utf-8", "UTF-8", "iso-8859-1", "us-ascii"), fc.constantFrom("B", "b", "Q", "q"), fc.uint8Array({ minLength: 1, maxLength: 12 }))
  .map(([charset, enc, bytes]) => {
    const payload = /b/i.test(enc) ? Buffer.from(bytes).toString("base64") : [...bytes].map((b) => `=${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");
    return `=?${charset}?${enc}?${payload}?=`;
  });
const piece = fc
  .oneof(
    encodedWord,
    fc.constantFrom("=?", "?=", "=?utf-8?b?", "=?UTF-8?Q?", "?B?", "?q?", "ZXZpbC5leGU=", "=41", "%41", "''", "*", '"', "\\", "'", ";", ",", " ", "\t", "ü", "東京", "😀", ".exe"),
    fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 8 }),
    fc.string({ unit: "binary", minLength: 1, maxLength: 2 }),
  )
  .map((s) => s.replace(/[\r\n\0]/g, "_"));
const names = fc.oneof(
  fc.array(piece, { minLength: 1, maxLength: 12 }).map((p) => p.join("")),
  // Long names: RFC 2231 continuations and several encoded-words.
  fc.array(piece, { minLength: 30, maxLength: 80 }).map((p) => p.join("")),
);

describe("attachment names", () => {
  it("a name that is an encoded-word arrives as that literal text, not as what it decodes to", async () => {
    const name = "=?utf-8?b?ZXZpbC5leGU=?=";
    const parsed = await simpleParser(await compose({}, [name]));
    expect(parsed.attachments.map((a) => a.filename)).toEqual([name]);
    expect(typeName(parsed.attachments[0] as Attachment)).toBe(name);
  });

  it("any name (encoded-word lookalikes, quotes, backslashes, non-ASCII, long) arrives exactly as given, in filename and in name", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(names, { minLength: 1, maxLength: 3 }), async (given) => {
        const parsed = await simpleParser(await compose({}, given));
        expect(parsed.attachments.map((a) => a.filename)).toEqual(given);
        expect(parsed.attachments.map(typeName)).toEqual(given);
      }),
      { numRuns: 300 },
    );
  });
});

describe("header text that looks like encoded-words", () => {
  it("a Subject that is literally an encoded-word arrives literally", async () => {
    const subject = "=?utf-8?b?ZXZpbC5leGU=?=";
    const parsed = await simpleParser(await compose({ Subject: subject }));
    expect(parsed.subject).toBe(subject);
  });

  it("any Subject and display name arrive exactly as given", async () => {
    // Receivers trim a header value and unfold it, so the text has no leading / trailing blanks or line breaks.
    const text = fc
      .array(piece, { minLength: 1, maxLength: 20 })
      .map((p) => p.join("").replace(/\t/g, " ").trim())
      .filter((s) => s !== "");
    await fc.assert(
      fc.asyncProperty(text, text, async (subject, display) => {
        const from = `"${display.replace(/["\\]/g, "\\$&")}" <sender@example.com>`;
        const parsed = await simpleParser(await compose({ Subject: subject, From: from }));
        expect(parsed.subject).toBe(subject);
        const sender = parsed.from?.value[0];
        expect({ name: sender?.name, address: sender?.address }).toEqual({ name: display, address: "sender@example.com" });
      }),
      { numRuns: 300 },
    );
  });
});

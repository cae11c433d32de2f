/**
 * The store's names are typed from the schema tables: a misspelt property,
 * setting, collection or field name inside src/ fails to compile, while a
 * name that only arrives at run time (user input) still compiles and is
 * checked then. Compiles small files against src/ with the project's tsc.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TSC = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");
const STORE = join(ROOT, "src/schema/property-store.js");

/** Each line must fail to compile, naming the misspelt (or wrong-kind) name. */
const MISSPELT: readonly [line: string, name: string][] = [
  ['store.string("MailServr");', "MailServr"],
  ['store.number("MailPrt");', "MailPrt"],
  ['store.get("Subjet");', "Subjet"],
  ['store.set("SendT", "ann@example.com");', "SendT"],
  ['store.setInternal("LastReplyy", "");', "LastReplyy"],
  ['store.bool("StopOnToError");', "StopOnToError"],
  ['store.int("Timeout");', "Timeout"], // a property, not a setting
  ['store.string("MailPort");', "MailPort"], // a number, not a string
  ['store.setting("EncryptingAlgoritm");', "EncryptingAlgoritm"],
  ['store.setSetting("AllowEmptyT", true);', "AllowEmptyT"],
  ['store.setSettingInternal("SSLNegotiatedVersio", "");', "SSLNegotiatedVersio"],
  ['store.items("Attachment");', "Attachment"],
  ['store.count("MessageRecipient");', "MessageRecipient"],
  ['store.getField("Attachments", 0, "Filename");', "Filename"],
  ['store.setField("MessageRecipients", 0, "Adress", "ann@example.com");', "Adress"],
];

/** The same calls spelt right, and names from user input: no error. */
const CORRECT = [
  'store.string("MailServer");',
  'store.number("MailPort");',
  'store.get("Subject");',
  'store.set("SendTo", "ann@example.com");',
  'store.setInternal("LastReply", "");',
  'store.bool("StopOnToErrors");',
  'store.int("MaxHeaderLength");',
  'store.setting("EncryptingAlgorithm");',
  'store.setSetting("AllowEmptyTo", true);',
  'store.setSettingInternal("SSLNegotiatedVersion", "");',
  'store.items("Attachments");',
  'store.count("MessageRecipients");',
  'store.getField("Attachments", 0, "File");',
  'store.setField("MessageRecipients", 0, "Address", "ann@example.com");',
  "store.set(fromUser, 1);",
  "store.setSetting(fromUser, 1);",
  'store.config("AllowEmptyTo=true");',
];

const HEADER = [
  `import type { PropertyStore } from ${JSON.stringify(STORE)};`,
  "declare const store: PropertyStore;",
  "declare const fromUser: string;",
];

let dir = "";
let output = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "smtpkit-store-keys-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
    extends: join(ROOT, "tsconfig.base.json"),
    compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", noEmit: true, typeRoots: [join(ROOT, "node_modules/@types")] },
    files: ["misspelt.ts", "correct.ts"],
  }));
  writeFileSync(join(dir, "misspelt.ts"), [...HEADER, ...MISSPELT.map(([line]) => line)].join("\n") + "\n");
  writeFileSync(join(dir, "correct.ts"), [...HEADER, ...CORRECT].join("\n") + "\n");
  try {
    execFileSync(process.execPath, [TSC, "-p", join(dir, "tsconfig.json")], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    output = String((e as { stdout?: string }).stdout ?? "");
  }
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("typed store keys", () => {
  it("correct names and names from user input compile", () => {
    expect(output.split("\n").filter((l) => l.startsWith("correct.ts"))).toEqual([]);
  });

  it.each(MISSPELT.map(([line, name], i) => ({ line, name, at: HEADER.length + i + 1 })))("$line does not compile", ({ name, at }) => {
    const errors = output.split("\n").filter((l) => l.startsWith(`misspelt.ts(${at},`));
    expect(errors.join("\n")).toMatch(new RegExp(`error TS2345: Argument of type '"${name}"' is not assignable`));
  });
});

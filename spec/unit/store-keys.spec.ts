/**
 * The store's names are typed from the schema tables: a misspelt property,
 * setting, collection or field name inside src/ fails to compile, while a
 * name that only arrives at run time (user input) still compiles and is
 * checked then. Compiles small files against src/ with the project's tsc.
 */
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, typecheck } from "../support/typecheck.js";

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

let output = "";

beforeAll(() => {
  output = typecheck("store-keys", {
    "misspelt.ts": [...HEADER, ...MISSPELT.map(([line]) => line)].join("\n") + "\n",
    "correct.ts": [...HEADER, ...CORRECT].join("\n") + "\n",
  });
}, 60_000);

describe("typed store keys", () => {
  it("correct names and names from user input compile", () => {
    expect(output.split("\n").filter((l) => l.startsWith("correct.ts"))).toEqual([]);
  });

  it.each(MISSPELT.map(([line, name], i) => ({ line, name, at: HEADER.length + i + 1 })))("$line does not compile", ({ name, at }) => {
    const errors = output.split("\n").filter((l) => l.startsWith(`misspelt.ts(${at},`));
    expect(errors.join("\n")).toMatch(new RegExp(`error TS2345: Argument of type '"${name}"' is not assignable`));
  });
});

/**
 * The typed Node face of the schema (issue 17):
 * - the generated files (accessors.generated.ts, constants.generated.ts) are what
 *   scripts/accessor-types-render.mjs gives for the current tables;
 * - the enum constants: frozen, readable and IP*Works names, the values of the rows;
 * - every member the generated interface declares exists on Smtp at run time;
 * - typed usages compile (spec/types/typed-api.check.ts) and wrong ones do not: a misspelt
 *   setting, a value outside an enum, a setting of the wrong type. Compiles small files against
 *   src/ with the project's tsc, like store-keys.spec.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, typecheck } from "../support/typecheck.js";
import { ACCESSORS_FILE, CONSTANTS_FILE, renderAccessorTypes, renderConstants } from "../../scripts/accessor-types-render.mjs";
import * as api from "../../src/index.js";
import { AuthMechanism, FirewallType, MessageRecipientType, Smtp, SSLCertStoreType, SSLStartMode } from "../../src/index.js";
import { ENUM_CONSTANTS, ENUMS } from "../../src/schema/constants.js";
import { memberName } from "../../src/schema/enum-tables.js";
import { COLLECTIONS, PROPERTIES } from "../../src/schema/properties.js";
import { SETTINGS } from "../../src/schema/settings.js";
import type { CollectionSpec, ScalarSpec, SettingSpec } from "../../src/schema/spec-types.js";

const STALE = "is out of date with the schema tables: run `npm run docs` (build, then scripts/gen-accessor-types.mjs) and commit the result";
const TABLES = { PROPERTIES, COLLECTIONS, SETTINGS, ENUMS };

describe("generated files", () => {
  it.each([
    [ACCESSORS_FILE, renderAccessorTypes],
    [CONSTANTS_FILE, renderConstants],
  ] as const)("%s matches the schema tables", (file, render) => {
    expect(readFileSync(join(ROOT, file), "utf8"), `${file} ${STALE}`).toBe(render(TABLES));
  });

  it("every member of GeneratedAccessors exists on Smtp at run time", () => {
    const text = readFileSync(join(ROOT, ACCESSORS_FILE), "utf8");
    const body = text.slice(text.indexOf("export interface GeneratedAccessors {"), text.indexOf("export interface SmtpOptions {"));
    const names = [...body.matchAll(/^ {2}(?:readonly |get |set )?([A-Za-z0-9_$]+)[(:?]/gm)].map((m) => m[1] as string);
    expect(names.length).toBeGreaterThan(200);
    const smtp = new Smtp();
    expect(names.filter((n) => !(n in smtp))).toEqual([]);
  });
});

describe("enum constants", () => {
  const properties: readonly ScalarSpec[] = PROPERTIES;
  const settings: readonly SettingSpec[] = SETTINGS;
  const collections: readonly CollectionSpec[] = COLLECTIONS;

  it("there is one for every enum row: properties, collection fields (item + field) and settings of their own", () => {
    const expected = [
      ...properties.filter((p) => p.type === "enum").map((p) => p.name),
      ...collections.flatMap((c) => c.fields.filter((f) => f.type === "enum").map((f) => `${c.item}${f.name}`)),
      ...settings.filter((s) => s.type === "enum" && s.property === undefined).map((s) => s.name),
    ];
    expect(ENUMS.map((e) => e.name)).toEqual(expected);
    for (const name of expected) expect(api, name).toHaveProperty(name, ENUM_CONSTANTS[name as keyof typeof ENUM_CONSTANTS]);
  });

  it("each holds the row's values under the readable and the IP*Works name, and is frozen", () => {
    for (const e of ENUMS) {
      const row = e.row;
      const values = [...row.values.map((c, v): [string, number] => [c, v]), ...Object.entries(row.extra ?? {}).map(([v, c]): [string, number] => [c, Number(v)])];
      const object: Readonly<Record<string, number>> = ENUM_CONSTANTS[e.name];
      expect(Object.isFrozen(object), e.name).toBe(true);
      expect(Object.keys(object)).toHaveLength(values.length * 2);
      for (const [constant, value] of values) {
        expect(object[constant], `${e.name}.${constant}`).toBe(value);
        expect(object[memberName(constant)], `${e.name}.${memberName(constant)}`).toBe(value);
      }
    }
  });

  it("readable names: a table's key where it has one, else the constant without its prefix", () => {
    expect(SSLStartMode).toMatchObject({ Automatic: 0, Implicit: 1, Explicit: 2, None: 3, sslExplicit: 2 });
    expect(AuthMechanism).toMatchObject({ XOAuth2: 7, amXOAUTH2: 7, ScramSha256: 10, Automatic: 11 });
    expect(FirewallType).toMatchObject({ Socks5: 3, fwSOCKS5: 3, Socks4A: 10 });
    expect(SSLCertStoreType).toMatchObject({ PfxFile: 2, cstPFXFile: 2, Auto: 99, cstAuto: 99 });
    expect(MessageRecipientType).toEqual({ To: 0, Cc: 1, BCc: 2, rtTo: 0, rtCc: 1, rtBCc: 2 });
    expect(api.Importance.High).toBe(1);
  });

  it("work with the accessors, the options and config()", () => {
    const smtp = new Smtp({ sslStartMode: SSLStartMode.Explicit, settings: { FirewallType: FirewallType.Socks5, StopOnToErrors: false } });
    expect(smtp.getSSLStartMode()).toBe(2);
    expect(smtp.config("FirewallType")).toBe("3");
    expect(smtp.config("stopontoerrors")).toBe("false");
    smtp.setAuthMechanism(AuthMechanism.amSCRAMSHA256);
    expect(smtp.authMechanism).toBe(10);
  });
});

/** Each line must fail to compile; the pattern is matched against the errors on its line. */
const WRONG: readonly [line: string, error: RegExp][] = [
  ["new Smtp({ sslStartMode: 7 });", /TS2322: Type '7' is not assignable/],
  ["new Smtp({ authMechanism: 99 });", /TS2322: Type '99' is not assignable/],
  ["smtp.sslStartMode = 7;", /TS2322: Type '7' is not assignable/],
  ["smtp.setAuthMechanism(99);", /TS2345: Argument of type '99' is not assignable/],
  ["smtp.setMessageRecipientType(0, 3);", /TS2345: Argument of type '3' is not assignable/],
  ["smtp.setSSLCertStoreType(21);", /TS2345: Argument of type '21' is not assignable/],
  ["smtp.setSSLStartMode(fromUserNumber);", /TS2345: Argument of type 'number' is not assignable/],
  ["const importance: Importance = 4;", /TS2322: Type '4' is not assignable/],
  ["new Smtp({ settings: { StopOnToError: false } });", /TS2561: .*'StopOnToError' does not exist.*Did you mean to write 'StopOnToErrors'/],
  ["new SmtpPool({ settings: { UsePipelinng: false } });", /TS2561: .*'UsePipelinng' does not exist/],
  ['new Smtp({ settings: { StopOnToErrors: "false" } });', /TS2322: Type 'string' is not assignable to type 'boolean/],
  ["new Smtp({ settings: { ChunkSize: true } });", /TS2322: Type 'boolean' is not assignable to type 'number'/],
  ['new Smtp({ settings: { SSLMinVersion: "TLSv1.4" } });', /TS2820: Type '"TLSv1.4"' is not assignable/],
  ['new Smtp({ settings: { SSLNegotiatedCipher: "x" } });', /TS2353: .*'SSLNegotiatedCipher' does not exist/],
  ["new Smtp({ settings: { FirewallType: 4 } });", /TS2322: Type '4' is not assignable/],
  ['const line: ConfigLine = "StopOnToError=false";', /TS2820: Type '"StopOnToError=false"' is not assignable/],
  ["SSLStartMode.Explict;", /TS2551: Property 'Explict' does not exist/],
  ["SSLStartMode.Explicit = 1;", /TS2540: Cannot assign to 'Explicit' because it is a read-only property/],
];

const HEADER = [
  `import { Importance, Smtp, SmtpPool, SSLStartMode, type ConfigLine } from ${JSON.stringify(join(ROOT, "src/index.js"))};`,
  "declare const smtp: Smtp;",
  "declare const fromUserNumber: number;",
];

let output = "";

beforeAll(() => {
  output = typecheck("typed-api", { "wrong.ts": [...HEADER, ...WRONG.map(([line]) => line)].join("\n") + "\n" }, [
    join(ROOT, "spec/types/typed-api.check.ts"),
    join(ROOT, "spec/types/accessors.check.ts"),
  ]);
}, 60_000);

describe("the compiler", () => {
  it("accepts the typed usages (spec/types/typed-api.check.ts) and the generated / mapped cross-check", () => {
    expect(output.split("\n").filter((l) => l.includes("spec/types/"))).toEqual([]);
  });

  it.each(WRONG.map(([line, error], i) => ({ line, error, at: HEADER.length + i + 1 })))("rejects $line", ({ error, at }) => {
    const errors = output.split("\n").filter((l) => l.startsWith(`wrong.ts(${at},`));
    expect(errors.join("\n")).toMatch(error);
  });
});

/**
 * The shapes of schema entries. Everything generated from the schema (typed
 * accessors, runtime validation, config(), docs) reads these fields only.
 */

/** How a string value is checked when it is set. */
export type StringCheck =
  | "none"
  /** One line: CR or LF anywhere is refused (header values, host names). */
  | "singleLine"
  /** Header lines "Name: value" separated by CRLF; no empty line, no bare CR. */
  | "headerBlock";

interface BaseSpec {
  /** IP*Works name, PascalCase: "MailServer". */
  readonly name: string;
  /** camelCase accessor name when Uncapitalize<name> would read badly ("BCc" -> "bcc"). */
  readonly js?: string;
  readonly doc: string;
  /** Read-only for users; the component itself updates it. */
  readonly readOnly?: boolean;
  /** Only a setter exists (IP*Works' Command). */
  readonly writeOnly?: boolean;
  /** Changing it while connected is refused (MailServer, MailPort, LocalHost). */
  readonly fixedWhileConnected?: boolean;
  /** Implemented by hand in the component (e.g. Connected, whose setter connects). */
  readonly custom?: boolean;
  /** Type shown in the docs when it is not the schema type (custom properties). */
  readonly docType?: string;
  /** Part of the message, not of the connection: resetHeaders() clears it and a pool message may set it. */
  readonly message?: boolean;
  /**
   * Another name for this property (IP*Works' SSLCertEncoded for SSLCertStore): reads and writes go
   * to that property; the row repeats its type, default and checks.
   */
  readonly aliasOf?: string;
  /** Read-only: the base64 DER of the certificate the custom property `encodedOf` holds (SSLServerCertEncoded). */
  readonly encodedOf?: string;
  /**
   * Accepted for IP*Works compatibility but without effect on Node.js (the doc says why): the first
   * time an object sets it, the store records a notice that PITrail shows as an info line.
   */
  readonly noEffect?: boolean;
  /**
   * A field of an IP*Works object property (SSMTP's Firewall: Host is FirewallHost): getFirewall()
   * returns a live view of the rows that name it, setFirewall() copies an object's fields in.
   */
  readonly object?: { readonly name: string; readonly field: string };
}

export interface StringSpec extends BaseSpec {
  readonly type: "string";
  readonly default: string;
  readonly check: StringCheck;
  /** The only values accepted (case-sensitive, after normalize), when the string is really a choice. */
  readonly choices?: readonly string[];
  /** Maps other accepted spellings (IP*Works' "SHA256", "3DES") to the stored one, or throws; runs before choices. */
  readonly normalize?: (value: string) => string;
}

export interface IntSpec extends BaseSpec {
  readonly type: "int";
  readonly default: number;
  readonly min: number;
  readonly max: number;
  /** Unit shown in the docs ("seconds"). */
  readonly unit?: string;
}

export interface BoolSpec extends BaseSpec {
  readonly type: "bool";
  readonly default: boolean;
}

export interface EnumSpec extends BaseSpec {
  readonly type: "enum";
  readonly default: number;
  /** IP*Works constant names, index = numeric value ("miUnspecified", "miHigh", ...). */
  readonly values: readonly string[];
  /** Values outside 0..values.length-1 that are also valid (IP*Works' 99 cstAuto). */
  readonly extra?: Readonly<Record<number, string>>;
}

export type ScalarSpec = StringSpec | IntSpec | BoolSpec | EnumSpec;

/** A field of an indexed collection (MessageRecipientAddress(i) -> field "Address"). */
export type FieldSpec = ScalarSpec;

export interface CollectionSpec {
  /** Plural collection name: "MessageRecipients". */
  readonly name: string;
  /** Item prefix of the IP*Works accessors: "MessageRecipient" -> getMessageRecipientAddress(i). */
  readonly item: string;
  /** camelCase name of the array accessor: "messageRecipients". */
  readonly js: string;
  readonly doc: string;
  readonly readOnly?: boolean;
  readonly fields: readonly FieldSpec[];
  /** The object form's items are this class, supplied by the component (RecipientCerts: Certificate). */
  readonly itemObjects?: string;
}

export type SettingValue = string | number | boolean;

/** A config("Name=Value") setting. */
export type SettingSpec = ScalarSpec & {
  /** The setting is another name for this property (OtherHeaders, ReturnPath). */
  readonly property?: string;
};

/** The indexes of a tuple of names as number literals (["a", "b"] -> 0 | 1); `number` when the length is not known. */
export type IndexOf<V extends readonly unknown[]> = number extends V["length"]
  ? number
  : { [K in keyof V]: K extends `${infer N extends number}` ? N : never }[number];

/** The values an enum row accepts: the indexes of `values` and the keys of `extra` (SSLStartMode: 0 | 1 | 2 | 3; SSLCertStoreType: 0 | ... | 20 | 99). */
export type EnumValue<S> = S extends { readonly values: infer V extends readonly string[] }
  ? IndexOf<V> | (S extends { readonly extra: infer E extends object } ? keyof E & number : never)
  : number;

export type ScalarValue<S> = S extends { type: "string" }
  ? string
  : S extends { type: "int" }
    ? number
    : S extends { type: "enum" }
      ? EnumValue<S>
      : S extends { type: "bool" }
        ? boolean
        : never;

/**
 * What a setting takes in the `settings` option: its ScalarValue, and for a string setting
 * with `choices` and no `normalize` (compared exactly at run time) one of the choices.
 */
export type SettingValueOf<S> = S extends { type: "string"; choices: readonly (infer C extends string)[] }
  ? S extends { normalize: unknown } ? string : C
  : ScalarValue<S>;

/**
 * The message properties: those flagged `message: true` in PROPERTIES.
 * resetHeaders() clears them and a pool message may set them (by camelCase
 * name); the flag is the one place that says which they are.
 */
import type { JsName } from "./accessor-types.js";
import { jsName } from "./js-name.js";
import { PROPERTIES } from "./properties.js";

type MessageSpec = Extract<(typeof PROPERTIES)[number], { message: true }>;

/** IP*Works names of the message properties: "From" | "SendTo" | "Subject" | ... */
export type MessagePropertyName = MessageSpec["name"];
/** Their camelCase names, as in SmtpOptions: "from" | "sendTo" | "bcc" | ... */
export type MessagePropertyKey = JsName<MessageSpec>;

const SPECS = PROPERTIES.filter((p): p is MessageSpec => "message" in p && p.message);

export const MESSAGE_PROPERTIES: readonly MessagePropertyName[] = SPECS.map((p) => p.name);

/** camelCase name -> IP*Works name. */
export const MESSAGE_PROPERTY_BY_KEY: ReadonlyMap<MessagePropertyKey, MessagePropertyName> = new Map(
  SPECS.map((p) => [jsName(p) as MessagePropertyKey, p.name]),
);

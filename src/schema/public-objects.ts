/**
 * The item and object classes a port constructs (IP*Works' MessageRecipient,
 * MessageHeader, Attachment, Firewall), typed from the schema. The classes
 * themselves are made from the same rows at load time (item-views.ts,
 * object-views.ts); this module gives them their public names and types.
 */
import type { COLLECTIONS } from "./properties.js";
import type { ItemClass, ItemObject, ObjectClass, ObjectOf } from "./accessor-types.js";
import { itemClass } from "./item-views.js";
import { OBJECT_CLASSES } from "./object-views.js";

type Coll<N extends string> = Extract<(typeof COLLECTIONS)[number], { name: N }>;

function objectClass(name: string): unknown {
  const cls = OBJECT_CLASSES.get(name);
  if (!cls) throw new TypeError(`no object ${name} in the schema`);
  return cls;
}

/** A recipient: `new MessageRecipient("a@example.com")`, `new MessageRecipient({ address, name, options, type })`. */
export const MessageRecipient = itemClass("MessageRecipients") as unknown as ItemClass<Coll<"MessageRecipients">>;
export type MessageRecipient = ItemObject<Coll<"MessageRecipients">>;

/** A header of the message as it will be (after a send: was) sent: `field`, `value`. */
export const MessageHeader = itemClass("MessageHeaders") as unknown as ItemClass<Coll<"MessageHeaders">>;
export type MessageHeader = ItemObject<Coll<"MessageHeaders">>;

/** An attachment: `new Attachment("/path/report.pdf")` or `new Attachment({ file, name, contentType, contentId, inline })`. */
export const Attachment = itemClass("Attachments") as unknown as ItemClass<Coll<"Attachments">>;
export type Attachment = ItemObject<Coll<"Attachments">>;

/** The proxy settings as one object (SSMTP's Firewall): autoDetect, firewallType, host, password, port, user. */
export const Firewall = objectClass("Firewall") as ObjectClass<"Firewall">;
export type Firewall = ObjectOf<"Firewall">;

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

// The classes are made at load time from the rows; their types come from the same rows. These two
// functions are the one place where the one is declared to be the other.
function typedItemClass<N extends string>(name: N): ItemClass<Coll<N>> {
  return itemClass(name) as unknown as ItemClass<Coll<N>>;
}

function typedObjectClass<N extends "Firewall">(name: N): ObjectClass<N> {
  const cls: unknown = OBJECT_CLASSES.get(name);
  if (!cls) throw new TypeError(`no object ${name} in the schema`);
  return cls as ObjectClass<N>;
}

/** A recipient: `new MessageRecipient("a@example.com")`, `new MessageRecipient({ address, name, options, type })`. */
export const MessageRecipient = typedItemClass("MessageRecipients");
export type MessageRecipient = ItemObject<Coll<"MessageRecipients">>;

/** A header of the message as it will be (after a send: was) sent: `field`, `value`. */
export const MessageHeader = typedItemClass("MessageHeaders");
export type MessageHeader = ItemObject<Coll<"MessageHeaders">>;

/** An attachment: `new Attachment("/path/report.pdf")` or `new Attachment({ file, name, contentType, contentId, inline })`. */
export const Attachment = typedItemClass("Attachments");
export type Attachment = ItemObject<Coll<"Attachments">>;

/** The proxy settings as one object (SSMTP's Firewall): autoDetect, firewallType, host, password, port, user. */
export const Firewall = typedObjectClass("Firewall");
export type Firewall = ObjectOf<"Firewall">;

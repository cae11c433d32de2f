/** A certificate's subject or issuer as node:crypto gives it (one RDN per line), on one line. */
export function distinguishedName(nodeName: string): string {
  return nodeName.split("\n").filter((l) => l !== "").join(", ");
}

/**
 * The file names of a queue directory, in one place so that claiming, taking
 * back and filing always agree. A name is `<id>.<state>`; the id is
 * everything before the final known suffix, so ids written by other tools may
 * hold dots (`abc.def.queued` has the id `abc.def`). A claim is
 * `<id>.<owner>.<ms>.sending`, where the owner never holds a dot: that is
 * what lets a dotted id be split off again.
 */

/** States a queue file moves through, each a name suffix. */
export type QueueFileState = "queued" | "sent" | "failed" | "errors";

export function stateName(id: string, state: QueueFileState): string {
  return `${id}.${state}`;
}

/** The id of a `.queued` name; undefined for other names and for hidden (temporary) files. */
export function queuedId(name: string): string | undefined {
  if (name.startsWith(".") || !name.endsWith(".queued")) return undefined;
  const id = name.slice(0, -".queued".length);
  return id === "" ? undefined : id;
}

/** Owners are made of [A-Za-z0-9-] only (see ownerId). */
const OWNER = /^[A-Za-z0-9-]+$/;
/** Greedy id: the owner and the time are the last two dot-free fields before `.sending`. */
const CLAIM = /^(.+)\.([A-Za-z0-9-]+)\.(\d+)\.sending$/;

export function claimName(id: string, owner: string, claimedAt: number): string {
  if (!OWNER.test(owner)) throw new RangeError(`a claim owner must match ${OWNER.source}: ${JSON.stringify(owner)}`);
  return `${id}.${owner}.${claimedAt}.sending`;
}

export function parseClaimName(name: string): { id: string; owner: string; claimedAt: number } | undefined {
  if (name.startsWith(".")) return undefined;
  const m = CLAIM.exec(name);
  if (!m?.[1] || !m[2] || !m[3]) return undefined;
  return { id: m[1], owner: m[2], claimedAt: Number(m[3]) };
}

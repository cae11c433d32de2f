/**
 * Who sends which queue file. A worker claims a file by renaming it from
 * `<id>.queued` to `<id>.<owner>.<claimed-at>.sending`: rename is atomic, so of
 * several processes (or machines on a filesystem with atomic rename) exactly
 * one wins. A claim older than the timeout belongs to a worker that died and
 * is renamed back to `.queued`.
 */
import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { ErrorCode, SmtpError } from "../errors.js";
import { fileError } from "./queue-file.js";
import { claimName, parseClaimName, queuedId, stateName } from "./queue-names.js";

/** This process's claim marker: host, pid and a random part (pids are reused). */
export function ownerId(): string {
  const host = hostname().replace(/[^A-Za-z0-9-]/g, "-").slice(0, 40) || "host";
  return `${host}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

/** `<id>.queued` names the message; ids made here have no dots (other tools' may: queue-names.ts). */
export function newQueueId(): string {
  return `${Date.now().toString(36)}-${randomBytes(8).toString("hex")}`;
}

export interface Claim {
  id: string;
  /** Path of the claimed (.sending) file. */
  path: string;
}

export async function listQueued(dir: string): Promise<string[]> {
  try {
    return (await fsp.readdir(dir)).filter((n) => queuedId(n) !== undefined).sort();
  } catch (e) {
    throw fileError(`cannot read the queue directory ${dir}`, e);
  }
}

/** Renames claims older than `timeoutMs` back to .queued; returns how many were taken back. */
export async function reclaimStale(dir: string, timeoutMs: number, now = Date.now()): Promise<number> {
  let taken = 0;
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    const c = parseClaimName(name);
    if (!c || now - c.claimedAt < timeoutMs) continue;
    try {
      await fsp.rename(join(dir, name), join(dir, stateName(c.id, "queued")));
      taken++;
    } catch {
      // Another worker took it back first.
    }
  }
  return taken;
}

/** Claims one .queued file; undefined when another worker got it first. */
export async function claim(dir: string, queuedName: string, owner: string, now = Date.now()): Promise<Claim | undefined> {
  const id = queuedId(queuedName);
  if (id === undefined) throw new SmtpError(ErrorCode.InvalidValue, `${queuedName} is not the name of a queued file`);
  const path = join(dir, claimName(id, owner, now));
  try {
    await fsp.rename(join(dir, queuedName), path);
    return { id, path };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fileError(`cannot claim ${queuedName}`, e);
  }
}

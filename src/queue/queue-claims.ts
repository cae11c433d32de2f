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
import { fileError } from "./queue-file.js";

/** This process's claim marker: host, pid and a random part (pids are reused). */
export function ownerId(): string {
  const host = hostname().replace(/[^A-Za-z0-9-]/g, "-").slice(0, 40) || "host";
  return `${host}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

/** `<id>.queued` names the message; the id has no dots. */
export function newQueueId(): string {
  return `${Date.now().toString(36)}-${randomBytes(8).toString("hex")}`;
}

const SENDING = /^([^.]+)\.([^.]+)\.(\d+)\.sending$/;

export interface Claim {
  id: string;
  /** Path of the claimed (.sending) file. */
  path: string;
}

export async function listQueued(dir: string): Promise<string[]> {
  try {
    return (await fsp.readdir(dir)).filter((n) => n.endsWith(".queued") && !n.startsWith(".")).sort();
  } catch (e) {
    throw fileError(`cannot read the queue directory ${dir}`, e);
  }
}

/** Renames claims older than `timeoutMs` back to .queued; returns how many were taken back. */
export async function reclaimStale(dir: string, timeoutMs: number, now = Date.now()): Promise<number> {
  let taken = 0;
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    const m = SENDING.exec(name);
    if (!m || now - Number(m[3]) < timeoutMs) continue;
    try {
      await fsp.rename(join(dir, name), join(dir, `${m[1]}.queued`));
      taken++;
    } catch {
      // Another worker took it back first.
    }
  }
  return taken;
}

/** Claims one .queued file; undefined when another worker got it first. */
export async function claim(dir: string, queuedName: string, owner: string, now = Date.now()): Promise<Claim | undefined> {
  const id = queuedName.replace(/\.queued$/, "");
  const path = join(dir, `${id}.${owner}.${now}.sending`);
  try {
    await fsp.rename(join(dir, queuedName), path);
    return { id, path };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fileError(`cannot claim ${queuedName}`, e);
  }
}

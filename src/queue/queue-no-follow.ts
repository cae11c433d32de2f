/**
 * File access for the queue directory that never follows a symbolic link:
 * whoever can plant a link there must not make the queue read or overwrite a
 * file elsewhere. Reads open with O_NOFOLLOW and take regular files only.
 * Writes go to a fresh name created with O_CREAT|O_EXCL|O_NOFOLLOW and are
 * renamed over the final name: rename replaces a link itself, not its target.
 */
import { randomBytes } from "node:crypto";
import { constants, promises as fsp } from "node:fs";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { ErrorCode, SmtpError } from "../errors.js";

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = constants;

/**
 * Opens a regular file for reading. A link is refused (ELOOP) before
 * anything is read; O_NONBLOCK keeps a planted FIFO from blocking the open.
 */
export async function openRegular(path: string): Promise<fsp.FileHandle> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ELOOP") {
      throw new SmtpError(ErrorCode.CannotOpenFile, `${path} is a symbolic link: the queue never reads through links, so it was not read`, { cause: e });
    }
    throw e;
  }
  const stat = await handle.stat().catch(async (e: unknown) => {
    await handle.close();
    throw e;
  });
  if (!stat.isFile()) {
    await handle.close();
    throw new SmtpError(ErrorCode.CannotOpenFile, `${path} is not a regular file, so it was not read`);
  }
  return handle;
}

/** The bytes of a regular file from `offset` on, opened when first read. */
export function readFrom(path: string, offset: number): Readable {
  return Readable.from(chunksOf(path, offset), { objectMode: false, highWaterMark: 64 * 1024 });
}

async function* chunksOf(path: string, offset: number): AsyncGenerator<Buffer> {
  const handle = await openRegular(path);
  try {
    for (let position = offset; ; ) {
      const buf = Buffer.allocUnsafe(64 * 1024);
      const { bytesRead } = await handle.read(buf, 0, buf.length, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

/** `.<ms>-<pid>-<random>.tmp`: hidden, so no worker takes it for a queue file. */
function temporaryName(): string {
  return `.${Date.now()}-${process.pid}-${randomBytes(6).toString("hex")}.tmp`;
}

/**
 * Writes `data` to `target` atomically: a fresh temporary name in the same
 * directory, fsync, rename, fsync of the directory. A reader sees the old
 * file or the new one; a failed write removes its temporary file.
 */
export async function writeAtomically(target: string, data: Buffer | AsyncIterable<Buffer>): Promise<void> {
  const dir = dirname(target);
  const temp = join(dir, temporaryName());
  // O_EXCL fails on any existing name, links included; O_NOFOLLOW says so twice.
  const handle = await fsp.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o666);
  try {
    try {
      await fsp.writeFile(handle, data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(temp, target);
  } catch (e) {
    await fsp.rm(temp, { force: true }).catch(() => undefined);
    throw e;
  }
  await syncDirectory(dir);
}

export async function syncDirectory(dir: string): Promise<void> {
  // A rename is durable only once the directory itself is on disk.
  const handle = await fsp.open(dir, O_RDONLY).catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename still happened.
  } finally {
    await handle.close();
  }
}

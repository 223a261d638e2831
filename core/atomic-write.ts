import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Flushes a folder's entry list to disk (a rename or a new file survives power loss only then). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory (EISDIR/EINVAL); the rename still happened.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const TEMP_SUFFIX = /\.\d+\.[0-9a-f]+\.tmp$/;

/**
 * Writes a file so that readers (and a process killed mid-write, or a power cut) only ever see
 * the old or the new whole content: write a sibling temp file, fsync it, rename it over the
 * target, fsync the folder.
 */
export function writeFileAtomic(path: string, content: string | readonly Uint8Array[]): void {
  const tmp = `${path}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx');
  try {
    try {
      if (typeof content === 'string') writeSync(fd, content);
      // Binary content in parts (a header, then arrays viewed as bytes), written in order.
      else for (const part of content) writeSync(fd, part);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    // A full disk or a refused rename leaves the old file whole and no temp file behind.
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dirname(path));
}

/**
 * Removes temp files of writeFileAtomic left by a killed process (`result.json.<pid>.<hex>.tmp`)
 * whose writer is gone. Returns the names removed.
 */
export function removeStaleTempFiles(dir: string, target: string): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(`${target}.`) || !TEMP_SUFFIX.test(name)) continue;
    const pid = Number(name.slice(target.length + 1).split('.')[0]);
    if (pid !== process.pid && processAlive(pid)) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(name);
    } catch {
      // Gone already.
    }
  }
  return removed;
}

/** Whether a process of this pid exists on this machine (EPERM: it exists, someone else's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}


import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';

/**
 * Writes a file so that readers (and a process killed mid-write) only ever see the old or the
 * new whole content: write a sibling temp file, then rename over the target.
 */
export function writeFileAtomic(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

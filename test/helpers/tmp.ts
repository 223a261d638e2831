/**
 * Temporary folders for tests: the one way a test makes a scratch folder.
 *
 * `tempDir(prefix)` makes a fresh folder under os.tmpdir() and removes it when it is no longer
 * needed, pass or fail:
 * - called inside a test (or its beforeEach): when that test finishes (vitest's onTestFinished);
 * - called at file level (module scope, describe body, beforeAll): after the file's last hook,
 *   by test/setup/temp-per-file.ts, which also fails the file if anything else is left behind;
 * - called outside vitest (a script a test runs as a subprocess): when that process exits.
 *
 * During a test run os.tmpdir() is the test file's own folder (test/setup/temp-per-file.ts sets
 * TMPDIR), so folders that code under test makes for itself, in the worker or in child
 * processes, are found there too.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { removeTree } from '../setup/temp-leftovers.ts';

/** Folders made outside a test, removed by removeFileTempDirs(); null outside a vitest file. */
let fileScoped: string[] | null = null;

/** Called by the per-file setup: from now on, folders made outside a test belong to the file. */
export function adoptFileTempDirs(): void {
  fileScoped = [];
}

/** Removes the folders made outside a test (the per-file setup calls it after the file's hooks). */
export function removeFileTempDirs(): void {
  for (const dir of (fileScoped ?? []).splice(0)) removeTree(dir);
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (fileScoped === null) {
    process.once('exit', () => removeTree(dir));
    return dir;
  }
  try {
    onTestFinished(() => removeTree(dir));
  } catch {
    // Not inside a test: the folder lives as long as the file.
    fileScoped.push(dir);
  }
  return dir;
}

/**
 * Vitest setup file (runs before each test file, in its worker): gives the file a temporary
 * folder of its own inside the run's root (test/setup/temp-root.ts) and makes it TMPDIR, so
 * os.tmpdir() in the file, in code under test and in every child process it starts lands there.
 * After the file's own hooks (this afterAll is registered first, so it runs last) it removes the
 * folders test/helpers/tmp.ts made at file level, then fails the file if anything else is left
 * in its folder or a process started from the file is still running — and removes/stops them,
 * so a failing file leaves nothing behind either.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, expect, inject } from 'vitest';
import { adoptFileTempDirs, removeFileTempDirs } from '../helpers/tmp.ts';
import { describeLeftovers, OWNER_SUFFIX, processesStillUsingTmp, removeTree, sharedToolCaches, stopProcesses } from './temp-leftovers.ts';
import { LOCKS_FOLDER } from './temp-root.ts';

const root = inject('tempRoot');
const testFile = relative(process.cwd(), expect.getState().testPath ?? 'unknown test file');
// Six random characters, no prefix: ssh's control socket is made below it (see temp-root.ts).
const fileTmp = mkdtempSync(`${root}/`);
writeFileSync(fileTmp + OWNER_SUFFIX, testFile);
const previousTmp = process.env['TMPDIR'];
const toolCaches = sharedToolCaches();
for (const cache of toolCaches) {
  const shared = join(tmpdir(), cache);
  mkdirSync(shared, { recursive: true });
  symlinkSync(shared, join(fileTmp, cache));
}
process.env['TMPDIR'] = fileTmp;
// Runs lock a board (targets/run-lock.ts); the tests' runs lock in a folder of the run's own, so a
// developer's run (or another checkout's tests) on this machine is not in the way.
process.env['BENCH_LOCK_DIR'] = join(root, LOCKS_FOLDER);
adoptFileTempDirs();

afterAll(async () => {
  removeFileTempDirs();
  const problems: string[] = [];
  const strays = await processesStillUsingTmp(fileTmp);
  if (strays.length > 0) {
    problems.push(`processes still running (now killed): ${strays.map((p) => `${p.pid} ${p.command}`).join('; ')}`);
    await stopProcesses(strays);
  }
  const left = describeLeftovers(fileTmp);
  if (left) problems.push(`left in its temp folder (now removed): ${left}`);
  removeTree(fileTmp);
  removeTree(fileTmp + OWNER_SUFFIX);
  if (previousTmp === undefined) delete process.env['TMPDIR'];
  else process.env['TMPDIR'] = previousTmp;
  if (problems.length > 0) {
    throw new Error(`${testFile} did not clean up after itself (make scratch folders with tempDir() from test/helpers/tmp.ts, stop what you start):\n  ${problems.join('\n  ')}`);
  }
});

/**
 * The temp check itself (test/setup/temp-root.ts, temp-per-file.ts, test/helpers/tmp.ts): vitest
 * run on fixture files, one tidy, one that leaves a folder, one that leaves a process running.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));

function alive(pid: number): boolean {
  // A killed child of the fixture's worker may stay a zombie until reaped: that is not running.
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return stat !== '' && !/^\d+ \([^)]*\) Z/.test(stat);
}

describe('a test file that leaves a folder or a process behind fails, and nothing stays', () => {
  it('names the file and what it left, removes the folder, stops the process; the tidy file passes', () => {
    // The fixture run's temp root goes in a folder of this test's, so what it leaves is visible.
    const tmp = tempDir('temp-check-');
    const pidFile = join(tempDir('temp-check-pid-'), 'pid');
    const r = spawnSync(process.execPath, [join(repo, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', 'test/fixtures/temp-check/vitest.config.ts', '--reporter', 'default', '--no-color'], {
      cwd: repo,
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: tmp, TEMP_CHECK_PID_FILE: pidFile, CI: 'true', NO_COLOR: '1' },
      timeout: 180_000,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.status, out).toBe(1);
    expect(out).toMatch(/✓ test\/fixtures\/temp-check\/tidy\.fixture\.ts/);
    expect(out).toContain('test/fixtures/temp-check/leaves-folder.fixture.ts did not clean up after itself');
    expect(out).toMatch(/left in its temp folder \(now removed\): 1 entry \(stray-[A-Za-z0-9]{6}\)/);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(out).toContain('test/fixtures/temp-check/leaves-process.fixture.ts did not clean up after itself');
    expect(out).toContain(`processes still running (now killed): ${pid} sleep 300`);
    expect(alive(pid)).toBe(false);
    expect(out).toMatch(/Test Files +2 failed \| 1 passed \(3\)/);
    // The run's root, with every file's folder, is gone (the tsx cache link stays outside it).
    expect(readdirSync(tmp).filter((n) => !n.startsWith('tsx-'))).toEqual([]);
  }, 200_000);
});

/**
 * The temp check itself (test/setup/temp-root.ts, temp-per-file.ts, test/helpers/tmp.ts): vitest
 * run on fixture files, one tidy, one that leaves a folder, one that leaves a process running.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  it('names the file and what it left, removes the folder, stops the processes; the tidy file passes; an interrupted run\'s root goes', async () => {
    // The fixture run's temp root goes in a folder of this test's, so what it leaves is visible.
    const tmp = tempDir('temp-check-');
    const pidFile = join(tempDir('temp-check-pid-'), 'pid');
    // The root of an interrupted run: its vitest is gone, a server it started still runs.
    const abandoned = join(tmp, 'vtAbCdEf');
    mkdirSync(join(abandoned, 'x1y2z3'), { recursive: true });
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    writeFileSync(join(abandoned, 'vitest.pid'), gone);
    const orphan = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 300000)', join(abandoned, 'x1y2z3', 'sshd_config')], { detached: true, stdio: 'ignore' });
    orphan.unref();
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
    const [sleepPid, serverPid] = readFileSync(pidFile, 'utf8').split(' ').map(Number) as [number, number];
    expect(out).toContain('test/fixtures/temp-check/leaves-process.fixture.ts did not clean up after itself');
    expect(out).toMatch(new RegExp(`processes still running \\(now killed\\): .*${sleepPid} sleep 300`));
    expect(out).toMatch(new RegExp(`processes still running \\(now killed\\): .*${serverPid} \\S+ -e setTimeout`));
    expect(alive(sleepPid)).toBe(false);
    expect(alive(serverPid)).toBe(false);
    expect(out).toContain(`test setup: removed 1 temp root(s) of interrupted test runs: ${abandoned}`);
    expect(alive(orphan.pid!)).toBe(false);
    expect(out).toMatch(/Test Files +2 failed \| 1 passed \(3\)/);
    // The run's root, with every file's folder, is gone (the tsx cache link stays outside it).
    expect(readdirSync(tmp).filter((n) => !n.startsWith('tsx-'))).toEqual([]);
  }, 200_000);
});

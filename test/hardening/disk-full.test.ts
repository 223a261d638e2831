/**
 * Disk full and read-only file systems (issue 26.12): one line naming the path and what was kept,
 * exit 2, nothing half-written. Real small tmpfs mounts, which need root: without it the tests
 * are skipped with the reason printed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeHistory } from '../history/make-history.ts';
import { bench } from './cli-harness.ts';
import { makeFolder } from '../../core/output-path.ts';
import { writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/tmp.ts';
import { InputError } from '../../core/errors.ts';
import { readResult } from '../../harness/result-store.ts';
import { DEFAULT_SITE_OPTIONS } from '../../publish/site-model.ts';
import { publishSite } from '../../publish/write-site.ts';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('disk-full tests skipped: mounting a small tmpfs needs root');

const fixture = join(import.meta.dirname, '../fixtures/reports/ort-tiny.result.json');
let dir: string;
const mounts: string[] = [];

function tmpfs(name: string, options: string): string {
  const at = join(dir, name);
  mkdirSync(at);
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', at]);
  mounts.push(at);
  return at;
}

beforeAll(() => {
  dir = tempDir('bench-diskfull-');
});

afterAll(() => {
  for (const at of mounts.reverse()) execFileSync('umount', ['-l', at]);
});

const oneLine = (stderr: string) => {
  expect(stderr.trim().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
};

describe.skipIf(!isRoot)('disk full and read-only file systems', () => {
  it('history add onto a full disk says which runs were added and stops (exit 2); the database stays readable', async () => {
    const runs = writeHistory(join(dir, 'runs'), { runs: 40 });
    const small = tmpfs('small-db', 'size=640k');
    const db = join(small, 'h.sqlite');
    const r = await bench('history', 'add', ...runs, '--db', db);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    const m = r.stderr.match(/^error: history add (\S+): \S+h\.sqlite: no space left on the device.*; kept: (\d+) of 40 run\(s\) added/);
    expect(m, r.stderr).not.toBeNull();
    const kept = Number(m![2]);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(40);
    const list = await bench('history', 'list', '--db', db, '--format', 'json');
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as unknown[]).length).toBe(kept);
  }, 120_000);

  it('history export onto a full disk leaves no truncated file', async () => {
    const db = join(dir, 'h.sqlite');
    expect((await bench('history', 'add', ...writeHistory(join(dir, 'runs2'), { runs: 3 }), '--db', db)).code).toBe(0);
    const full = tmpfs('full-export', 'size=16k');
    const r = await bench('history', 'export', '--db', db, '--out', join(full, 'h.csv'));
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/no space left on the device \(ENOSPC\)/);
    expect(readdirSync(full)).toEqual([]);
  }, 60_000);

  it('publish onto a full disk keeps the old site whole and says so', async () => {
    const disk = tmpfs('site-disk', 'size=1m');
    const site = join(disk, 'site');
    expect((await bench('publish', fixture, '--out', site)).code).toBe(0);
    const index = readFileSync(join(site, 'index.html'));
    // Fill the rest of the disk so the next publish cannot complete.
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${join(disk, 'filler')}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {
      // dd stops with "no space left": the disk is full, as wanted.
    }
    const r = await bench('publish', fixture, '--out', site);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toContain('no space left on the device');
    expect(r.stderr).toContain(`kept: the old site in ${site}, as it was`);
    expect(readFileSync(join(site, 'index.html')).equals(index)).toBe(true);
    expect(readdirSync(disk).filter((n) => n.includes('publishing'))).toEqual([]);
  }, 60_000);

  it('a read-only file system: history add and publish name the path in one line (exit 2)', async () => {
    const ro = tmpfs('ro', 'size=64k,ro');
    const add = await bench('history', 'add', writeHistory(join(dir, 'runs3'), { runs: 1 })[0]!, '--db', join(ro, 'h.sqlite'));
    expect(add.code).toBe(2);
    oneLine(add.stderr);
    expect(add.stderr).toMatch(/ro.*read-only file system \(EROFS\)|ro.*cannot be (opened|written)/);
    const pub = await bench('publish', fixture, '--out', join(ro, 'site'));
    expect(pub.code).toBe(2);
    oneLine(pub.stderr);
    expect(pub.stderr).toContain('read-only file system (EROFS)');
    expect(existsSync(join(ro, 'site'))).toBe(false);
    // A results folder on it: the run folder cannot be made, said in one line naming the folder.
    expect(() => makeFolder(join(ro, 'results', 'suite', 'run'), 'the run folder')).toThrow(`cannot create the run folder ${join(ro, 'results', 'suite', 'run')}: `);
    expect(() => makeFolder(join(ro, 'results'), 'the run folder')).toThrow(/read-only file system \(EROFS\)/);
  }, 60_000);

  it('bench run onto a full disk stops in one line naming the file and what is kept; result.json holds every finished cell; resume completes it', async () => {
    // This test's own run lock: another run on the machine must not make it wait.
    const lockDir = process.env['BENCH_LOCK_DIR'];
    process.env['BENCH_LOCK_DIR'] = dir;
    try {
      // Room for the run folder and a cell or two's journal lines (about 20 KB each), not for all 4 cells.
      const disk = tmpfs('run-disk', 'size=56k');
      const r = await bench('run', '--suite', 'internvl-tiny', '--filter', 'images=0', '--out', join(disk, 'results'), '--iterations', '2', '--warmup', '0', '--no-calibrate');
      expect(r.code).toBe(2);
      oneLine(r.stderr.split('\n').filter((l) => l.startsWith('error:')).join('\n'));
      const m = r.stderr.match(/^error: bench run: (\S+): no space left on the device \(ENOSPC\); kept: (\d+) finished cell\(s\) in (\S+); .*resume with: bench run --resume (\S+)$/m);
      expect(m, r.stderr).not.toBeNull();
      const [, file, kept, runDir] = m!;
      expect(file!.startsWith(runDir!)).toBe(true);
      expect(Number(kept)).toBeGreaterThan(0);
      expect(Number(kept)).toBeLessThan(4);
      // Nothing measured is lost: result.json (with its journal) holds exactly the cells said kept.
      const result = readResult(join(runDir!, 'result.json'));
      expect(result.cells.length).toBe(Number(kept));
      expect(result.cells.every((c) => c.status === 'ok' && c.iterations.length === 2)).toBe(true);
      // With space again, the run is resumed and completed.
      execFileSync('mount', ['-o', 'remount,size=4m', disk]);
      const resumed = await bench('run', '--resume', runDir!);
      expect(resumed.code, resumed.stderr).toBe(0);
      const done = readResult(join(runDir!, 'result.json'));
      expect(done.status).toBe('complete');
      expect(done.cells).toHaveLength(4);
      expect(done.cells.slice(0, Number(kept)).map((c) => c.startedAt)).toEqual(result.cells.map((c) => c.startedAt));
    } finally {
      if (lockDir === undefined) delete process.env['BENCH_LOCK_DIR'];
      else process.env['BENCH_LOCK_DIR'] = lockDir;
    }
  }, 180_000);

  it('a full disk inside a publish worker process is one line naming the file written (exit 2), not a stack trace', async () => {
    const disk = tmpfs('worker-disk', 'size=200k');
    const site = join(disk, 'site');
    // Only worker processes write pages here (as with 64+ runs, where workers share the pages).
    const publishing = publishSite([fixture, fixture, fixture, fixture], site, DEFAULT_SITE_OPTIONS, { workers: 1, minRuns: 1, thisProcessWrites: false });
    const err = await publishing.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    const message = (err as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(new RegExp(`^publish: ${disk}/\\.site\\.publishing-[^:]+: no space left on the device \\(ENOSPC\\); no site written to ${site}$`));
    expect(readdirSync(disk)).toEqual([]);
  }, 60_000);

  it('a results folder path through a file names the file', () => {
    const file = join(dir, 'plain.txt');
    writeFileSync(file, 'x');
    expect(() => makeFolder(join(file, 'suite', 'run'), 'the run folder')).toThrow(`${file}: is a file, not a folder`);
  });
});

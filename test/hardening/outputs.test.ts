/**
 * No output overwrites an input (issue 26.2, 26.3, 26.11, 26.12 "--out naming a file"): publish,
 * history export/check/show, report and compare refuse an --out that is, contains or lies inside
 * an input or the database (exit 2, nothing written); a site is replaced whole or not at all.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { bench } from './cli-harness.ts';
import { writeHistory } from '../history/make-history.ts';
import { tempDir } from '../helpers/tmp.ts';

const fixture = join(import.meta.dirname, '../fixtures/reports/ort-tiny.result.json');
let dir: string;
let runs: string[];
let db: string;

beforeAll(async () => {
  dir = tempDir('bench-outputs-');
  runs = writeHistory(join(dir, 'runs'), { runs: 3 });
  db = join(dir, 'h.sqlite');
  expect((await bench('history', 'add', ...runs, '--db', db)).code).toBe(0);
}, 60_000);

const noStack = (s: string) => expect(s).not.toMatch(/\n\s+at /);

describe('history outputs never overwrite the database or the result', () => {
  it('export --out the database (or its WAL) is refused and the history still reads', async () => {
    for (const out of [db, `${db}-wal`]) {
      const r = await bench('history', 'export', '--db', db, '--out', out);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('the output is the input');
      noStack(r.stderr);
    }
    const rows = new Database(db, { readonly: true }).prepare('SELECT count(*) AS n FROM runs').get() as { n: number };
    expect(rows.n).toBe(3);
  });

  it('check --out the database or the checked result is refused', async () => {
    for (const out of [db, join(runs[2]!, 'result.json')]) {
      const before = readFileSync(out);
      const r = await bench('history', 'check', runs[2]!, '--db', db, '--out', out);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('the output is the input');
      expect(readFileSync(out).equals(before)).toBe(true);
    }
  });

  it('export --out a folder and show --out a file are refused in one line (exit 2)', async () => {
    const r = await bench('history', 'export', '--db', db, '--out', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a folder');
    const s = await bench('history', 'show', '--db', db, '--out', db);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('is a file, not a folder');
  });

  it('export to a file writes it whole (no temp file left beside it)', async () => {
    const out = join(dir, 'export', 'h.csv');
    const r = await bench('history', 'export', '--db', db, '--out', out);
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8').split('\n')[0]).toMatch(/^[a-z_]+,/);
    expect(readdirSync(join(dir, 'export'))).toEqual(['h.csv']);
  });
});

describe('compare and report outputs', () => {
  it('compare --out the base result is refused, the base unchanged', async () => {
    const base = join(runs[0]!, 'result.json');
    const before = readFileSync(base);
    const r = await bench('compare', runs[0]!, runs[1]!, '--out', base);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the output is the input');
    expect(readFileSync(base).equals(before)).toBe(true);
  });

  it('report --out a file is refused; a comparison whose comparison.md would be an input is refused', async () => {
    const r = await bench('report', runs[0]!, '--out', join(runs[0]!, 'result.json'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a file, not a folder');
    // A comparison writes comparison.md and charts/ in --out: an input of that name is refused.
    const cmp = join(dir, 'cmp');
    mkdirSync(cmp);
    writeFileSync(join(cmp, 'comparison.md'), readFileSync(join(runs[0]!, 'result.json')));
    const c = await bench('report', join(cmp, 'comparison.md'), runs[1]!, '--compare-by', 'target', '--out', cmp);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('the output is the input');
  });
});

describe('publish', () => {
  it('rebuilding a site from its own raw copy is refused and the copy is kept', async () => {
    const site = join(dir, 'site1');
    expect((await bench('publish', fixture, '--out', site)).code).toBe(0);
    const raw = readdirSync(join(site, 'runs')).find((f) => f.endsWith('.json'))!;
    const before = readFileSync(join(site, 'runs', raw));
    const r = await bench('publish', join(site, 'runs', raw), '--out', site);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the output contains the input');
    noStack(r.stderr);
    expect(readFileSync(join(site, 'runs', raw)).equals(before)).toBe(true);
    // --format md over the input is refused too.
    const md = await bench('publish', join(site, 'runs', raw), '--format', 'md', '--out', join(site, 'runs', raw));
    expect(md.code).toBe(2);
    expect(readFileSync(join(site, 'runs', raw)).equals(before)).toBe(true);
  }, 60_000);

  it('a failed publish leaves the old site whole; a folder that is not a site is refused, nothing removed', async () => {
    const site = join(dir, 'site2');
    expect((await bench('publish', fixture, '--out', site)).code).toBe(0);
    const index = readFileSync(join(site, 'index.html'));
    const bad = join(dir, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'result.json'), '{"schemaVersion": 1');
    const r = await bench('publish', fixture, bad, '--out', site);
    expect(r.code).toBe(2);
    expect(readFileSync(join(site, 'index.html')).equals(index)).toBe(true);
    expect(readdirSync(dir).filter((n) => n.includes('publishing'))).toEqual([]);

    const home = join(dir, 'home');
    mkdirSync(home);
    writeFileSync(join(home, 'notes.txt'), 'mine');
    const h = await bench('publish', fixture, '--out', home);
    expect(h.code).toBe(2);
    expect(h.stderr).toContain('notes.txt, which bench publish did not write');
    expect(readFileSync(join(home, 'notes.txt'), 'utf8')).toBe('mine');
    const f = await bench('publish', fixture, '--out', join(home, 'notes.txt'));
    expect(f.code).toBe(2);
    expect(f.stderr).toContain('is a file, not a folder');
  }, 60_000);

  it('an interrupted run (planned cells that never ran) is published, its missing cells marked "not run"', async () => {
    const run = JSON.parse(readFileSync(fixture, 'utf8')) as { status: string; cells: { id: string }[]; plannedCells: string[] };
    run.status = 'interrupted';
    const dropped = run.cells.splice(1, 2).map((c) => c.id);
    const folder = join(dir, 'interrupted');
    mkdirSync(folder);
    writeFileSync(join(folder, 'result.json'), JSON.stringify(run));
    const site = join(dir, 'site4');
    const r = await bench('publish', folder, '--out', site, '--rows', 'images,prefill,precision');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const index = readFileSync(join(site, 'index.html'), 'utf8');
    expect(dropped.length).toBe(2);
    expect(index.match(/not run/g)?.length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('a symbolic link among the inputs is read through: the site holds files, never links', async () => {
    const links = join(dir, 'links', 'run');
    mkdirSync(links, { recursive: true });
    symlinkSync(fixture, join(links, 'result.json'));
    const site = join(dir, 'site3');
    expect((await bench('publish', join(dir, 'links'), '--out', site)).code).toBe(0);
    for (const sub of ['', 'runs', 'assets']) {
      for (const name of readdirSync(join(site, sub))) {
        const st = lstatSync(join(site, sub, name));
        expect(st.isSymbolicLink(), `${sub}/${name}`).toBe(false);
      }
    }
    expect(existsSync(join(site, 'index.html'))).toBe(true);
  }, 60_000);
});

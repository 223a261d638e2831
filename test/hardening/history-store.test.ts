/**
 * The history holds complete runs, each once (issue 26.7), opens only its own databases (26.8,
 * 26.12 "runs but no meta") and refuses a damaged file (26.9). Real SQLite files throughout.
 */
import { openSync, readFileSync, writeFileSync, writeSync, closeSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random.ts';
import { makeRun, writeHistory } from '../history/make-history.ts';
import { bench } from './cli-harness.ts';
import { tempDir } from '../helpers/tmp.ts';

let dir: string;
beforeEach(() => {
  dir = tempDir('bench-hstore-');
});

function writeRun(name: string, mutate: (r: ReturnType<typeof makeRun>) => void, i = 0): string {
  const r = makeRun(i, { runs: 1 });
  mutate(r);
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(r));
  return file;
}

const tablesOf = (file: string) => (new Database(file, { readonly: true }).prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);

describe('only complete runs, each once', () => {
  it('a running or interrupted run is refused unless --allow-incomplete; nothing of a batch is added', async () => {
    const db = join(dir, 'h.sqlite');
    const good = writeRun('good', () => {}, 1);
    const running = writeRun('running', (r) => {
      r.status = 'running';
      r.cells = r.cells.slice(0, 2);
    });
    const r = await bench('history', 'add', good, running, '--db', db);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/run run-000 is running \(2 of \d+ cells\); the history stores complete runs only/);
    expect(statSync(db, { throwIfNoEntry: false })).toBeUndefined();
    const allowed = await bench('history', 'add', running, '--db', db, '--allow-incomplete');
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain('added');
  });

  it('the same run after --resume (same runId, new content) is not stored twice', async () => {
    const db = join(dir, 'h.sqlite');
    const first = writeRun('first', () => {});
    const resumed = writeRun('resumed', (r) => {
      r.finishedAt = '2026-11-02T00:00:00.000Z';
      r.warnings = [...r.warnings, 'resumed'];
    });
    expect((await bench('history', 'add', first, '--db', db)).code).toBe(0);
    const again = await bench('history', 'add', resumed, '--db', db);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already stored');
    const n = new Database(db, { readonly: true }).prepare('SELECT count(*) AS n FROM runs WHERE run_id = ?').get('run-000') as { n: number };
    expect(n.n).toBe(1);
  });
});

describe('only its own databases', () => {
  it("another program's SQLite file is left unchanged: journal mode, tables", async () => {
    const other = join(dir, 'other.sqlite');
    const db = new Database(other);
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)');
    db.close();
    const before = readFileSync(other);
    const list = await bench('history', 'list', '--db', other);
    expect(list.code).toBe(2);
    expect(list.stderr).toContain('not a bench history (no runs table); it was left unchanged');
    const add = await bench('history', 'add', writeRun('r', () => {}), '--db', other);
    expect(add.code).toBe(2);
    expect(readFileSync(other).equals(before)).toBe(true);
    expect(tablesOf(other)).toEqual(['notes']);
    expect((new Database(other, { readonly: true }).pragma('journal_mode', { simple: true }) as string).toLowerCase()).toBe('delete');
  });

  it('a file with a runs table but no meta is refused in one line', async () => {
    const half = join(dir, 'half.sqlite');
    const db = new Database(half);
    db.exec('CREATE TABLE runs (key INTEGER PRIMARY KEY)');
    db.close();
    for (const args of [['list'], ['show'], ['export']]) {
      const r = await bench('history', ...args, '--db', half);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`error: history database ${half}: an SQLite file, but not a bench history (no meta table); it was left unchanged\n`);
    }
  });

  it('a database with random bytes on four pages is refused (quick_check), never answered from', async () => {
    const db = join(dir, 'h.sqlite');
    const runs = writeHistory(join(dir, 'runs'), { runs: 4 });
    expect((await bench('history', 'add', ...runs, '--db', db)).code).toBe(0);
    const pageSize = 4096;
    const pages = statSync(db).size / pageSize;
    expect(pages).toBeGreaterThan(8);
    const rand = seededRandom(7);
    const fd = openSync(db, 'r+');
    for (const page of [2, 3, Math.floor(pages / 2), pages - 2]) {
      const junk = Buffer.from(Array.from({ length: pageSize }, () => Math.floor(rand() * 256)));
      writeSync(fd, junk, 0, pageSize, (page - 1) * pageSize);
    }
    closeSync(fd);
    for (const args of [['list'], ['add', runs[0]!], ['show'], ['export']]) {
      const r = await bench('history', ...args, '--db', db);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^error: history database .*h\.sqlite: (damaged \(SQLite quick_check: |cannot open it as SQLite)/);
      // One line, though SQLite's own report spans several.
      expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
    }
  });
});

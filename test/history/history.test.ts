import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.ts';
import { seededRandom } from '../../core/random.ts';
import { cellMetricValues } from '../../analysis/cell-values.ts';
import type { HistoryCheck } from '../../history/check.ts';
import { DEFAULT_EDIVISIVE, eDivisive } from '../../history/e-divisive.ts';
import { judgeSeries } from '../../history/check.ts';
import { median } from '../../core/stats.ts';
import { recordFromResult } from '../../history/record.ts';
import { HistoryStore } from '../../history/store.ts';
import { commitOf, makeRun, SLOW_CELL, writeHistory } from './make-history.ts';
import { tempDir } from '../helpers/tmp.ts';

let dir: string;
let stdout: string;
let stderr: string;

async function bench(...args: string[]): Promise<number> {
  stdout = '';
  stderr = '';
  process.exitCode = undefined;
  const code = await main(['node', 'bench', ...args]);
  process.exitCode = undefined;
  return code;
}

beforeEach(() => {
  dir = tempDir('bench-history-');
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  delete process.env['GITHUB_STEP_SUMMARY'];
  delete process.env['BENCH_HISTORY_DB'];
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

function normals(seed: number): () => number {
  const r = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
}

describe('E-divisive means', () => {
  it('finds a planted 6% step at its index and nothing in flat noise of the same spread (seeded)', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const z = normals(seed);
      const shifted = Array.from({ length: 50 }, (_, i) => 0.02 * z() + (i >= 30 ? Math.log(1.06) : 0));
      const found = eDivisive(shifted, { seed });
      expect(found.map((c) => c.index)).toEqual([30]);
      expect(found[0]!.pValue).toBeLessThanOrEqual(0.01);
      const flat = Array.from({ length: 50 }, () => 0.02 * z());
      expect(eDivisive(flat, { seed })).toEqual([]);
    }
  });

  it('finds two steps (up, then back down) and is reproducible with a seed', () => {
    const z = normals(9);
    const series = Array.from({ length: 60 }, (_, i) => 0.01 * z() + (i >= 20 && i < 40 ? 0.1 : 0));
    const a = eDivisive(series, { seed: 3 });
    expect(a.map((c) => c.index)).toEqual([20, 40]);
    expect(eDivisive(series, { seed: 3 })).toEqual(a);
  });
});

describe('judgeSeries', () => {
  const opts = { thresholdPct: 5, confidence: 0.99, stableRuns: 20, gateTwoRun: false, detector: { ...DEFAULT_EDIVISIVE } };
  const judge = (runs: number[][]) =>
    judgeSeries(
      {
        medians: runs.map((r) => median(r)!),
        direction: 'lower is better',
        candidate: { values: runs[runs.length - 1]! },
        samplesOf: (idx) => idx.flatMap((i) => runs[i]!),
      },
      opts,
    );
  const history = (n: number, shiftAt: number, seed: number) => {
    const z = normals(seed);
    return Array.from({ length: n }, (_, i) => Array.from({ length: 10 }, () => 100 * (i >= shiftAt ? 1.15 : 1) * Math.exp(0.02 * z())));
  };

  it('marks a change only min-size runs old as "or later", and names its size, window and two-run test', () => {
    const fresh = judge(history(24, 20, 11));
    expect(fresh.changes.map((c) => [c.index, c.mayBeLater, c.regression])).toEqual([[20, true, true]]);
    // The newest run is at the new level: its stable window is the runs before it at that level.
    expect(fresh.stable).toEqual([20, 23]);
    const settled = judge(history(30, 20, 11));
    expect(settled.changes.map((c) => [c.index, c.mayBeLater])).toEqual([[20, false]]);
    expect(settled.changes[0]!.changePct).toBeGreaterThan(12);
    expect(settled.changes[0]!.changePct).toBeLessThan(18);
    expect(settled.twoRun.verdict).toBe('no significant change');
    // One run after the change: too early for a change point, the two-run test sees it.
    const first = judge(history(21, 20, 11));
    expect(first.changes).toEqual([]);
    expect(first.stable).toEqual([0, 20]);
    expect(first.twoRun.regression).toBe(true);
    expect(first.regression).toBe(false);
  });
});

describe('history store', () => {
  it('stores a run once (content hash), with every iteration value and its provenance', async () => {
    const db = join(dir, 'h.sqlite');
    const [run] = writeHistory(dir, { runs: 1 });
    expect(await bench('history', 'add', run!, '--db', db, '--board', 'orin-01', '--commit-date', '2026-11-20T08:00:00Z')).toBe(0);
    expect(stdout).toContain('added');
    expect(await bench('history', 'add', run!, '--db', db, '--board', 'orin-01')).toBe(0);
    expect(stdout).toContain('already stored');

    const result = makeRun(0, { runs: 1 });
    const expected = recordFromResult(result).cells.reduce((s, c) => s + [...c.metrics.values()].reduce((t, m) => t + m.values.length, 0), 0);
    const sql = new Database(db, { readonly: true });
    expect(sql.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({ n: 1 });
    expect(sql.prepare('SELECT count(*) AS n FROM samples').get()).toEqual({ n: expected });
    const row = sql.prepare('SELECT board, git_commit, commit_date, commit_date_source, runner, runtime, precisions FROM runs').get();
    expect(row).toEqual({
      board: 'orin-01',
      git_commit: commitOf(0),
      commit_date: '2026-11-20T08:00:00.000Z',
      commit_date_source: 'option',
      runner: 'ort',
      runtime: 'onnxruntime-node 1.30.0',
      precisions: 'w8a16,w4a16',
    });
    // The stored ttft values of the slow cell are the values recomputed from its events.
    const cell = result.cells.find((c) => c.id === SLOW_CELL)!;
    const stored = sql
      .prepare(`SELECT v.value AS value FROM samples v JOIN series s ON s.id = v.series WHERE s.cell_id = ? AND s.metric = 'ttft_ms' ORDER BY v.iteration`)
      .all(SLOW_CELL) as Array<{ value: number }>;
    expect(stored.map((r) => r.value)).toEqual(cellMetricValues(cell, ['ttft_ms']).get('ttft_ms')!.values);
    sql.close();
  });

  it('two processes adding to one file at once both land, nothing corrupted', async () => {
    const db = join(dir, 'shared.sqlite');
    const runs = writeHistory(dir, { runs: 12 });
    const bin = resolve('bin/bench.mjs');
    const job = (paths: string[]) =>
      new Promise<{ code: number | null; err: string }>((done) => {
        const child = spawn(process.execPath, [bin, 'history', 'add', ...paths, '--db', db], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('close', (code) => done({ code, err }));
      });
    // Interleaved halves, plus one run both jobs add: it must be stored once.
    const [a, b] = await Promise.all([job([...runs.filter((_, i) => i % 2 === 0), runs[1]!]), job(runs.filter((_, i) => i % 2 === 1))]);
    expect(a.code, a.err).toBe(0);
    expect(b.code, b.err).toBe(0);
    const sql = new Database(db, { readonly: true });
    expect(sql.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(sql.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({ n: 12 });
    expect(sql.prepare('SELECT count(DISTINCT run) AS n FROM points').get()).toEqual({ n: 12 });
    expect(sql.pragma('journal_mode', { simple: true })).toBe('wal');
    sql.close();
  }, 180_000);

  it('exports every value as CSV and every run as JSON', async () => {
    const db = join(dir, 'h.sqlite');
    const runs = writeHistory(dir, { runs: 2 });
    expect(await bench('history', 'add', ...runs, '--db', db)).toBe(0);
    const csvFile = join(dir, 'out.csv');
    expect(await bench('history', 'export', '--db', db, '--out', csvFile)).toBe(0);
    const lines = readFileSync(csvFile, 'utf8').trim().split('\n');
    const header = lines[0]!.split(',');
    expect(header).toEqual(['run_id', 'content_id', 'suite', 'board', 'target', 'host', 'runner', 'runtime', 'model_hash', 'precisions', 'power_mode', 'git_commit', 'commit_date', 'started_at', 'cell_id', 'ran_on', 'metric', 'unit', 'iteration', 'value']);
    const records = [0, 1].map((i) => recordFromResult(makeRun(i, { runs: 2 })));
    const total = records.reduce((s, r) => s + r.cells.reduce((t, c) => t + [...c.metrics.values()].reduce((u, m) => u + m.values.length, 0), 0), 0);
    expect(lines.length - 1).toBe(total);
    // Cell ids hold commas: quoted. Check one value field by field.
    const want = records[1]!.cells.find((c) => c.cellId === SLOW_CELL)!.metrics.get('prefill_ms')!.values[3]!;
    const line = lines.find((l) => l.startsWith('run-001,') && l.includes(`"${SLOW_CELL}",,prefill_ms,ms,3,`))!;
    expect(Number(line.split(',').pop())).toBe(want);

    expect(await bench('history', 'export', '--db', db, '--format', 'json')).toBe(0);
    const doc = JSON.parse(stdout) as { format: string; runs: Array<{ runId: string; gitCommit: string; cells: Array<{ cellId: string; metrics: Record<string, { values: number[]; median: number }> }> }> };
    expect(doc.format).toBe('vlm-edge-bench/history-export@1');
    expect(doc.runs.map((r) => r.runId)).toEqual(['run-000', 'run-001']);
    expect(doc.runs[1]!.gitCommit).toBe(commitOf(1));
    expect(doc.runs[1]!.cells.find((c) => c.cellId === SLOW_CELL)!.metrics['prefill_ms']!.values[3]).toBe(want);
  });
});

describe('bench history check / accept', () => {
  it('flags an unaccepted slowdown at the commit where it began (exit 1), clears it once accepted (exit 0)', async () => {
    const db = join(dir, 'h.sqlite');
    const runs = writeHistory(dir, { runs: 24, shiftAt: 16, factor: 1.15 });
    expect(await bench('history', 'add', ...runs.slice(0, 23), '--db', db)).toBe(0);
    const summary = join(dir, 'summary.md');
    writeFileSync(summary, '');
    process.env['GITHUB_STEP_SUMMARY'] = summary;
    // The newest run is checked without being stored.
    expect(await bench('history', 'check', runs[23]!, '--db', db, '--format', 'json')).toBe(1);
    const check = JSON.parse(stdout) as HistoryCheck;
    expect(check.candidate.stored).toBe(false);
    const slow = check.rows.filter((r) => r.cellId === SLOW_CELL);
    expect(slow.map((r) => r.metric)).toEqual(['image_encode_ms', 'prefill_ms', 'ttft_ms', 'decode_tokens_per_s']);
    expect(slow.map((r) => r.status)).toEqual(['regression', 'regression', 'regression', 'regression']);
    for (const r of slow) {
      expect(r.changes).toHaveLength(1);
      expect(r.changes[0]!.commit).toBe(commitOf(16));
      // 15% slower: times up by about 15%, tokens/s down by about 13%.
      const worse = r.direction === 'lower is better' ? r.changes[0]!.changePct : -r.changes[0]!.changePct / (1 + r.changes[0]!.changePct / 100);
      expect(worse).toBeGreaterThan(10);
      expect(worse).toBeLessThan(20);
      expect(r.changes[0]!.runsSince).toBe(8);
      expect(r.changes[0]!.mayBeLater).toBe(false);
    }
    // Other cells did not change.
    expect(check.rows.filter((r) => r.cellId !== SLOW_CELL).every((r) => r.status === 'ok')).toBe(true);
    expect(check.regressedCells).toEqual([SLOW_CELL]);
    expect(stderr).toContain('history check: FAIL: 4 regressions in 1 cell');
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('## History check: internvl-board on orin-01');
    expect(md).toContain(`\`${commitOf(16).slice(0, 12)}\``);

    expect(await bench('history', 'accept', '--db', db, '--cell', SLOW_CELL, '--commit', commitOf(16).slice(0, 10), '--note', 'expected: larger vision tile')).toBe(0);
    // Every metric of the cell that has a run of that commit (all stored metrics, not only the checked ones).
    expect(stdout.match(/^accepted /gm)?.length).toBeGreaterThanOrEqual(4);
    expect(await bench('history', 'check', runs[23]!, '--db', db, '--format', 'junit')).toBe(0);
    expect(stdout).toContain('failures="0"');
    expect(stderr).toContain('history check: pass');
  });

  it('show writes the trend table and a chart per series, with the change and, once accepted, its mark', async () => {
    const db = join(dir, 'h.sqlite');
    const runs = writeHistory(dir, { runs: 20, shiftAt: 12, factor: 1.2 });
    expect(await bench('history', 'add', ...runs, '--db', db)).toBe(0);
    // The newest run is stored: check reads it from the database.
    expect(await bench('history', 'check', runs[19]!, '--db', db, '--format', 'json', '--metric', 'ttft_ms')).toBe(1);
    expect((JSON.parse(stdout) as HistoryCheck).candidate.stored).toBe(true);
    const out = join(dir, 'show');
    expect(await bench('history', 'show', '--db', db, '--metric', 'ttft_ms', '--out', out)).toBe(0);
    const md = readFileSync(join(out, 'trend.md'), 'utf8');
    const slowRow = md.split('\n').find((l) => l.startsWith(`| ${SLOW_CELL} `))!;
    expect(slowRow).toMatch(new RegExp(`\\+(1[5-9]|2[0-5])\\.\\d% at \`${commitOf(12).slice(0, 8)}\` \\(\\*\\*not accepted\\*\\*\\)`));
    expect(md.split('\n').filter((l) => l.startsWith('| images=') && /\| none +\|$/.test(l))).toHaveLength(3);
    const charts = md.match(/!\[[^\]]+\]\(charts\/[^)]+\.png\)/g) ?? [];
    expect(charts).toHaveLength(4);
    const png = readFileSync(join(out, 'charts', charts[1]!.replace(/^.*\(charts\//, '').replace(/\)$/, '')));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(await bench('history', 'accept', '--db', db, '--cell', SLOW_CELL, '--metric', 'ttft_ms', '--commit', commitOf(12))).toBe(0);
    expect(stdout.match(/^accepted /gm)).toHaveLength(1);
    expect(await bench('history', 'show', '--db', db, '--metric', 'ttft_ms')).toBe(0);
    expect(stdout).toContain(`at \`${commitOf(12).slice(0, 8)}\` (accepted)`);
    expect(await bench('history', 'check', runs[19]!, '--db', db, '--metric', 'ttft_ms')).toBe(0);
  });

  it('passes a flat history (exit 0), Markdown and JUnit name each series', async () => {
    const db = join(dir, 'h.sqlite');
    const runs = writeHistory(dir, { runs: 16, seed: 4 });
    expect(await bench('history', 'add', ...runs, '--db', db)).toBe(0);
    expect(await bench('history', 'check', runs[15]!, '--db', db)).toBe(0);
    expect(stdout).toContain('**pass: no unaccepted regression beyond 5%');
    expect(stdout).toContain('### ttft_ms (ms, lower is better)');
    expect(stdout).not.toContain('Changes not yet accepted');
    expect(await bench('history', 'check', runs[15]!, '--db', db, '--format', 'junit')).toBe(0);
    expect(stdout.match(/<testcase /g)).toHaveLength(14);
  });

  it('fails the gate on a cell that was ok in the run before and fails now', async () => {
    const db = join(dir, 'h.sqlite');
    const runs = writeHistory(dir, { runs: 10, seed: 6 });
    expect(await bench('history', 'add', ...runs, '--db', db)).toBe(0);
    const broken = makeRun(10, { runs: 11, seed: 6 });
    const cell = broken.cells.find((c) => c.id === SLOW_CELL)!;
    cell.status = 'failed';
    cell.error = 'vision encoder: out of CMM memory';
    const file = join(dir, 'broken.json');
    writeFileSync(file, JSON.stringify(broken));
    expect(await bench('history', 'check', file, '--db', db, '--format', 'junit')).toBe(1);
    expect(stdout).toContain(`name="${SLOW_CELL}" time="0">\n      <error type="cell failed" message="newly failing: vision encoder: out of CMM memory"/>`);
    expect(stderr).toContain('history check: FAIL: 1 cell newly failing');
  });

  it('bad input exits 2 with a message naming the problem', async () => {
    const db = join(dir, 'h.sqlite');
    const notResult = join(dir, 'x.json');
    writeFileSync(notResult, '{"hello": 1}');
    const runs = writeHistory(dir, { runs: 2 });
    expect(await bench('history', 'add', notResult, '--db', db)).toBe(2);
    expect(stderr).toContain('x.json');
    expect(stderr).not.toContain('    at ');
    expect(await bench('history', 'check', runs[0]!, '--db', join(dir, 'missing.sqlite'))).toBe(2);
    expect(stderr).toContain('missing.sqlite: no such file');
    expect(await bench('history', 'list', '--db', join(dir, 'missing.sqlite'))).toBe(2);
    // A history with only the run itself: nothing to judge against.
    expect(await bench('history', 'add', runs[0]!, '--db', db)).toBe(0);
    expect(await bench('history', 'check', runs[0]!, '--db', db)).toBe(2);
    expect(stderr).toContain('no other run of suite "internvl-board" on board "orin-01"');
    expect(await bench('history', 'accept', '--db', db, '--commit', 'deadbeef')).toBe(2);
    expect(stderr).toContain('--commit deadbeef: no stored run of that commit');
    const garbage = join(dir, 'garbage.sqlite');
    writeFileSync(garbage, 'not a database at all, just text'.repeat(100));
    expect(await bench('history', 'list', '--db', garbage)).toBe(2);
    expect(stderr).toContain('garbage.sqlite');
    const other = join(dir, 'other.sqlite');
    const o = new Database(other);
    o.exec('CREATE TABLE t (x)');
    o.close();
    expect(await bench('history', 'check', runs[1]!, '--db', other)).toBe(2);
    expect(stderr).toContain('other.sqlite: an SQLite file, but not a bench history');
  });

  it('reads the database from BENCH_HISTORY_DB', async () => {
    const db = join(dir, 'env.sqlite');
    process.env['BENCH_HISTORY_DB'] = db;
    const runs = writeHistory(dir, { runs: 1 });
    expect(await bench('history', 'add', runs[0]!)).toBe(0);
    const store = HistoryStore.open(db, { create: false });
    expect(store.runs()).toHaveLength(1);
    store.close();
    delete process.env['BENCH_HISTORY_DB'];
  });
});

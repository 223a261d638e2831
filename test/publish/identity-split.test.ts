/**
 * The published tables never put two configuration identities in one figure: runs of one suite
 * at another model scale or thread count get rows of their own (scale, threads), and "(+N
 * older)" counts only older runs of the same configuration. Runs are the stored ort-tiny result
 * edited as another run of it would differ.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../core/result-types.ts';
import { DEFAULT_SITE_OPTIONS, siteIndex, type PublishedRun } from '../../publish/site-model.ts';

const fixture = join(import.meta.dirname, '../fixtures/reports/ort-tiny.result.json');

function run(runId: string, day: number, edit: (r: RunResult) => void = () => {}): PublishedRun {
  const result = JSON.parse(readFileSync(fixture, 'utf8')) as RunResult;
  result.runId = runId;
  result.startedAt = `2026-12-0${day}T10:00:00.000Z`;
  edit(result);
  return { result, file: `${runId}.json`, slug: runId };
}

const ttftTable = (runs: PublishedRun[]) => {
  const { report, grid } = siteIndex(runs, DEFAULT_SITE_OPTIONS);
  const t = report.sections.find((s) => s.id === 'compare-ttft_ms')!.tables[0]!;
  return { t, grid, report, header: t.columns.map((c) => c.header) };
};

const CELL = 'images=1,prefill=16,precision=fp32';

describe('published tables split on configuration identity', () => {
  it('counts an identical older run as "(+1 older)" in the same figure', () => {
    const { t, grid, report } = ttftTable([run('a', 2), run('b', 3)]);
    expect(grid.rowDims).toEqual(DEFAULT_SITE_OPTIONS.rows);
    expect(t.rows).toHaveLength(6);
    expect(t.rows.flat().filter((c) => c.text.endsWith('(+1 older)'))).toHaveLength(6);
    // The page states what every figure shares.
    expect(report.facts.find((f) => f.startsWith('Every figure shares:'))).toMatch(/scale tiny; .*threads 2; /);
  });

  it('gives runs with 1 and 2 threads rows of their own, never one figure "(+1 older)"', () => {
    const oneThread = run('one-thread', 3, (r) => {
      for (const c of r.cells) c.settings['intraOpNumThreads'] = 1;
    });
    const { t, grid, header } = ttftTable([run('two-threads', 2), oneThread]);
    expect(grid.rowDims).toEqual([...DEFAULT_SITE_OPTIONS.rows, 'threads']);
    expect(t.rows).toHaveLength(12);
    expect(t.rows.flat().some((c) => c.text.includes('older'))).toBe(false);
    const threads = header.indexOf('threads');
    const tiny = (JSON.parse(readFileSync(fixture, 'utf8')) as RunResult).cells.find((c) => c.id === CELL)!;
    const rowsOf = (n: string) => t.rows.filter((r) => r[0]!.text === 'internvl2_5-1b' && r[1]!.text === 'fp32' && r[2]!.text === '1' && r[threads]!.text === n);
    // Each row's figure is its own run's (the fixture's median, linked to that run's page).
    for (const [n, slug] of [['1', 'one-thread'], ['2', 'two-threads']]) {
      const [row] = rowsOf(n!);
      expect(row![threads + 1]!.value).toBe(tiny.metrics['ttft_ms']!.median);
      expect(row![threads + 1]!.link).toBe(`runs/${slug}.html#cell-${encodeURIComponent(CELL)}`);
    }
  });

  it('keeps a tiny-scale build apart from a full-scale one of the same model', () => {
    const full = run('full', 3, (r) => {
      for (const c of r.cells) {
        c.model = { ...c.model!, scale: 'full', hashes: { build: 'f'.repeat(64) } };
        c.metrics['ttft_ms'] = { ...c.metrics['ttft_ms']!, median: 9999 };
      }
    });
    const { t, grid, header } = ttftTable([run('tiny', 2), full]);
    expect(grid.rowDims).toContain('scale');
    const scale = header.indexOf('scale');
    const figure = header.indexOf('AMD EPYC · ort 1.30.0');
    const fullRows = t.rows.filter((r) => r[scale]!.text === 'full');
    const tinyRows = t.rows.filter((r) => r[scale]!.text === 'tiny');
    expect(fullRows).toHaveLength(6);
    expect(tinyRows).toHaveLength(6);
    expect(new Set(fullRows.map((r) => r[figure]!.value))).toEqual(new Set([9999]));
    expect(tinyRows.some((r) => r[figure]!.value === 9999)).toBe(false);
  });

  it('splits runs of another suite, and of another runtime version when the columns do not show it, instead of "(+1 older)"', () => {
    const renamed = run('renamed', 3, (r) => {
      r.suite.name = 'ort-tiny-copy';
    });
    let { t, grid, header } = ttftTable([run('base', 2), renamed]);
    expect(grid.rowDims).toEqual([...DEFAULT_SITE_OPTIONS.rows, 'suite']);
    expect(t.rows).toHaveLength(12);
    expect(t.rows.flat().some((c) => c.text.includes('older'))).toBe(false);
    const suite = header.indexOf('suite');
    expect(new Set(t.rows.map((r) => r[suite]!.text))).toEqual(new Set(['internvl-tiny', 'ort-tiny-copy']));

    // The default columns name the runtime with its version: two columns, no new row dimension.
    const newer = run('newer-runtime', 3, (r) => {
      r.environment.versions['onnxruntime-node'] = '1.31.0';
    });
    ({ t, grid, header } = ttftTable([run('base', 2), newer]));
    expect(grid.rowDims).toEqual(DEFAULT_SITE_OPTIONS.rows);
    expect(header).toEqual(expect.arrayContaining(['AMD EPYC · ort 1.30.0', 'AMD EPYC · ort 1.31.0']));
    // Columns of the board alone: the runtime becomes a row dimension.
    const byBoard = siteIndex([run('base', 2), newer], { ...DEFAULT_SITE_OPTIONS, columns: ['board'] });
    expect(byBoard.grid.rowDims).toEqual([...DEFAULT_SITE_OPTIONS.rows, 'backend']);
    const table = byBoard.report.sections.find((s) => s.id === 'compare-ttft_ms')!.tables[0]!;
    expect(table.rows).toHaveLength(12);
    expect(table.rows.flat().some((c) => c.text.includes('older'))).toBe(false);
  });

  it('keeps two runtimes of one board in separate trend series', () => {
    const runs = [run('a', 2), run('b', 3), run('c', 4, (r) => (r.environment.versions['onnxruntime-node'] = '1.31.0')), run('d', 5, (r) => (r.environment.versions['onnxruntime-node'] = '1.31.0'))];
    // The default columns (board, backend): the trend's series are per board, so the runtime must key them too.
    const { report } = siteIndex(runs, DEFAULT_SITE_OPTIONS);
    const trend = report.sections.find((s) => s.id.startsWith('trend'));
    expect(trend, report.sections.map((s) => s.id).join()).toBeDefined();
    // One series (the workload the board ran most): its points are all of one runtime.
    const rows = trend!.tables[0]!.rows;
    const workloads = new Set(rows.map((r) => r[1]!.text));
    expect(workloads.size).toBe(1);
    expect(rows).toHaveLength(2);
    expect([...workloads][0]).toContain('ort 1.');
  });
});

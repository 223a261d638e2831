import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import { fmt } from '../../reporters/format.ts';
import { comparisonChart, comparisonTables } from '../../reporters/compare/table.ts';
import { buildComparisonGrid } from '../../reporters/compare/table-grid.ts';
import { writeComparisonReport } from '../../reporters/compare/write-comparison-report.ts';
import { boardCells, makeResult } from './make-result.ts';
import { tempDir } from '../helpers/tmp.ts';

const jetson = makeResult({
  seed: 301,
  cells: boardCells(),
  target: 'orin',
  runId: 'run-orin',
  board: { nvpmodel: 'MAXN', l4t: '36.4.0' },
  versions: { node: '20.19.0', 'onnxruntime-node': '1.30.0' },
});
const ax650 = makeResult({
  seed: 302,
  cells: boardCells().map((c) => ({ ...c, factor: 0.5 })),
  target: 'ax650',
  runId: 'run-ax650',
  hostname: 'ax650-01',
  cpu: 'Cortex-A55',
  threads: 8,
  versions: { node: '20.19.0', 'onnxruntime-node': '1.30.0' },
  throttledCells: ['images=1,prefill=128,precision=w4a16'],
});

function row(md: string, section: string, key: string): string[] {
  const part = md.slice(md.indexOf(`### ${section}`));
  const line = part.split('\n').find((l) => l.startsWith(`| ${key} `))!;
  return line.split('|').slice(1, -1).map((s) => s.trim());
}

describe('published comparison tables', () => {
  it('puts each target in a column, medians in the cells, and says what differs besides the target', () => {
    const md = comparisonTables([jetson, ax650], 'target');
    const median = (r: typeof jetson, id: string, m: string) => fmt(r.cells.find((c) => c.id === id)!.metrics[m]!.median);
    const id = 'images=1,prefill=128,precision=w8a16';
    expect(row(md, 'ttft_ms', id)).toEqual([id, median(jetson, id, 'ttft_ms'), median(ax650, id, 'ttft_ms')]);
    expect(row(md, 'decode_tokens_per_s', id)).toEqual([id, median(jetson, id, 'decode_tokens_per_s'), median(ax650, id, 'decode_tokens_per_s')]);
    // Text-only cells have no image encoding: the image_encode_ms table lists only image cells.
    expect(md.slice(md.indexOf('### image_encode_ms'), md.indexOf('### prefill_ms'))).not.toContain('images=0');
    const thr = 'images=1,prefill=128,precision=w4a16';
    expect(row(md, 'prefill_ms', thr)[2]).toBe(`${median(ax650, thr, 'prefill_ms')} (throttled)`);
    // Header notes: what differs between the columns other than the target itself.
    expect(md).toMatch(/\| host name\s+\| orin-01\s+\| ax650-01\s+\|/);
    expect(md).toMatch(/\| CPU\s+\| ARMv8 Cortex-A78AE\s+\| Cortex-A55\s+\|/);
    expect(md).toMatch(/\| thread count \(options\.threads\)\s+\| 4\s+\| 8\s+\|/);
    expect(md).toMatch(/\| board nvpmodel\s+\| MAXN\s+\| \(not recorded\)\s+\|/);
    expect(md).not.toMatch(/\| onnxruntime-node version/);
    expect(md).not.toMatch(/\| target\s+\|/);
    expect(md).toContain('**SYNTHETIC WEIGHTS** in every column');
    expect(md).toContain('"(throttled)": the run flagged that cell');
  });

  it('compares precisions within one run: rows drop the precision axis', () => {
    const md = comparisonTables([jetson], 'precision');
    const w8 = jetson.cells.find((c) => c.id === 'images=0,prefill=128,precision=w8a16')!;
    const w4 = jetson.cells.find((c) => c.id === 'images=0,prefill=128,precision=w4a16')!;
    expect(row(md, 'tpot_ms', 'images=0,prefill=128')).toEqual(['images=0,prefill=128', fmt(w8.metrics['tpot_ms']!.median), fmt(w4.metrics['tpot_ms']!.median)]);
    expect(md).toMatch(/\| Cell\s+\| w8a16 \| w4a16 \|/);
    expect(md).toContain('The columns share one environment');
  });

  it('compares backends and keeps the target in the row when runs differ in target', () => {
    const grid = buildComparisonGrid([jetson, ax650], 'backend');
    expect(grid.columns).toEqual(['ort/cpu']);
    expect(grid.rows[0]!.key).toBe('target=orin,images=0,prefill=128,precision=w8a16');
    expect(grid.rows).toHaveLength(8);
  });

  it('never lets two runs share a table entry silently', () => {
    // Two runs of one target on one host: told apart by run id, in the rows when precision is compared.
    const again = makeResult({ seed: 303, cells: boardCells(), target: 'orin', runId: 'run-orin-2' });
    const grid = buildComparisonGrid([jetson, again], 'precision');
    expect(grid.rows.map((r) => r.key).slice(0, 3)).toEqual([
      'target=orin (run-orin),images=0,prefill=128',
      'target=orin (run-orin),images=1,prefill=128',
      'target=orin (run-orin-2),images=0,prefill=128',
    ]);
    // The same result passed twice cannot be told apart at all.
    expect(() => buildComparisonGrid([jetson, jetson], 'precision')).toThrow(new InputError('run run-orin (suite internvl-board) is given twice'));
    // Same target on two hosts: the columns are told apart by host.
    const other = makeResult({ seed: 304, cells: boardCells(), target: 'orin', hostname: 'orin-02' });
    expect(buildComparisonGrid([jetson, other], 'target').columns).toEqual(['orin (orin-01)', 'orin (orin-02)']);
  });

  it('builds a grouped bar chart and writes comparison.md with PNG charts', async () => {
    const grid = buildComparisonGrid([jetson, ax650], 'target');
    const chart = comparisonChart([jetson, ax650], grid, 'ttft_ms');
    expect(chart.type).toBe('bar');
    expect(chart.data.labels).toEqual(grid.rows.map((r) => r.key));
    expect(chart.data.datasets.map((d) => d.label)).toEqual(['orin', 'ax650']);
    expect(chart.data.datasets[1]!.data[0]).toBe(ax650.cells[0]!.metrics['ttft_ms']!.median);

    const out = tempDir('bench-table-');
    const written = await writeComparisonReport([jetson, ax650], 'target', out);
    expect(written.markdownFile).toBe(join(out, 'comparison.md'));
    expect(written.charts.map((f) => f.split('/').pop())).toEqual([
      'compare-target-image_encode_ms.png',
      'compare-target-prefill_ms.png',
      'compare-target-ttft_ms.png',
      'compare-target-tpot_ms.png',
      'compare-target-decode_tokens_per_s.png',
    ]);
    const png = readFileSync(written.charts[0]!);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.readUInt32BE(16)).toBe(960);
    const md = readFileSync(written.markdownFile, 'utf8');
    expect(md).toContain('# Comparison by target: internvl-board');
    expect(md).toContain('![ttft_ms by target](charts/compare-target-ttft_ms.png)');
  });

  it('escapes result strings in the tables: a hostile target name stays text, one cell wide', () => {
    const hostile = makeResult({ seed: 303, cells: boardCells(), target: '<img src=x onerror=alert(1)>|[x](javascript:alert(1))', runId: 'run-hostile', hostname: 'h' });
    const md = comparisonTables([jetson, hostile], 'target');
    // Escaped (\\<img, \\]( ), never raw: nothing a Markdown renderer turns into HTML or a link.
    expect(md).not.toMatch(/(?<!\\)<img/);
    expect(md).not.toMatch(/(?<!\\)\]\(javascript:/);
    expect(md).toContain('\\<img src=x onerror=alert(1)>');
    // Every row of the first table has as many cells as its header: the pipe in the name is escaped.
    const table = md.split('\n').filter((l) => l.startsWith('|'));
    const width = (l: string) => l.split(/(?<!\\)\|/).length;
    for (const l of table.slice(0, 3)) expect(width(l)).toBe(width(table[0]!));
  });
});

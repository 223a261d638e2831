/**
 * Reports stay bounded and say what they leave out: long tables are paged in report.md with the
 * whole table as CSV, charts show a bounded number of cells; and the run's noise flags and
 * intervals of the median reach every table.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticResult } from '../../bench/report-scale.ts';
import { buildReport, MAX_TABLE_ROWS, summaryTables, statisticsTable } from '../../reporters/build-report.ts';
import { MAX_CHART_CELLS } from '../../reporters/report-charts.ts';
import { renderMarkdown, renderTable } from '../../reporters/render/markdown.ts';
import { allCharts } from '../../reporters/report-model.ts';
import { writeReport } from '../../reporters/write-report.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('report bounds', () => {
  it('pages long tables in report.md, writes them whole as CSV, and bounds every chart', async () => {
    const result = syntheticResult(400);
    const report = buildReport(result);
    const stats = report.sections.find((s) => s.id === 'statistics')!.tables[0]!;
    const ok = result.cells.filter((c) => c.status === 'ok');
    const expectedRows = ok.reduce((n, c) => n + Object.keys(c.metrics).length, 0);
    expect(stats.rows).toHaveLength(expectedRows);
    expect(expectedRows).toBeGreaterThan(MAX_TABLE_ROWS);
    const md = renderMarkdown(report);
    expect(md).toContain(`_${MAX_TABLE_ROWS} of ${expectedRows} rows shown; all rows in tables/statistics.csv._`);
    for (const spec of allCharts(report)) {
      expect(spec.height).toBeGreaterThan(0);
      expect(spec.height).toBeLessThanOrEqual(120 + MAX_CHART_CELLS * 60 + 20);
    }
    const sub = allCharts(report).find((c) => c.id === 'subgraph-time-per-request')!;
    expect((sub.config.data.labels as string[]).length).toBe(MAX_CHART_CELLS);
    const dir = tempDir('report-bounds-');
    const written = await writeReport(result, dir);
    const csv = readFileSync(join(dir, 'tables', 'statistics.csv'), 'utf8').trim().split('\r\n');
    expect(csv).toHaveLength(expectedRows + 1);
    expect(written.tables.map((f) => f.split('/').pop()).sort()).toEqual(['statistics.csv', 'subgraphs.csv']);
    for (const file of written.charts) expect(readFileSync(file).readUInt32BE(20)).toBeGreaterThanOrEqual(200); // PNG height
  }, 120_000);

  it('marks flagged figures and prints the interval of the median when the result has it', () => {
    const result = syntheticResult(4);
    const cell = result.cells.find((c) => c.status === 'ok' && c.params['images'] === 1)!;
    const ttft = cell.metrics['ttft_ms']! as typeof cell.metrics['ttft_ms'] & { flags?: string[]; ciMedian?: [number, number] };
    ttft.flags = ['noisy: CV 31% over 3 iterations'];
    ttft.ciMedian = [-5, ttft.median * 2];
    ttft.ci95 = [-1.627, 9.813];
    const summary = summaryTables(result).map(renderTable).join('\n');
    expect(summary).toMatch(new RegExp(`${ttft.median.toFixed(1)} ms ~noisy ~few`));
    const stats = renderTable(statisticsTable(result));
    const row = stats.split('\n').find((l) => l.includes(cell.id) && l.includes('| ttft_ms'))!;
    // The median's interval, cut at 0: a time cannot be negative.
    expect(row).toContain(`[0.000–${(ttft.median * 2).toFixed(1)}] |`);
    // n = 3 is too few for an interval of the median: the figure says so with its marker.
    expect(row).toContain(`${ttft.median.toFixed(1)} ~noisy ~few |`);
    expect(stats).not.toMatch(/\| -\d/);
    const md = renderMarkdown(buildReport(result));
    expect(md).toMatch(/## Noise and flags[\s\S]*- noisy: CV 31% over 3 iterations: 1 figure\(s\) \(images=1/);
    // A flag recorded as { kind, reason } reads the same way.
    (ttft as { flags?: unknown }).flags = [{ kind: 'busy', reason: 'load average 7.9 on 2 CPUs' }];
    expect(renderTable(summaryTables(result)[0]!)).toMatch(/ ~busy/);
    expect(renderMarkdown(buildReport(result))).toContain('- busy: load average 7.9 on 2 CPUs: 1 figure(s)');
  });
});

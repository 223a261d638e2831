import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../../core/result-types.ts';
import { renderChart } from '../render/png.ts';
import { TABLE_METRICS } from '../../core/metric-registry.ts';
import { comparisonChart, comparisonTables } from './table.ts';
import { buildComparisonGrid, type CompareBy } from './table-grid.ts';

/** Groups per chart: beyond this a grouped bar chart stops being readable, so charts are paged. */
const ROWS_PER_CHART = 40;
/** Pages per metric: a comparison of thousands of cells gets the first pages and a note, not thousands of images. */
const MAX_PAGES = 5;

/**
 * `bench report RESULT... --compare-by X --out DIR`: writes DIR/comparison.md (the published
 * tables) and DIR/charts/compare-<axis>-<metric>[-<page>].png (grouped bars).
 */
export async function writeComparisonReport(
  results: RunResult[],
  compareBy: CompareBy,
  outDir: string,
): Promise<{ markdownFile: string; charts: string[] }> {
  const grid = buildComparisonGrid(results, compareBy);
  const chartDir = join(outDir, 'charts');
  mkdirSync(chartDir, { recursive: true });
  const charts: string[] = [];
  const links: string[] = [];
  const allPages = Math.max(1, Math.ceil(grid.rows.length / ROWS_PER_CHART));
  const pages = Math.min(MAX_PAGES, allPages);
  for (const metric of TABLE_METRICS) {
    if (!grid.rows.some((r) => r.entries.some((e) => e?.cell.metrics[metric]))) continue;
    for (let p = 0; p < pages; p++) {
      const name = `compare-${compareBy}-${metric}${pages > 1 ? `-${p + 1}` : ''}.png`;
      const rows = { from: p * ROWS_PER_CHART, to: (p + 1) * ROWS_PER_CHART };
      const groups = Math.min(rows.to, grid.rows.length) - rows.from;
      // Wide enough that each group's bars and its label stay legible.
      const width = Math.max(960, 160 + groups * (24 + 14 * grid.columns.length));
      const file = join(chartDir, name);
      writeFileSync(file, await renderChart(comparisonChart(results, grid, metric, rows), width, 540));
      charts.push(file);
      links.push(`![${metric} by ${compareBy}${pages > 1 ? `, page ${p + 1}` : ''}](charts/${name})`);
    }
    if (allPages > pages) links.push(`_${metric}: charts show rows 1-${pages * ROWS_PER_CHART} of ${grid.rows.length}; every row is in the tables above._`);
  }
  // The charts are files beside comparison.md, linked as images: the one part the report model
  // (whose charts are chart.js specifications, drawn by each renderer) does not describe.
  const markdown = `${comparisonTables(results, compareBy)}\n## Charts\n\n${links.join('\n\n')}\n`;
  const markdownFile = join(outDir, 'comparison.md');
  writeFileSync(markdownFile, markdown);
  return { markdownFile, charts };
}

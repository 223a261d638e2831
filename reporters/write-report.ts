import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../core/result-types.ts';
import { buildReport } from './build-report.ts';
import { renderCsv } from './render/csv.ts';
import { renderMarkdown } from './render/markdown.ts';
import { renderChartSpec } from './render/png.ts';
import { allCharts, type Report } from './report-model.ts';

export interface WrittenReport {
  report: Report;
  markdown: string;
  reportFile: string;
  charts: string[];
  /** Full CSV of each table report.md shows only in part. */
  tables: string[];
}

/**
 * report.md, charts/*.png and, for tables too long for report.md, tables/<id>.csv, written into
 * `dir`, from the result alone (its recorded roofline included: attach one before calling to
 * report bounds of a calibration found elsewhere).
 */
export async function writeReport(result: RunResult, dir: string): Promise<WrittenReport> {
  const report = buildReport(result);
  const markdown = renderMarkdown(report);
  const reportFile = join(dir, 'report.md');
  writeFileSync(reportFile, markdown);
  const tables: string[] = [];
  for (const t of report.sections.flatMap((s) => s.tables).filter((t) => t.display && t.rows.length > t.display.maxRows)) {
    mkdirSync(join(dir, 'tables'), { recursive: true });
    const file = join(dir, 'tables', `${t.id}.csv`);
    writeFileSync(file, renderCsv(t));
    tables.push(file);
  }
  const charts: string[] = [];
  const specs = allCharts(report);
  if (specs.length) mkdirSync(join(dir, 'charts'), { recursive: true });
  for (const spec of specs) {
    const file = join(dir, 'charts', `${spec.id}.png`);
    writeFileSync(file, await renderChartSpec(spec));
    charts.push(file);
  }
  return { report, markdown, reportFile, charts, tables };
}

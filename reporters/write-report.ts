import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Calibration } from '../core/calibration-types.ts';
import type { RunResult } from '../core/result-types.ts';
import { buildReport } from './build-report.ts';
import { renderCsv } from './render/csv.ts';
import { renderMarkdown } from './render/markdown.ts';
import { renderChartSpec } from './render/png.ts';
import { allCharts, type Report } from './report-model.ts';
import { withRoofline } from './roofline/index.ts';

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
 * `dir`, from the result alone. The roofline is the one the result recorded when it ran, else
 * the bounds of the calibration the caller found for an older result that recorded none.
 */
export async function writeReport(result: RunResult, dir: string, options: { calibration?: Calibration | null } = {}): Promise<WrittenReport> {
  const report = buildReport(withRoofline(result, options.calibration));
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

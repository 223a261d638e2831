import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../core/result-types.ts';
import { writeCharts } from './charts.ts';
import { renderReport } from './markdown.ts';

export interface WrittenReport {
  markdown: string;
  reportFile: string;
  charts: string[];
}

/** report.md and charts/*.png for one result, written into `dir`. */
export async function writeReport(result: RunResult, dir: string): Promise<WrittenReport> {
  const markdown = renderReport(result);
  const reportFile = join(dir, 'report.md');
  writeFileSync(reportFile, markdown);
  const charts = await writeCharts(result, dir);
  return { markdown, reportFile, charts };
}

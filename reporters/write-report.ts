import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../core/result-types.ts';
import type { Calibration } from '../core/calibration-types.ts';
import { zooDescriptorFor } from '../roofline/record.ts';
import { writeCharts } from './charts.ts';
import { renderReport } from './markdown.ts';
import { rooflineSection, writeRooflineChart } from './roofline/index.ts';

export interface WrittenReport {
  markdown: string;
  reportFile: string;
  charts: string[];
}

/**
 * report.md and charts/*.png for one result, written into `dir`. With a calibration, the report
 * also shows each cell's roofline bound: the one the result recorded when it ran, else the one
 * the caller found for an older result that recorded none.
 */
export async function writeReport(result: RunResult, dir: string, options: { calibration?: Calibration | null } = {}): Promise<WrittenReport> {
  const calibration = result.roofline?.calibration ?? options.calibration ?? null;
  const markdown = `${renderReport(result)}\n${rooflineSection(result, { calibration })}`;
  const reportFile = join(dir, 'report.md');
  writeFileSync(reportFile, markdown);
  const charts = await writeCharts(result, dir);
  if (calibration && result.cells.some((c) => c.status === 'ok')) {
    const chart = await writeRooflineChart(result, calibration, zooDescriptorFor(result), dir);
    if (chart) charts.push(chart);
  }
  return { markdown, reportFile, charts };
}

/**
 * The roofline's Markdown and chart for a calibration given by the caller (a result that
 * recorded none): report-roofline.ts's section and chart over freshly computed rows. Reads the
 * calibration it is given, never disk.
 */
import type { ChartConfiguration } from 'chart.js';
import type { Calibration } from '../../core/calibration-types.ts';
import type { RunResult } from '../../core/result-types.ts';
import { rooflineRecord, zooDescriptorFor } from '../../roofline/record.ts';
import type { DescriptorLookup } from '../../roofline/rows.ts';
import { runnerCan } from '../../runners/registry.ts';
import { renderSection } from '../render/markdown.ts';
import { calibrationSummary, rooflineChartSpec, rooflineSectionModel } from '../report-roofline.ts';

export { calibrationSummary };

/** The result with the bounds of `calibration` recorded, unless it has its own or is a remote server's. */
export function withRoofline(result: RunResult, calibration: Calibration | null | undefined, descriptorFor?: DescriptorLookup): RunResult {
  if (result.roofline || !calibration || runnerCan(result.suite.definition.runner, 'measuresRemoteServer') || !result.cells.some((c) => c.status === 'ok')) return result;
  return { ...result, roofline: rooflineRecord(result, calibration, descriptorFor ?? zooDescriptorFor(result)) };
}

/** The section's body (calibration, explanation, table, notes) as Markdown. */
export function rooflineTable(result: RunResult, calibration: Calibration, descriptorFor: DescriptorLookup): string {
  const section = rooflineSectionModel({ ...result, roofline: rooflineRecord(result, calibration, descriptorFor) });
  return renderSection(section).replace(/^## [^\n]*\n\n/, '');
}

/** The whole section for the given calibration (null: a hint to calibrate). */
export function rooflineSection(result: RunResult, options: { calibration: Calibration | null; descriptorFor?: DescriptorLookup }): string {
  const withBounds = options.calibration ? { ...result, roofline: rooflineRecord(result, options.calibration, options.descriptorFor ?? zooDescriptorFor(result)) } : { ...result, roofline: undefined };
  return `${renderSection(rooflineSectionModel(withBounds))}\n`;
}

/** The roofline chart's configuration for a calibration. */
export function rooflineChart(result: RunResult, calibration: Calibration, descriptorFor: DescriptorLookup): ChartConfiguration<'bar'> {
  const record = rooflineRecord(result, calibration, descriptorFor);
  return rooflineChartSpec({ ...result, roofline: record }, record.rows).config as ChartConfiguration<'bar'>;
}

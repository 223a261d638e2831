/**
 * Roofline reporting: the table and chart of a run's bounds. `rooflineSection` is the piece a
 * report includes; it reads the calibration it is given (the one the result recorded), never disk.
 */
import type { RunResult } from '../../core/result-types.ts';
import type { Calibration } from '../../core/calibration-types.ts';
import { zooDescriptorFor } from '../../roofline/record.ts';
import type { DescriptorLookup } from '../../roofline/rows.ts';
import { rooflineTable } from './table.ts';

export { rooflineChart, writeRooflineChart } from './chart.ts';
export { calibrationSummary, rooflineTable } from './table.ts';

/** The report section for the given calibration (null: a hint to calibrate). */
export function rooflineSection(result: RunResult, options: { calibration: Calibration | null; descriptorFor?: DescriptorLookup }): string {
  const calibration = options.calibration;
  const heading = '## Roofline: achieved % of hardware bound';
  if (!calibration) {
    return `${heading}\n\n_No calibration for target "${result.target}" on host ${result.environment.host.hostname}: run \`bench calibrate\` (or \`bench calibrate --target <board>\` for published peaks) to get bounds._\n`;
  }
  return `${heading}\n\n${rooflineTable(result, calibration, options.descriptorFor ?? zooDescriptorFor(result))}\n`;
}

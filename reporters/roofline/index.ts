/**
 * Roofline reporting: hardware bounds per cell from the model descriptor and a calibration.
 * `rooflineSection` is the piece a report includes; the rest is exported for tests and tools.
 */
import { basename } from 'node:path';
import type { CellResult, RooflineRecord, RunResult } from '../../core/result-types.ts';
import { findCalibration } from '../../roofline/calibrate/store.ts';
import type { Calibration } from '../../core/calibration-types.ts';
import { descriptorEntry, knownModelIds } from '../../models/descriptors.ts';
import { getDescriptor, type Scale, type VlmDescriptor } from '../../models/zoo.ts';
import type { ChartConfiguration } from 'chart.js';
import { renderSection } from '../render/markdown.ts';
import { calibrationSummary, rooflineChartSpec, rooflineSectionModel } from '../report-roofline.ts';
import { rooflineRows, type DescriptorLookup } from './table.ts';

export { cellBounds, type Bounds, type BoundsParams, type PhaseBound } from '../../roofline/bounds.ts';
export { decodeStepWork, imageEncodeWork, prefillWork, type Work } from '../../roofline/costs.ts';
export { resolveFormat, weightBytes, WEIGHT_FORMATS, type WeightFormat } from '../../roofline/precision.ts';
export { cellShape, rooflineRows, type DescriptorLookup, type RooflineRow } from './table.ts';
export { calibrationSummary };

const normalise = (name: string): string => name.toLowerCase().replace(/[._\s]+/g, '-');

/**
 * The zoo architecture a model name denotes: the zoo id itself, or a name that starts with it
 * up to a separator once case, dots and underscores are ignored ("InternVL2_5-1B-MPO" and
 * "InternVL2.5-1B" are internvl2_5-1b; "Qwen2-VL-2B-Instruct" is qwen2-vl-2b).
 */
export function zooIdForName(name: string): string | null {
  if (descriptorEntry(name)) return name;
  const n = normalise(name);
  const hits = knownModelIds().filter((id) => {
    const z = normalise(id);
    return n === z || n.startsWith(`${z}-`);
  });
  return hits.sort((a, b) => b.length - a.length)[0] ?? null;
}

/**
 * Descriptors for cells whose model is a zoo architecture: the synthetic models the ORT runner
 * builds (cell.model.architecture + scale), a suite that names `model.zoo`, or a real export /
 * board model whose name or folder starts with a zoo id (see zooIdForName). Anything else gets
 * null: its bounds are reported as unavailable, never guessed.
 */
export function zooDescriptorFor(result: RunResult): DescriptorLookup {
  const suiteModel = result.suite.definition.model;
  const suiteName = 'zoo' in suiteModel ? suiteModel.zoo : 'name' in suiteModel ? suiteModel.name : basename(suiteModel.path);
  return (cell: CellResult): VlmDescriptor | null => {
    const id = (cell.model ? zooIdForName(cell.model.architecture) : null) ?? zooIdForName(suiteName);
    if (!id) return null;
    const named = cell.model?.scale ?? ('zoo' in suiteModel ? suiteModel.scale : undefined);
    const scale: Scale = named === 'tiny' ? 'tiny' : 'full';
    return getDescriptor(id, scale);
  };
}

/**
 * What a result records of its roofline: the calibration, whole, and per cell and phase the
 * work, the bounds, the measured median and the percentages.
 */
export function rooflineRecord(result: RunResult, calibration: Calibration, descriptorFor: DescriptorLookup = zooDescriptorFor(result)): RooflineRecord {
  const rows = rooflineRows(result, calibration, descriptorFor).map((r) => {
    const b = r.bound;
    return {
      cellId: r.cellId,
      phase: r.phase,
      per: b?.per ?? (r.phase === 'decode' ? ('output token' as const) : ('request' as const)),
      work: b ? { ...b.work } : null,
      memoryMs: b?.memoryMs ?? null,
      computeMs: b?.computeMs ?? null,
      boundMs: b?.boundMs ?? null,
      limitedBy: b?.limitedBy ?? null,
      kernelMs: b?.kernelMs ?? null,
      achievedMs: r.achievedMs,
      percentOfBound: r.percentOfBound,
      percentOfKernelCeiling: r.percentOfKernelCeiling,
      notes: [...(b?.notes ?? []), ...(r.reason ? [r.reason] : [])],
    };
  });
  return { calibration, rows };
}

/**
 * The report section: the newest calibration for the run's target (and host, for measured
 * ones) from `calibrationDir`, or an explicit one; a hint to calibrate when there is none.
 */
export function rooflineSection(
  result: RunResult,
  options: { calibration?: Calibration | null; calibrationDir?: string; descriptorFor?: DescriptorLookup } = {},
): string {
  // An explicit null means "looked, there is none": the folder is not read again.
  const calibration =
    options.calibration !== undefined
      ? options.calibration
      : findCalibration({ target: result.target, host: result.environment.host.hostname }, options.calibrationDir).calibration;
  const heading = '## Roofline: achieved % of hardware bound';
  if (!calibration) {
    return `${heading}\n\n_No calibration for target "${result.target}" on host ${result.environment.host.hostname}: run \`bench calibrate\` (or \`bench calibrate --target <board>\` for published peaks) to get bounds._\n`;
  }
  return `${heading}\n\n${rooflineTable(result, calibration, options.descriptorFor ?? zooDescriptorFor(result))}\n`;
}

/**
 * Markdown of the roofline section's body (calibration, explanation, table, notes) for a
 * calibration the result did not record: report-roofline.ts's section over freshly computed rows.
 */
export function rooflineTable(result: RunResult, calibration: Calibration, descriptorFor: DescriptorLookup): string {
  const section = rooflineSectionModel({ ...result, roofline: rooflineRecord(result, calibration, descriptorFor) });
  return renderSection(section).replace(/^## [^\n]*\n\n/, '');
}

/** The roofline chart's configuration for a calibration the result did not record. */
export function rooflineChart(result: RunResult, calibration: Calibration, descriptorFor: DescriptorLookup): ChartConfiguration<'bar'> {
  const record = rooflineRecord(result, calibration, descriptorFor);
  return rooflineChartSpec({ ...result, roofline: record }, record.rows).config as ChartConfiguration<'bar'>;
}

/**
 * The result with a roofline: its own record, else bounds from the newest calibration of its
 * target and host (a result made before runs recorded them). A remote server's run gets none.
 */
export function withRecordedRoofline(result: RunResult, calibrationDir?: string): RunResult {
  if (result.roofline || result.suite.definition.runner === 'endpoint' || !result.cells.some((c) => c.status === 'ok')) return result;
  const { calibration } = findCalibration({ target: result.target, host: result.environment.host.hostname }, calibrationDir);
  return calibration ? { ...result, roofline: rooflineRecord(result, calibration) } : result;
}

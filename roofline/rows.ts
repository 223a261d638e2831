/**
 * The roofline table of a run: per cell and phase, the hardware bound, the measured median
 * and how close it comes (achieved % of bound = bound time / measured time).
 */
import type { CellResult, RunResult } from '../core/result-types.ts';
import type { MetricStats } from '../core/stats.ts';
import type { Calibration } from '../core/calibration-types.ts';
import type { VlmDescriptor } from '../models/descriptors.ts';
import { cellBounds, type BoundPhase, type Bounds, type BoundsParams, type PhaseBound } from './bounds.ts';
import { errorMessage } from '../core/errors.ts';
import { METRICS } from '../core/metric-registry.ts';

export type DescriptorLookup = (cell: CellResult) => VlmDescriptor | null;

/** Metric whose median is compared with each phase's bound: the registry's definition that names the phase. */
export const PHASE_METRIC: Record<BoundPhase, string> = Object.fromEntries(
  (['decode', 'prefill', 'image_encode'] as const).map((phase) => {
    const def = METRICS.find((m) => m.rooflinePhase === phase);
    if (!def) throw new Error(`the metric registry names no metric for the roofline phase ${phase}`);
    return [phase, def.name];
  }),
) as Record<BoundPhase, string>;

export interface RooflineRow {
  cellId: string;
  phase: BoundPhase;
  bound: PhaseBound | null;
  /** Median of the phase's metric, ms. */
  achievedMs: number | null;
  /** bound / achieved x 100; null when either is missing. */
  percentOfBound: number | null;
  /** This runtime's kernel ceiling / achieved x 100 (see PhaseBound.kernelMs); null without a ceiling. */
  percentOfKernelCeiling: number | null;
  /**
   * The measurement beats the bound beyond its interval (the whole 95% interval of the median,
   * or with fewer than 6 iterations every measured value, is below the bound): the bound is
   * wrong, not the runtime better than the hardware. A calibration figure is too low (measured
   * on a busy machine, or a faster kernel than any calibrated exists).
   */
  boundWrong: boolean;
  /** The same against this runtime's kernel ceiling. */
  kernelCeilingWrong: boolean;
  /** Why there are no bounds for the cell (no descriptor, unknown precision); missing calibration figures are in bound.notes. */
  reason?: string;
}

function firstMeasured(cell: CellResult) {
  return cell.iterations.find((i) => !i.warmup && !i.error) ?? cell.iterations.find((i) => !i.warmup);
}

/** A count a runner recorded, or undefined when it could not know it (NaN in memory, null from JSON). */
function known(v: number | null | undefined): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function intParam(cell: CellResult, key: string): number | undefined {
  const v = cell.params[key];
  const n = Number(v);
  return v !== undefined && Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The cell's shape as run: counts from its first measured iteration (the runner's own prompt
 * and output token counts), else, where a runner could not know a count (a board tool that does
 * not print it), from the cell's params and the descriptor.
 */
export function cellShape(cell: CellResult, result: RunResult, descriptor: VlmDescriptor): BoundsParams {
  const it = firstMeasured(cell);
  const images = known(it?.images) ?? intParam(cell, 'images') ?? 0;
  const promptTokens = known(it?.promptTokens) ?? (intParam(cell, 'prefill') ?? 0) + images * descriptor.imageTokensPerTile;
  const settingTokens = typeof cell.settings['outputTokens'] === 'number' ? cell.settings['outputTokens'] : undefined;
  const measuredOutput = known(it?.outputTokens);
  const outputTokens = measuredOutput !== undefined && measuredOutput > 0 ? measuredOutput : (settingTokens ?? result.options.outputTokens);
  const chunk = cell.settings['chunkSize'];
  // A runner that executes another weight form than the precision's name says which (llama.cpp: q8_0 for int8).
  const form = cell.settings['rooflineFormat'];
  const precision = typeof form === 'string' ? form : String(cell.params['llm_precision'] ?? cell.params['precision'] ?? cell.model?.precision ?? 'fp32');
  const visionPrecision = cell.params['vision_precision'] ?? cell.model?.visionPrecision;
  const tiles = known(it?.visionTiles);
  return {
    images,
    ...(tiles !== undefined ? { tiles } : {}),
    promptTokens,
    outputTokens,
    precision,
    ...(visionPrecision !== undefined ? { visionPrecision: String(visionPrecision) } : {}),
    chunkSize: typeof chunk === 'number' ? chunk : 0,
  };
}

function median(stats: MetricStats | undefined): number | null {
  return stats && Number.isFinite(stats.median) && stats.median > 0 ? stats.median : null;
}

/**
 * True when the measurement is faster than `limitMs` beyond its interval: the top of the 95%
 * interval of the median, or, without one (fewer than 6 iterations), the slowest measured
 * value, is below the limit. A median just under the limit within its interval is noise.
 */
export function beatsLimit(stats: MetricStats | undefined, limitMs: number | null): boolean {
  if (!stats || limitMs === null || !(limitMs > 0)) return false;
  const top = stats.ciMedian?.[1] ?? stats.max;
  return Number.isFinite(top) && top < limitMs;
}

/** One row per phase the cell has, bounds computed from its descriptor. */
export function rooflineRows(result: RunResult, calibration: Calibration, descriptorFor: DescriptorLookup): RooflineRow[] {
  const rows: RooflineRow[] = [];
  for (const cell of result.cells.filter((c) => c.status === 'ok')) {
    const phases: BoundPhase[] = [];
    if (cell.metrics[PHASE_METRIC.image_encode]) phases.push('image_encode');
    phases.push('prefill');
    if (cell.metrics[PHASE_METRIC.decode]) phases.push('decode');
    const descriptor = descriptorFor(cell);
    let bounds: Bounds | null = null;
    let reason: string | undefined;
    if (!descriptor) reason = 'no model descriptor for this cell';
    else {
      try {
        bounds = cellBounds(descriptor, cellShape(cell, result, descriptor), calibration);
      } catch (err) {
        reason = errorMessage(err);
        // A command runner records "as built" when the suite does not say what the command runs.
        if (cell.params['precision'] === undefined && cell.params['llm_precision'] === undefined && cell.settings['rooflineFormat'] === undefined) {
          reason += ': the suite does not say what weight type the model has; name it (the command runner\'s options.weightFormat, e.g. weightFormat: q8_0 for a Q8_0 GGUF)';
        }
      }
    }
    for (const phase of phases) {
      const bound = bounds ? (phase === 'decode' ? bounds.decode : phase === 'prefill' ? bounds.prefill : bounds.imageEncode) : null;
      const stats = cell.metrics[PHASE_METRIC[phase]];
      const achievedMs = median(stats);
      const boundMs = bound?.boundMs ?? null;
      rows.push({
        cellId: cell.id,
        phase,
        bound,
        achievedMs,
        percentOfBound: boundMs !== null && achievedMs !== null ? (boundMs / achievedMs) * 100 : null,
        percentOfKernelCeiling: bound?.kernelMs != null && achievedMs !== null ? (bound.kernelMs / achievedMs) * 100 : null,
        boundWrong: achievedMs !== null && beatsLimit(stats, boundMs),
        kernelCeilingWrong: achievedMs !== null && beatsLimit(stats, bound?.kernelMs ?? null),
        ...(reason ? { reason } : {}),
      });
    }
  }
  return rows;
}

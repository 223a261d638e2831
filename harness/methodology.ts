import { metricsWithRole } from '../core/metric-registry.ts';
import type { IterationRecord } from '../core/events.ts';
import { seededRandom } from '../core/random.ts';
import { medianHalfWidthPct, percentile } from '../core/stats.ts';
import type { AdaptivePlan, StopRule } from '../core/result-types.ts';
import type { Cell } from '../core/suite-types.ts';
import { metricSeries } from '../core/metrics.ts';

/*
 * Adaptive iteration count (AdaptivePlan): keep measuring until the distribution-free 95%
 * confidence interval of the median of every key metric is within `targetCiPct` percent of
 * that median (each side), bounded by a maximum count and a time budget per cell. `iterations`
 * (the fixed count) becomes the minimum. A key metric a cell does not produce at all (tpot_ms
 * with one output token) is left out of the rule for that cell.
 */

/** Metrics adaptive stopping waits for unless the suite names its own (role adaptive-default in the registry). */
export const DEFAULT_ADAPTIVE_METRICS: readonly string[] = metricsWithRole('adaptive-default');


export interface StopDecision {
  stop: boolean;
  reason: string;
  rule?: StopRule;
  /** Key metric -> half-width of its median's 95% interval in % of the median (null: no interval yet). */
  halfWidthPct: Record<string, number | null>;
}

/** Key metric -> half-width now; metrics the cell has no value of are absent. */
export function keyMetricWidths(records: readonly IterationRecord[], metrics: readonly string[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const metric of metrics) {
    const series = metricSeries(records, metric).map((s) => s.value);
    if (series.length > 0) out[metric] = medianHalfWidthPct(series);
  }
  return out;
}

const pct = (w: number | null) => (w === null ? 'no interval yet' : `±${w.toFixed(2)}%`);

export function adaptiveStop(
  records: readonly IterationRecord[],
  measured: number,
  minIterations: number,
  plan: AdaptivePlan,
  elapsedMs: number,
): StopDecision {
  const metrics = plan.metrics?.length ? plan.metrics : [plan.metric ?? DEFAULT_ADAPTIVE_METRICS[0]!];
  const halfWidthPct = keyMetricWidths(records, metrics);
  if (measured < minIterations) return { stop: false, reason: '', halfWidthPct };
  const present = Object.entries(halfWidthPct);
  const widths = present.map(([m, w]) => `${m} ${pct(w)}`).join(', ') || `no value of ${metrics.join(' or ')}`;
  const target = `target ±${plan.targetCiPct}%`;
  if (present.length > 0 && present.every(([, w]) => w !== null && w <= plan.targetCiPct)) {
    return { stop: true, rule: 'target reached', halfWidthPct, reason: `95% CI of the median within the target after ${measured} iterations: ${widths} (${target})` };
  }
  if (measured >= plan.maxIterations) {
    return { stop: true, rule: 'max count', halfWidthPct, reason: `reached ${plan.maxIterations} iterations with the 95% CI of the median at ${widths} (${target})` };
  }
  if (elapsedMs >= plan.maxCellSeconds * 1000) {
    return { stop: true, rule: 'time budget', halfWidthPct, reason: `time budget of ${plan.maxCellSeconds} s spent after ${measured} iterations; 95% CI of the median at ${widths} (${target})` };
  }
  return { stop: false, reason: '', halfWidthPct };
}

/** The fewest and the most measured iterations the adaptive rule can take for one cell. */
export interface IterationRange {
  /** The interval reaches its target at the minimum. */
  fewest: number;
  /** The interval never reaches its target: the maximum count or the time budget stops the cell. */
  most: number;
}

/**
 * What adaptiveStop would do with a cell whose warm-up takes `warmupMs` and every measured
 * request `requestMs`, without running it: for compositions of a run on another machine. The
 * budget counts from the cell's first warm-up, as measureCell's clock does; the rule is checked
 * after each measured iteration, so the budget can be overrun by one request.
 */
export function adaptiveIterationRange(plan: Pick<AdaptivePlan, 'maxIterations' | 'maxCellSeconds'>, minIterations: number, warmupMs: number, requestMs: number): IterationRange {
  if (!(requestMs > 0) || !(warmupMs >= 0)) throw new Error(`adaptiveIterationRange: request time must be > 0 and warm-up >= 0 ms, got ${requestMs} and ${warmupMs}`);
  const fewest = minIterations;
  const maxCount = Math.max(minIterations, plan.maxIterations);
  // Smallest n whose elapsed time reaches the budget; never fewer than the minimum, never more than the maximum count.
  const toBudget = Math.max(1, Math.ceil((plan.maxCellSeconds * 1000 - warmupMs) / requestMs));
  return { fewest, most: Math.min(maxCount, Math.max(minIterations, toBudget)) };
}

/**
 * Iterations whose value lies outside Tukey's fences (1.5 IQR beyond the quartiles). They are
 * marked, never dropped: the statistics keep them, and a reader sees which they were.
 */
export function tukeyOutliers(series: ReadonlyArray<{ index: number; value: number }>): number[] {
  if (series.length < 4) return [];
  const sorted = series.map((s) => s.value).sort((a, b) => a - b);
  const q1 = percentile(sorted, 25);
  const q3 = percentile(sorted, 75);
  // Equal values computed along different paths differ in their last bits (603.46 vs
  // 603.4600000000001): with an IQR of 0 that noise would be an "outlier". The fence is never
  // narrower than a billionth of the values' size.
  const fence = Math.max(1.5 * (q3 - q1), 1e-9 * Math.max(Math.abs(q1), Math.abs(q3)));
  return series.filter((s) => s.value < q1 - fence || s.value > q3 + fence).map((s) => s.index);
}

export function markOutliers(records: readonly IterationRecord[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const metric of metricsWithRole('outlier-checked')) {
    const found = tukeyOutliers(metricSeries(records, metric));
    if (found.length) out[metric] = found;
  }
  return out;
}

/** Seeded Fisher-Yates shuffle, so a randomised order can be reproduced from the result. */
export function shuffleCells(cells: readonly Cell[], seed: number): Cell[] {
  const rnd = seededRandom(seed);
  const out = [...cells];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

import { OUTLIER_CHECKED_METRICS } from '../core/metric-registry.ts';
import type { IterationRecord } from '../core/events.ts';
import { seededRandom } from '../core/random.ts';
import { percentile, summarize } from '../core/stats.ts';
import type { AdaptivePlan } from '../core/result-types.ts';
import type { Cell } from '../core/suite-types.ts';
import { metricSeries } from '../core/metrics.ts';

export interface StopDecision {
  stop: boolean;
  reason: string;
}

export function adaptiveStop(
  records: readonly IterationRecord[],
  measured: number,
  minIterations: number,
  plan: AdaptivePlan,
  elapsedMs: number,
): StopDecision {
  if (measured < minIterations) return { stop: false, reason: '' };
  const series = metricSeries(records, plan.metric).map((s) => s.value);
  if (series.length >= 2) {
    const s = summarize(series, '');
    const halfPct = s.ci95 && s.mean !== 0 ? ((s.ci95[1] - s.mean) / Math.abs(s.mean)) * 100 : Infinity;
    if (halfPct <= plan.targetCiPct) {
      return { stop: true, reason: `95% CI of ${plan.metric} within ±${halfPct.toFixed(2)}% after ${measured} iterations (target ±${plan.targetCiPct}%)` };
    }
    if (measured >= plan.maxIterations) {
      return { stop: true, reason: `reached ${plan.maxIterations} iterations with the 95% CI of ${plan.metric} at ±${halfPct.toFixed(2)}% (target ±${plan.targetCiPct}%)` };
    }
    if (elapsedMs >= plan.maxCellSeconds * 1000) {
      return { stop: true, reason: `time budget of ${plan.maxCellSeconds} s spent after ${measured} iterations; 95% CI of ${plan.metric} at ±${halfPct.toFixed(2)}% (target ±${plan.targetCiPct}%)` };
    }
    return { stop: false, reason: '' };
  }
  if (measured >= plan.maxIterations || elapsedMs >= plan.maxCellSeconds * 1000) {
    return { stop: true, reason: `stopped after ${measured} iterations without two values of ${plan.metric}` };
  }
  return { stop: false, reason: '' };
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
  const iqr = q3 - q1;
  return series.filter((s) => s.value < q1 - 1.5 * iqr || s.value > q3 + 1.5 * iqr).map((s) => s.index);
}

export function markOutliers(records: readonly IterationRecord[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const metric of OUTLIER_CHECKED_METRICS) {
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

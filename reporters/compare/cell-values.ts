import type { CellResult } from '../../core/result-types.ts';
import { InputError } from '../../core/errors.ts';
import { METRICS, metricBetter, metricUnit as registryUnit } from '../../core/metric-registry.ts';
import { iterationMetrics } from '../../core/metrics.ts';
import type { Direction } from './types.ts';

/** The registry's better direction in the words comparison tables print. */
export function metricDirection(metric: string): Direction {
  const better = metricBetter(metric);
  if (better === 'higher') return 'higher is better';
  if (better === 'lower') return 'lower is better';
  throw new InputError(
    `metric "${metric}" has no better direction in the metric registry, so a change cannot be judged; known metrics: ${METRICS.filter((m) => m.better !== 'none').map((m) => m.name).join(', ')}`,
  );
}

export function metricUnit(cell: CellResult | undefined, metric: string): string {
  return cell?.metrics[metric]?.unit ?? registryUnit(metric);
}

export interface CellValues {
  values: number[];
  /** Set when the values are not per-iteration raw values (and so cannot support a test). */
  note?: string;
}

/**
 * One value per measured iteration of each metric, recomputed from the raw events in one pass
 * over the cell (the per-iteration objects are not kept: on 10,000-cell runs holding them costs
 * more in garbage collection than computing them). Iterations, not tokens or chunks, are the
 * independent unit: a metric that has several values per request (chunk ITL, per-image encode)
 * enters as that request's mean, because pooling 100 correlated gaps per request would make the
 * interval look far more certain than the run is.
 * Metrics that are not derivable from events (load_ms, peak_rss_mb) come from the stored
 * summary and are recorded once per cell, so they never support a verdict.
 */
export function cellMetricValues(cell: CellResult, metrics: readonly string[]): Map<string, CellValues> {
  const lists = metrics.map((): number[] => []);
  for (const rec of cell.iterations) {
    if (rec.warmup || rec.error) continue;
    const m = iterationMetrics(rec) as Record<string, number | number[] | undefined>;
    for (let i = 0; i < metrics.length; i++) {
      const v = m[metrics[i]!];
      if (v === undefined) continue;
      if (Array.isArray(v)) {
        if (v.length) lists[i]!.push(v.reduce((s, x) => s + x, 0) / v.length);
      } else if (Number.isFinite(v)) lists[i]!.push(v);
    }
  }
  const out = new Map<string, CellValues>();
  metrics.forEach((metric, i) => {
    const values = lists[i]!;
    const summary = cell.metrics[metric];
    if (values.length || !summary) out.set(metric, { values });
    else if (summary.n === 1) out.set(metric, { values: [summary.median], note: 'one value per cell' });
    else out.set(metric, { values: [], note: `only summary statistics stored (n=${summary.n}); the test needs the raw per-iteration events` });
  });
  return out;
}

/** The values of one metric; see cellMetricValues. */
export function cellValues(cell: CellResult, metric: string): CellValues {
  return cellMetricValues(cell, [metric]).get(metric)!;
}

export function median(values: readonly number[]): number | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  const k = s.length;
  return k % 2 ? s[k >> 1]! : (s[k / 2 - 1]! + s[k / 2]!) / 2;
}

import type { CellResult } from '../core/result-types.ts';
import { InputError } from '../core/errors.ts';
import { METRICS, metricBetter, metricUnit as registryUnit } from '../core/metric-registry.ts';
import { iterationSeries } from '../core/metrics.ts';
import { energyMetrics } from '../core/energy.ts';
import { boardPowerSeries } from '../hw-probes/power-series.ts';
import type { Direction } from './comparison-types.ts';

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
 * One value per measured iteration of each metric (core/metrics.ts iterationSeries), recomputed
 * from the raw events (the per-iteration objects are not kept: on 10,000-cell runs holding them
 * costs more in garbage collection than computing them). Metrics that are not derivable from
 * events (load_ms, peak_rss_mb) come from the stored summary and are recorded once per cell, so
 * they never support a verdict.
 */
export function cellMetricValues(cell: CellResult, metrics: readonly string[]): Map<string, CellValues> {
  const series = iterationSeries(cell.iterations, metrics);
  const out = new Map<string, CellValues>();
  let energy: ReturnType<typeof energyMetrics> | undefined;
  metrics.forEach((metric, i) => {
    let values = series[i]!.map((s) => s.value);
    const summary = cell.metrics[metric];
    if (!values.length && summary) {
      // Energy figures are not in the events: integrate the cell's stored power samples over each
      // measured iteration again, as the run did (harness/cell-probes.ts), for one value per iteration.
      energy ??= iterationEnergy(cell);
      values = energy[metric]?.values ?? [];
    }
    if (values.length || !summary) out.set(metric, { values });
    else if (summary.n === 1) out.set(metric, { values: [summary.median], note: 'one value per cell' });
    else out.set(metric, { values: [], note: `only summary statistics stored (n=${summary.n}); the test needs the raw per-iteration events` });
  });
  return out;
}

/** Per-iteration energy metrics from the cell's stored power samples; empty when it kept none. */
function iterationEnergy(cell: CellResult): ReturnType<typeof energyMetrics> {
  const samples = cell.probes?.samples;
  if (!samples?.length) return {};
  const series = boardPowerSeries(samples);
  if (series.points.length < 2) return {};
  return energyMetrics(series.points, cell.iterations, cell.probes?.power?.baseline?.watts ?? undefined);
}

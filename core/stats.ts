import tQuantile from '@stdlib/stats-base-dists-t-quantile';

/** Summary statistics of one metric over the measured iterations of a cell. */
export interface MetricStats {
  unit: string;
  n: number;
  median: number;
  mean: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
  /** Sample standard deviation (n - 1); 0 when n = 1. */
  stdev: number;
  /** 95% confidence interval of the mean (Student t); null when n < 2. */
  ci95: [number, number] | null;
}

/**
 * Percentile by linear interpolation between closest ranks (numpy's default, so figures match
 * what optimum-benchmark and vLLM print for the same samples).
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of an empty sample');
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (rank - lo);
}

/** Median of unsorted values; null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  return percentile([...values].sort((a, b) => a - b), 50);
}

export function summarize(values: readonly number[], unit: string): MetricStats {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) throw new Error(`no finite values to summarize (${unit})`);
  const sorted = [...finite].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = sorted.reduce((s, v) => s + v, 0) / n;
  const variance = n > 1 ? sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1) : 0;
  const stdev = Math.sqrt(variance);
  let ci95: [number, number] | null = null;
  if (n >= 2) {
    const half = tQuantile(0.975, n - 1) * (stdev / Math.sqrt(n));
    ci95 = [mean - half, mean + half];
  }
  return {
    unit,
    n,
    median: percentile(sorted, 50),
    mean,
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    min: sorted[0]!,
    max: sorted[n - 1]!,
    stdev,
    ci95,
  };
}

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
  /**
   * 95% confidence interval of the mean (Student t), clamped to [min, max]: the mean of the
   * sample cannot leave that range, and an unclamped t interval of a skewed, small sample does
   * (it printed -1.6 ms for a positive latency). Null when n < 2. Prefer ciMedian.
   */
  ci95: [number, number] | null;
  /**
   * Distribution-free 95% confidence interval of the median: two order statistics of the sample
   * chosen with the binomial(n, 1/2) distribution (see medianInterval). Always inside
   * [min, max]; null when n < 6, where even [min, max] covers the median with less than 95%.
   * Absent in results written before it existed.
   */
  ciMedian?: [number, number] | null;
}

/** Confidence level of every interval the suite computes. */
export const CONFIDENCE = 0.95;

/**
 * Ranks for a distribution-free confidence interval of the median: with the sample sorted,
 * [x(lower), x(upper)] (1-based) covers the population median with probability
 * 1 - 2 P(B <= lower - 1), B ~ binomial(n, 1/2), whatever the distribution (continuous). The
 * lower rank is the largest keeping that probability >= `confidence`. Null when n is too small.
 */
export function medianRanks(n: number, confidence = CONFIDENCE): { lower: number; upper: number; coverage: number } | null {
  const tail = (1 - confidence) / 2;
  // Binomial(n, 1/2) cdf, accumulated in log space so large n does not underflow to 0 early.
  let logC = 0; // ln C(n, 0)
  const ln2n = n * Math.LN2;
  let cdf = 0;
  let lower = 0;
  for (let k = 0; k < n; k++) {
    cdf += Math.exp(logC - ln2n); // P(B <= k)
    if (cdf > tail + 1e-12) break;
    lower = k + 1; // P(B <= lower - 1) <= tail
    logC += Math.log(n - k) - Math.log(k + 1);
  }
  if (lower < 1) return null;
  let below = 0;
  logC = 0;
  for (let k = 0; k < lower; k++) {
    below += Math.exp(logC - ln2n);
    logC += Math.log(n - k) - Math.log(k + 1);
  }
  return { lower, upper: n + 1 - lower, coverage: 1 - 2 * below };
}

/** The distribution-free 95% interval of the median of an ascending sample, or null (n < 6). */
export function medianInterval(sorted: readonly number[], confidence = CONFIDENCE): [number, number] | null {
  const ranks = medianRanks(sorted.length, confidence);
  return ranks ? [sorted[ranks.lower - 1]!, sorted[ranks.upper - 1]!] : null;
}

/** Half-width of an interval around a centre, in percent of the centre (the wider side). */
export function relativeHalfWidthPct(interval: readonly [number, number] | null | undefined, centre: number): number {
  if (!interval || centre === 0 || !Number.isFinite(centre)) return Infinity;
  return (Math.max(centre - interval[0], interval[1] - centre) / Math.abs(centre)) * 100;
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
    const half = tQuantile(1 - (1 - CONFIDENCE) / 2, n - 1) * (stdev / Math.sqrt(n));
    ci95 = [Math.max(sorted[0]!, mean - half), Math.min(sorted[n - 1]!, mean + half)];
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
    ciMedian: medianInterval(sorted),
  };
}

/** Half-width of the median's 95% interval, % of the median; null with too few values (n < 6) for one. */
export function medianHalfWidthPct(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const width = relativeHalfWidthPct(medianInterval(sorted), percentile(sorted, 50));
  return Number.isFinite(width) ? width : null;
}

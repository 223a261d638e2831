import { cumulativeStdNormalProbability, probit } from 'simple-statistics';

/**
 * Two-sample rank statistics for comparing latencies: the Mann-Whitney U test, the
 * Hodges-Lehmann shift estimate and its distribution-free confidence interval (Moses).
 *
 * Why this and not a bootstrap of the ratio of medians (log-normal latencies, 5% CV, 1000
 * trials per row; test/compare/method-study.ts reproduces the figures):
 * - both hold their coverage with no change (99% level: rank 99.5% / bootstrap 99.5% at n=10,
 *   99.4% / 98.7% at n=5, where the bootstrap of a median resamples a handful of values);
 * - the Hodges-Lehmann estimate uses every pair, so its interval is narrower (99% level: 13.3%
 *   vs 14.3% wide at n=10, 8.7% vs 10.2% at n=20) and a planted 10% slowdown is caught more
 *   often at the 5% threshold (84.5% vs 78.3% at n=10);
 * - it is exact under the shift model and deterministic: no seed, no resampling, so 10,000
 *   cells compare in milliseconds instead of seconds. asv gates regressions with the same test.
 * Values are compared on a log scale so that the shift is a ratio (a slowdown by a factor).
 */

/** Largest m*n for which the exact null distribution of U is computed; above it, the normal approximation. */
const EXACT_LIMIT = 2500;

const cdfCache = new Map<number, Float64Array>();
const criticalCache = new Map<number, Map<number, number>>();

/**
 * P(U <= u) for u = 0..m*n under the null hypothesis (no ties), where U counts pairs (x, y)
 * with y > x. Counts come from the recurrence f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u),
 * run over n for a fixed m so that only two rows are kept.
 */
function exactCdf(m: number, n: number): Float64Array {
  const key = Math.min(m, n) * 65536 + Math.max(m, n);
  const cached = cdfCache.get(key);
  if (cached) return cached;
  const a = Math.min(m, n);
  const b = Math.max(m, n);
  // U and its mirror (pairs with x > y) have the same null distribution, so count the mirror:
  // if the largest of all values is an x it beats all j y values, if it is a y it adds nothing.
  // counts[i][u] for sample sizes (i, j) as j grows; start with j = 0: only u = 0, one way.
  let prev: Float64Array[] = Array.from({ length: a + 1 }, () => {
    const row = new Float64Array(a * b + 1);
    row[0] = 1;
    return row;
  });
  for (let j = 1; j <= b; j++) {
    const cur: Float64Array[] = [];
    for (let i = 0; i <= a; i++) {
      const row = new Float64Array(a * b + 1);
      if (i === 0) row[0] = 1;
      else {
        const left = cur[i - 1]!;
        const up = prev[i]!;
        for (let u = 0; u <= i * j; u++) row[u] = up[u]! + (u >= j ? left[u - j]! : 0);
      }
      cur.push(row);
    }
    prev = cur;
  }
  const counts = prev[a]!;
  let total = 0;
  for (const c of counts) total += c;
  const cdf = new Float64Array(counts.length);
  let acc = 0;
  for (let u = 0; u < counts.length; u++) {
    acc += counts[u]!;
    cdf[u] = acc / total;
  }
  cdfCache.set(key, cdf);
  return cdf;
}

/** P(U <= u) under the null, exact for small samples, normal approximation with continuity correction otherwise. */
export function mannWhitneyCdf(u: number, m: number, n: number): number {
  if (u < 0) return 0;
  if (u >= m * n) return 1;
  if (m * n <= EXACT_LIMIT) return exactCdf(m, n)[Math.floor(u)]!;
  const mean = (m * n) / 2;
  const sd = Math.sqrt((m * n * (m + n + 1)) / 12);
  return cumulativeStdNormalProbability((Math.floor(u) + 0.5 - mean) / sd);
}

/**
 * The largest c with P(U <= c) <= alpha/2, or -1 when even P(U = 0) is above it: then no
 * outcome of samples this small can be significant at this level.
 */
export function lowerCriticalValue(m: number, n: number, alpha: number): number {
  let byAlpha = criticalCache.get(alpha);
  if (!byAlpha) criticalCache.set(alpha, (byAlpha = new Map()));
  const key = m * 65536 + n;
  let c = byAlpha.get(key);
  if (c === undefined) byAlpha.set(key, (c = computeCriticalValue(m, n, alpha)));
  return c;
}

function computeCriticalValue(m: number, n: number, alpha: number): number {
  const half = alpha / 2;
  if (m * n <= EXACT_LIMIT) {
    const cdf = exactCdf(m, n);
    let c = -1;
    while (c + 1 < cdf.length && cdf[c + 1]! <= half) c++;
    return c;
  }
  const mean = (m * n) / 2;
  const sd = Math.sqrt((m * n * (m + n + 1)) / 12);
  let c = Math.floor(mean + probit(half) * sd - 0.5);
  // Step to the exact boundary of the approximation (at most a couple of steps).
  while (c >= 0 && mannWhitneyCdf(c, m, n) > half) c--;
  while (mannWhitneyCdf(c + 1, m, n) <= half) c++;
  return c;
}

export interface ShiftEstimate {
  /** Hodges-Lehmann estimate of the shift cand - base: median of all pairwise differences. */
  shift: number;
  /** Moses confidence interval of the shift at the requested level; null when the samples are too small. */
  ci: [number, number] | null;
  /** Two-sided Mann-Whitney p-value (ties count one half). */
  pValue: number;
  /** U = number of pairs where cand > base (ties count one half). */
  u: number;
}

/**
 * Puts the k-th smallest of a[lo..hi] at index k, smaller-or-equal values before it and
 * greater-or-equal after (quickselect). Only three order statistics of the m*n differences
 * are needed, and selecting them is several times faster than sorting on 10,000-cell runs.
 */
function selectInPlace(a: Float64Array, k: number, lo: number, hi: number): void {
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    // Median of three as pivot, moved to a[hi].
    if (a[mid]! < a[lo]!) swap(a, mid, lo);
    if (a[hi]! < a[lo]!) swap(a, hi, lo);
    if (a[mid]! < a[hi]!) swap(a, mid, hi);
    const pivot = a[hi]!;
    let store = lo;
    for (let i = lo; i < hi; i++) {
      if (a[i]! < pivot) swap(a, i, store++);
    }
    swap(a, store, hi);
    if (store === k) return;
    if (k < store) hi = store - 1;
    else lo = store + 1;
  }
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i]!;
  a[i] = a[j]!;
  a[j] = t;
}

/** The values at the given ranks (ascending) as if `a` were sorted; reorders `a`. */
function orderStatistics(a: Float64Array, ranks: readonly number[]): number[] {
  let lo = 0;
  let prev = -1;
  for (const r of ranks) {
    if (r !== prev) selectInPlace(a, r, lo, a.length - 1);
    lo = r + 1 > lo ? r + 1 : lo;
    prev = r;
  }
  return ranks.map((r) => a[r]!);
}

/**
 * Shift of `cand` relative to `base` with a confidence interval of level `confidence`.
 * Pass log values to get a multiplicative shift (a ratio) as is natural for latencies.
 */
// Reused between calls: a comparison of 10,000 cells would otherwise allocate 40,000 buffers.
let scratch = new Float64Array(256);

export function estimateShift(base: readonly number[], cand: readonly number[], confidence: number): ShiftEstimate {
  const m = base.length;
  const n = cand.length;
  if (m === 0 || n === 0) throw new Error('estimateShift needs two non-empty samples');
  if (scratch.length < m * n) scratch = new Float64Array(m * n * 2);
  const diffs = scratch.subarray(0, m * n);
  let u = 0;
  let k = 0;
  for (let i = 0; i < m; i++) {
    const x = base[i]!;
    for (let j = 0; j < n; j++) {
      const d = cand[j]! - x;
      diffs[k++] = d;
      u += d > 0 ? 1 : d === 0 ? 0.5 : 0;
    }
  }
  const c = lowerCriticalValue(m, n, 1 - confidence);
  const total = m * n;
  const mid = total >> 1;
  const [low, medLo, medHi, high] = orderStatistics(diffs, [Math.max(c, 0), total % 2 ? mid : mid - 1, mid, total - 1 - Math.max(c, 0)]);
  const ci: [number, number] | null = c >= 0 ? [low!, high!] : null;
  const lower = mannWhitneyCdf(Math.floor(u), m, n);
  const upper = 1 - mannWhitneyCdf(Math.ceil(u) - 1, m, n);
  return { shift: (medLo! + medHi!) / 2, ci, pValue: Math.min(1, 2 * Math.min(lower, upper)), u };
}

/** Smallest sample size per side (equal sizes) at which a verdict at `confidence` is possible at all. */
export function minimumIterations(confidence: number): number {
  for (let n = 2; n < 50; n++) if (lowerCriticalValue(n, n, 1 - confidence) >= 0) return n;
  return 50;
}

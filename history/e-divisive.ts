import { seededRandom } from '../core/random.ts';

/**
 * E-divisive with means (Matteson & James 2014, "A nonparametric approach for multiple change
 * point analysis of multivariate data", JASA 109(505)), univariate, alpha = 1: the method
 * MongoDB's performance CI (Daly et al., ICPE 2020) and Apache Otava (formerly Hunter) run on
 * benchmark histories.
 *
 * For a segment x[a..b) split at t (left a..t, right t..b, sizes m and k) the statistic is
 *   Q(t) = m k / (m + k) * ( 2/(m k) Σ|x_i - y_j| - 1/C(m,2) Σ|x_i - x_i'| - 1/C(k,2) Σ|y_j - y_j'| )
 * (between-segment distance minus within-segment distances: an energy distance, so it sees any
 * change of distribution, not only of the mean). Change points are found one at a time: the best
 * split over all current segments is kept if a permutation test says it is significant, then
 * the segments are split again, until a split is not significant.
 *
 * Significance: the points of each segment are shuffled (seeded, so a check is reproducible)
 * and the best split statistic recomputed; p = (exceedances + 1) / (permutations + 1). As in
 * ecp (Gandy 2009's sequential idea), the shuffling stops as soon as so many permutations have
 * exceeded the observed value that p can no longer reach the level: on a flat series that is
 * after a handful, so most checks cost little.
 */

export interface EDivisiveOptions {
  /** Largest p-value at which a split is accepted as a change point. */
  pValue: number;
  /** Most permutations per test. */
  permutations: number;
  /** Fewest points on each side of a change point (and between two change points). */
  minSize: number;
  /** Seed of the permutations. */
  seed: number;
}

export const DEFAULT_EDIVISIVE: EDivisiveOptions = { pValue: 0.01, permutations: 199, minSize: 4, seed: 1 };

export interface ChangePoint {
  /** Index of the first point of the new level. */
  index: number;
  /** The split statistic Q at that index. */
  statistic: number;
  /** Permutation p-value when it was accepted. */
  pValue: number;
}

interface Split {
  index: number;
  statistic: number;
}

/**
 * The best split of x[a..b) (given in `order`, an index permutation of the whole series), or
 * null when the segment is too short to hold two parts of minSize. O((b-a)^2) per call.
 */
function bestSplit(x: Float64Array, order: Int32Array, a: number, b: number, minSize: number, rowLeft: Float64Array, rowRight: Float64Array): Split | null {
  const n = b - a;
  if (n < 2 * minSize) return null;
  // rowLeft[t]: distance of point t to all points before it in the segment; rowRight[t]: to all after it.
  let total = 0;
  rowRight.fill(0, a, b);
  for (let t = a; t < b; t++) {
    const v = x[order[t]!]!;
    let s = 0;
    for (let i = a; i < t; i++) {
      const d = Math.abs(v - x[order[i]!]!);
      s += d;
      rowRight[i] = rowRight[i]! + d;
    }
    rowLeft[t] = s;
    total += s;
  }
  // Moving the split right by one moves a point from the right part to the left.
  let within = 0;
  for (let t = a; t < a + minSize; t++) within += rowLeft[t]!;
  let withinRight = 0;
  for (let t = a + minSize; t < b; t++) withinRight += rowRight[t]!;
  let best: Split | null = null;
  for (let t = a + minSize; t <= b - minSize; t++) {
    const m = t - a;
    const k = b - t;
    const between = total - within - withinRight;
    const e = (2 * between) / (m * k) - (2 * within) / (m * (m - 1) || 1) - (2 * withinRight) / (k * (k - 1) || 1);
    const q = ((m * k) / (m + k)) * e;
    if (!best || q > best.statistic) best = { index: t, statistic: q };
    // Point t leaves the right part (its distances to later points) and joins the left.
    within += rowLeft[t]!;
    withinRight -= rowRight[t]!;
  }
  return best;
}

function bestOverSegments(x: Float64Array, order: Int32Array, bounds: readonly number[], minSize: number, rowLeft: Float64Array, rowRight: Float64Array): Split | null {
  let best: Split | null = null;
  for (let s = 0; s + 1 < bounds.length; s++) {
    const split = bestSplit(x, order, bounds[s]!, bounds[s + 1]!, minSize, rowLeft, rowRight);
    if (split && (!best || split.statistic > best.statistic)) best = split;
  }
  return best;
}

function shuffleSegments(order: Int32Array, bounds: readonly number[], rand: () => number): void {
  for (let s = 0; s + 1 < bounds.length; s++) {
    const a = bounds[s]!;
    for (let i = bounds[s + 1]! - 1; i > a; i--) {
      const j = a + Math.floor(rand() * (i - a + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
  }
}

/** Change points of the series (indexes of the first point of each new level), in series order. */
export function eDivisive(series: readonly number[], options: Partial<EDivisiveOptions> = {}): ChangePoint[] {
  const opts = { ...DEFAULT_EDIVISIVE, ...options };
  const n = series.length;
  const x = Float64Array.from(series);
  const identity = new Int32Array(n).map((_, i) => i);
  const order = new Int32Array(n);
  const rowLeft = new Float64Array(n);
  const rowRight = new Float64Array(n);
  const rand = seededRandom(opts.seed);
  const found: ChangePoint[] = [];
  // The test fails once this many permutations reach the observed statistic.
  const maxExceed = Math.floor(opts.pValue * (opts.permutations + 1)) - 1;
  if (maxExceed < 0) throw new Error(`${opts.permutations} permutations cannot reach p <= ${opts.pValue}`);
  for (;;) {
    const bounds = [0, ...found.map((c) => c.index).sort((a, b) => a - b), n];
    const observed = bestOverSegments(x, identity, bounds, opts.minSize, rowLeft, rowRight);
    if (!observed) break;
    let exceed = 0;
    let done = 0;
    order.set(identity);
    while (done < opts.permutations && exceed <= maxExceed) {
      shuffleSegments(order, bounds, rand);
      const perm = bestOverSegments(x, order, bounds, opts.minSize, rowLeft, rowRight);
      if (perm && perm.statistic >= observed.statistic) exceed++;
      done++;
    }
    const p = (exceed + 1) / (done + 1);
    if (exceed > maxExceed) break;
    found.push({ index: observed.index, statistic: observed.statistic, pValue: p });
  }
  return found.sort((a, b) => a.index - b.index);
}

import { describe, expect, it } from 'vitest';
import { rng } from './noise.ts';
import { estimateShift, lowerCriticalValue, mannWhitneyCdf, minimumIterations } from '../../core/rank-stats.ts';

describe('Mann-Whitney null distribution', () => {
  it('matches exact counts for small samples', () => {
    // 5 vs 5: C(10,5) = 252 arrangements, one with U = 0, one with U = 1, two with U = 2.
    expect(mannWhitneyCdf(0, 5, 5)).toBeCloseTo(1 / 252, 12);
    expect(mannWhitneyCdf(1, 5, 5)).toBeCloseTo(2 / 252, 12);
    expect(mannWhitneyCdf(2, 5, 5)).toBeCloseTo(4 / 252, 12);
    // Symmetric around m*n/2 and total 1.
    expect(mannWhitneyCdf(12, 5, 5)).toBeCloseTo(0.5, 12);
    expect(mannWhitneyCdf(25, 5, 5)).toBe(1);
    // Unequal sizes: 2 vs 3 has C(5,2) = 10 arrangements, U = 0 once.
    expect(mannWhitneyCdf(0, 2, 3)).toBeCloseTo(0.1, 12);
    expect(mannWhitneyCdf(0, 3, 2)).toBeCloseTo(0.1, 12);
  });

  it('gives the critical values of published tables', () => {
    // Two-sided critical U for n1 = n2 = 10: 23 at alpha 0.05 and 16 at alpha 0.01.
    expect(lowerCriticalValue(10, 10, 0.05)).toBe(23);
    expect(lowerCriticalValue(10, 10, 0.01)).toBe(16);
    expect(lowerCriticalValue(5, 5, 0.05)).toBe(2);
    expect(lowerCriticalValue(8, 12, 0.05)).toBe(22);
    // Four per side cannot reach 1% (the smallest two-sided p is 2/70).
    expect(lowerCriticalValue(4, 4, 0.01)).toBe(-1);
    expect(minimumIterations(0.99)).toBe(5);
    expect(minimumIterations(0.95)).toBe(4);
  });

  it('switches to the normal approximation for large samples without a jump', () => {
    // 60 vs 60: mean 1800, sd sqrt(3600 * 121 / 12) = 190.5; 1800 - 1.96 * 190.5 = 1426.6.
    const c = lowerCriticalValue(60, 60, 0.05);
    expect(c).toBeGreaterThanOrEqual(1424);
    expect(c).toBeLessThanOrEqual(1428);
  });
});

describe('Hodges-Lehmann shift and Moses interval', () => {
  it('computes the estimate, interval and p-value of a clear shift', () => {
    // Differences y - x take 1..9 with counts 1,2,3,4,5,4,3,2,1; c = 2 at 95%, so the interval is [D(3), D(23)].
    const s = estimateShift([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 0.95);
    expect(s.shift).toBe(5);
    expect(s.ci).toEqual([2, 8]);
    expect(s.u).toBe(25);
    expect(s.pValue).toBeCloseTo(2 / 252, 12);
  });

  it('is centred on zero for identical samples and has no interval when samples are too small', () => {
    const s = estimateShift([10, 11, 12, 13, 14], [10, 11, 12, 13, 14], 0.95);
    expect(s.shift).toBe(0);
    expect(s.ci![0]).toBeLessThan(0);
    expect(s.ci![1]).toBeGreaterThan(0);
    expect(s.pValue).toBe(1);
    expect(estimateShift([1, 2, 3], [4, 5, 6], 0.99).ci).toBeNull();
  });

  it('matches the definition (median and order statistics of all sorted pairwise differences), ties included', () => {
    const rand = rng(5);
    for (let trial = 0; trial < 300; trial++) {
      const m = 1 + Math.floor(rand() * 14);
      const n = 1 + Math.floor(rand() * 14);
      // Every third trial on a coarse grid, so that many differences tie.
      const v = () => (trial % 3 ? rand() * 100 : Math.round(rand() * 5));
      const a = Array.from({ length: m }, v);
      const b = Array.from({ length: n }, v);
      const diffs = a.flatMap((x) => b.map((y) => y - x)).sort((p, q) => p - q);
      const k = diffs.length;
      const med = k % 2 ? diffs[k >> 1]! : (diffs[k / 2 - 1]! + diffs[k / 2]!) / 2;
      const s = estimateShift(a, b, 0.95);
      expect(s.shift).toBe(med);
      const c = lowerCriticalValue(m, n, 0.05);
      expect(s.ci).toEqual(c >= 0 ? [diffs[c]!, diffs[k - 1 - c]!] : null);
    }
  });
});

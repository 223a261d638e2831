import { describe, expect, it } from 'vitest';
import type { IterationRecord } from '../../core/events.ts';
import { expandMatrix } from '../../core/matrix.ts';
import { adaptiveIterationRange, adaptiveStop, markOutliers, shuffleCells, tukeyOutliers } from '../../harness/methodology.ts';

/** An iteration whose TTFT is exactly `ttft` ms. */
function rec(index: number, ttft: number, warmup = false): IterationRecord {
  return {
    index, warmup, startMs: 0, endMs: ttft + 10, promptTokens: 1, imageTokens: 0, images: 0, outputTokens: 1,
    events: [{ kind: 'token', tMs: ttft, index: 0, count: 1 }],
  };
}

const plan = { metrics: ['ttft_ms'], targetCiPct: 2, maxIterations: 12, maxCellSeconds: 60 };

describe('adaptive iterations', () => {
  it('waits for the minimum, then stops once the median interval of every key metric is within the target', () => {
    const tight = [rec(0, 500, true), rec(1, 100), rec(2, 101), rec(3, 99), rec(4, 100.4), rec(5, 99.6)];
    expect(adaptiveStop(tight.slice(0, 3), 2, 3, plan, 0).stop).toBe(false); // below the minimum
    // Five values give no 95% interval of the median (n >= 6 is needed): keep going.
    const d = adaptiveStop(tight, 5, 3, plan, 0);
    expect(d.stop).toBe(false);
    expect(d.halfWidthPct).toEqual({ ttft_ms: null });
    // n = 6: the interval is [min, max] = [99, 101] around the median 100.1.
    const more = [...tight, rec(6, 100.2)];
    const d2 = adaptiveStop(more, 6, 3, plan, 0);
    expect(d2.stop).toBe(true);
    expect(d2.rule).toBe('target reached');
    expect(d2.halfWidthPct['ttft_ms']).toBeCloseTo((1.1 / 100.1) * 100, 6); // [99, 101] around 100.1: the wider side
    expect(d2.reason).toMatch(/95% CI of the median within the target after 6 iterations: ttft_ms ±1\.10% \(target ±2%\)/);
  });
  it('needs every key metric within the target, and leaves out one the cell does not produce', () => {
    // TTFT is tight, e2e (TTFT + 10 ms, so also tight) too; a metric the cells lack (tpot_ms) is skipped.
    const recs = [100, 101, 99, 100.5, 99.5, 100.2].map((v, i) => rec(i, v));
    const both = adaptiveStop(recs, 6, 3, { ...plan, metrics: ['ttft_ms', 'tpot_ms', 'e2e_ms'] }, 0);
    expect(both.stop).toBe(true);
    expect(Object.keys(both.halfWidthPct)).toEqual(['ttft_ms', 'e2e_ms']);
    // One wide metric keeps the cell measuring.
    const wide = [100, 101, 99, 100.5, 99.5, 100.2].map((v, i) => ({ ...rec(i, v), endMs: v + 10 + (i % 2 ? 30 : 0) }));
    const d = adaptiveStop(wide, 6, 3, { ...plan, metrics: ['ttft_ms', 'e2e_ms'] }, 0);
    expect(d.stop).toBe(false);
    expect(d.halfWidthPct['e2e_ms']).toBeGreaterThan(2);
  });
  it('stops at the maximum count or the time budget, saying which and how wide the interval still is', () => {
    const noisy = [100, 150, 60, 130, 90, 170, 75].map((v, i) => rec(i, v));
    const max = adaptiveStop(noisy, 7, 3, { ...plan, maxIterations: 7 }, 0);
    expect(max.rule).toBe('max count');
    expect(max.reason).toMatch(/reached 7 iterations with the 95% CI of the median at ttft_ms ±\d+\.\d+%/);
    const budget = adaptiveStop(noisy, 7, 3, plan, 61_000);
    expect(budget.rule).toBe('time budget');
    expect(budget.reason).toMatch(/time budget of 60 s spent after 7 iterations/);
    expect(adaptiveStop(noisy, 7, 3, plan, 1_000).stop).toBe(false);
  });
});

describe('adaptive iteration range (for compositions)', () => {
  it('gives the count adaptiveStop reaches when the interval never narrows, for requests of a given time', () => {
    // Alternating values: the median's interval stays far wider than ±2%, so only the count or the budget stops.
    const noisy = (n: number) => Array.from({ length: n }, (_, i) => rec(i, i % 2 ? 100 : 200));
    const budgetPlan = { ...plan, maxIterations: 30, maxCellSeconds: 20 };
    const simulate = (warmupMs: number, requestMs: number): number => {
      for (let n = 1; n <= 100; n++) if (adaptiveStop(noisy(n), n, 6, budgetPlan, warmupMs + n * requestMs).stop) return n;
      throw new Error('never stopped');
    };
    for (const [warmupMs, requestMs] of [[900, 700], [3000, 2500], [40_000, 17_000], [100, 300], [2000, 1000], [0, 5000]] as const) {
      const range = adaptiveIterationRange(budgetPlan, 6, warmupMs, requestMs);
      expect(range.most, `warm-up ${warmupMs} ms, request ${requestMs} ms`).toBe(simulate(warmupMs, requestMs));
      expect(range.fewest).toBe(6);
    }
    // Spelled out: 0.7 s requests after a 0.9 s warm-up reach 20 s at the 28th; 0.3 s ones hit the count of 30 first;
    // 17 s requests stop at the minimum of 6 (the budget is long spent).
    expect(adaptiveIterationRange(budgetPlan, 6, 900, 700).most).toBe(28);
    expect(adaptiveIterationRange(budgetPlan, 6, 100, 300).most).toBe(30);
    expect(adaptiveIterationRange(budgetPlan, 6, 40_000, 17_000).most).toBe(6);
  });
  it('refuses a request time that is not positive', () => {
    expect(() => adaptiveIterationRange(plan, 6, 0, 0)).toThrow(/request time must be > 0/);
  });
});

describe('outliers', () => {
  it('marks values outside Tukey fences by iteration index', () => {
    const series = [10, 11, 10.5, 10.2, 30, 10.8, 9.9].map((value, index) => ({ index, value }));
    expect(tukeyOutliers(series)).toEqual([4]);
    expect(tukeyOutliers(series.slice(0, 3))).toEqual([]); // too few to tell
    const recs = [rec(0, 10), rec(1, 11), rec(2, 10.5), rec(3, 10.2), rec(4, 30), rec(5, 10.8)];
    expect(markOutliers(recs)['ttft_ms']).toEqual([4]);
  });

  it('does not flag float noise among identical values, but still flags a real outlier among them', () => {
    // 296.62 + 306.84 summed along different event paths: the same figure, last bits apart.
    const same = [603.46, 296.62 + 306.84, 603.46, 603.4600000000001, 603.46].map((value, index) => ({ index, value }));
    expect(new Set(same.map((s) => s.value)).size).toBeGreaterThan(1);
    expect(tukeyOutliers(same)).toEqual([]);
    expect(tukeyOutliers([...same, { index: 5, value: 603.47 }])).toEqual([5]);
  });
});

describe('shuffled order', () => {
  it('is a reproducible permutation of the cells', () => {
    const cells = expandMatrix({ images: [0, 1, 2, 4], precision: ['int8', 'int4'] });
    const a = shuffleCells(cells, 42).map((c) => c.id);
    expect(shuffleCells(cells, 42).map((c) => c.id)).toEqual(a);
    expect(a).not.toEqual(cells.map((c) => c.id));
    expect([...a].sort()).toEqual(cells.map((c) => c.id).sort());
    expect(shuffleCells(cells, 43).map((c) => c.id)).not.toEqual(a);
  });
});

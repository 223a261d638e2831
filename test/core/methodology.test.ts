import { describe, expect, it } from 'vitest';
import type { IterationRecord } from '../../core/events.ts';
import { expandMatrix } from '../../harness/matrix.ts';
import { adaptiveStop, markOutliers, shuffleCells, tukeyOutliers } from '../../harness/methodology.ts';

/** An iteration whose TTFT is exactly `ttft` ms. */
function rec(index: number, ttft: number, warmup = false): IterationRecord {
  return {
    index, warmup, startMs: 0, endMs: ttft + 10, promptTokens: 1, imageTokens: 0, images: 0, outputTokens: 1,
    events: [{ kind: 'token', tMs: ttft, index: 0, count: 1 }],
  };
}

const plan = { metric: 'ttft_ms', targetCiPct: 2, maxIterations: 10, maxCellSeconds: 60 };

describe('adaptive iterations', () => {
  it('waits for the minimum, then stops once the CI half-width is within the target', () => {
    const tight = [rec(0, 500, true), rec(1, 100), rec(2, 101), rec(3, 99)];
    expect(adaptiveStop(tight.slice(0, 3), 2, 3, plan, 0).stop).toBe(false); // below the minimum
    const d = adaptiveStop(tight, 3, 3, plan, 0);
    // mean 100, stdev 1, t(0.975,2)=4.303 -> half-width 2.48 ms = 2.48% > 2%: keep going
    expect(d.stop).toBe(false);
    const more = [...tight, rec(4, 100), rec(5, 100.5), rec(6, 99.5)];
    const d2 = adaptiveStop(more, 6, 3, plan, 0);
    expect(d2.stop).toBe(true);
    expect(d2.reason).toMatch(/95% CI of ttft_ms within ±0\.\d+% after 6 iterations \(target ±2%\)/);
  });
  it('stops at the maximum count or the time budget, saying how wide the CI still is', () => {
    const noisy = [rec(0, 100), rec(1, 150), rec(2, 60), rec(3, 130)];
    expect(adaptiveStop(noisy, 4, 3, { ...plan, maxIterations: 4 }, 0).reason).toMatch(/reached 4 iterations with the 95% CI of ttft_ms at ±\d+\.\d+%/);
    expect(adaptiveStop(noisy, 4, 3, plan, 61_000).reason).toMatch(/time budget of 60 s spent after 4 iterations/);
    expect(adaptiveStop(noisy, 4, 3, plan, 1_000).stop).toBe(false);
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

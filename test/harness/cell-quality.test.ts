import { describe, expect, it } from 'vitest';
import type { IterationRecord } from '../../core/events.ts';
import { cellFlags, cellSpread, metricFlags, NOISE_THRESHOLDS } from '../../harness/cell-quality.ts';
import { startMachineWindow } from '../../hw-probes/machine-load.ts';

/** An iteration with the given TTFT and 16 tokens one `step` ms apart. */
function rec(index: number, ttft: number, step: number): IterationRecord {
  const events: IterationRecord['events'] = [];
  for (let i = 0; i < 16; i++) events.push({ kind: 'token', tMs: ttft + i * step, index: i, count: 1 });
  return { index, warmup: false, startMs: 0, endMs: ttft + 16 * step, promptTokens: 128, imageTokens: 0, images: 0, outputTokens: 16, events };
}

const quietMachine = { cpus: 2, loadAvg1Before: 0.4, loadAvg1After: 0.6, stealPct: 0.1, runQueueWaitPct: 1 };

describe('cell spread and flags', () => {
  it('records the median interval half-width and IQR of each key metric', () => {
    const recs = [100, 102, 98, 101, 99, 100, 100.5, 99.5].map((t, i) => rec(i, t, 20));
    const spread = cellSpread(recs);
    // n = 8: the interval is [min, max] = [98, 102] around the median 100.
    expect(spread['ttft_ms']).toEqual({ n: 8, ciHalfWidthPct: 2, iqrOverMedianPct: expect.closeTo(1.25, 6) });
    expect(spread['tpot_ms']!.ciHalfWidthPct).toBeCloseTo(0, 9);
    expect(cellFlags({ spread, machine: quietMachine })).toEqual([]);
  });

  it('flags a noisy cell, one too small to tell, outliers and a busy machine, each with its figure', () => {
    const recs = [100, 130, 80, 110, 95, 120].map((t, i) => rec(i, t, 20));
    const flags = cellFlags({
      spread: cellSpread(recs),
      outliers: { ttft_ms: [4] },
      machine: { cpus: 2, loadAvg1Before: 5.2, loadAvg1After: 9.1, stealPct: 3.5, runQueueWaitPct: 31 },
      throttled: true,
      throttleReasons: ['cpu clock fell 30%'],
    });
    const kinds = flags.map((f) => f.kind);
    expect(kinds).toEqual(['noisy', 'outliers', 'busy', 'steal', 'run-queue', 'throttled']);
    expect(flags[0]!.message).toMatch(/ttft_ms ±2\d\.\d%/); // [80, 130] around 105: ±23.8%
    expect(flags[2]!.message).toContain('load average 5.20 -> 9.10 on 2 CPU(s), 9.10 of it not this run\'s 0 thread(s) (over 1)');
    expect(flags[4]!.message).toContain('31.0%');
    const few = cellFlags({ spread: cellSpread(recs.slice(0, 5)) });
    expect(few.map((f) => f.kind)).toEqual(['few-iterations']);
    // Just inside every threshold: nothing.
    const edge = { cpus: 2, loadAvg1Before: 1, loadAvg1After: 1, stealPct: NOISE_THRESHOLDS.stealPct, runQueueWaitPct: NOISE_THRESHOLDS.runQueueWaitPct };
    expect(cellFlags({ spread: {}, machine: edge })).toEqual([]);
    // The run's own compute threads are not other work: a 2-thread cell at load 3 on 2 CPUs is not busy, at load 3.1 it is.
    expect(cellFlags({ spread: {}, machine: { ...edge, loadAvg1After: 3 }, ownThreads: 2 })).toEqual([]);
    expect(cellFlags({ spread: {}, machine: { ...edge, loadAvg1After: 3.1 }, ownThreads: 2 }).map((f) => f.kind)).toEqual(['busy']);
  });
});

describe('flags on each figure', () => {
  it('puts machine flags on every timing and a noisy flag only on the metrics whose own interval is wide', () => {
    const recs = [100, 130, 80, 110, 95, 120].map((t, i) => rec(i, t, 20));
    const spread = cellSpread(recs);
    const flags = cellFlags({ spread, machine: { cpus: 2, loadAvg1Before: 5, loadAvg1After: 6, stealPct: 0, runQueueWaitPct: 1 } });
    const perMetric = metricFlags(flags, spread, ['ttft_ms', 'tpot_ms']);
    expect(perMetric['ttft_ms']!.map((f) => f.kind)).toEqual(['noisy', 'busy']);
    expect(perMetric['ttft_ms']![0]!.message).toBe('95% CI of the median wider than ±5%');
    expect(perMetric['ttft_ms']![1]!.message).toBe('machine busy while measured (load from other work above 0.5 x the CPU count)');
    expect(perMetric['tpot_ms']!.map((f) => f.kind)).toEqual(['busy']); // TPOT is steady (20 ms every step)
    expect(metricFlags([], spread, ['tpot_ms'])).toEqual({});
  });
});

describe('machine window', () => {
  it("reads this Linux machine's load, steal and this process's run-queue wait", async () => {
    const w = startMachineWindow();
    // Busy work on the main thread so the counters move.
    const until = performance.now() + 150;
    let x = 0;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    await new Promise((r) => setTimeout(r, 20));
    const m = w.finish();
    expect(x).toBeGreaterThan(0);
    expect(m.cpus).toBeGreaterThanOrEqual(1);
    expect(m.loadAvg1Before).toBeGreaterThanOrEqual(0);
    expect(m.stealPct).not.toBeNull();
    expect(m.stealPct!).toBeGreaterThanOrEqual(0);
    expect(m.stealPct!).toBeLessThanOrEqual(100);
    // Null only where the kernel keeps no schedstats; then it must stay null, never a made-up 0.
    if (m.runQueueWaitPct !== null) {
      expect(m.runQueueWaitPct).toBeGreaterThanOrEqual(0);
      expect(m.runQueueWaitPct).toBeLessThan(100);
    }
  });
});

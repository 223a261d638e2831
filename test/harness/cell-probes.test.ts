/**
 * A cell's probes sample until the last iteration has ended (issue 30: the probe stopped as the
 * last iteration ended, so the power at the end of its last window was the previous sample's,
 * held). A real polled probe on real timers, reading a constant 5 W meter: the meter is the
 * only stand-in.
 */
import { describe, expect, it } from 'vitest';
import { createClock } from '../../core/clock.ts';
import type { IterationRecord } from '../../core/events.ts';
import { monitorCell } from '../../harness/cell-probes.ts';
import { createPolledProbe } from '../../hw-probes/polling.ts';
import type { Probe } from '../../core/probe-types.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function meter(): Probe {
  return createPolledProbe({
    name: 'meter',
    detect: async () => ({ probe: 'meter', available: true, reason: 'test meter' }),
    snapshot: async () => ({ probe: 'meter', facts: {}, warnings: [] }),
    read: async (clock) => ({ tMs: clock.now(), probe: 'meter', rails: [{ name: 'VDD_IN', powerMw: 5000 }] }),
  });
}

function request(startMs: number, endMs: number): IterationRecord {
  const split = (startMs + endMs) / 2;
  return {
    index: 0,
    warmup: false,
    startMs,
    endMs,
    promptTokens: 16,
    imageTokens: 0,
    images: 0,
    outputTokens: 5,
    events: [
      { kind: 'phase', phase: 'prefill', startMs, endMs: split },
      { kind: 'token', tMs: split, index: 0, count: 1 },
      { kind: 'token', tMs: endMs, index: 1, count: 4 },
      { kind: 'phase', phase: 'decode', startMs: split, endMs },
    ],
  };
}

describe('cell probes cover each iteration to its end', () => {
  it('keeps sampling until a reading lies after the last iteration, then integrates it with no held edge', async () => {
    const clock = createClock();
    const monitor = await monitorCell([{ name: 'meter', probe: meter(), available: true, reason: '' }], clock, { intervalMs: 100, baselineMs: 250 });
    await sleep(420);
    // The iteration ends now, between two readings (the run loop calls finish right after it).
    const start = clock.now() - 400;
    const end = clock.now();
    const { record, metrics, warnings } = await monitor.finish([request(start, end)]);
    const last = record.samples[record.samples.length - 1]!;
    expect(last.tMs).toBeGreaterThan(end);
    // Constant 5 W: energy is exactly 5 W x the window, with no value held past the samples.
    expect(metrics['energy_request_j']!.median).toBeCloseTo((5 * (end - start)) / 1000, 9);
    expect(metrics['decode_j_per_token']!.median).toBeCloseTo((5 * (end - start)) / 2 / 1000 / 4, 9);
    // Idle is the same 5 W: nothing above it.
    expect(metrics['power_idle_w']!.median).toBeCloseTo(5, 9);
    expect(metrics['decode_net_j_per_token']!.median).toBeCloseTo(0, 9);
    expect(warnings.join('\n')).not.toMatch(/held|stopped before/);
  });

  it('opens the idle window once the probe samples: a tool slow to print its first line still gets its full baseline', async () => {
    const clock = createClock();
    let first = true;
    // A meter whose first reading takes 600 ms (a tool starting over ssh, or on a loaded
    // machine), twice the idle window asked for.
    const slow = createPolledProbe({
      name: 'slow',
      detect: async () => ({ probe: 'slow', available: true, reason: 'test meter' }),
      snapshot: async () => ({ probe: 'slow', facts: {}, warnings: [] }),
      read: async (c) => {
        if (first) {
          first = false;
          await sleep(600);
        }
        return { tMs: c.now(), probe: 'slow', rails: [{ name: 'VDD_IN', powerMw: 4000 }] };
      },
    });
    const monitor = await monitorCell([{ name: 'slow', probe: slow, available: true, reason: '' }], clock, { intervalMs: 50, baselineMs: 300 });
    const start = clock.now();
    await sleep(200);
    const { record, metrics } = await monitor.finish([request(start, clock.now())]);
    const idle = record.baselineWindow!;
    // Its length is Node's 300 ms timer, which counts from the event loop's cached time (299.8 ms
    // on the run clock was seen): what matters is where it lies and what it holds.
    // Opened after the first reading, so the whole window is covered by readings.
    expect(idle.startMs).toBeGreaterThanOrEqual(record.samples[0]!.tMs);
    expect(record.samples.filter((x) => x.tMs >= idle.startMs && x.tMs <= idle.endMs).length).toBeGreaterThanOrEqual(3);
    expect(metrics['power_idle_w']!.median).toBeCloseTo(4, 9);
  });

  it('waits a bounded time for a probe that stopped producing, and says so', async () => {
    const clock = createClock();
    let reads = 0;
    // A meter that answers three times, then fails every read (a tool that died).
    const dying = createPolledProbe({
      name: 'dying',
      detect: async () => ({ probe: 'dying', available: true, reason: 'test meter' }),
      snapshot: async () => ({ probe: 'dying', facts: {}, warnings: [] }),
      read: async (c) => {
        reads += 1;
        if (reads > 3) throw new Error('meter gone');
        return { tMs: c.now(), probe: 'dying', rails: [{ name: 'VDD_IN', powerMw: 5000 }] };
      },
    });
    const monitor = await monitorCell([{ name: 'dying', probe: dying, available: true, reason: '' }], clock, { intervalMs: 50, baselineMs: 0 });
    await sleep(400);
    const before = clock.now();
    const { warnings } = await monitor.finish([request(before - 300, before)]);
    const waited = clock.now() - before;
    // 3 intervals + 1 s, not forever.
    expect(waited).toBeGreaterThanOrEqual(1150);
    expect(waited).toBeLessThan(5000);
    expect(warnings).toContain('dying: no sample came within 1150 ms after the last iteration ended, so its last window is not fully covered by readings');
  });
});

import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import type { IterationRecord } from '../../core/events.ts';
import {
  counterWindowEnergy,
  decodeTokenCount,
  energyByWindow,
  energyMetrics,
  idleBaseline,
  iterationPhaseEnergy,
  joulesPerItem,
  lowConfidenceWarnings,
  samplingSummary,
  windowEnergy,
  type PowerPoint,
} from '../../core/energy.ts';

/** Points of f(t) at the given times. */
const sampled = (times: number[], f: (tMs: number) => number): PowerPoint[] => times.map((tMs) => ({ tMs, watts: f(tMs) }));
const every = (stepMs: number, endMs: number): number[] => Array.from({ length: Math.floor(endMs / stepMs) + 1 }, (_, i) => i * stepMs);

describe('trapezoid energy of a window', () => {
  it('constant power: energy = P x duration for any window inside the samples', () => {
    const pts = sampled(every(100, 10_000), () => 5);
    const e = windowEnergy(pts, { name: 'decode', startMs: 1234, endMs: 5678 });
    expect(e.joules).toBeCloseTo(5 * 4.444, 12);
    expect(e.averageWatts).toBeCloseTo(5, 12);
    expect(e.durationMs).toBe(4444);
    expect(e.meanIntervalMs).toBe(100);
    expect(e.samplesInWindow).toBe(44); // 1300, 1400, ..., 5600
    expect(e.lowConfidence).toBe(false);
  });

  it('linear ramp: exact, since the trapezoid rule is exact for linear power', () => {
    // P(t) = 2 + 0.001 t W (t in ms): integral over [a, b] = 2(b-a)/1000 + (b^2-a^2)/2e6 J
    const pts = sampled(every(250, 20_000), (t) => 2 + 0.001 * t);
    const exact = (a: number, b: number): number => (2 * (b - a)) / 1000 + (b * b - a * a) / 2e6;
    expect(windowEnergy(pts, { name: 'all', startMs: 0, endMs: 20_000 }).joules).toBeCloseTo(exact(0, 20_000), 9); // 40 + 200 = 240 J
    expect(exact(0, 20_000)).toBe(240);
    // Phase beginning and ending between samples: edges interpolated on the ramp.
    expect(windowEnergy(pts, { name: 'prefill', startMs: 1111, endMs: 7777 }).joules).toBeCloseTo(exact(1111, 7777), 9);
  });

  it('uneven sampling: still exact on a ramp, and the mean interval is stated', () => {
    const times = [0, 30, 45, 200, 210, 600, 650, 1000];
    const pts = sampled(times, (t) => 10 - 0.005 * t);
    const e = windowEnergy(pts, { name: 'x', startMs: 20, endMs: 900 });
    const exact = (a: number, b: number): number => (10 * (b - a) - (0.005 * (b * b - a * a)) / 2) / 1000;
    expect(e.joules).toBeCloseTo(exact(20, 900), 12); // 8.8 - 2.024 = 6.776 J
    expect(e.meanIntervalMs).toBeCloseTo(1000 / 7, 12);
    expect(e.samplesInWindow).toBe(6);
    // The 390 ms gap (210 -> 600) is more than twice the mean interval: flagged.
    expect(e.maxGapMs).toBe(390);
    expect(e.lowConfidence).toBe(true);
    expect(e.notes.join(' ')).toMatch(/390\.0 ms gap/);
  });

  it('a step change: edges interpolate between the neighbouring samples', () => {
    // 1 W until 100 ms, 11 W from 200 ms on; the window 150..250 sees 6 W at 150 (interpolated),
    // 11 W at 200 and 250: (6 + 11)/2 x 50 + 11 x 50 = 425 + 550 W.ms = 0.975 J.
    const pts: PowerPoint[] = [
      { tMs: 0, watts: 1 },
      { tMs: 100, watts: 1 },
      { tMs: 200, watts: 11 },
      { tMs: 300, watts: 11 },
      { tMs: 400, watts: 11 },
    ];
    const e = windowEnergy(pts, { name: 'w', startMs: 150, endMs: 250 });
    expect(e.joules).toBeCloseTo(0.975, 12);
    expect(e.samplesInWindow).toBe(1);
  });

  it('a phase shorter than two sampling intervals is marked low-confidence', () => {
    const pts = sampled(every(100, 1000), () => 3);
    const short = windowEnergy(pts, { name: 'preprocess', startMs: 410, endMs: 590 });
    expect(short.joules).toBeCloseTo(3 * 0.18, 12);
    expect(short.samplesInWindow).toBe(1);
    expect(short.lowConfidence).toBe(true);
    expect(short.notes[0]).toBe('window 180.0 ms is shorter than two sampling intervals (200.0 ms at 100.0 ms per sample)');
    expect(short.causes).toEqual([{ kind: 'short-window', windowMs: 180, intervalMs: 100 }]);
    const long = windowEnergy(pts, { name: 'decode', startMs: 100, endMs: 300 });
    expect(long.lowConfidence).toBe(false);
    // Entirely between two samples, zero samples inside:
    const tiny = windowEnergy(pts, { name: 'tiny', startMs: 420, endMs: 430 });
    expect(tiny.samplesInWindow).toBe(0);
    expect(tiny.joules).toBeCloseTo(0.03, 12);
    expect(tiny.lowConfidence).toBe(true);
  });

  it('a zero-length window has zero energy and the local power as average', () => {
    const pts = sampled(every(100, 1000), (t) => t / 100);
    const e = windowEnergy(pts, { name: 'z', startMs: 250, endMs: 250 });
    expect(e.joules).toBe(0);
    expect(e.averageWatts).toBeCloseTo(2.5, 12);
  });

  it('holds the edge value up to one interval beyond the samples, and refuses more', () => {
    const pts = sampled([100, 200, 300, 400], () => 4);
    const near = windowEnergy(pts, { name: 'start', startMs: 30, endMs: 400 });
    expect(near.joules).toBeCloseTo(4 * 0.37, 12);
    expect(near.lowConfidence).toBe(true);
    expect(near.notes[0]).toBe("power held at the first sample's value for 70.0 ms: the samples begin after the window does");
    expect(near.causes).toEqual([{ kind: 'edge-held', side: 'start', heldMs: 70 }]);
    // The window ends 60 ms after the last sample: the cause says the samples stopped first.
    const late = windowEnergy(pts, { name: 'decode', startMs: 100, endMs: 460 });
    expect(late.causes).toEqual([{ kind: 'edge-held', side: 'end', heldMs: 60 }]);
    expect(late.notes).toEqual(["power held at the last sample's value for 60.0 ms: the samples end before the window does"]);
    const far = windowEnergy(pts, { name: 'late', startMs: 300, endMs: 900 });
    expect(far.joules).toBeNull();
    expect(far.averageWatts).toBeNull();
    expect(far.notes[0]).toMatch(/500\.0 ms after the last sample: not covered/);
  });

  it('needs two samples, sorts its input and rejects bad values', () => {
    expect(windowEnergy([{ tMs: 0, watts: 1 }], { name: 'x', startMs: 0, endMs: 1 }).joules).toBeNull();
    const shuffled = [
      { tMs: 200, watts: 2 },
      { tMs: 0, watts: 2 },
      { tMs: 100, watts: 2 },
    ];
    expect(windowEnergy(shuffled, { name: 'x', startMs: 0, endMs: 200 }).joules).toBeCloseTo(0.4, 12);
    expect(() => windowEnergy([{ tMs: 0, watts: Number.NaN }, { tMs: 1, watts: 1 }], { name: 'x', startMs: 0, endMs: 1 })).toThrow(
      /power sample 0: time and value must be finite/,
    );
    expect(() => windowEnergy(shuffled, { name: 'backwards', startMs: 100, endMs: 50 })).toThrow(InputError);
  });

  it('several windows over one stream, with net energy above an idle baseline', () => {
    const pts = sampled(every(50, 3000), (t) => (t < 1000 ? 2 : 7));
    const [a, b] = energyByWindow(
      pts,
      [
        { name: 'prefill', startMs: 100, endMs: 900 },
        { name: 'decode', startMs: 1100, endMs: 2900 },
      ],
      2,
    );
    expect(a!.joules).toBeCloseTo(1.6, 12);
    expect(a!.netJoules).toBeCloseTo(0, 12);
    expect(b!.joules).toBeCloseTo(12.6, 12);
    expect(b!.netJoules).toBeCloseTo(9, 12);
  });
});

describe('idle baseline', () => {
  it('is the time-weighted mean, not the sample mean', () => {
    // 1 W for 900 ms then 10 W sampled densely: the sample mean would be misleading.
    const pts: PowerPoint[] = [
      { tMs: 0, watts: 1 },
      { tMs: 900, watts: 1 },
      { tMs: 910, watts: 10 },
      { tMs: 920, watts: 10 },
      { tMs: 1000, watts: 10 },
    ];
    const b = idleBaseline(pts);
    // 900 + (1+10)/2 x 10 + 10 x 90 = 900 + 55 + 900 = 1855 W.ms over 1000 ms
    expect(b.joules).toBeCloseTo(1.855, 12);
    expect(b.watts).toBeCloseTo(1.855, 12);
    expect(b.samples).toBe(5);
    expect(b.stdevWatts).toBeCloseTo(Math.sqrt(((1 - 6.4) ** 2 * 2 + (10 - 6.4) ** 2 * 3) / 4), 12);
    expect(() => idleBaseline([{ tMs: 0, watts: 1 }])).toThrow(/at least two power samples/);
  });
});

describe('cumulative counters (RAPL)', () => {
  it('takes counter differences, interpolated at the edges', () => {
    // 10 W constant for 1 s, counter read every 200 ms.
    const pts = every(200, 1000).map((tMs) => ({ tMs, joules: 100 + (10 * tMs) / 1000 }));
    const e = counterWindowEnergy(pts, { name: 'decode', startMs: 150, endMs: 850 });
    expect(e.joules).toBeCloseTo(7, 12);
    expect(e.averageWatts).toBeCloseTo(10, 12);
    expect(e.lowConfidence).toBe(false);
    expect(counterWindowEnergy(pts, { name: 'x', startMs: 900, endMs: 1100 }).joules).toBeNull();
    expect(counterWindowEnergy(pts, { name: 'short', startMs: 300, endMs: 500 }).lowConfidence).toBe(true);
  });
});

describe('J/token and J/image', () => {
  const iteration: IterationRecord = {
    index: 0,
    warmup: false,
    startMs: 0,
    endMs: 2000,
    promptTokens: 300,
    imageTokens: 256,
    images: 2,
    outputTokens: 11,
    events: [
      { kind: 'phase', phase: 'preprocess', startMs: 0, endMs: 100 },
      { kind: 'phase', phase: 'image_encode', startMs: 100, endMs: 300 },
      { kind: 'phase', phase: 'image_encode', startMs: 300, endMs: 500 },
      { kind: 'phase', phase: 'prefill', startMs: 500, endMs: 900 },
      { kind: 'token', tMs: 900, index: 0, count: 1 },
      { kind: 'phase', phase: 'decode', startMs: 900, endMs: 1900 },
      { kind: 'token', tMs: 1400, index: 1, count: 5 },
      { kind: 'token', tMs: 1900, index: 6, count: 5 },
    ],
  };
  // 4 W during preprocess, 8 W encoding, 12 W prefill, 6 W decode; samples every 10 ms.
  const power = (t: number): number => (t < 100 ? 4 : t < 500 ? 8 : t < 900 ? 12 : 6);
  const pts = sampled(every(10, 2000), power);

  it('counts decode tokens as generated tokens minus the first', () => {
    expect(decodeTokenCount(iteration)).toBe(10);
    expect(decodeTokenCount({ ...iteration, events: [] })).toBe(10);
  });

  it('attributes each phase, summing repeated windows', () => {
    const phases = iterationPhaseEnergy(pts, iteration, 1);
    const by = Object.fromEntries(phases.map((p) => [p.phase, p]));
    expect(phases.map((p) => p.phase)).toEqual(['preprocess', 'image_encode', 'prefill', 'decode']);
    // A step sits on a sample, so the last 10 ms interval before it ramps between the two
    // levels: image_encode = 8 W x 0.39 s + (8 + 12)/2 W x 0.01 s = 3.22 J.
    expect(by['preprocess']!.joules).toBeCloseTo(4 * 0.09 + 6 * 0.01, 12);
    expect(by['image_encode']!.windows).toBe(2);
    expect(by['image_encode']!.joules).toBeCloseTo(3.22, 12);
    expect(by['image_encode']!.items!.unit).toBe('image');
    expect(by['image_encode']!.items!.count).toBe(2);
    expect(by['image_encode']!.items!.joulesPerItem).toBeCloseTo(1.61, 12);
    expect(by['image_encode']!.items!.netJoulesPerItem).toBeCloseTo((3.22 - 0.4) / 2, 12);
    expect(by['prefill']!.joules).toBeCloseTo(12 * 0.39 + 9 * 0.01, 12);
    expect(by['decode']!.joules).toBeCloseTo(6 * 1.0, 12);
    expect(by['decode']!.items!.count).toBe(10);
    expect(by['decode']!.items!.joulesPerItem).toBeCloseTo(0.6, 12);
    expect(by['decode']!.netJoules).toBeCloseTo(5, 12);
    expect(by['decode']!.meanIntervalMs).toBe(10);
    expect(joulesPerItem(null, 3)).toBeNull();
    expect(joulesPerItem(2, 0)).toBeNull();
  });

  it('collects per-iteration metrics, leaving out warm-up and failed iterations', () => {
    const metrics = energyMetrics(pts, [iteration, { ...iteration, index: 1, warmup: true }, { ...iteration, index: 2, error: 'boom' }], 1);
    expect(Object.keys(metrics).sort()).toEqual(
      [
        'decode_j_per_token',
        'decode_net_j_per_token',
        'energy_decode_j',
        'energy_decode_net_j',
        'energy_image_encode_j',
        'energy_image_encode_net_j',
        'energy_prefill_j',
        'energy_prefill_net_j',
        'energy_preprocess_j',
        'energy_preprocess_net_j',
        'energy_request_j',
        'energy_request_net_j',
        'image_encode_j_per_image',
        'image_encode_net_j_per_image',
        'power_decode_w',
        'power_image_encode_w',
        'power_prefill_w',
        'power_preprocess_w',
        'power_request_w',
      ].sort(),
    );
    expect(metrics['decode_j_per_token']!.values).toHaveLength(1);
    expect(metrics['decode_j_per_token']!.values[0]).toBeCloseTo(0.6, 12);
    expect(metrics['decode_j_per_token']!.unit).toBe('J/token');
    expect(metrics['image_encode_j_per_image']!.values[0]).toBeCloseTo(1.61, 12);
    // Above idle (1 W): decode 6 J - 1 W x 1 s over 10 tokens; image_encode 3.22 J - 1 W x 0.4 s over 2 images.
    expect(metrics['decode_net_j_per_token']!.values[0]).toBeCloseTo(0.5, 12);
    expect(metrics['image_encode_net_j_per_image']!.values[0]).toBeCloseTo((3.22 - 0.4) / 2, 12);
    // Whole request 0..2000 ms: 0.42 + 3.22 + 4.77 + 6 J, then 6 W for 100 ms after decode.
    expect(metrics['energy_request_j']!.values[0]).toBeCloseTo(0.42 + 3.22 + 4.77 + 6 + 0.6, 12);
    expect(metrics['power_decode_w']!.values[0]).toBeCloseTo(6, 12);
    expect(metrics['energy_decode_j']!.lowConfidence).toBe(0);
  });

  it('states the sampling it rests on', () => {
    expect(samplingSummary(pts)).toEqual({ count: 201, meanIntervalMs: 10, firstMs: 0, lastMs: 2000 });
  });
});

describe('low-confidence warnings name the real cause', () => {
  // 100 ms sampling from 0 to 1000 ms at a constant 12.479 W (the replayed Orin VDD_IN).
  const pts: PowerPoint[] = Array.from({ length: 11 }, (_, i) => ({ tMs: i * 100, watts: 12.479 }));
  const request = (index: number, startMs: number, decodeStart: number, endMs: number): IterationRecord => ({
    index,
    warmup: false,
    startMs,
    endMs,
    promptTokens: 10,
    imageTokens: 0,
    images: 0,
    outputTokens: 9,
    events: [
      { kind: 'phase', phase: 'prefill', startMs, endMs: decodeStart },
      { kind: 'phase', phase: 'decode', startMs: decodeStart, endMs },
    ],
  });

  it('a long window that ends after the last sample is not called short', () => {
    // Decode 740 ms long, ending 40 ms after the last sample (the issue: the probe stopped as the
    // last iteration ended): low confidence because the edge is held, not because it is short.
    const m = energyMetrics(pts, [request(0, 0, 300, 1040)]);
    expect(m['decode_j_per_token']!.values[0]).toBeCloseTo((12.479 * 0.74) / 8, 12);
    expect(m['decode_j_per_token']!.causes).toEqual({ 'edge-held-end': { values: 1, extremeMs: 40 } });
    const warnings = lowConfidenceWarnings(m);
    // The request window ends there too: one finding, one line naming every metric it concerns.
    expect(warnings).toEqual([
      'energy_request_j, power_request_w, energy_decode_j, power_decode_w, decode_j_per_token: 1 of 1 value(s) low confidence: 1 with the power after the last sample held for up to 40.0 ms: the samples stopped before the window ended',
    ]);
    expect(warnings.join('\n')).not.toMatch(/shorter than two sampling intervals/);
  });

  it('a short window says so with its length, the interval and what to change', () => {
    const m = energyMetrics(pts, [request(0, 100, 850, 900), request(1, 100, 830, 900)]);
    expect(m['energy_decode_j']!.causes).toEqual({ 'short-window': { values: 2, extremeMs: 50, intervalMs: 100 } });
    expect(lowConfidenceWarnings(m)).toContain(
      'energy_decode_j, power_decode_w, decode_j_per_token: 2 of 2 value(s) low confidence: 2 on a window shorter than two sampling intervals (shortest 50.0 ms; two intervals = 200.0 ms at 100.0 ms per sample): sample faster (--probe-interval) or measure longer phases',
    );
    // The prefill windows (750 and 730 ms) are sound: no warning for them.
    expect(lowConfidenceWarnings(m).some((w) => w.includes('prefill'))).toBe(false);
  });
});

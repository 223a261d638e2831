import { describe, expect, it } from 'vitest';
import type { IterationRecord } from '../../core/events.ts';
import type { CellResult, RunResult } from '../../core/result-types.ts';
import { cellTimeSplit, composeCell } from '../../bench/cold-start-composition.ts';
import { buildRunResult } from '../../bench/synthetic/run-result.ts';

/** A request of `encodeMs` image encoding (0 without images) then `restMs` of prefill and decode, starting at `at`. */
function request(index: number, warmup: boolean, images: number, encodeMs: number, restMs: number, at: number): IterationRecord {
  const events: IterationRecord['events'] = [];
  if (images > 0) events.push({ kind: 'phase', phase: 'image_encode', startMs: at, endMs: at + encodeMs });
  const prefillStart = at + encodeMs;
  events.push({ kind: 'phase', phase: 'prefill', startMs: prefillStart, endMs: at + encodeMs + restMs });
  events.push({ kind: 'token', tMs: at + encodeMs + restMs, index: 0, count: 1 });
  return { index, warmup, startMs: at, endMs: at + encodeMs + restMs, promptTokens: 128 + 256 * images, imageTokens: 256 * images, images, outputTokens: 1, events };
}

/** A cell of one warm-up and `n` measured requests, with a 5 s gate, 2 s of sessions and 1 s of other time around the requests. */
function cell(images: number, encodeMs: number, restMs: number, n: number): CellResult {
  const iterations: IterationRecord[] = [];
  let at = 0;
  for (let i = 0; i <= n; i++) {
    const r = request(i, i === 0, images, encodeMs, restMs, at);
    iterations.push(r);
    at = r.endMs;
  }
  const wallMs = 5000 + 2000 + at + 1000;
  return {
    id: `images=${images}`,
    index: 0,
    params: { images },
    status: 'ok',
    startedAt: '2026-12-06T00:00:00.000Z',
    finishedAt: new Date(Date.parse('2026-12-06T00:00:00.000Z') + wallMs).toISOString(),
    loadMs: 2000,
    settings: {},
    iterations,
    metrics: {},
    subgraphs: {},
    accuracy: { cached: false, gateCost: { ms: 5000 } },
  } as unknown as CellResult;
}

const options: RunResult['options'] = buildRunResult({
  cells: [],
  options: { iterations: 6, warmup: 1, adaptive: { metrics: ['ttft_ms', 'tpot_ms'], targetCiPct: 2, maxIterations: 30, maxCellSeconds: 20 } },
}).options;

describe('cold-start composition', () => {
  it('splits a cell\'s wall time into gate, sessions, warm-up, measured requests and the rest', () => {
    const split = cellTimeSplit(cell(2, 34_000, 3000, 6));
    expect(split).toEqual({ wallMs: 5000 + 2000 + 7 * 37_000 + 1000, gateMs: 5000, sessionsMs: 2000, warmupMs: 37_000, measuredMs: 6 * 37_000, measured: 6, otherMs: 1000 });
  });

  it('replaces the image encoding of every request and re-applies the stopping rule to the shorter requests', () => {
    // 2 images at 17 s each here; composed at 1.25 s per image: requests of 2.5 + 3 = 5.5 s.
    const c = composeCell(cell(2, 34_000, 3000, 6), options, { encodeMsPerImage: 1250 });
    expect(c.measuredEncodePerImageMs).toBe(17_000);
    expect(c.composedRequestMs).toBe(5500);
    // Warm-up 5.5 s, then 20 s of budget: 5.5 + 3 x 5.5 = 22 s reaches it at the 3rd, so the minimum of 6 holds either way.
    expect(c.iterations).toEqual({ fewest: 6, most: 6 });
    const cellMs = 5000 + 2000 + 1000 + 5500 + 6 * 5500;
    expect(c.composedMs).toEqual({ fewest: cellMs, most: cellMs });
    expect(c.composedWithoutGateMs.most).toBe(cellMs - 5000);
  });

  it('gives a range where faster requests leave budget for more of them', () => {
    // 1 image at 17 s here; at 0.5 s per image a request is 0.5 + 0.3 = 0.8 s: the budget allows 25 after a 0.8 s warm-up.
    const c = composeCell(cell(1, 17_000, 300, 6), options, { encodeMsPerImage: 500 });
    expect(c.composedRequestMs).toBeCloseTo(800, 9);
    expect(c.iterations).toEqual({ fewest: 6, most: 24 });
    expect(c.composedMs.fewest).toBeCloseTo(5000 + 2000 + 1000 + 800 + 6 * 800, 6);
    expect(c.composedMs.most).toBeCloseTo(5000 + 2000 + 1000 + 800 + 24 * 800, 6);
  });

  it('leaves a text cell\'s requests as measured', () => {
    const c = composeCell(cell(0, 0, 700, 28), options, { encodeMsPerImage: 1250 });
    expect(c.measuredEncodePerImageMs).toBeNull();
    expect(c.composedRequestMs).toBe(700);
    // 0.7 s warm-up + 28 x 0.7 s = 20.3 s: the budget stops it where it stopped here.
    expect(c.iterations.most).toBe(28);
    expect(c.composedMs.most).toBeCloseTo(c.measured.wallMs, 6);
  });

  it('replaces prefill and decode too when the machine gives them', () => {
    // 1 image: 17 s encode + 3 s prefill of 384 prompt tokens here; composed at 1.25 s/image and 1 ms per prompt token.
    const c = composeCell(cell(1, 17_000, 3000, 6), options, { encodeMsPerImage: 1250, prefillMsPerToken: 1 });
    expect(c.composedRequestMs).toBe(1250 + 384);
    // Split each request's 3 s into 1.5 s of prefill and 1.5 s of decoding 16 tokens: both replaced, 15 steps at 30 ms.
    const decoding = cell(1, 17_000, 3000, 6);
    for (const r of decoding.iterations) {
      const prefill = r.events.find((e) => e.kind === 'phase' && e.phase === 'prefill');
      if (prefill?.kind === 'phase') prefill.endMs = prefill.startMs + 1500;
      r.events.push({ kind: 'phase', phase: 'decode', startMs: r.endMs - 1500, endMs: r.endMs });
      r.outputTokens = 16;
    }
    expect(composeCell(decoding, options, { encodeMsPerImage: 1250, prefillMsPerToken: 1, tpotMs: 30 }).composedRequestMs).toBe(1250 + 384 + 15 * 30);
    expect(() => composeCell(cell(1, 100, 100, 6), options, { encodeMsPerImage: 1, tpotMs: -1 })).toThrow(/TPOT must be > 0/);
  });

  it('refuses a cell with nothing measured and a non-positive encode time', () => {
    const empty = { ...cell(1, 100, 100, 6), iterations: [] };
    expect(() => composeCell(empty, options, { encodeMsPerImage: 1000 })).toThrow(/no successful measured request/);
    expect(() => composeCell(cell(1, 100, 100, 6), options, { encodeMsPerImage: 0 })).toThrow(/must be > 0/);
  });
});

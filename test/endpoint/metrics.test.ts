import { describe, expect, it } from 'vitest';
import type { IterationRecord, TimedEvent, TokenEvent } from '../../core/events.ts';
import { busyDurationMs, computeLoadMetrics, isGoodRequest } from '../../runners/endpoint/load.ts';
import { chunkItlMs, decodeTokensPerS, e2eMs, iterationMetrics, tpotMs, ttftMs } from '../../core/metrics.ts';
import { poissonOffsetsMs, seededRandom } from '../../runners/endpoint/random.ts';

function tok(tMs: number, index: number, count = 1): TokenEvent {
  return { kind: 'token', tMs, index, count };
}

/** A request as the endpoint runner records it: its prefill phase is the TTFT window. */
function record(over: Partial<IterationRecord> & { tokens?: TokenEvent[] }): IterationRecord {
  const { tokens = [], ...rest } = over;
  const startMs = rest.startMs ?? 1000;
  const first = [...tokens].sort((a, b) => a.tMs - b.tMs)[0];
  const prefill: TimedEvent[] = first ? [{ kind: 'phase', phase: 'prefill', startMs, endMs: first.tMs }] : [];
  return { index: 0, warmup: false, startMs, endMs: 1300, promptTokens: 200, imageTokens: 64, images: 1, outputTokens: 5, events: [...prefill, ...tokens], ...rest };
}

const prefillTokensPerS = (rec: IterationRecord): number | null => iterationMetrics(rec).prefill_tokens_per_s ?? null;

describe('per-request metrics', () => {
  // Chunks at 1150 (1 token), 1190, 1230 and 1310 (2 tokens): 5 output tokens.
  const rec = record({ endMs: 1320, tokens: [tok(1150, 0), tok(1190, 1), tok(1230, 2), tok(1310, 3, 2)] });

  it('TTFT is request sent -> first token', () => {
    expect(ttftMs(rec)).toBe(150);
  });

  it('TPOT = (t_last - t_first) / (n_output - 1) with n_output the server count', () => {
    expect(tpotMs(rec)).toBe(40); // (1310 - 1150) / 4
    expect(decodeTokensPerS(rec)).toBe(25);
  });

  it('chunk ITL lists the gaps between chunks', () => {
    expect(chunkItlMs(rec)).toEqual([40, 40, 80]);
  });

  it('e2e and prefill tokens/s', () => {
    expect(e2eMs(rec)).toBe(320);
    expect(prefillTokensPerS(rec)).toBeCloseTo((200 * 1000) / 150, 10);
    expect(iterationMetrics(rec)).toEqual({
      ttft_ms: 150,
      tpot_ms: 40,
      decode_tokens_per_s: 25,
      prefill_ms: 150,
      prefill_tokens_per_s: (200 * 1000) / 150,
      e2e_ms: 320,
      chunk_itl_ms: [40, 40, 80],
    });
  });

  it('gives null where the figure does not exist', () => {
    const none = record({ tokens: [] });
    expect(ttftMs(none)).toBeNull();
    expect(tpotMs(none)).toBeNull();
    const one = record({ outputTokens: 1, tokens: [tok(1100, 0)] });
    expect(tpotMs(one)).toBeNull();
    expect(chunkItlMs(one)).toEqual([]);
    // All tokens in one chunk: TPOT 0, no finite decode rate.
    const burst = record({ outputTokens: 4, tokens: [tok(1100, 0, 4)] });
    expect(tpotMs(burst)).toBe(0);
    expect(decodeTokensPerS(burst)).toBeNull();
    expect(prefillTokensPerS(record({ promptTokens: Number.NaN, tokens: [tok(1100, 0)] }))).toBeNull();
  });
});

describe('throughput and goodput', () => {
  // Round 0: two overlapping requests over [0, 500]; round 1: one request over [1000, 1400].
  const r = (round: number, startMs: number, endMs: number, ttft: number, extra: Partial<IterationRecord> = {}): IterationRecord =>
    record({
      startMs,
      endMs,
      outputTokens: 11,
      promptTokens: 100,
      tokens: [tok(startMs + ttft, 0), tok(endMs - 50, 10)],
      reported: { round, request: 0, concurrency: 2 },
      ...extra,
    });
  const records = [
    r(0, 0, 500, 100),
    r(0, 20, 480, 300), // TTFT 300
    r(1, 1000, 1400, 120),
    r(1, 1000, 1100, 50, { error: 'HTTP 500 Internal Server Error: boom' }),
    r(9, 5000, 9000, 10, { warmup: true }),
  ];

  it('sums the busy window of each round, ignoring warm-up', () => {
    expect(busyDurationMs(records.filter((x) => !x.warmup))).toBe(500 + 400);
  });

  it('computes vLLM-style throughputs over completed requests', () => {
    const m = computeLoadMetrics(records, { ttftMs: 200, tpotMs: 50 });
    expect(m.requests).toBe(4);
    expect(m.completed).toBe(3);
    expect(m.failed).toBe(1);
    expect(m.duration_ms).toBe(900);
    expect(m.request_throughput).toBeCloseTo(3 / 0.9, 10);
    expect(m.output_throughput).toBeCloseTo(33 / 0.9, 10);
    expect(m.total_token_throughput).toBeCloseTo(333 / 0.9, 10);
    // Good: request 1 (TTFT 100, TPOT (450-100)/10 = 35) and request 3 (TTFT 120, TPOT 23).
    // Not good: TTFT 300 > 200, and the failed one.
    expect(m.good_requests).toBe(2);
    expect(m.request_goodput).toBeCloseTo(2 / 0.9, 10);
    expect(m.goodput_fraction).toBe(0.5);
  });

  it('checks the TPOT target', () => {
    // TPOT (450 - 100) / 10 = 35 ms.
    expect(isGoodRequest(records[0]!, { tpotMs: 36 })).toBe(true);
    expect(isGoodRequest(records[0]!, { tpotMs: 34 })).toBe(false);
    expect(isGoodRequest(records[0]!, { e2eMs: 499 })).toBe(false);
  });
});

describe('Poisson arrivals', () => {
  it('are seeded: same seed, same schedule; the first request at 0', () => {
    const a = poissonOffsetsMs(50, 4, 7);
    expect(a).toEqual(poissonOffsetsMs(50, 4, 7));
    expect(a).not.toEqual(poissonOffsetsMs(50, 4, 8));
    expect(a[0]).toBe(0);
    for (let i = 1; i < a.length; i++) expect(a[i]!).toBeGreaterThan(a[i - 1]!);
  });

  it('have exponential gaps with mean 1000/rate ms', () => {
    const offsets = poissonOffsetsMs(20001, 4, 1);
    const gaps = offsets.slice(1).map((t, i) => t - offsets[i]!);
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    expect(mean).toBeGreaterThan(250 * 0.97);
    expect(mean).toBeLessThan(250 * 1.03);
    // Exponential: P(gap > mean) = e^-1 = 0.368.
    const above = gaps.filter((g) => g > 250).length / gaps.length;
    expect(above).toBeGreaterThan(0.35);
    expect(above).toBeLessThan(0.385);
  });

  it('rejects a non-positive rate', () => {
    expect(() => poissonOffsetsMs(3, 0, 1)).toThrow(/request rate must be > 0/);
  });

  it('uses a uniform generator in [0, 1)', () => {
    const rand = seededRandom(123);
    const xs = Array.from({ length: 10000 }, rand);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
  });
});

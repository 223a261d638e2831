import { describe, expect, it } from 'vitest';
import type { IterationRecord, TimedEvent } from '../../core/events.ts';
import { medianInterval, medianRanks, summarize } from '../../core/stats.ts';
import { cellMetrics, iterationMetrics, subgraphStats } from '../../core/metrics.ts';

/**
 * A request with known timings: starts at 100 ms; preprocess 5 ms; two images encoded in 40 and
 * 44 ms; prefill 200 ms over 528 prompt tokens; first token at 390; then 4 more tokens 25 ms apart.
 */
function knownRequest(offset = 0, warmup = false): IterationRecord {
  const t = (ms: number) => ms + offset;
  const events: TimedEvent[] = [
    { kind: 'phase', phase: 'preprocess', startMs: t(100), endMs: t(105) },
    { kind: 'subgraph', graph: 'vision_encoder', phase: 'image_encode', startMs: t(105), endMs: t(145), items: 1 },
    { kind: 'subgraph', graph: 'vision_encoder', phase: 'image_encode', startMs: t(145), endMs: t(189), items: 1 },
    { kind: 'phase', phase: 'image_encode', startMs: t(105), endMs: t(189) },
    { kind: 'subgraph', graph: 'embed_tokens', phase: 'prefill', startMs: t(189), endMs: t(190), items: 528 },
    { kind: 'subgraph', graph: 'decoder', phase: 'prefill', startMs: t(190), endMs: t(290), items: 264 },
    { kind: 'subgraph', graph: 'decoder', phase: 'prefill', startMs: t(290), endMs: t(385), items: 264 },
    { kind: 'subgraph', graph: 'lm_head', phase: 'prefill', startMs: t(385), endMs: t(389), items: 1 },
    { kind: 'phase', phase: 'prefill', startMs: t(189), endMs: t(389) },
    { kind: 'token', tMs: t(390), index: 0, count: 1 },
  ];
  for (let i = 1; i <= 4; i++) {
    events.push({ kind: 'subgraph', graph: 'decoder', phase: 'decode', startMs: t(390 + 25 * (i - 1)), endMs: t(390 + 25 * i - 3), items: 1 });
    events.push({ kind: 'token', tMs: t(390 + 25 * i), index: i, count: 1 });
  }
  events.push({ kind: 'phase', phase: 'decode', startMs: t(390), endMs: t(490) });
  return { index: 0, warmup, startMs: t(100), endMs: t(491), promptTokens: 528, imageTokens: 512, images: 2, outputTokens: 5, events };
}

describe('metrics from a known event stream', () => {
  it('computes every phase metric', () => {
    const m = iterationMetrics(knownRequest());
    expect(m.preprocess_ms).toBe(5);
    expect(m.image_encode_ms).toBe(84);
    expect(m.image_encode_per_image_ms).toEqual([40, 44]);
    expect(m.prefill_ms).toBe(200);
    expect(m.prefill_tokens_per_s).toBeCloseTo(2640, 6); // 528 tokens / 0.2 s
    expect(m.ttft_ms).toBe(290);
    expect(m.tpot_ms).toBe(25); // (490 - 390) / (5 - 1)
    expect(m.decode_tokens_per_s).toBe(40);
    expect(m.chunk_itl_ms).toEqual([25, 25, 25, 25]);
    expect(m.e2e_ms).toBe(391);
  });

  it('counts tokens, not chunks, for TPOT when a chunk carries several tokens', () => {
    const rec: IterationRecord = {
      index: 0, warmup: false, startMs: 0, endMs: 400, promptTokens: 10, imageTokens: 0, images: 0, outputTokens: 9,
      events: [
        { kind: 'token', tMs: 100, index: 0, count: 1 },
        { kind: 'token', tMs: 200, index: 1, count: 4 },
        { kind: 'token', tMs: 400, index: 5, count: 4 },
      ],
    };
    const m = iterationMetrics(rec);
    expect(m.ttft_ms).toBe(100);
    expect(m.tpot_ms).toBe(37.5); // (400 - 100) / (9 - 1)
    expect(m.chunk_itl_ms).toEqual([100, 200]);
  });

  it('pools measured iterations only and skips failed ones', () => {
    const failed = { ...knownRequest(5000), error: 'boom' };
    const recs = [knownRequest(0, true), knownRequest(1000), knownRequest(2000), failed];
    const stats = cellMetrics(recs);
    expect(stats['ttft_ms']!.n).toBe(2);
    expect(stats['image_encode_per_image_ms']!.n).toBe(4);
    expect(stats['image_encode_per_image_ms']!.median).toBe(42);
    expect(stats['tpot_ms']!.median).toBe(25);
    expect(stats['chunk_itl_ms']!.n).toBe(8);
  });

  it('gives per-invocation and per-request subgraph latency keyed by graph and phase', () => {
    const s = subgraphStats([knownRequest(0), knownRequest(1000)]);
    expect(Object.keys(s).sort()).toEqual(['decoder/decode', 'decoder/prefill', 'embed_tokens/prefill', 'lm_head/prefill', 'vision_encoder/image_encode']);
    expect(s['decoder/prefill']!.perInvocation.n).toBe(4);
    expect(s['decoder/prefill']!.perInvocation.median).toBe(97.5);
    expect(s['decoder/prefill']!.perRequest.median).toBe(195);
    expect(s['decoder/prefill']!.invocationsPerRequest).toBe(2);
    expect(s['decoder/decode']!.perInvocation.median).toBe(22);
    expect(s['decoder/decode']!.perRequest.median).toBe(88);
    expect(s['vision_encoder/image_encode']!.phase).toBe('image_encode');
  });
});

function tHalf(s: { stdev: number; n: number }): number {
  return 2.364624 * (s.stdev / Math.sqrt(s.n)); // t(0.975, 7)
}

function binomPmf(n: number, k: number): number {
  let c = 1;
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
  return c * 0.5 ** n;
}

describe('summary statistics', () => {
  it('matches hand-computed values', () => {
    const s = summarize([10, 12, 14, 16, 18], 'ms');
    expect(s.n).toBe(5);
    expect(s.median).toBe(14);
    expect(s.mean).toBe(14);
    expect(s.p90).toBeCloseTo(17.2, 10); // numpy linear: 16 + 0.6 * 2
    expect(s.p99).toBeCloseTo(17.92, 10);
    expect(s.stdev).toBeCloseTo(Math.sqrt(10), 10);
    // t(0.975, 4) = 2.776445; half-width = 2.776445 * sqrt(10) / sqrt(5) = 3.93, inside [10, 18]
    expect(s.ci95![0]).toBeCloseTo(14 - 2.776445 * Math.sqrt(2), 5);
    expect(s.ci95![1]).toBeCloseTo(14 + 2.776445 * Math.sqrt(2), 5);
    // Five values cannot give a 95% interval of the median: [min, max] covers it with 93.75%.
    expect(s.ciMedian).toBeNull();
  });
  it('never puts an interval outside the values a skewed sample can take', () => {
    // One slow outlier among small positive latencies: the plain t interval of the mean went
    // below zero (-1.6 ms in a real report).
    const s = summarize([0.5, 0.6, 0.55, 0.58, 0.52, 0.61, 0.57, 40], 'ms');
    expect(s.mean - tHalf(s)).toBeLessThan(0);
    expect(s.ci95![0]).toBe(0.5);
    expect(s.ci95![1]).toBeCloseTo(s.mean + tHalf(s), 4);
    // n = 8: ranks 1 and 8 (coverage 1 - 2 * 2^-8 = 99.2%), the next narrower pair covers < 95%.
    expect(s.ciMedian).toEqual([0.5, 40]);
  });
  it('takes the order statistics the binomial tables give for the median interval', () => {
    expect(medianRanks(5)).toBeNull();
    expect(medianRanks(6)).toMatchObject({ lower: 1, upper: 6 });
    expect(medianRanks(10)).toMatchObject({ lower: 2, upper: 9 });
    expect(medianRanks(20)).toMatchObject({ lower: 6, upper: 15 });
    expect(medianRanks(30)).toMatchObject({ lower: 10, upper: 21 });
    expect(medianRanks(100)).toMatchObject({ lower: 40, upper: 61 });
    for (const n of [6, 9, 17, 30, 101, 1000]) {
      const r = medianRanks(n)!;
      expect(r.coverage).toBeGreaterThanOrEqual(0.95);
      // One rank further in would fall below 95%.
      expect(r.coverage - 2 * binomPmf(n, r.lower)).toBeLessThan(0.95);
    }
    const values = Array.from({ length: 20 }, (_, i) => 100 + i);
    expect(medianInterval(values)).toEqual([105, 114]);
    expect(summarize([...values].reverse(), 'ms').ciMedian).toEqual([105, 114]);
  });
  it('has no interval for one value and rejects an empty sample', () => {
    const s = summarize([3], 'ms');
    expect(s.ci95).toBeNull();
    expect(s.stdev).toBe(0);
    expect(() => summarize([], 'ms')).toThrow(/no finite values/);
  });
});

import { describe, expect, it } from 'vitest';
import type { IterationRecord, TimedEvent } from '../../core/events.ts';
import { harnessOverheadPct, harnessOverheadPerStep, stepGaps } from '../../core/overhead.ts';

function rec(events: TimedEvent[]): IterationRecord {
  return { index: 0, warmup: false, startMs: 0, endMs: 100, promptTokens: 4, imageTokens: 0, images: 0, outputTokens: 3, events };
}

describe('harness overhead per decode step', () => {
  // prefill call 0-10, token at 10.5; step 1: embed 11-12, decoder 12.5-20, lm_head 20.2-21, token 21.4;
  // step 2: embed 21.5-22, decoder 22.1-30, lm_head 30-31, token 31.3.
  const events: TimedEvent[] = [
    { kind: 'subgraph', graph: 'decoder_model_merged', phase: 'prefill', startMs: 0, endMs: 10 },
    { kind: 'token', tMs: 10.5, index: 0, count: 1 },
    { kind: 'subgraph', graph: 'embed_tokens', phase: 'decode', startMs: 11, endMs: 12 },
    { kind: 'subgraph', graph: 'decoder_model_merged', phase: 'decode', startMs: 12.5, endMs: 20 },
    { kind: 'subgraph', graph: 'lm_head', phase: 'decode', startMs: 20.2, endMs: 21 },
    { kind: 'token', tMs: 21.4, index: 1, count: 1 },
    { kind: 'subgraph', graph: 'embed_tokens', phase: 'decode', startMs: 21.5, endMs: 22 },
    { kind: 'subgraph', graph: 'decoder_model_merged', phase: 'decode', startMs: 22.1, endMs: 30 },
    { kind: 'subgraph', graph: 'lm_head', phase: 'decode', startMs: 30, endMs: 31 },
    { kind: 'token', tMs: 31.3, index: 2, count: 1 },
  ];

  it('subtracts only the calls inside each step from the step', () => {
    const steps = harnessOverheadPerStep(rec(events));
    expect(steps).toHaveLength(2);
    expect(steps[0]!.stepMs).toBeCloseTo(10.9, 9);
    expect(steps[0]!.runtimeMs).toBeCloseTo(1 + 7.5 + 0.8, 9);
    expect(steps[0]!.outsideMs).toBeCloseTo(10.9 - 9.3, 9);
    expect(steps[1]!.outsideMs).toBeCloseTo(9.9 - (0.5 + 7.9 + 1), 9);
  });

  it('names the gaps between calls so a reader sees where the host time goes', () => {
    const gaps = stepGaps(rec(events));
    expect(gaps.get('token -> embed_tokens')!.map((v) => +v.toFixed(6))).toEqual([0.5, 0.1]);
    expect(gaps.get('embed_tokens -> decoder_model_merged')!.map((v) => +v.toFixed(6))).toEqual([0.5, 0.1]);
    expect(gaps.get('lm_head -> token')!.map((v) => +v.toFixed(6))).toEqual([0.4, 0.3]);
    expect(gaps.get('decoder_model_merged -> lm_head')!.map((v) => +v.toFixed(6))).toEqual([0.2, 0]);
  });

  it("gives a cell's share over all steps of measured iterations, and none without timed calls", () => {
    // Steps 10.9 and 9.9 ms, outside 1.6 and 0.5 ms.
    expect(harnessOverheadPct([rec(events), { ...rec(events), warmup: true }])).toBeCloseTo((2.1 / 20.8) * 100, 9);
    expect(harnessOverheadPct([rec(events.filter((e) => e.kind === 'token'))])).toBeNull();
  });
});

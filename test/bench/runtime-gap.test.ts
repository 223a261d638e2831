import { describe, expect, it } from 'vitest';
import { summarize } from '../../core/stats.ts';
import { runtimeGapVerdict, type RuntimeGapInput } from '../../bench/runtime-gap.ts';

const kernel = { figure: 'matmul.int4', rate: '29 G op/s', method: 'ONNX Runtime com.microsoft.MatMulNBits' };
const base = (ratios: number[], over: Partial<RuntimeGapInput> = {}): RuntimeGapInput => ({
  phase: 'prefill',
  ratio: summarize(ratios, 'ratio'),
  ortMedianMs: 600,
  llamaMedianMs: 280,
  ortCeilingMs: 560,
  kernel,
  ...over,
});
// Ten rounds where llama.cpp took about 0.47 of ORT's time every round: ORT slower beyond any interval.
const slower = [0.45, 0.46, 0.47, 0.47, 0.48, 0.46, 0.47, 0.49, 0.45, 0.48];

describe('bench:runtimes gap verdict', () => {
  it('names the kernel that prevents ORT from matching llama.cpp when its ceiling is at or above llama.cpp\'s time', () => {
    const line = runtimeGapVerdict(base(slower));
    expect(line).toMatch(/^prefill: ORT slower than llama\.cpp beyond the interval, 600\.00 ms vs 280\.00 ms/);
    expect(line).toContain('the kernel that prevents it: ONNX Runtime com.microsoft.MatMulNBits (matmul.int4, 29 G op/s)');
    expect(line).toContain('at least 560.00 ms, 2.00x llama.cpp\'s median');
    expect(line).toContain('ORT reaches 93.3% of its ceiling 560.00 ms');
  });

  it('says it is not the kernel when the kernel would allow llama.cpp\'s time', () => {
    const line = runtimeGapVerdict(base(slower, { ortCeilingMs: 200 }));
    expect(line).toContain('not the kernel');
    expect(line).toContain('allows 200.00 ms, below llama.cpp\'s median');
    expect(line).not.toContain('prevents');
  });

  it('does not call ORT slower when the interval of the ratios reaches 1, nor when it is faster', () => {
    const mixed = [0.9, 1.1, 0.95, 1.05, 0.97, 1.02, 0.96, 0.99, 1.03, 0.98];
    expect(runtimeGapVerdict(base(mixed))).toMatch(/^prefill: ORT slower by the median only, within the interval \(llama\.cpp \/ ORT 0\.9\dx \(per-round 95% interval/);
    expect(runtimeGapVerdict(base([1.5, 1.6, 1.4, 1.55, 1.45, 1.5]))).toMatch(/^prefill: ORT not slower/);
  });

  it('with fewer than 6 rounds uses the whole range, and without a calibrated kernel names none', () => {
    const few = runtimeGapVerdict(base([0.5, 0.6, 0.55]));
    expect(few).toContain('range 0.50-0.60, too few rounds for an interval');
    expect(few).toContain('prevents');
    expect(runtimeGapVerdict(base(slower, { ortCeilingMs: null, kernel: null }))).toMatch(/not calibrated, so no kernel can be named$/);
  });
});

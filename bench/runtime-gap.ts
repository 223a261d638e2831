/**
 * bench:runtimes' verdict on one phase where ONNX Runtime and llama.cpp ran the same work:
 * is ORT slower beyond the interval of the per-round ratios, and if so, does ORT's own kernel
 * (its calibrated rate, i.e. ORT's ceiling for the phase) prevent it from matching llama.cpp,
 * or would the kernel allow it and the time is lost around it. Pure: figures in, a sentence out.
 */
import type { MetricStats } from '../core/stats.ts';

export interface RuntimeGapInput {
  phase: 'prefill' | 'decode' | 'image encode';
  /** Per-round ratios llama.cpp time / ORT time (below 1: ORT slower). */
  ratio: MetricStats;
  ortMedianMs: number;
  llamaMedianMs: number;
  /** ORT's kernel ceiling for the phase, ms (roofline/bounds.ts kernelMs); null when not calibrated. */
  ortCeilingMs: number | null;
  /** The kernel that sets that ceiling: calibration entry, its rate and its method text. */
  kernel: { figure: string; rate: string; method: string } | null;
}

const f = (v: number, d = 1): string => v.toFixed(d);

/**
 * One line: whether ORT is slower than llama.cpp on the phase beyond the ratios' interval, and
 * when it is, the kernel that holds it with its ceiling, and whether that ceiling is what keeps
 * ORT from llama.cpp's time (ceiling at or above llama.cpp's median) or not.
 */
export function runtimeGapVerdict(g: RuntimeGapInput): string {
  const ci = g.ratio.ciMedian;
  const interval = ci ? `per-round 95% interval ${f(ci[0], 2)}-${f(ci[1], 2)}` : `range ${f(g.ratio.min, 2)}-${f(g.ratio.max, 2)}, too few rounds for an interval`;
  const top = ci ? ci[1] : g.ratio.max;
  const ratioText = `llama.cpp / ORT ${f(g.ratio.median, 2)}x (${interval})`;
  if (top >= 1) {
    const within = g.ratio.median < 1 ? 'slower by the median only, within the interval' : 'not slower';
    return `${g.phase}: ORT ${within} (${ratioText})`;
  }
  const head = `${g.phase}: ORT slower than llama.cpp beyond the interval, ${f(g.ortMedianMs, 2)} ms vs ${f(g.llamaMedianMs, 2)} ms (${ratioText})`;
  if (g.ortCeilingMs === null || !g.kernel) return `${head}; ORT's kernel for it is not calibrated, so no kernel can be named`;
  const kernel = `${g.kernel.method} (${g.kernel.figure}, ${g.kernel.rate})`;
  const reached = `ORT reaches ${f((g.ortCeilingMs / g.ortMedianMs) * 100)}% of its ceiling ${f(g.ortCeilingMs, 2)} ms`;
  if (g.ortCeilingMs >= g.llamaMedianMs) {
    return `${head}; the kernel that prevents it: ${kernel}, whose rate alone makes ORT's ${g.phase} take at least ${f(g.ortCeilingMs, 2)} ms, ${f(g.ortCeilingMs / g.llamaMedianMs, 2)}x llama.cpp's median (${reached})`;
  }
  return `${head}; not the kernel: ${kernel} allows ${f(g.ortCeilingMs, 2)} ms, below llama.cpp's median, so the time is lost around the kernels (${reached})`;
}

/**
 * Batch-1 attention rate: how fast this runtime's GroupQueryAttention kernel works through a
 * KV cache during decode, in G op/s (QK^T and AV, 2 operations per multiply-add, as the roofline
 * counts attention). On the development VM a decode step's attention cost grew by ~5 us per
 * cached position over 24 layers, more than 10x what reading those K/V bytes takes, so for the
 * long contexts images bring it is a large part of what the kernels cannot save.
 *
 * Measured at a long cache so the per-call overhead is amortised: the rate is then an upper
 * bound of what shorter caches get, and the kernel ceiling built from it stays a lower bound.
 */
import * as ort from 'onnxruntime-node';
import { pipelineSessionOptions } from '../../runners/ort/session-options.ts';
import { gqaDecodeModel } from './graphs.ts';
import { measureSessionRate } from './session.ts';
import type { TimingBudget } from './timing.ts';
import type { Figure } from '../../core/calibration-types.ts';

/** Qwen2.5-0.5B's attention shape (InternVL2.5-1B's LLM): 14 query heads, 2 KV heads of 64. */
export const ATTENTION_SHAPE = { heads: 14, kvHeads: 2, headDim: 64 };
export const ATTENTION_POSITIONS = 2048;

/** Operations of one decode step's attention over `positions` cached + new positions. */
export function attentionOps(heads: number, headDim: number, positions: number): number {
  return 4 * heads * headDim * positions;
}

export function measureDecodeAttention(threads: number, budget: TimingBudget, positions = ATTENTION_POSITIONS): Promise<Figure> {
  const { heads, kvHeads, headDim } = ATTENTION_SHAPE;
  const filled = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 0.5);
    // The cache holds `positions - 1` tokens and room for the new one, like the runner's buffer.
    const cacheDims = [1, kvHeads, positions, headDim];
    const pastKey = new ort.Tensor('float32', filled(kvHeads * positions * headDim, 1), cacheDims);
    const pastValue = new ort.Tensor('float32', filled(kvHeads * positions * headDim, 2), cacheDims);
    const feeds = {
      q: new ort.Tensor('float32', filled(heads * headDim, 3), [1, 1, heads * headDim]),
      k: new ort.Tensor('float32', filled(kvHeads * headDim, 4), [1, 1, kvHeads * headDim]),
      v: new ort.Tensor('float32', filled(kvHeads * headDim, 5), [1, 1, kvHeads * headDim]),
      past_key: pastKey,
      past_value: pastValue,
      seqlens_k: new ort.Tensor('int32', Int32Array.of(positions - 1), [1]),
      total_sequence_length: new ort.Tensor('int32', Int32Array.of(positions), []),
    };
  return measureSessionRate({
    name: `gqa-decode-t${threads}`,
    model: gqaDecodeModel(heads, kvHeads, headDim),
    options: pipelineSessionOptions(threads),
    feeds,
    fetches: { y: null, present_key: pastKey, present_value: pastValue },
    work: attentionOps(heads, headDim, positions),
    method: (runs) =>
      `ONNX Runtime com.microsoft.GroupQueryAttention, one decode step: ${heads} query heads, ${kvHeads} KV heads of ${headDim}, ${positions} positions in a shared past/present cache, intra-op threads ${threads}; G op/s = 4 x heads x head size x positions / run time, best of ${runs} runs`,
    threads,
    budget,
  });
}

import { IMAGES_AXIS, PREFILL_AXIS, intAxis, labelAxis, type RunnerSpec } from '../spec.ts';

/** In-process llama.cpp (node-llama-cpp) on the zoo's GGUF builds. */
export const LLAMACPP_RUNNER_SPEC: RunnerSpec = {
  name: 'llamacpp',
  axes: {
    images: IMAGES_AXIS,
    prefill: PREFILL_AXIS,
    // The runner checks the GGUF form of each precision before the run (checkPlan).
    precision: labelAxis('weight precision (fp32, fp16, int8, int4 or the GGUF names f32, f16, q8_0, q4_0)'),
    output_tokens: intAxis('tokens generated per request', 1),
    chunk: intAxis('prefill chunk size in tokens (0 = whole prompt)', 0),
  },
  options: ['vocab', 'flashAttention', 'llamaLibrary', 'llamaLibraryDir', 'mmprojType'],
};

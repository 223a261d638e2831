import type * as ort from 'onnxruntime-node';

/**
 * Session options for every session of the ORT pipeline (vision_encoder, embed_tokens, decoder,
 * lm_head), so a run and the overhead benchmark configure ONNX Runtime the same way.
 *
 * A decode step runs embed_tokens, decoder and lm_head back to back, and each session owns a
 * thread pool. By default a pool's workers keep spinning for a while after run() returns, so the
 * next session's threads share the cores with them: on this 2-core machine that doubled the int8
 * decode step (35.6 -> 16.2 ms per token, decoder 25.1 -> 12.4 ms). `session.force_spinning_stop`
 * stops the spinning when run() returns; spinning inside a run, where it pays, stays on.
 */
export function pipelineSessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { force_spinning_stop: '1' } },
  };
}

/** How the options above are recorded in a cell's settings. */
export const THREAD_SPINNING_SETTING = 'within a run only (session.force_spinning_stop)';

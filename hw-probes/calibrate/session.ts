import type { InferenceSession } from 'onnxruntime-node';
import { pipelineSessionOptions } from '../../runners/ort/session-options.ts';

/**
 * Session options of every calibration graph: the runner's (CPU provider, sequential, full
 * graph optimisation, intra-op threads) except that idle pool threads sleep instead of
 * spinning. For runs of several milliseconds spinning saves nothing, and on a machine other
 * processes are using, a spinning thread burns the time slice its sibling needs (measured:
 * the 2-thread read's median went from 17 to 25 GB/s with spinning off, 1-minute load 5 on 2
 * CPUs).
 */
export function calibrationSessionOptions(threads: number): InferenceSession.SessionOptions {
  return { ...pipelineSessionOptions(threads), extra: { session: { intra_op: { allow_spinning: '0' } } } };
}

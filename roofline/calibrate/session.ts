import * as ort from 'onnxruntime-node';
import { pipelineSessionOptions } from '../../runners/ort/session-options.ts';
import { measuredFigure, ratesFromLatencies, timeTask, type TimingBudget } from './timing.ts';
import type { Figure } from '../../core/calibration-types.ts';

/**
 * Session options of every calibration graph: the runner's (CPU provider, sequential, full
 * graph optimisation, intra-op threads) except that idle pool threads sleep instead of
 * spinning. For runs of several milliseconds spinning saves nothing, and on a machine other
 * processes are using, a spinning thread burns the time slice its sibling needs (measured:
 * the 2-thread read's median went from 17 to 25 GB/s with spinning off, 1-minute load 5 on 2
 * CPUs).
 */
export function calibrationSessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return { ...pipelineSessionOptions(threads), extra: { session: { intra_op: { allow_spinning: '0' } } } };
}

/** One calibration microbenchmark: a graph run again and again on the same inputs. */
export interface SessionMeasurement {
  /** tinybench task name. */
  name: string;
  model: Uint8Array;
  options: ort.InferenceSession.SessionOptions;
  feeds: Record<string, ort.Tensor>;
  /** Pre-allocated outputs (a cache passed in and out in place), when the graph needs them. */
  fetches?: Record<string, ort.Tensor | null>;
  /** Units of work per run (bytes, or operations); the figure is in G units per second. */
  work: number;
  /** How it was measured, given the number of timed runs. */
  method: (runs: number) => string;
  threads: number;
  budget: TimingBudget;
}

/** Creates the session, times its runs, and returns the best rate as a measured figure. */
export async function measureSessionRate(m: SessionMeasurement): Promise<Figure> {
  const session = await ort.InferenceSession.create(m.model, m.options);
  try {
    const fetches = m.fetches;
    const latencies = await timeTask(m.name, () => (fetches ? session.run(m.feeds, fetches) : session.run(m.feeds)), m.budget);
    return measuredFigure(ratesFromLatencies(m.work, latencies), m.method(latencies.length), m.threads);
  } finally {
    await session.release();
  }
}

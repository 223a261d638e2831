/**
 * Times one microbenchmark with tinybench and turns its latency samples into rates. The best
 * rate is the calibration figure (STREAM's convention: the machine can do at least this, and a
 * roofline bound must not be beaten by a measurement); median and worst say how steady it was.
 */
import { Bench } from 'tinybench';
import type { Figure, RateSamples } from '../../core/calibration-types.ts';

export interface TimingBudget {
  /** Time budget of the timed phase, ms (tinybench keeps going until both limits are met). */
  timeMs: number;
  /** Minimum timed repetitions. */
  minIterations: number;
  /** Untimed repetitions first: page-ins, thread pool start, kernel packing. */
  warmupIterations: number;
}

/** Rates from latencies: `work` units per call (bytes, or operations), latencies in ms, rates in G units/s. */
export function ratesFromLatencies(work: number, latenciesMs: readonly number[]): RateSamples {
  const rates = latenciesMs.filter((ms) => ms > 0).map((ms) => work / (ms / 1000) / 1e9);
  if (rates.length === 0) throw new Error('no positive latency sample to compute a rate from');
  rates.sort((a, b) => a - b);
  const mid = rates.length >> 1;
  const median = rates.length % 2 === 1 ? rates[mid]! : (rates[mid - 1]! + rates[mid]!) / 2;
  return { n: rates.length, best: rates[rates.length - 1]!, median, worst: rates[0]! };
}

/** A measured figure: the best rate is the value (see above), the spread is kept beside it. */
export function measuredFigure(samples: RateSamples, method: string, threads: number): Figure {
  return { value: samples.best, source: 'measured', method, threads, samples };
}

/** Runs `fn` under tinybench and returns its latency samples in ms. */
export async function timeTask(name: string, fn: () => Promise<unknown> | unknown, budget: TimingBudget): Promise<number[]> {
  const bench = new Bench({
    name,
    time: budget.timeMs,
    iterations: budget.minIterations,
    warmup: budget.warmupIterations > 0,
    warmupIterations: budget.warmupIterations,
    // The warm-up is for one-off costs, not for a time budget of its own.
    warmupTime: 0,
    retainSamples: true,
    throws: true,
  });
  bench.add(name, async () => {
    await fn();
  });
  await bench.run();
  const result = bench.getTask(name)?.result;
  if (!result || (result.state !== 'completed' && result.state !== 'aborted-with-statistics')) {
    throw new Error(`microbenchmark ${name} did not complete (state ${result?.state ?? 'unknown'})`);
  }
  const samples = result.latency.samples;
  if (!samples || samples.length === 0) throw new Error(`microbenchmark ${name} kept no samples`);
  return [...samples];
}

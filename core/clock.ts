import { performance } from 'node:perf_hooks';

/**
 * The run's one monotonic clock. Every event of a run, from any runner or probe, is expressed
 * in milliseconds since `origin` on this clock, so phases, subgraph calls and power samples can
 * be laid side by side. `originEpochMs` ties it to wall time for humans.
 */
export interface Clock {
  now(): number;
  readonly originEpochMs: number;
}

export function createClock(): Clock {
  const origin = performance.now();
  const originEpochMs = Date.now();
  return {
    now: () => performance.now() - origin,
    originEpochMs,
  };
}

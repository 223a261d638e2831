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

/**
 * Calls `fn` once `now()` has reached `dueMs`; returns a cancel function. Node's timers have
 * millisecond granularity and can fire a fraction of a millisecond before the due time on the
 * performance clock: an early wake-up waits out the rest, so `fn` never runs early.
 */
export function callWhenDue(now: () => number, dueMs: number, fn: () => void): () => void {
  let timer: NodeJS.Timeout;
  const check = (): void => {
    const left = dueMs - now();
    if (left > 0) timer = setTimeout(check, Math.ceil(left));
    else fn();
  };
  timer = setTimeout(check, Math.max(0, Math.ceil(dueMs - now())));
  return () => clearTimeout(timer);
}

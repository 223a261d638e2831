import type { Clock } from '../core/clock.ts';
import type { ClockAlignment } from '../core/transport.ts';
import type { HwSample, ProbeRun } from '../core/probe-types.ts';

export type { CommandTransport, CommandResult, LineStream, StreamExit, ClockAlignment, RunOptions } from '../core/transport.ts';
export type { HwSample, RailSample, EnergyCounterSample, CpuCoreSample, GpuSample, EngineSample, MemoryUsage, Probe, ProbeAvailability, ProbeRun, ProbeSnapshot } from '../core/probe-types.ts';

const NO_ALIGNMENT: ClockAlignment = { offsetMs: 0, errorMs: 0, method: 'none' };

/**
 * The run of a probe that produced no samples (never started, failed to start or to stop):
 * its reason is the one warning.
 */
export function emptyRun(
  probe: string,
  warning: string,
  at: { intervalMs?: number; startedMs?: number; stoppedMs?: number } = {},
  alignment: ClockAlignment = NO_ALIGNMENT,
): ProbeRun {
  return { probe, intervalMs: at.intervalMs ?? 0, startedMs: at.startedMs ?? 0, stoppedMs: at.stoppedMs ?? 0, samples: [], warnings: [warning], alignment };
}

/** What a sampling probe keeps while it runs, as far as its finished ProbeRun needs. */
export interface SamplingState {
  clock: Clock;
  intervalMs: number;
  startedMs: number;
  samples: HwSample[];
  alignment: ClockAlignment;
}

/** The run of a probe that sampled until now, with its final warnings. */
export function finishedRun(probe: string, s: SamplingState, warnings: string[]): ProbeRun {
  return { probe, intervalMs: s.intervalMs, startedMs: s.startedMs, stoppedMs: s.clock.now(), samples: s.samples, warnings, alignment: s.alignment };
}

/** Folds repeated failure messages into one line each: "x (3 times)". */
export class WarningLog {
  private readonly counts = new Map<string, number>();

  add(message: string): void {
    this.counts.set(message, (this.counts.get(message) ?? 0) + 1);
  }

  list(): string[] {
    return [...this.counts].map(([m, n]) => (n > 1 ? `${m} (${n} times)` : m));
  }
}

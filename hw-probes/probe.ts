import type { Clock } from '../core/clock.ts';
import type { ClockAlignment } from './transport.ts';
import type { HwSample } from './types.ts';

export type { CommandTransport, CommandResult, LineStream, StreamExit, ClockAlignment, RunOptions } from './transport.ts';
export type { HwSample, RailSample, EnergyCounterSample, CpuCoreSample, GpuSample, EngineSample, MemoryUsage } from './types.ts';

/** Whether a probe can read anything here, and in plain words why (not). */
export interface ProbeAvailability {
  probe: string;
  available: boolean;
  reason: string;
}

/**
 * Static facts worth recording with a run: board/SoC model, L4T/JetPack or BSP version, power
 * mode, clock limits, NPU information. Flat string map so it drops into Environment.board.
 */
export interface ProbeSnapshot {
  probe: string;
  facts: Record<string, string>;
  /** Facts that could not be read, said plainly. */
  warnings: string[];
}

/** What a probe hands back after sampling one cell. */
export interface ProbeRun {
  probe: string;
  /** Interval that was asked for, ms (the achieved one is visible in the samples). */
  intervalMs: number;
  /** Run-clock ms when sampling started and stopped. */
  startedMs: number;
  stoppedMs: number;
  samples: HwSample[];
  /** A missing tool, a tool that died, unreadable lines: reported here, never thrown. */
  warnings: string[];
  /** How the samples' clock relates to the run clock (offset 0, error 0 for local probes). */
  alignment: ClockAlignment;
}

/**
 * A sampler of one hardware source. Lifecycle: detect() -> snapshot() -> start() -> stop().
 * start() and stop() never throw because of the hardware: a probe that is missing or dies turns
 * into warnings in the ProbeRun, and the benchmark goes on.
 */
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

export interface Probe {
  readonly name: string;
  detect(): Promise<ProbeAvailability>;
  snapshot(): Promise<ProbeSnapshot>;
  /** Begins sampling about every intervalMs, stamping samples on `clock`. */
  start(clock: Clock, intervalMs: number): Promise<void>;
  stop(): Promise<ProbeRun>;
  /** One reading now, outside any run (for `bench probe`); throws if nothing can be read. */
  readOnce(clock: Clock): Promise<HwSample>;
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

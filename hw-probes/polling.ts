import type { Clock } from '../core/clock.ts';
import { errorMessage, InputError } from '../core/errors.ts';
import { emptyRun, finishedRun, WarningLog, type Probe, type SamplingState, type ProbeAvailability, type ProbeRun, type ProbeSnapshot } from './probe.ts';
import type { ClockAlignment } from '../targets/command-transport.ts';
import type { HwSample } from '../core/probe-types.ts';

/** A source read by polling (sysfs, procfs, systeminformation): one read = one sample. */
export interface PolledSource {
  readonly name: string;
  detect(): Promise<ProbeAvailability>;
  snapshot(): Promise<ProbeSnapshot>;
  /**
   * Reads one sample and stamps it on `clock`. Reads never overlap, so a source may keep state
   * between them (counter baselines).
   */
  read(clock: Clock): Promise<HwSample>;
  /** Forgets state kept between reads; called at start(). */
  reset?(): void;
  /** Slow one-off work (discovering sensors) done at start() so the first tick is on time. */
  prepare?(): Promise<void>;
  alignClock?(clock: Clock): Promise<ClockAlignment>;
  /** A standalone reading for `bench probe`, when one read() is not enough (counters need two). */
  readOnce?(clock: Clock): Promise<HwSample>;
}

const LOCAL_ALIGNMENT: ClockAlignment = { offsetMs: 0, errorMs: 0, method: 'local: read and stamped on the run clock' };

/** Run-clock midpoint of a read, the best single estimate of when its values were true. */
export function midpointOf(clock: Clock, startedMs: number): number {
  return (startedMs + clock.now()) / 2;
}

export function validateInterval(intervalMs: number): void {
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new InputError(`probe interval must be a positive number of milliseconds, got ${intervalMs}`);
  }
}

/**
 * Turns a PolledSource into a Probe. Ticks are scheduled on a fixed grid (start + k * interval)
 * so timing errors do not accumulate; a read that overruns its tick makes the next ticks be
 * skipped and counted, rather than piling reads up.
 */
export function createPolledProbe(source: PolledSource): Probe {
  let state:
    | (SamplingState & {
        warnings: WarningLog;
        timer: NodeJS.Timeout | null;
        inFlight: Promise<void> | null;
        stopping: boolean;
        tick: number;
        skipped: number;
      })
    | null = null;

  const readOnceInto = async (): Promise<void> => {
    const s = state;
    if (!s) return;
    try {
      s.samples.push(await source.read(s.clock));
    } catch (err) {
      s.warnings.add(`${source.name}: read failed: ${errorMessage(err)}`);
    }
  };

  const schedule = (): void => {
    const s = state;
    if (!s || s.stopping) return;
    s.tick += 1;
    let due = s.startedMs + s.tick * s.intervalMs;
    const now = s.clock.now();
    if (due < now) {
      const behind = Math.floor((now - due) / s.intervalMs) + 1;
      s.skipped += behind;
      s.tick += behind;
      due = s.startedMs + s.tick * s.intervalMs;
    }
    s.timer = setTimeout(() => {
      if (!state || state.stopping) return;
      state.inFlight = readOnceInto().then(() => {
        if (state) state.inFlight = null;
        schedule();
      });
    }, Math.max(0, due - s.clock.now()));
  };

  return {
    name: source.name,
    detect: () => source.detect(),
    snapshot: () => source.snapshot(),
    async start(clock, intervalMs) {
      validateInterval(intervalMs);
      if (state) throw new Error(`${source.name}: start() called twice without stop()`);
      source.reset?.();
      const warnings = new WarningLog();
      const availability = await source.detect().catch((err: Error) => ({ available: false, reason: err.message }));
      const alignment = (await source.alignClock?.(clock).catch(() => undefined)) ?? LOCAL_ALIGNMENT;
      state = {
        clock,
        intervalMs,
        startedMs: clock.now(),
        samples: [],
        warnings,
        timer: null,
        inFlight: null,
        stopping: false,
        tick: 0,
        skipped: 0,
        alignment,
      };
      if (!availability.available) {
        warnings.add(`${source.name}: not sampled: ${availability.reason}`);
        state.stopping = true;
        return;
      }
      try {
        await source.prepare?.();
      } catch (err) {
        warnings.add(`${source.name}: not sampled: ${errorMessage(err)}`);
        state.stopping = true;
        return;
      }
      state.startedMs = clock.now();
      state.inFlight = readOnceInto().then(() => {
        if (state) state.inFlight = null;
        schedule();
      });
    },
    lastSampleMs: () => state?.samples.at(-1)?.tMs ?? null,
    async stop(): Promise<ProbeRun> {
      const s = state;
      if (!s) {
        return emptyRun(source.name, `${source.name}: stop() without start()`, {}, LOCAL_ALIGNMENT);
      }
      s.stopping = true;
      if (s.timer) clearTimeout(s.timer);
      if (s.inFlight) await s.inFlight;
      state = null;
      const warnings = s.warnings.list();
      if (s.skipped > 0) {
        warnings.push(`${source.name}: ${s.skipped} sampling tick(s) skipped because a read took longer than ${s.intervalMs} ms`);
      }
      return finishedRun(source.name, s, warnings);
    },
    async readOnce(clock) {
      const availability = await source.detect();
      if (!availability.available) throw new Error(`${source.name}: ${availability.reason}`);
      source.reset?.();
      return source.readOnce ? source.readOnce(clock) : source.read(clock);
    },
  };
}

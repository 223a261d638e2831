import type { Clock } from '../core/clock.ts';
import { emptyRun, type Probe, type ProbeRun } from './probe.ts';
import { errorMessage } from '../core/errors.ts';

export interface ProbeSession {
  /**
   * Waits until every probe that has sampled has a sample stamped after `tMs`, so a window
   * ending at `tMs` is covered by readings rather than by holding the last one, or until
   * `maxWaitMs` has passed. Resolves with the probes still short of `tMs`.
   */
  sampleBeyond(tMs: number, maxWaitMs: number): Promise<string[]>;
  /**
   * Waits until every probe that can say when it sampled has taken its first sample (a tool
   * takes a moment to print its first line, longer over ssh or on a loaded machine), or until
   * `maxWaitMs` has passed. Resolves with the probes that have not sampled yet.
   */
  firstSamples(maxWaitMs: number): Promise<string[]>;
  /** Stops every probe; never throws (a probe that fails to stop becomes a warning in its run). */
  stop(): Promise<ProbeRun[]>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts several probes on the same run clock, e.g. around one cell. Probes are started one
 * after another (each may spawn a tool) and stopped together.
 */
export async function startProbes(
  probes: ReadonlyArray<{ probe: Probe; intervalMs?: number }>,
  clock: Clock,
  defaultIntervalMs: number,
): Promise<ProbeSession> {
  const started: Probe[] = [];
  const failedToStart: ProbeRun[] = [];
  for (const { probe, intervalMs } of probes) {
    try {
      await probe.start(clock, intervalMs ?? defaultIntervalMs);
      started.push(probe);
    } catch (err) {
      const now = clock.now();
      failedToStart.push(
        emptyRun(probe.name, `${probe.name}: could not start: ${errorMessage(err)}`, { intervalMs: intervalMs ?? defaultIntervalMs, startedMs: now, stoppedMs: now }),
      );
    }
  }
  /** Re-reads `pending` every quarter interval until it names no probe or `maxWaitMs` has passed; returns what it last named. */
  const pollUntilNone = async (pending: () => string[], maxWaitMs: number): Promise<string[]> => {
    const deadline = clock.now() + maxWaitMs;
    let waiting = pending();
    while (waiting.length && clock.now() < deadline) {
      await sleep(Math.max(1, Math.min(defaultIntervalMs / 4, deadline - clock.now())));
      waiting = pending();
    }
    return waiting;
  };
  return {
    async sampleBeyond(tMs, maxWaitMs) {
      // A probe that cannot say when it last sampled is given one interval and a half past tMs.
      const blindUntil = tMs + 1.5 * defaultIntervalMs;
      const short = (): string[] =>
        started
          .filter((p) => {
            if (!p.lastSampleMs) return clock.now() < blindUntil;
            const last = p.lastSampleMs();
            return last !== null && last <= tMs; // a probe that never sampled has nothing to cover
          })
          .map((p) => p.name);
      return pollUntilNone(short, maxWaitMs);
    },
    async firstSamples(maxWaitMs) {
      return pollUntilNone(() => started.filter((p) => p.lastSampleMs && p.lastSampleMs() === null).map((p) => p.name), maxWaitMs);
    },
    async stop() {
      const runs = await Promise.all(
        started.map((p) =>
          p.stop().catch((err: Error): ProbeRun => emptyRun(p.name, `${p.name}: stop failed: ${err.message}`, { stoppedMs: clock.now() })),
        ),
      );
      return [...runs, ...failedToStart];
    },
  };
}

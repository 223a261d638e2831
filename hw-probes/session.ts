import type { Clock } from '../core/clock.ts';
import { emptyRun, type Probe, type ProbeRun } from './probe.ts';
import { errorMessage } from '../core/errors.ts';

export interface ProbeSession {
  /** Stops every probe; never throws (a probe that fails to stop becomes a warning in its run). */
  stop(): Promise<ProbeRun[]>;
}

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
  return {
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

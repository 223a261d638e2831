import type { Clock } from '../core/clock.ts';
import type { CellProbeRecord, ProbePlan } from '../core/result-types.ts';
import type { IterationRecord } from '../core/events.ts';
import { summarize, type MetricStats } from '../core/stats.ts';
import type { DetectedProbe } from '../hw-probes/detect.ts';
import { boardPowerSeries } from '../hw-probes/power-series.ts';
import type { ProbeRun } from '../hw-probes/probe.ts';
import { startProbes } from '../hw-probes/session.ts';
import { thermalVerdict, type ThermalVerdict } from '../hw-probes/thermal.ts';
import { boundedRail, RAIL_MW_RANGE, type HwSample } from '../core/probe-types.ts';
import { energyMetrics, idleBaseline, lowConfidenceWarnings, type IdleBaseline, type PowerPoint } from '../core/energy.ts';

export interface CellMonitor {
  /** Stops sampling and turns the samples into the cell's probe record and energy metrics. */
  finish(iterations: readonly IterationRecord[]): Promise<{ record: CellProbeRecord; metrics: Record<string, MetricStats>; warnings: string[] }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the available probes for one cell. With a power source, it first samples the idle
 * machine for `baselineMs` so energy can also be stated above idle.
 */
export async function monitorCell(probes: readonly DetectedProbe[], clock: Clock, plan: ProbePlan): Promise<CellMonitor> {
  const session = await startProbes(
    probes.filter((p) => p.available).map((p) => ({ probe: p.probe })),
    clock,
    plan.intervalMs,
  );
  let baselineWindow: CellProbeRecord['baselineWindow'] = null;
  if (plan.baselineMs > 0) {
    // The idle window starts once the probes are sampling: a window that opened while the tool
    // was still starting would hold fewer readings than asked for, or none.
    await session.firstSamples(3 * plan.intervalMs + 2000);
    const startMs = clock.now();
    await sleep(plan.baselineMs);
    baselineWindow = { startMs, endMs: clock.now() };
  }
  return {
    async finish(iterations) {
      // Sample past the end of the last iteration, so its windows end between readings instead
      // of beyond the last one (where the power would only be held, not measured). A composed
      // iteration's end can lie ahead of now: its windows are not on the run clock's real time.
      const lastEnd = Math.min(clock.now(), iterations.reduce((m, it) => Math.max(m, it.endMs), -Infinity));
      const waitMs = 3 * plan.intervalMs + 1000;
      const behind = Number.isFinite(lastEnd) ? await session.sampleBeyond(lastEnd, waitMs) : [];
      const runs = await session.stop();
      const warnings = runs.flatMap((r) => r.warnings);
      const samples = boundedSamples(runs.flatMap((r) => r.samples), warnings).sort((a, b) => a.tMs - b.tMs);
      if (behind.length) warnings.push(`${behind.join(', ')}: no sample came within ${waitMs} ms after the last iteration ended, so its last window is not fully covered by readings`);
      const series = boardPowerSeries(samples);
      const metrics: Record<string, MetricStats> = {};
      let power: CellProbeRecord['power'] = null;
      if (series.points.length >= 2) {
        const baseline = baselineWindow ? safeBaseline(series.points, baselineWindow) : null;
        power = { basis: series.basis, points: series.points.length, baseline, warnings: series.warnings };
        const energy = energyMetrics(series.points, iterations, baseline?.watts);
        for (const [name, m] of Object.entries(energy)) {
          if (m.values.length > 0) metrics[name] = summarize(m.values, m.unit);
        }
        warnings.push(...lowConfidenceWarnings(energy));
        if (baseline) metrics['power_idle_w'] = summarize([baseline.watts], 'W');
      }
      const thermal = thermalVerdict(samples, { tempLimitC: plan.tempLimitC });
      return {
        record: {
          runs: runs.map((r) => ({ probe: r.probe, intervalMs: r.intervalMs, samples: r.samples.length, warnings: r.warnings, alignment: r.alignment })),
          power,
          thermal,
          samples,
          baselineWindow,
        },
        metrics,
        warnings,
      };
    },
  };
}

function safeBaseline(points: readonly PowerPoint[], window: { startMs: number; endMs: number }): IdleBaseline | null {
  // A sampling tool takes a moment to print its first line: the baseline is the idle time
  // the samples actually cover.
  const first = points.reduce((m, p) => Math.min(m, p.tMs), Infinity);
  const clipped = { startMs: Math.max(window.startMs, first), endMs: window.endMs };
  if (clipped.endMs <= clipped.startMs) return null;
  try {
    return idleBaseline(points, clipped);
  } catch {
    return null; // too few idle samples: energy is still given, just not net of idle
  }
}

/**
 * A sensor reading outside what a rail can draw (a broken hwmon driver's -40 W) is made unknown
 * with a warning instead of stored: the result schema refuses such readings, so one would make
 * the whole run unreadable.
 */
export function boundedSamples(samples: HwSample[], warnings: string[]): HwSample[] {
  const dropped = new Map<string, number>();
  const out = samples.map((s) => {
    if (!s.rails) return s;
    return {
      ...s,
      rails: s.rails.map((r) => {
        const bounded = boundedRail(r);
        if (bounded.dropped) dropped.set(r.name, (dropped.get(r.name) ?? 0) + bounded.dropped);
        return bounded.rail;
      }),
    };
  });
  for (const [name, n] of dropped) {
    warnings.push(`rail ${name}: ${n} reading(s) outside ${RAIL_MW_RANGE.min / 1000} W to ${RAIL_MW_RANGE.max / 1e6} kW were dropped as unknown`);
  }
  return out;
}

import type { EnergyPoint, PowerPoint } from '../core/energy.ts';
import { raplTotalZones } from './powercap.ts';
import type { HwSample } from '../core/probe-types.ts';

/**
 * Board power as a series of instantaneous points for reporters/energy.ts, chosen from probe
 * samples. The whole-board input rail is preferred: VDD_IN (Orin, Xavier NX, TX2) or POM_5V_IN
 * (Nano). Without one (AGX Xavier, AGX Orin, nvidia-smi), the rails of each sample are summed and
 * the basis says so: such a sum misses carrier-board and regulator losses.
 */

export const TOTAL_INPUT_RAILS = ['VDD_IN', 'POM_5V_IN'] as const;

export interface PowerSeries {
  points: PowerPoint[];
  /** What the watts are: "VDD_IN", "sum of rails A + B", ... */
  basis: string;
  /** Samples that had no usable reading for the chosen basis. */
  skipped: number;
  warnings: string[];
}

export interface PowerSeriesOptions {
  /** Use this rail only (e.g. "GPU0" for one GPU of several). */
  rail?: string;
}

export function boardPowerSeries(samples: readonly HwSample[], opts: PowerSeriesOptions = {}): PowerSeries {
  const withRails = samples.filter((s) => s.rails?.length);
  const warnings: string[] = [];
  const pick = (name: string): PowerSeries => {
    const points: PowerPoint[] = [];
    let skipped = 0;
    for (const s of samples) {
      const mw = s.rails?.find((r) => r.name === name)?.powerMw;
      if (mw === null || mw === undefined) skipped += 1;
      else points.push({ tMs: s.tMs, watts: mw / 1000 });
    }
    return { points, basis: name, skipped, warnings };
  };
  if (opts.rail) return pick(opts.rail);
  for (const name of TOTAL_INPUT_RAILS) {
    if (withRails.some((s) => s.rails!.some((r) => r.name === name && r.powerMw !== null))) return pick(name);
  }
  const named = new Set(withRails.flatMap((s) => s.rails!.filter((r) => r.powerMw !== null).map((r) => r.name)));
  if (named.size === 1) return pick([...named][0]!);
  const railSets = new Set(withRails.map((s) => s.rails!.filter((r) => r.powerMw !== null).map((r) => r.name).sort().join(' + ')));
  if (railSets.size > 1) {
    warnings.push(`samples carry different rails (${[...railSets].join(' | ')}): a per-sample sum would mix devices; choose one rail`);
  }
  const points: PowerPoint[] = [];
  let skipped = samples.length - withRails.length;
  for (const s of withRails) {
    const usable = s.rails!.filter((r) => r.powerMw !== null);
    if (usable.length === 0) {
      skipped += 1;
      continue;
    }
    points.push({ tMs: s.tMs, watts: usable.reduce((sum, r) => sum + r.powerMw!, 0) / 1000 });
  }
  const names = [...railSets][0] ?? '';
  return {
    points,
    basis: names ? `sum of rails ${names} (no whole-board input rail reported)` : 'no power rails',
    skipped,
    warnings,
  };
}

/** RAPL counters as cumulative energy points of the machine total (psys, or packages + DRAM). */
export function raplEnergySeries(samples: readonly HwSample[]): { points: EnergyPoint[]; basis: string } {
  const names = new Set<string>();
  for (const s of samples) for (const c of s.energyCounters ?? []) names.add(c.name);
  const total = raplTotalZones([...names]);
  const points: EnergyPoint[] = [];
  for (const s of samples) {
    const counters = s.energyCounters ?? [];
    const parts = total.names.map((n) => counters.find((c) => c.name === n)?.joules);
    if (parts.length === 0 || parts.some((p) => p === undefined)) continue;
    points.push({ tMs: s.tMs, joules: parts.reduce((sum: number, p) => sum + p!, 0) });
  }
  return { points, basis: total.basis };
}

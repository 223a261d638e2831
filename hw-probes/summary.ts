import { windowEnergy } from '../core/energy.ts';
import { fmt } from './describe.ts';
import { boardPowerSeries } from './power-series.ts';
import type { HwSample } from '../core/probe-types.ts';

/** min/mean/max of the values that exist. */
export function range(values: readonly number[]): { n: number; min: number; mean: number; max: number } | null {
  if (values.length === 0) return null;
  return {
    n: values.length,
    min: Math.min(...values),
    mean: values.reduce((s, v) => s + v, 0) / values.length,
    max: Math.max(...values),
  };
}

/**
 * Text summary of a sample stream: per-rail instantaneous power, board energy when the samples
 * are timed, temperature peaks, memory and GPU load. Shared by the `bench import` kinds.
 */
export function summarizeSamples(samples: readonly HwSample[], timed: boolean, timeNote: string): string[] {
  const lines: string[] = [];
  const railNames = [...new Set(samples.flatMap((s) => s.rails?.map((r) => r.name) ?? []))];
  if (railNames.length) {
    lines.push('power rails, instantaneous W (the tool\'s running average is not used):');
    for (const name of railNames) {
      const r = range(samples.flatMap((s) => s.rails?.filter((x) => x.name === name && x.powerMw !== null).map((x) => x.powerMw! / 1000) ?? []));
      lines.push(r ? `  ${name}: min ${fmt(r.min, 2)}  mean ${fmt(r.mean, 2)}  max ${fmt(r.max, 2)}  (n=${r.n})` : `  ${name}: no instantaneous reading`);
    }
    const series = boardPowerSeries(samples);
    if (timed && series.points.length >= 2 && series.warnings.length === 0) {
      const first = series.points[0]!.tMs;
      const last = series.points[series.points.length - 1]!.tMs;
      const e = windowEnergy(series.points, { name: 'log', startMs: first, endMs: last });
      if (e.joules !== null && e.averageWatts !== null) {
        lines.push(
          `board energy (${series.basis}): ${fmt(e.joules, 2)} J over ${fmt(e.durationMs / 1000, 3)} s, average ${fmt(e.averageWatts, 2)} W; ${series.points.length} samples, mean interval ${fmt(e.meanIntervalMs ?? 0, 1)} ms (${timeNote})`,
        );
      }
    } else if (series.points.length) {
      const why = series.warnings.length ? 'rails differ between samples' : series.points.length < 2 ? 'a single sample' : timeNote;
      lines.push(`board power basis: ${series.basis}; no energy figure (${why})`);
    }
    lines.push(...series.warnings);
  } else {
    lines.push('no power rails in this log');
  }
  const tempNames = [...new Set(samples.flatMap((s) => Object.keys(s.temperaturesC ?? {})))];
  if (tempNames.length) {
    const peaks = tempNames.map((n) => `${n} ${fmt(Math.max(...samples.map((s) => s.temperaturesC?.[n] ?? Number.NEGATIVE_INFINITY)))}`);
    lines.push(`peak temperatures °C: ${peaks.join(', ')}`);
  }
  const ram = range(samples.flatMap((s) => (s.ram ? [s.ram.usedMb] : [])));
  const total = samples.find((s) => s.ram)?.ram?.totalMb;
  if (ram) lines.push(`RAM used MB: min ${fmt(ram.min, 0)}  max ${fmt(ram.max, 0)}  of ${fmt(total ?? 0, 0)}`);
  const gpuIdx = [...new Set(samples.flatMap((s) => s.gpus?.map((g) => g.index) ?? []))];
  for (const idx of gpuIdx) {
    const gs = samples.flatMap((s) => s.gpus?.filter((g) => g.index === idx) ?? []);
    const load = range(gs.flatMap((g) => (g.loadPct !== undefined ? [g.loadPct] : [])));
    const mhz = range(gs.flatMap((g) => (g.mhz !== undefined ? [g.mhz] : [])));
    const parts = [
      load ? `load mean ${fmt(load.mean)}% max ${fmt(load.max)}%` : 'no load reading',
      mhz ? `clock ${fmt(mhz.min, 0)}-${fmt(mhz.max, 0)} MHz` : '',
    ].filter(Boolean);
    lines.push(`GPU${idx}${gs[0]?.name ? ` (${gs[0].name})` : ''}: ${parts.join(', ')}`);
  }
  return lines;
}

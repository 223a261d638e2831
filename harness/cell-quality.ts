/**
 * How far a cell's figures can be trusted: the spread of its key metrics and flags with reasons
 * for cells that are noisy or were measured on a busy machine. Every threshold is here, in
 * NOISE_THRESHOLDS, and nowhere else; the report lists the flags beside the cells.
 */
import type { IterationRecord } from '../core/events.ts';
import type { CellFlag, MachineState, MetricSpread } from '../core/result-types.ts';
import { medianHalfWidthPct, percentile } from '../core/stats.ts';
import { metricSeries } from '../core/metrics.ts';
import { metricsWithRole } from '../core/metric-registry.ts';

export const NOISE_THRESHOLDS = {
  /** Half-width of the 95% CI of a key metric's median above this (% of the median): noisy. */
  ciHalfWidthPct: 5,
  /**
   * Load from other work above this many times the CPU count: busy machine. Other work is the
   * 1-minute load average minus the run's own compute threads (an in-process runner's
   * intra-op threads count in the load average too; without subtracting them, every 2-thread
   * cell on a quiet 2-CPU machine read as busy).
   */
  otherLoadPerCpu: 0.5,
  /** CPU steal above this share of all CPU time during the cell (%): the hypervisor took cores. */
  stealPct: 2,
  /**
   * This process's threads waited for a CPU more than this share of their runnable time (%).
   * Measured on a quiet 2-CPU machine, a 2-thread ORT cell waits 3-15% behind its own helper
   * threads (Node's main thread, GC); above 20% other work is taking the cores.
   */
  runQueueWaitPct: 20,
} as const;

/** Metrics whose spread is recorded and judged (role spread in the registry). */
export const SPREAD_METRICS: readonly string[] = metricsWithRole('spread');

export function cellSpread(records: readonly IterationRecord[]): Record<string, MetricSpread> {
  const out: Record<string, MetricSpread> = {};
  for (const metric of SPREAD_METRICS) {
    const values = metricSeries(records, metric).map((s) => s.value);
    if (values.length === 0) continue;
    const sorted = [...values].sort((a, b) => a - b);
    const median = percentile(sorted, 50);
    out[metric] = {
      n: values.length,
      ciHalfWidthPct: medianHalfWidthPct(sorted),
      iqrOverMedianPct: median !== 0 ? ((percentile(sorted, 75) - percentile(sorted, 25)) / Math.abs(median)) * 100 : 0,
    };
  }
  return out;
}

export function cellFlags(input: {
  spread: Record<string, MetricSpread>;
  outliers?: Record<string, number[]>;
  machine?: MachineState | null;
  /**
   * The machine state is a board's, read through the transport: its program's threads are
   * unknown, so "other work" is the load before the cell (before the program ran).
   */
  machineIsBoard?: boolean;
  throttleReasons?: string[] | null;
  throttled?: boolean;
  /** Compute threads the run itself keeps busy (an in-process runner's intra-op threads); 0 for a remote runner. */
  ownThreads?: number;
}): CellFlag[] {
  const t = NOISE_THRESHOLDS;
  const flags: CellFlag[] = [];
  const wide = Object.entries(input.spread).filter(([, s]) => s.ciHalfWidthPct !== null && s.ciHalfWidthPct > t.ciHalfWidthPct);
  if (wide.length) {
    flags.push({
      kind: 'noisy',
      message: `95% CI of the median wider than ±${t.ciHalfWidthPct}%: ${wide.map(([m, s]) => `${m} ±${s.ciHalfWidthPct!.toFixed(1)}% (IQR ${s.iqrOverMedianPct.toFixed(1)}% of the median)`).join(', ')}`,
    });
  }
  const few = Object.entries(input.spread).filter(([, s]) => s.ciHalfWidthPct === null);
  if (few.length) {
    flags.push({ kind: 'few-iterations', message: `${few[0]![1].n} value(s) of ${few.map(([m]) => m).join(', ')}: fewer than 6 give no 95% interval of the median, so the spread is unknown` });
  }
  const out = Object.entries(input.outliers ?? {}).filter(([, idx]) => idx.length > 0);
  if (out.length) {
    flags.push({ kind: 'outliers', message: `outside Tukey's fences (kept in the statistics): ${out.map(([m, idx]) => `${m} iteration${idx.length === 1 ? '' : 's'} ${idx.join(', ')}`).join('; ')}` });
  }
  const m = input.machine;
  if (m) {
    const own = input.ownThreads ?? 0;
    const load = input.machineIsBoard ? m.loadAvg1Before : Math.max(m.loadAvg1Before, m.loadAvg1After);
    if (load - own > t.otherLoadPerCpu * m.cpus) {
      flags.push({
        kind: 'busy',
        message: input.machineIsBoard
          ? `busy board: load average ${m.loadAvg1Before.toFixed(2)} before the cell on its ${m.cpus} CPU(s) (over ${t.otherLoadPerCpu * m.cpus}), ${m.loadAvg1After.toFixed(2)} after`
          : `busy machine: load average ${m.loadAvg1Before.toFixed(2)} -> ${m.loadAvg1After.toFixed(2)} on ${m.cpus} CPU(s), ${(load - own).toFixed(2)} of it not this run's ${own} thread(s) (over ${t.otherLoadPerCpu * m.cpus})`,
      });
    }
    if (m.stealPct !== null && m.stealPct > t.stealPct) {
      flags.push({ kind: 'steal', message: `CPU steal ${m.stealPct.toFixed(1)}% of CPU time (over ${t.stealPct}%): the hypervisor gave the cores to other guests` });
    }
    if (m.runQueueWaitPct !== null && m.runQueueWaitPct > t.runQueueWaitPct) {
      flags.push({ kind: 'run-queue', message: `this process's threads waited for a CPU ${m.runQueueWaitPct.toFixed(1)}% of their runnable time (over ${t.runQueueWaitPct}%): the cores were oversubscribed` });
    }
  }
  if (input.throttled) flags.push({ kind: 'throttled', message: `throttled: ${(input.throttleReasons ?? []).join('; ') || 'clocks dropped or a temperature limit was crossed'}` });
  return flags;
}

/**
 * The flags each per-iteration figure of a cell carries (MetricStats.flags), so every table
 * that shows the figure can mark it: the machine flags on all of them, a noisy flag on each
 * metric whose own median interval is wider than the threshold. The sentences are the same for
 * every figure of a kind (so a report can group them); the figures behind them are in the
 * cell's own flags, spread and machine record.
 */
export function metricFlags(flags: readonly CellFlag[], spread: Record<string, MetricSpread>, metrics: readonly string[]): Record<string, CellFlag[]> {
  const t = NOISE_THRESHOLDS;
  const shared: Partial<Record<CellFlag['kind'], string>> = {
    busy: `machine busy while measured (load from other work above ${t.otherLoadPerCpu} x the CPU count)`,
    steal: `CPU steal over ${t.stealPct}% while measured`,
    'run-queue': `the run's threads waited for a CPU over ${t.runQueueWaitPct}% of their runnable time`,
    throttled: 'throttled while measured',
    clocks: 'board clocks not locked, or their limits or speed changed, while measured',
    'power-mode': "board in another power mode than the run's header while measured",
    'no-simd': 'runtime build without this CPU\'s SIMD: not the machine\'s speed',
  };
  const machine = flags.filter((f) => shared[f.kind]).map((f) => ({ kind: f.kind, message: shared[f.kind]! }));
  const out: Record<string, CellFlag[]> = {};
  for (const metric of metrics) {
    const s = spread[metric];
    const noisy = s?.ciHalfWidthPct != null && s.ciHalfWidthPct > t.ciHalfWidthPct;
    const all = [...(noisy ? [{ kind: 'noisy' as const, message: `95% CI of the median wider than ±${t.ciHalfWidthPct}%` }] : []), ...machine];
    if (all.length) out[metric] = all;
  }
  return out;
}

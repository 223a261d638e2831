/**
 * One figure of a report table: a statistic of a cell's metric as a TableCell, with its value,
 * interval, sample size and status, so every renderer shows the same facts.
 */
import { figureSourceOf, type FigureSource } from '../core/figure-source.ts';
import type { CellResult } from '../core/result-types.ts';
import type { MetricStats } from '../core/stats.ts';
import { fmt } from './format.ts';
import { cell, type FigureStatus, type TableCell } from './report-model.ts';

/**
 * Statistics as stored, with the fields newer results add: `ciMedian` (a distribution-free 95%
 * interval of the median) and `flags` (why the figure is doubtful: noisy, busy machine...).
 */
export type StoredStats = MetricStats & { ciMedian?: [number, number] | null; flags?: ReadonlyArray<string | { kind?: string; reason?: string; message?: string }> };

/** The run's flags on a statistic as sentences (a flag may be a string or { kind, reason }). */
export function flagTexts(s: StoredStats | undefined): string[] {
  return (s?.flags ?? []).map((f) => (typeof f === 'string' ? f : [f.kind, f.reason ?? f.message].filter(Boolean).join(': ') || JSON.stringify(f)));
}

/** How a cell's figures were obtained: measured, tool-reported or composed (core/figure-source.ts). */
export function cellSource(c: CellResult): FigureSource {
  return figureSourceOf(c.settings);
}

/** A flag the run set on a statistic, as the status a reader sees first. */
export function flagStatus(flags: readonly string[] | undefined): FigureStatus | undefined {
  if (!flags?.length) return undefined;
  if (flags.some((f) => /busy|load/i.test(f))) return 'busy';
  if (flags.some((f) => /nois|spread|cv/i.test(f))) return 'noisy';
  return 'flagged';
}

/**
 * The 95% interval shown for a figure: the interval of the median when the result has it, else
 * the Student-t interval of the mean cut at zero: the quantities reported (times, rates,
 * energies, memory) cannot be negative, so a negative bound is an artefact of the normal
 * approximation on few, skewed samples.
 */
export function figureInterval(s: StoredStats | undefined): { interval: [number, number]; of: 'median' | 'mean' } | undefined {
  if (!s) return undefined;
  if (s.ciMedian) return { interval: [Math.max(0, s.ciMedian[0]), s.ciMedian[1]], of: 'median' };
  if (s.ci95) return { interval: [Math.max(0, s.ci95[0]), s.ci95[1]], of: 'mean' };
  return undefined;
}

export function fmtInterval(s: StoredStats | undefined, digits?: number): string {
  const iv = figureInterval(s);
  if (!iv) return '–';
  return `${fmt(iv.interval[0], digits)} – ${fmt(iv.interval[1], digits)}${iv.of === 'median' ? '' : ' (mean)'}`;
}

/**
 * The median of a statistic as a cell: `format` turns the formatted number into the cell text
 * ("12.3 ms"); the status is the run's flag if any, else the source.
 */
export function medianCell(s: StoredStats | undefined, source: FigureSource, format: (n: string) => string = (n) => n, digits?: number): TableCell {
  if (!s) return cell('–', { status: 'missing' });
  const iv = figureInterval(s);
  const flags = flagTexts(s);
  const flagged = flagStatus(flags);
  return cell(format(fmt(s.median, digits)), {
    value: s.median,
    unit: s.unit,
    n: s.n,
    status: flagged ?? source,
    ...(iv ? { interval: iv.interval } : {}),
    ...(flagged ? { note: flags.join('; ') } : {}),
  });
}

/** A figure that is not a statistic of iterations (a composition, a published figure). */
export function valueCell(value: number | undefined, status: FigureStatus, format: (n: string) => string = (n) => n, digits?: number, unit?: string): TableCell {
  if (value === undefined || !Number.isFinite(value)) return cell('–', { status: 'missing' });
  return cell(format(fmt(value, digits)), { value, status, ...(unit ? { unit } : {}) });
}

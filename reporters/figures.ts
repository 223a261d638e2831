/**
 * One figure of a report table: a statistic of a cell's metric as a TableCell, with its value,
 * interval, sample size and status, so every renderer shows the same facts.
 */
import { figureSourceDetail, figureSourceOf, metricFigureSource, metricsWithOwnSource, METRIC_SOURCES_DETAIL_SETTING, type FigureSource } from '../core/figure-source.ts';
import { cellMetrics } from '../core/metrics.ts';
import type { CellResult, RunResult } from '../core/result-types.ts';
import type { AccuracyCheck } from '../core/runner.ts';
import type { MetricStats } from '../core/stats.ts';
import { fmt, fmtBytes } from './format.ts';
import { flagMarker, markerText, MIN_VALUES_FOR_MEDIAN_INTERVAL, type Marker } from './markers.ts';
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

/** How one metric of a cell was obtained: the cell's source unless the runner declared another for it. */
export function metricSource(c: CellResult, metric: string): FigureSource {
  return metricFigureSource(c.settings, metric);
}

/**
 * The sentence a table or report says about cells whose metrics differ in source (llama.cpp
 * image cells: the phase split inside a measured TTFT is composed), or undefined when none does;
 * with the runner's sentence of how (the report's intro), or without it (each table's figures line).
 */
export function metricSourcesNote(cells: readonly CellResult[], withDetail = true): string | undefined {
  const parts = new Map<string, string[]>();
  for (const c of cells) {
    const own = metricsWithOwnSource(c.settings, Object.keys(c.metrics));
    if (!own.length) continue;
    const what = own.map((o) => `${o.metric} ${o.source.toUpperCase()}`).join(', ');
    const detail = withDetail ? String(c.settings[METRIC_SOURCES_DETAIL_SETTING] ?? '').trim() : '';
    const key = `${what}${detail ? ` (${detail})` : ''}`;
    const ids = parts.get(key) ?? [];
    ids.push(c.id);
    parts.set(key, ids);
  }
  if (!parts.size) return undefined;
  return [...parts].map(([what, ids]) => `in ${ids.length === 1 ? `cell ${ids[0]}` : `${ids.length} cells (${ids.slice(0, 3).join('; ')}${ids.length > 3 ? '; …' : ''})`} ${what}, the cell's other figures ${figureSourceOf(cells.find((c) => c.id === ids[0])!.settings)}`).join('; ');
}

/** A flag the run set on a statistic, as the status (CSS class) a reader sees first. */
export function flagStatus(marks: readonly Marker[]): FigureStatus | undefined {
  if (marks.some((m) => m === 'busy' || m === 'steal' || m === 'run-queue')) return 'busy';
  if (marks.includes('noisy')) return 'noisy';
  if (marks.some((m) => m === 'throttled' || m === 'clocks' || m === 'power-mode' || m === 'no-simd' || m === 'flagged')) return 'flagged';
  return undefined;
}

/**
 * The markers of a figure: one per kind of flag the run set on it, and `~few` when it rests on
 * too few values for an interval of the median (2 to 5: a single value is a per-cell figure,
 * or says n=1 itself).
 */
export function figureMarkers(s: StoredStats | undefined): Marker[] {
  if (!s) return [];
  const marks = new Set<Marker>();
  for (const f of s.flags ?? []) {
    const m = flagMarker(f);
    if (m) marks.add(m);
  }
  if (s.n >= 2 && s.n < MIN_VALUES_FOR_MEDIAN_INTERVAL) marks.add('few');
  return [...marks];
}

/** What the interval shown beside a figure is. */
export type IntervalKind = 'median-ci' | 'range';

/**
 * The interval shown for a figure: the distribution-free 95% interval of the median where n
 * allows one (core/stats medianRanks: n >= 6), otherwise the range min–max of the n values,
 * labelled as such. Never the Student-t interval of the mean: at n = 3 that interval, cut to
 * the sample's range, is neither a 95% interval nor about the median the tables show.
 */
export function figureInterval(s: StoredStats | undefined): { interval: [number, number]; of: IntervalKind } | undefined {
  if (!s) return undefined;
  // The quantities reported (times, rates, energies, memory) cannot be negative.
  if (s.ciMedian) return { interval: [Math.max(0, s.ciMedian[0]), s.ciMedian[1]], of: 'median-ci' };
  if (s.n >= 2 && Number.isFinite(s.min) && Number.isFinite(s.max)) return { interval: [s.min, s.max], of: 'range' };
  return undefined;
}

/** The label of an interval, for column heads, tooltips and chart subtitles. */
export const INTERVAL_LABELS: Readonly<Record<IntervalKind, string>> = {
  'median-ci': '95% CI of the median (distribution-free)',
  range: 'range min–max (n < 6: no interval of the median)',
};

/** "[a–b]" for an interval of the median, "(range a–b)" for a range: the text says which. */
export function fmtInterval(s: StoredStats | undefined, digits?: number): string {
  const iv = figureInterval(s);
  if (!iv) return '–';
  const span = `${fmt(iv.interval[0], digits)}–${fmt(iv.interval[1], digits)}`;
  return iv.of === 'median-ci' ? `[${span}]` : `(range ${span})`;
}

/**
 * Statistics of older results lack the interval of the median (`ciMedian` undefined); where the
 * cell still holds its iterations, it is computed from them as the run would have stored it,
 * if they give back the stored n and median (so the interval is of the figure shown).
 */
export function withMedianIntervals(result: RunResult): RunResult {
  if (!result.cells.some((c) => Object.values(c.metrics).some((s) => (s as StoredStats).ciMedian === undefined && s.n >= MIN_VALUES_FOR_MEDIAN_INTERVAL))) return result;
  return {
    ...result,
    cells: result.cells.map((c) => {
      const missing = Object.entries(c.metrics).filter(([, s]) => (s as StoredStats).ciMedian === undefined && s.n >= MIN_VALUES_FOR_MEDIAN_INTERVAL);
      if (missing.length === 0 || c.iterations.length === 0) return c;
      const fresh = cellMetrics(c.iterations);
      const metrics = { ...c.metrics };
      for (const [name, s] of missing) {
        const f = fresh[name];
        if (f && f.n === s.n && Math.abs(f.median - s.median) <= 1e-9 * Math.max(1, Math.abs(s.median))) metrics[name] = { ...s, ciMedian: f.ciMedian ?? null };
      }
      return { ...c, metrics };
    }),
  };
}

/**
 * The median of a statistic as a cell: `format` turns the formatted number into the cell text
 * ("12.3 ms"); the status is the run's flag if any, else the source; the markers say which flags.
 */
export function medianCell(s: StoredStats | undefined, source: FigureSource, format: (n: string) => string = (n) => n, digits?: number): TableCell {
  if (!s) return cell('–', { status: 'missing' });
  const iv = figureInterval(s);
  const flags = flagTexts(s);
  const marks = figureMarkers(s);
  return cell(format(fmt(s.median, digits)), {
    value: s.median,
    unit: s.unit,
    n: s.n,
    status: flagStatus(marks) ?? source,
    ...(marks.length ? { marks } : {}),
    ...(iv ? { interval: iv.interval, intervalOf: iv.of } : {}),
    ...(flags.length ? { note: flags.join('; ') } : {}),
  });
}

/**
 * The median of one metric of a cell. A figure whose source differs from its cell's (a composed
 * phase split inside a measured TTFT) carries the source as a marker and its note, so the figure
 * itself says so wherever it is printed (the cell-level source is said by each table's figures line).
 */
export function metricMedianCell(c: CellResult, metric: string, format: (n: string) => string = (n) => n, digits?: number): TableCell {
  const source = metricSource(c, metric);
  const figure = medianCell(c.metrics[metric] as StoredStats | undefined, source, format, digits);
  if (source === cellSource(c) || figure.status === 'missing') return figure;
  const how = figureSourceDetail(c.settings, metric);
  const mark: Marker[] = source === 'measured' ? [] : [source];
  return { ...figure, marks: [...mark, ...(figure.marks ?? []).filter((m) => m !== source)], note: figure.note ? `${how}; ${figure.note}` : how };
}

/** A figure that is not a statistic of iterations (a composition, a published figure). */
export function valueCell(value: number | undefined, status: FigureStatus, format: (n: string) => string = (n) => n, digits?: number, unit?: string): TableCell {
  if (value === undefined || !Number.isFinite(value)) return cell('–', { status: 'missing' });
  return cell(format(fmt(value, digits)), { value, status, ...(unit ? { unit } : {}) });
}

/** A reason as a table shows it: whole up to `max` characters (the full text stays in the note). */
export function shortReason(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A failed cell as a table shows it: the marker and why, not only in a tooltip. */
export function failedCell(error: string | undefined, more: Omit<TableCell, 'text'> = {}): TableCell {
  const reason = error?.trim() ? error : 'no reason recorded';
  return cell(`${markerText('failed')}: ${shortReason(reason)}`, { status: 'failed', note: reason, ...more });
}

/** The accuracy gate's figures: "cosine 0.99995, top-1 100.0%, image cosine 0.9999". */
function accuracyFigures(a: AccuracyCheck): string {
  return `cosine ${a.cosine.toFixed(5)}, top-1 ${(a.top1 * 100).toFixed(1)}%${a.imageCosine === null ? '' : `, image cosine ${a.imageCosine.toFixed(5)}`}`;
}

/**
 * A cell's accuracy verdict against fp32 (models/accuracy-gate.ts): pass with its figures, WRONG
 * OUTPUT with what missed, the fp32 reference itself, or "not checked" (never a pass).
 */
export function accuracyCell(c: CellResult): TableCell {
  const a = c.accuracy;
  if (a) {
    const thresholds = a.thresholds ? `; thresholds cosine ${a.thresholds.cosineMean}, top-1 ${a.thresholds.top1 * 100}%` : '';
    const where = a.gateCost?.scope === 'gate-process' ? ' in its own process' : '';
    const cost = a.gateCost ? `; the gate took ${Math.round(a.gateCost.ms)} ms and ${fmtBytes(a.gateCost.peakRssBytes)} peak RSS${where}, outside the cell's figures` : '';
    const checked = `vs fp32 over ${a.tokens} positions on ${a.checkedOn?.cpu ?? 'a machine not recorded'}${a.cached ? ' (cached verdict)' : ''}${thresholds}${cost}`;
    return a.passed
      ? cell(`pass: ${accuracyFigures(a)}`, { status: 'measured', value: a.cosine, note: checked })
      : cell(`${markerText('wrong-output')}: ${a.failures.join('; ') || 'failed, no reason recorded'} (${accuracyFigures(a)})`, { status: 'flagged', value: a.cosine, marks: ['wrong-output'], note: checked });
  }
  const precision = String(c.params['precision'] ?? c.model?.precision ?? '');
  if (precision === 'fp32' && !c.params['llm_precision'] && !c.params['vision_precision']) return cell('fp32 (the reference)', { status: 'derived' });
  return cell('not checked', { status: 'missing', note: 'no accuracy gate ran for this cell (only quantised zoo models are checked against fp32): not a pass' });
}

/** What a chart's error bars are, from the figures drawn: "bars: 95% CI of the median ...", the range, or both. */
export function errorBarsNote(cells: ReadonlyArray<TableCell | undefined>): string | undefined {
  const kinds = new Set(cells.map((c) => (c?.interval ? c.intervalOf : undefined)).filter((k) => k !== undefined));
  if (kinds.size === 0) return undefined;
  return `bars: ${[...kinds].sort().map((k) => INTERVAL_LABELS[k]).join(', or the ')}`;
}

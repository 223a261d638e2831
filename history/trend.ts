import type { ChartConfiguration, Plugin } from 'chart.js';
import { median } from '../core/stats.ts';
import { metricDirection } from '../analysis/cell-values.ts';
import { renderMarkdown } from '../reporters/render/markdown.ts';
import { codeSpan, columns, type Report, type Table, type TableCell } from '../reporters/report-model.ts';
import { COMPARISON_HEADING_LEVEL } from '../reporters/compare/markdown.ts';
import { fmtMedian, fmtPct } from '../reporters/compare/verdict-text.ts';
import { boardLabel } from '../reporters/cell-boards.ts';
import { DEFAULT_EDIVISIVE, eDivisive, type EDivisiveOptions } from './e-divisive.ts';
import type { HistoryStore, Point, SeriesRow } from './store.ts';

/** `bench history show`: each series' levels and change points over its newest runs. */

export interface TrendChange {
  index: number;
  commit: string | null;
  runId: string;
  changePct: number;
  pValue: number;
  /** Someone accepted the level this change begins. */
  accepted: boolean;
  /** Worse (in the metric's direction) rather than better. */
  worse: boolean;
}

export interface Trend {
  series: SeriesRow;
  points: Point[];
  /** Median of each level, per point (a step line). */
  levels: number[];
  changes: TrendChange[];
}

export function seriesTrend(store: HistoryStore, series: SeriesRow, last: number, detector: EDivisiveOptions = DEFAULT_EDIVISIVE): Trend {
  const points = store.points(series.id, last);
  const medians = points.map((p) => p.median);
  const positive = medians.every((v) => v > 0);
  const found = points.length >= 2 * detector.minSize ? eDivisive(positive ? medians.map(Math.log) : medians, detector) : [];
  // Accepted levels are levels too, whether or not the detector sees them again.
  const acceptedRuns = new Set(store.accepted(series.id).map((a) => a.run));
  const acceptedIdx = points.flatMap((p, i) => (acceptedRuns.has(p.run) && i > 0 ? [i] : []));
  const cuts = [...new Set([...found.map((c) => c.index), ...acceptedIdx])].sort((a, b) => a - b);
  const bounds = [0, ...cuts, points.length];
  const levels: number[] = [];
  const segMedians: number[] = [];
  for (let s = 0; s + 1 < bounds.length; s++) {
    const m = median(medians.slice(bounds[s]!, bounds[s + 1]!))!;
    segMedians.push(m);
    for (let i = bounds[s]!; i < bounds[s + 1]!; i++) levels.push(m);
  }
  const lowerBetter = metricDirection(series.metric) === 'lower is better';
  const changes = cuts.map((index, k) => {
    const changePct = (segMedians[k + 1]! / segMedians[k]! - 1) * 100;
    return {
      index,
      commit: points[index]!.gitCommit,
      runId: points[index]!.runId,
      changePct,
      pValue: found.find((c) => c.index === index)?.pValue ?? NaN,
      accepted: acceptedRuns.has(points[index]!.run),
      worse: lowerBetter ? changePct > 0 : changePct < 0,
    };
  });
  return { series, points, levels, changes };
}

const short = (commit: string | null) => (commit ? commit.slice(0, 8) : '–');
/** " on orin-2": the board that measured a point of a run merged from a pool's shards. */
const onBoard = (p: Point) => (p.ranOn ? ` on ${boardLabel(p.ranOn)}` : '');

/** `bench history show` as the report model: one row per series, rendered like the check (render/markdown.ts escapes every string). */
export function trendReport(trends: readonly Trend[], title: string): Report {
  const commit = (p: Point) => `${codeSpan(short(p.gitCommit))} ${p.commitDate.slice(0, 10)}${onBoard(p)}`;
  const rows = trends.map((t): TableCell[] => {
    const first = t.points[0];
    const latest = t.points[t.points.length - 1];
    const level = t.levels[t.levels.length - 1];
    const changes = t.changes.map((c) => `${fmtPct(c.changePct)} at ${codeSpan(short(c.commit))}${onBoard(t.points[c.index]!)}${c.accepted ? ' (accepted)' : c.worse ? ' (**not accepted**)' : ''}`);
    return [
      { text: t.series.cellId },
      { text: t.series.metric },
      { text: String(t.points.length), value: t.points.length },
      { text: first ? commit(first) : '–' },
      { text: latest ? commit(latest) : '–' },
      latest ? { text: fmtMedian(latest.median, t.series.unit), value: latest.median, unit: t.series.unit } : { text: '–' },
      level === undefined ? { text: '–' } : { text: fmtMedian(level, t.series.unit), value: level, unit: t.series.unit },
      { text: changes.length ? changes.join('; ') : 'none' },
    ];
  });
  const table: Table = {
    id: 'trends',
    columns: columns([['Cell', 'left'], ['Metric', 'left'], ['Runs', 'right'], ['First', 'left'], ['Latest', 'left'], ['Latest median', 'right'], ['Current level', 'right'], ['Change points', 'left']]),
    rows,
  };
  return { title, facts: [], tables: [table], notes: [], sections: [], charts: [] };
}

/** Same heading level as `bench history check`, printed beside it in CI logs. */
export function formatTrendMarkdown(trends: readonly Trend[], title: string): string {
  return renderMarkdown(trendReport(trends, title), { headingLevel: COMPARISON_HEADING_LEVEL });
}

/** Run medians against commits, the level as a step line, and a vertical line at each change point. */
export function trendChart(t: Trend, subtitle: string): ChartConfiguration {
  const markers: Plugin = {
    id: 'change-points',
    afterDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      const x = scales['x']!;
      ctx.save();
      ctx.font = '12px "DejaVu Sans"';
      for (const c of t.changes) {
        // Between the last run of the old level and the first of the new one.
        const px = (x.getPixelForValue(c.index - 1) + x.getPixelForValue(c.index)) / 2;
        ctx.strokeStyle = c.accepted ? '#7f7f7f' : c.worse ? '#d62728' : '#2ca02c';
        ctx.setLineDash(c.accepted ? [6, 4] : []);
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.moveTo(px, chartArea.top);
        ctx.lineTo(px, chartArea.bottom);
        ctx.stroke();
        ctx.fillStyle = ctx.strokeStyle;
        ctx.fillText(`${fmtPct(c.changePct)} ${short(c.commit)}${c.accepted ? ' (accepted)' : ''}`, px + 4, chartArea.top + 14);
      }
      ctx.restore();
    },
  };
  return {
    type: 'line',
    data: {
      labels: t.points.map((p) => `${short(p.gitCommit)}${onBoard(p)}`),
      datasets: [
        { label: `${t.series.metric} run median (${t.series.unit})`, data: t.points.map((p) => p.median), borderColor: '#1f77b4', backgroundColor: '#1f77b4', pointRadius: 3, showLine: false },
        { label: 'level (median of the level\'s runs)', data: t.levels, borderColor: '#ff7f0e', backgroundColor: '#ff7f0e', pointRadius: 0, stepped: 'middle', borderWidth: 2 },
      ],
    },
    options: {
      plugins: {
        title: { display: true, text: `${t.series.cellId}: ${t.series.metric}`, font: { size: 16 } },
        subtitle: { display: true, text: subtitle, font: { size: 12 } },
      },
      scales: {
        x: { title: { display: true, text: 'commit (in commit-date order)' }, ticks: { autoSkip: true, maxRotation: 60 } },
        y: { title: { display: true, text: `${t.series.metric} (${t.series.unit})` } },
      },
    },
    plugins: [markers],
  };
}

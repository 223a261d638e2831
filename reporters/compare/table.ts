import type { ChartConfiguration } from 'chart.js';
import type { RunResult } from '../../core/result-types.ts';
import { fmt } from '../format.ts';
import { metricUnit, TABLE_METRICS } from '../../core/metric-registry.ts';
import { figureSourceOf, metricFigureSource, type FigureSource } from '../../core/figure-source.ts';
import { cellFigure } from '../report-axera.ts';
import { metricDirection } from '../../analysis/cell-values.ts';
import { isThrottled } from '../../analysis/run-facts.ts';
import { renderMarkdown } from '../render/markdown.ts';
import { codeSpan, columns, type Report, type Section, type Table, type TableCell } from '../report-model.ts';
import { buildComparisonGrid, columnDifferences, type CompareBy, type ComparisonGrid, type GridEntry } from './table-grid.ts';


/** A figure not measured on its run's clock says how it was obtained, in the text, so a copied row keeps it. */
const SOURCE_MARK: Record<FigureSource, string> = { measured: '', 'tool-reported': ' (tool-reported)', composed: ' (composed)' };

function entryText(e: GridEntry | null, metric: string): string {
  if (!e) return '–';
  if (e.cell.status === 'failed') return 'failed';
  const figure = cellFigure(e.cell, metric);
  if (!figure) return '–';
  return `${fmt(figure.stats.median)}${SOURCE_MARK[figure.source]}${isThrottled(e.cell) ? ' (throttled)' : ''}`;
}

/** The runs, and what a reader must know about every figure (synthetic weights, how figures were obtained). */
function headerNotes(results: readonly RunResult[], grid: ComparisonGrid, metrics: readonly string[], shared: boolean): string[] {
  const notes: string[] = [];
  notes.push(
    `Runs: ${results.map((r) => `${codeSpan(r.runId)} (suite ${r.suite.name}, target ${r.target}, ${r.environment.host.hostname}, ${r.startedAt.slice(0, 10)})`).join('; ')}.`,
  );
  if (shared) notes.push(`The columns share one environment (host, board facts, versions, threads, weights); only the ${grid.compareBy} differs.`);
  const synthetic = grid.columns.filter((_, ci) => grid.rows.some((r) => r.entries[ci]?.cell.model?.synthetic));
  if (synthetic.length) {
    notes.push(
      `**SYNTHETIC WEIGHTS** in ${synthetic.length === grid.columns.length ? 'every column' : synthetic.map((c) => `"${c}"`).join(', ')}: ` +
        'random values with the real architecture; latency of a dense model does not depend on weight values, but this is not a trained model.',
    );
  }
  const ok = grid.rows.flatMap((r) => r.entries.filter((e): e is GridEntry => e !== null && e.cell.status === 'ok'));
  const sources = new Set(ok.flatMap((e) => [figureSourceOf(e.cell.settings), ...metrics.map((m) => metricFigureSource(e.cell.settings, m))]));
  if (sources.has('tool-reported')) {
    notes.push('"(tool-reported)": durations the program under test printed about itself, parsed from its output (its run\'s clock timed only the whole command); not measured on the run\'s clock.');
  }
  if (sources.has('composed')) {
    notes.push('"(composed)": built by arithmetic from measured parts (Axera method: sums of ax_run_model per-graph averages; llama.cpp image cells: image_encode and prefill split inside a measured TTFT), not measured end to end.');
  }
  if (grid.rows.some((r) => r.entries.some((e) => e && isThrottled(e.cell)))) {
    notes.push('"(throttled)": the run flagged that cell as measured at reduced clocks; its figure understates the hardware.');
  }
  return notes;
}

function environmentSection(results: readonly RunResult[], grid: ComparisonGrid): Section | null {
  const diffs = columnDifferences(results, grid);
  if (!diffs.length) return null;
  return {
    id: 'environment',
    heading: "What differs between the columns' environments",
    notes: [`A difference in a row may come from these, not only from the ${grid.compareBy}.`],
    tables: [{ id: 'environment', columns: columns([['', 'left'], ...grid.columns.map((c): [string, 'left'] => [c, 'left'])]), rows: diffs.map((d) => [d.label, ...d.values].map((text) => ({ text }))) }],
    charts: [],
  };
}

/**
 * Published comparison tables as a report: one table per metric, rows = cells without the
 * compare-by axis, one column per target/backend/precision, values = medians; the notes on top
 * say what differs between the columns' environments besides the compared axis.
 */
export function comparisonTablesReport(results: RunResult[], compareBy: CompareBy, metrics: readonly string[] = TABLE_METRICS): Report {
  const grid = buildComparisonGrid(results, compareBy);
  const tables: Table[] = [];
  const tableColumns = columns([['Cell', 'left'], ...grid.columns.map((c): [string, 'right'] => [c, 'right'])]);
  for (const metric of metrics) {
    // A row is listed when some column has the metric (or failed): text-only cells have no image_encode_ms.
    const rows: TableCell[][] = [];
    let present = false;
    for (const r of grid.rows) {
      let listed = false;
      for (const e of r.entries) {
        if (e && cellFigure(e.cell, metric)) present = listed = true;
        else if (e?.cell.status === 'failed') listed = true;
      }
      if (listed) rows.push([{ text: r.key }, ...r.entries.map((e) => ({ text: entryText(e, metric) }))]);
    }
    if (!present) continue;
    const unit = metricUnit(metric);
    tables.push({ id: metric, caption: `${metric} (median${unit ? `, ${unit}` : ''}; ${metricDirection(metric)})`, columns: tableColumns, rows });
  }
  const environment = environmentSection(results, grid);
  return {
    title: `Comparison by ${compareBy}: ${[...new Set(results.map((r) => r.suite.name))].join(', ')}`,
    facts: [],
    notes: headerNotes(results, grid, metrics, environment === null),
    sections: [...(environment ? [environment] : []), { id: 'medians', heading: `Medians by ${compareBy}`, notes: [], tables, charts: [] }],
    charts: [],
  };
}

/** comparison.md's text: the report above as Markdown (render/markdown.ts). */
export function comparisonTables(results: RunResult[], compareBy: CompareBy, metrics: readonly string[] = TABLE_METRICS): string {
  return renderMarkdown(comparisonTablesReport(results, compareBy, metrics));
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/**
 * Grouped bars of one metric's medians: a group per row, a bar per column. `rows` selects a
 * page of rows, because a chart of hundreds of groups is unreadable.
 */
export function comparisonChart(
  results: readonly RunResult[],
  grid: ComparisonGrid,
  metric: string,
  rows: { from: number; to: number } = { from: 0, to: grid.rows.length },
): ChartConfiguration {
  const page = grid.rows.slice(rows.from, rows.to);
  const synthetic = grid.rows.some((r) => r.entries.some((e) => e?.cell.model?.synthetic));
  const unit = metricUnit(metric);
  const suites = [...new Set(results.map((r) => r.suite.name))].join(', ');
  const subtitle = [
    `median per cell; ${metricDirection(metric)}`,
    rows.from > 0 || rows.to < grid.rows.length ? `rows ${rows.from + 1}-${Math.min(rows.to, grid.rows.length)} of ${grid.rows.length}` : '',
    synthetic ? 'synthetic weights (random values, real architecture)' : '',
  ].filter(Boolean).join('; ');
  return {
    type: 'bar',
    data: {
      labels: page.map((r) => r.key),
      datasets: grid.columns.map((col, ci) => ({
        label: col,
        data: page.map((r) => {
          const e = r.entries[ci];
          return e && e.cell.status === 'ok' ? (cellFigure(e.cell, metric)?.stats.median ?? null) : null;
        }),
        backgroundColor: PALETTE[ci % PALETTE.length],
      })),
    },
    options: {
      plugins: {
        title: { display: true, text: `${suites}: ${metric} by ${grid.compareBy}`, font: { size: 18 } },
        subtitle: { display: true, text: subtitle, font: { size: 12 } },
      },
      scales: {
        x: { title: { display: true, text: 'cell' } },
        y: { beginAtZero: true, title: { display: true, text: `${metric}${unit ? ` (${unit})` : ''}` } },
      },
    },
  };
}

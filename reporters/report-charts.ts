/**
 * Chart definitions (ChartSpec: JSON chart.js configurations) built from the report model's
 * tables where a table holds the figures (so chart and table cannot disagree), bounded in size
 * at any number of cells: a chart shows at most a fixed number of series or cells and says how
 * many it leaves out. Error bars are each figure's interval (report-model: TableCell.interval).
 */
import type { ChartConfiguration } from 'chart.js';
import type { CellResult, RunResult } from '../core/result-types.ts';
import { errorBarsNote } from './figures.ts';
import type { ChartSpec, Table, TableCell } from './report-model.ts';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
/** Series (lines, bar groups) per chart. */
export const MAX_SERIES = 10;
/** Cells (bars) per chart. */
export const MAX_CHART_CELLS = 40;

function title(text: string, subtitle?: string) {
  return {
    title: { display: true, text, font: { size: 18 } },
    ...(subtitle ? { subtitle: { display: true, text: subtitle, font: { size: 12 } } } : {}),
  };
}

const axis = (text: string, stacked = false, suggestedMax?: number) => ({ title: { display: true, text }, stacked, beginAtZero: true, ...(suggestedMax !== undefined ? { suggestedMax } : {}) });

/** The top of the error bars, so the value axis shows them whole. */
function highestInterval(intervals: ReadonlyArray<ReadonlyArray<[number, number] | null | undefined>>): number | undefined {
  let hi: number | undefined;
  for (const list of intervals) for (const iv of list) if (iv && Number.isFinite(iv[1])) hi = hi === undefined ? iv[1] : Math.max(hi, iv[1]);
  return hi;
}

const synthetic = (r: RunResult): string | undefined => (r.cells.some((c) => c.model?.synthetic) ? 'synthetic weights (random values, real architecture)' : undefined);

const subtitle = (...parts: Array<string | undefined>): string | undefined => parts.filter(Boolean).join('; ') || undefined;

function column(t: Table, header: string): number {
  return t.columns.findIndex((c) => c.header === header);
}

const composedNote = (tables: readonly Table[], col: string): string | undefined =>
  tables.some((t) => t.rows.some((r) => r[column(t, col)]?.status === 'composed')) ? 'COMPOSED figures (Axera method), not measured end to end' : undefined;

/** TTFT (end to end) against image count, one line per summary table (precision, prefill...). */
export function ttftChart(result: RunResult, summary: readonly Table[]): ChartSpec | null {
  const col = 'TTFT (end to end)';
  const tables = summary.filter((t) => column(t, col) >= 0 && t.rows.some((r) => r[column(t, col)]?.value !== undefined));
  if (tables.length === 0) return null;
  const shown = tables.slice(0, MAX_SERIES);
  const series = shown.map((t) => {
    const i = column(t, col);
    const points = t.rows
      .map((r) => ({ x: Number(r[0]!.text), cell: r[i]! }))
      .filter((p): p is { x: number; cell: TableCell & { value: number } } => p.cell.value !== undefined)
      .sort((a, b) => a.x - b.x);
    return { label: t.caption ?? t.id, points };
  });
  const config: ChartConfiguration = {
    type: 'line',
    data: {
      datasets: series.map((s, k) => ({
        label: s.label,
        data: s.points.map((p) => ({ x: p.x, y: p.cell.value })),
        borderColor: PALETTE[k % PALETTE.length],
        backgroundColor: PALETTE[k % PALETTE.length],
        pointRadius: 5,
      })),
    },
    options: {
      plugins: {
        ...title(`${result.suite.name}: TTFT vs image count (median)`, subtitle(synthetic(result), composedNote(shown, col), errorBarsNote(series.flatMap((s) => s.points.map((p) => p.cell))), tables.length > MAX_SERIES ? `${MAX_SERIES} of ${tables.length} series` : undefined)),
        errorBars: { bars: series.map((s) => s.points.map((p) => p.cell.interval ?? null)) },
      } as never,
      scales: {
        x: { type: 'linear', title: { display: true, text: 'images per request' }, ticks: { stepSize: 1 } },
        y: axis('TTFT, end to end (ms)', false, highestInterval(series.map((s) => s.points.map((p) => p.cell.interval)))),
      },
    },
  };
  return { id: 'ttft-vs-images', title: 'TTFT vs image count', width: 960, height: 540, config };
}

/** Decode tokens/s per summary table, one bar per image count. */
export function decodeChart(result: RunResult, summary: readonly Table[]): ChartSpec | null {
  const col = 'tokens/s';
  const tables = summary.filter((t) => column(t, col) >= 0 && t.rows.some((r) => r[column(t, col)]?.value !== undefined)).slice(0, MAX_SERIES * 2);
  if (tables.length === 0) return null;
  const images = [...new Set(tables.flatMap((t) => t.rows.map((r) => r[0]!.text)))].sort((a, b) => Number(a) - Number(b)).slice(0, MAX_SERIES);
  const cellAt = (t: Table, img: string): TableCell | undefined => t.rows.find((r) => r[0]!.text === img)?.[column(t, col)];
  const config: ChartConfiguration = {
    type: 'bar',
    data: {
      labels: tables.map((t) => t.caption ?? t.id),
      datasets: images.map((img, k) => ({
        label: `images=${img}`,
        data: tables.map((t) => cellAt(t, img)?.value ?? null),
        backgroundColor: PALETTE[k % PALETTE.length],
      })),
    },
    options: {
      plugins: {
        ...title(`${result.suite.name}: decode tokens/s (median)`, subtitle(synthetic(result), composedNote(tables, col), errorBarsNote(images.flatMap((img) => tables.map((t) => cellAt(t, img)))))),
        errorBars: { bars: images.map((img) => tables.map((t) => cellAt(t, img)?.interval ?? null)) },
      } as never,
      scales: { x: { title: { display: true, text: 'precision, prompt' } }, y: axis('decode tokens/s', false, highestInterval(images.map((img) => tables.map((t) => cellAt(t, img)?.interval)))) },
    },
  };
  return { id: 'decode-tokens-per-s', title: 'Decode tokens/s', width: 960, height: 540, config };
}

/** Per-request time of each graph, stacked, one bar per cell (the slowest cells when there are many). */
export function subgraphChart(result: RunResult): ChartSpec | null {
  let cells = result.cells.filter((c) => c.status === 'ok' && Object.keys(c.subgraphs).length);
  if (cells.length === 0) return null;
  const total = cells.length;
  if (cells.length > MAX_CHART_CELLS) {
    cells = [...cells].sort((a, b) => (b.metrics['e2e_ms']?.median ?? 0) - (a.metrics['e2e_ms']?.median ?? 0)).slice(0, MAX_CHART_CELLS);
  }
  // Stack in the order a request runs: image encoding, then prefill, then decode.
  const phaseOrder = ['preprocess', 'image_encode', 'prefill', 'decode'];
  const rank = (key: string) => phaseOrder.indexOf(key.split('/').pop() ?? '');
  const keys = [...new Set(cells.flatMap((c) => Object.keys(c.subgraphs)))].sort((a, b) => rank(a) - rank(b));
  const composed = cells.some((c) => String(c.settings['timing'] ?? '').startsWith('composed'));
  return {
    id: 'subgraph-time-per-request',
    title: 'Time per request by subgraph',
    width: 1200,
    height: 120 + cells.length * 48,
    config: {
      type: 'bar',
      data: {
        labels: cells.map((c) => c.id),
        datasets: keys.map((k, i) => ({ label: k, data: cells.map((c) => c.subgraphs[k]?.perRequest.median ?? 0), backgroundColor: PALETTE[i % PALETTE.length] })),
      },
      options: {
        indexAxis: 'y',
        plugins: title(
          `${result.suite.name}: time per request by subgraph (median)`,
          subtitle(synthetic(result), composed ? 'COMPOSED figures (Axera method)' : undefined, total > cells.length ? `the ${cells.length} slowest of ${total} cells (by e2e median); all in report.md` : undefined),
        ),
        scales: { x: axis('time per request (ms)', true), y: { stacked: true, title: { display: true, text: 'cell' } } },
      },
    },
  };
}

const PHASE_COLORS: Record<string, string> = {
  preprocess: 'rgba(127,127,127,0.18)',
  image_encode: 'rgba(255,127,14,0.22)',
  prefill: 'rgba(31,119,180,0.22)',
  decode: 'rgba(44,160,44,0.22)',
};

/** Power charts: this many cells get one (the first with power samples). */
export const MAX_POWER_CHARTS = 8;

/** Power over time for one cell, with each measured iteration's phases as coloured bands. */
export function powerTimeline(result: RunResult, c: CellResult): ChartSpec | null {
  const power = c.probes?.power;
  if (!power) return null;
  const basis = power.basis;
  const points = c.probes!.samples
    .map((s) => ({ t: s.tMs, mw: s.rails?.find((r) => r.name === basis)?.powerMw }))
    .filter((p): p is { t: number; mw: number } => typeof p.mw === 'number');
  if (points.length < 2) return null;
  const t0 = points[0]!.t;
  const bands: Array<{ x0: number; x1: number; color: string }> = [];
  for (const it of c.iterations) {
    if (it.warmup) continue;
    for (const e of it.events) if (e.kind === 'phase') bands.push({ x0: (e.startMs - t0) / 1000, x1: (e.endMs - t0) / 1000, color: PHASE_COLORS[e.phase] ?? 'rgba(0,0,0,0.1)' });
  }
  const legendBands = Object.entries(PHASE_COLORS).map(([phase, color]) => ({ label: phase, data: [] as Array<{ x: number; y: number }>, backgroundColor: color, borderColor: color }));
  return {
    id: `power-cell-${c.index}`,
    title: `Power over time, ${c.id}`,
    width: 1200,
    height: 480,
    config: {
      type: 'line',
      data: {
        datasets: [
          { label: `${basis} (W)`, data: points.map((p) => ({ x: (p.t - t0) / 1000, y: p.mw / 1000 })), borderColor: '#d62728', backgroundColor: '#d62728', pointRadius: 0, borderWidth: 1.5 },
          ...legendBands,
        ],
      },
      options: {
        plugins: {
          ...title(`${result.suite.name} ${c.id}: power over time`, `${basis}, ${points.length} samples; bands: phases of measured iterations`),
          phaseBands: { bands },
        } as never,
        scales: { x: { type: 'linear', title: { display: true, text: 'time since first sample (s)' } }, y: axis('power (W)') },
      },
    },
  };
}

export function powerCharts(result: RunResult): ChartSpec[] {
  const out: ChartSpec[] = [];
  for (const c of result.cells) {
    if (out.length >= MAX_POWER_CHARTS) break;
    if (c.status !== 'ok' || !c.probes?.power) continue;
    const spec = powerTimeline(result, c);
    if (spec) out.push(spec);
  }
  return out;
}

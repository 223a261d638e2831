import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration, type Plugin } from 'chart.js';
import type { CellResult, RunResult } from '../core/result-types.ts';

Chart.register(...registerables);

// Charts must look the same on every machine, including a fresh one with no system fonts:
// the font ships as an npm package and is registered by file.
const FONT = 'DejaVu Sans';
const require = createRequire(import.meta.url);
GlobalFonts.registerFromPath(join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf', 'DejaVuSans.ttf'), FONT);
Chart.defaults.font.family = FONT;
Chart.defaults.color = '#222';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const whiteBackground: Plugin = {
  id: 'white-background',
  beforeDraw(chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

export async function renderChart(config: ChartConfiguration, width = 960, height = 540): Promise<Buffer> {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const chart = new Chart(ctx as unknown as CanvasRenderingContext2D, {
    ...config,
    options: { ...config.options, animation: false, responsive: false, devicePixelRatio: 1 },
    plugins: [...(config.plugins ?? []), whiteBackground],
  });
  chart.draw();
  const png = await canvas.encode('png');
  chart.destroy();
  return png;
}

function title(text: string, subtitle?: string) {
  return {
    title: { display: true, text, font: { size: 18 } },
    ...(subtitle ? { subtitle: { display: true, text: subtitle, font: { size: 12 } } } : {}),
  };
}

function axis(text: string, stacked = false) {
  return { title: { display: true, text }, stacked, beginAtZero: true };
}

type Interval = [number, number] | null;

/**
 * Whiskers for the 95% CI of each median: `intervals[dataset][point]` (null = none, e.g. fewer
 * than six iterations). Drawn over the datasets so a reader sees how far each point can be
 * trusted; a separate plugin so any chart can take it without changing its datasets.
 */
function medianIntervalBars(intervals: Interval[][], horizontal = false): Plugin {
  return {
    id: 'median-interval-bars',
    afterDatasetsDraw(chart) {
      const { ctx, chartArea } = chart;
      const value = horizontal ? chart.scales['x']! : chart.scales['y']!;
      ctx.save();
      // A whisker longer than the axis is cut at the plot's edge (the axis stays readable).
      ctx.beginPath();
      ctx.rect(chartArea.left, chartArea.top, chartArea.right - chartArea.left, chartArea.bottom - chartArea.top);
      ctx.clip();
      ctx.strokeStyle = '#222';
      ctx.lineWidth = 1.5;
      intervals.forEach((list, d) => {
        const meta = chart.getDatasetMeta(d);
        if (meta.hidden) return;
        list.forEach((ci, j) => {
          const el = meta.data[j];
          if (!ci || !el) return;
          const at = horizontal ? el.y : el.x;
          const a = value.getPixelForValue(ci[0]);
          const b = value.getPixelForValue(ci[1]);
          ctx.beginPath();
          if (horizontal) {
            ctx.moveTo(a, at);
            ctx.lineTo(b, at);
            ctx.moveTo(a, at - 5);
            ctx.lineTo(a, at + 5);
            ctx.moveTo(b, at - 5);
            ctx.lineTo(b, at + 5);
          } else {
            ctx.moveTo(at, a);
            ctx.lineTo(at, b);
            ctx.moveTo(at - 5, a);
            ctx.lineTo(at + 5, a);
            ctx.moveTo(at - 5, b);
            ctx.lineTo(at + 5, b);
          }
          ctx.stroke();
        });
      });
      ctx.restore();
    },
  };
}

const SPREAD_NOTE = 'whiskers: 95% CI of the median';
const withNote = (...parts: Array<string | undefined>) => parts.filter(Boolean).join('; ');

const ok = (r: RunResult) => r.cells.filter((c) => c.status === 'ok');
const precisionOf = (c: CellResult) => String(c.params['precision'] ?? 'default');
const syntheticNote = (r: RunResult) =>
  r.cells.some((c) => c.model?.synthetic) ? 'synthetic weights (random values, real architecture)' : undefined;

/** TTFT (end to end) against image count, one line per precision and prefill length. */
export function ttftVsImages(result: RunResult): ChartConfiguration {
  const series = new Map<string, Array<{ x: number; y: number; ci: Interval }>>();
  for (const c of ok(result)) {
    const ttft = c.metrics['ttft_ms'];
    if (!ttft) continue;
    const key = `${precisionOf(c)}, prefill ${String(c.params['prefill'] ?? '?')}`;
    series.set(key, [...(series.get(key) ?? []), { x: Number(c.params['images'] ?? 0), y: ttft.median, ci: ttft.ciMedian ?? null }]);
  }
  const sorted = [...series].map(([label, points]) => [label, points.sort((a, b) => a.x - b.x)] as const);
  return {
    type: 'line',
    plugins: [medianIntervalBars(sorted.map(([, points]) => points.map((p) => p.ci)))],
    data: {
      datasets: sorted.map(([label, points], i) => ({
        label,
        data: points.map((p) => ({ x: p.x, y: p.y })),
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length],
        pointRadius: 5,
      })),
    },
    options: {
      plugins: title(`${result.suite.name}: TTFT vs image count (median)`, withNote(syntheticNote(result), SPREAD_NOTE)),
      scales: { x: { type: 'linear', title: { display: true, text: 'images per request' }, ticks: { stepSize: 1 } }, y: axis('TTFT, end to end (ms)') },
    },
  };
}

/** Decode tokens/s per precision, one bar per image count. */
export function decodeThroughput(result: RunResult): ChartConfiguration {
  const cells = ok(result).filter((c) => c.metrics['decode_tokens_per_s']);
  const precisions = [...new Set(cells.map(precisionOf))];
  const groupOf = (c: CellResult) => `images=${String(c.params['images'] ?? 0)}, prefill=${String(c.params['prefill'] ?? '?')}`;
  const groups = [...new Set(cells.map(groupOf))];
  const stat = (g: string, p: string) => cells.find((c) => precisionOf(c) === p && groupOf(c) === g)?.metrics['decode_tokens_per_s'];
  return {
    type: 'bar',
    plugins: [medianIntervalBars(groups.map((g) => precisions.map((p) => stat(g, p)?.ciMedian ?? null)))],
    data: {
      labels: precisions,
      datasets: groups.map((g, i) => ({
        label: g,
        data: precisions.map((p) => stat(g, p)?.median ?? null),
        backgroundColor: PALETTE[i % PALETTE.length],
      })),
    },
    options: {
      plugins: title(`${result.suite.name}: decode tokens/s per precision (median)`, withNote(syntheticNote(result), SPREAD_NOTE)),
      scales: { x: { title: { display: true, text: 'precision' } }, y: axis('decode tokens/s') },
    },
  };
}

/** Per-request time of each graph, stacked, one bar per cell. */
export function subgraphStack(result: RunResult): ChartConfiguration {
  const cells = ok(result);
  // Stack in the order a request runs: image encoding, then prefill, then decode.
  const phaseOrder = ['preprocess', 'image_encode', 'prefill', 'decode'];
  const rank = (key: string) => phaseOrder.indexOf(key.split('/').pop() ?? '');
  const keys = [...new Set(cells.flatMap((c) => Object.keys(c.subgraphs)))].sort((a, b) => rank(a) - rank(b));
  return {
    type: 'bar',
    data: {
      labels: cells.map((c) => c.id),
      datasets: keys.map((k, i) => ({
        label: k,
        data: cells.map((c) => c.subgraphs[k]?.perRequest.median ?? 0),
        backgroundColor: PALETTE[i % PALETTE.length],
      })),
    },
    options: {
      indexAxis: 'y',
      plugins: title(`${result.suite.name}: time per request by subgraph (median)`, syntheticNote(result)),
      scales: { x: axis('time per request (ms)', true), y: { stacked: true, title: { display: true, text: 'cell' } } },
    },
  };
}

const PHASE_COLORS: Record<string, string> = {
  preprocess: 'rgba(127,127,127,0.18)',
  image_encode: 'rgba(255,127,14,0.22)',
  prefill: 'rgba(31,119,180,0.22)',
  decode: 'rgba(44,160,44,0.22)',
};

/** Power over time for one cell, with each measured iteration's phases as coloured bands. */
export function powerTimeline(result: RunResult, cell: CellResult): ChartConfiguration | null {
  const power = cell.probes?.power;
  if (!power) return null;
  const samples = cell.probes!.samples;
  const basis = power.basis;
  const points = samples
    .map((s) => ({ t: s.tMs, mw: s.rails?.find((r) => r.name === basis)?.powerMw }))
    .filter((p): p is { t: number; mw: number } => typeof p.mw === 'number');
  if (points.length < 2) return null;
  const t0 = points[0]!.t;
  const bands: Array<{ phase: string; x0: number; x1: number }> = [];
  for (const it of cell.iterations) {
    if (it.warmup) continue;
    for (const e of it.events) if (e.kind === 'phase') bands.push({ phase: e.phase, x0: (e.startMs - t0) / 1000, x1: (e.endMs - t0) / 1000 });
  }
  const phaseBands: Plugin = {
    id: 'phase-bands',
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      const x = scales['x']!;
      ctx.save();
      for (const b of bands) {
        ctx.fillStyle = PHASE_COLORS[b.phase] ?? 'rgba(0,0,0,0.1)';
        const left = Math.max(chartArea.left, x.getPixelForValue(b.x0));
        const right = Math.min(chartArea.right, x.getPixelForValue(b.x1));
        if (right > left) ctx.fillRect(left, chartArea.top, right - left, chartArea.bottom - chartArea.top);
      }
      ctx.restore();
    },
  };
  const legendBands = Object.entries(PHASE_COLORS).map(([phase, color]) => ({
    label: phase,
    data: [] as Array<{ x: number; y: number }>,
    backgroundColor: color,
    borderColor: color,
  }));
  return {
    type: 'line',
    data: {
      datasets: [
        { label: `${basis} (W)`, data: points.map((p) => ({ x: (p.t - t0) / 1000, y: p.mw / 1000 })), borderColor: '#d62728', backgroundColor: '#d62728', pointRadius: 0, borderWidth: 1.5 },
        ...legendBands,
      ],
    },
    options: {
      plugins: title(`${result.suite.name} ${cell.id}: power over time`, `${basis}, ${points.length} samples; bands: phases of measured iterations`),
      scales: { x: { type: 'linear', title: { display: true, text: 'time since first sample (s)' } }, y: axis('power (W)') },
    },
    plugins: [phaseBands],
  };
}

/** Renders the standard charts into `<dir>/charts/`; returns the files written. */
export async function writeCharts(result: RunResult, dir: string): Promise<string[]> {
  const out = join(dir, 'charts');
  mkdirSync(out, { recursive: true });
  const cellCount = ok(result).length;
  const charts: Array<[string, ChartConfiguration, number, number]> = [
    ['ttft-vs-images.png', ttftVsImages(result), 960, 540],
    ['decode-tokens-per-s.png', decodeThroughput(result), 960, 540],
    ['subgraph-time-per-request.png', subgraphStack(result), 1200, Math.max(360, 120 + cellCount * 48)],
  ];
  // One power chart per cell with power samples (the first few, to keep a large run's folder readable).
  for (const cell of ok(result).filter((c) => c.probes?.power).slice(0, 8)) {
    const config = powerTimeline(result, cell);
    if (config) charts.push([`power-cell-${cell.index}.png`, config, 1200, 480]);
  }
  const written: string[] = [];
  for (const [name, config, w, h] of charts) {
    const file = join(out, name);
    writeFileSync(file, await renderChart(config, w, h));
    written.push(file);
  }
  return written;
}

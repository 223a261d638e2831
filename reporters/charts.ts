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

const ok = (r: RunResult) => r.cells.filter((c) => c.status === 'ok');
const precisionOf = (c: CellResult) => String(c.params['precision'] ?? 'default');
const syntheticNote = (r: RunResult) =>
  r.cells.some((c) => c.model?.synthetic) ? 'synthetic weights (random values, real architecture)' : undefined;

/** TTFT (end to end) against image count, one line per precision and prefill length. */
export function ttftVsImages(result: RunResult): ChartConfiguration {
  const series = new Map<string, Array<{ x: number; y: number }>>();
  for (const c of ok(result)) {
    const ttft = c.metrics['ttft_ms'];
    if (!ttft) continue;
    const key = `${precisionOf(c)}, prefill ${String(c.params['prefill'] ?? '?')}`;
    series.set(key, [...(series.get(key) ?? []), { x: Number(c.params['images'] ?? 0), y: ttft.median }]);
  }
  return {
    type: 'line',
    data: {
      datasets: [...series].map(([label, points], i) => ({
        label,
        data: points.sort((a, b) => a.x - b.x),
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length],
        pointRadius: 5,
      })),
    },
    options: {
      plugins: title(`${result.suite.name}: TTFT vs image count (median)`, syntheticNote(result)),
      scales: { x: { type: 'linear', title: { display: true, text: 'images per request' }, ticks: { stepSize: 1 } }, y: axis('TTFT, end to end (ms)') },
    },
  };
}

/** Decode tokens/s per precision, one bar per image count. */
export function decodeThroughput(result: RunResult): ChartConfiguration {
  const cells = ok(result).filter((c) => c.metrics['decode_tokens_per_s']);
  const precisions = [...new Set(cells.map(precisionOf))];
  const groups = [...new Set(cells.map((c) => `images=${String(c.params['images'] ?? 0)}, prefill=${String(c.params['prefill'] ?? '?')}`))];
  return {
    type: 'bar',
    data: {
      labels: precisions,
      datasets: groups.map((g, i) => ({
        label: g,
        data: precisions.map(
          (p) => cells.find((c) => precisionOf(c) === p && `images=${String(c.params['images'] ?? 0)}, prefill=${String(c.params['prefill'] ?? '?')}` === g)?.metrics['decode_tokens_per_s']?.median ?? null,
        ),
        backgroundColor: PALETTE[i % PALETTE.length],
      })),
    },
    options: {
      plugins: title(`${result.suite.name}: decode tokens/s per precision (median)`, syntheticNote(result)),
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
  const written: string[] = [];
  for (const [name, config, w, h] of charts) {
    const file = join(out, name);
    writeFileSync(file, await renderChart(config, w, h));
    written.push(file);
  }
  return written;
}

/**
 * ChartSpec -> PNG with chart.js on @napi-rs/canvas. The font ships as an npm package and is
 * registered by file, so charts look the same on a fresh machine with no system fonts.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration } from 'chart.js';
import type { ChartSpec } from '../report-model.ts';
import { chartPlugins } from './chart-plugins.ts';

Chart.register(...registerables);

const FONT = 'DejaVu Sans';
const require = createRequire(import.meta.url);
GlobalFonts.registerFromPath(join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf', 'DejaVuSans.ttf'), FONT);
Chart.defaults.font.family = FONT;
Chart.defaults.color = '#222';

/** A canvas must have pixels: a chart never gets less than this, whatever its data. */
const MIN_SIDE = 200;
/** Canvas side limit (browsers and skia refuse larger); a bigger chart is a bug in its spec. */
const MAX_SIDE = 8000;

export async function renderChart(config: ChartConfiguration, width = 960, height = 540): Promise<Buffer> {
  const w = Math.min(MAX_SIDE, Math.max(MIN_SIDE, Math.round(width)));
  const h = Math.min(MAX_SIDE, Math.max(MIN_SIDE, Math.round(height)));
  const canvas = createCanvas(w, h);
  const ctx = canvas.getContext('2d');
  const chart = new Chart(ctx as unknown as CanvasRenderingContext2D, {
    ...config,
    options: { ...config.options, animation: false, responsive: false, devicePixelRatio: 1 },
    plugins: [...(config.plugins ?? []), ...chartPlugins()],
  });
  chart.draw();
  const png = await canvas.encode('png');
  chart.destroy();
  return png;
}

export function renderChartSpec(spec: ChartSpec): Promise<Buffer> {
  return renderChart(spec.config, spec.width, spec.height);
}

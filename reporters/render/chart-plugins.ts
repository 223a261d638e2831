/**
 * Drawing that chart.js lacks, written once as plain browser JavaScript so the PNG renderer
 * (render/png.ts) and the published site (publish/) draw a chart definition identically.
 * Each plugin reads its data from the chart's own options (`options.plugins.<id>`), so a
 * ChartSpec stays JSON.
 *
 * - errorBars: { bars: Array<Array<[lo, hi] | null>> } one interval per data point of each
 *   dataset, drawn as whiskers along the value axis.
 * - phaseBands: { bands: Array<{ x0, x1, color }> } shaded x ranges behind the datasets.
 * - whiteBackground: an opaque background, so a PNG reads the same on a dark page.
 */
import type { Plugin } from 'chart.js';

export const CHART_PLUGINS_SOURCE = String.raw`[
  {
    id: 'whiteBackground',
    beforeDraw(chart) {
      const { ctx, width, height } = chart;
      ctx.save();
      ctx.fillStyle = '#ffffff';
      ctx.fillRect(0, 0, width, height);
      ctx.restore();
    },
  },
  {
    id: 'phaseBands',
    beforeDatasetsDraw(chart, _args, options) {
      const bands = (options && options.bands) || [];
      if (!bands.length) return;
      const { ctx, chartArea, scales } = chart;
      const x = scales.x;
      ctx.save();
      for (const b of bands) {
        ctx.fillStyle = b.color || 'rgba(0,0,0,0.1)';
        const left = Math.max(chartArea.left, x.getPixelForValue(b.x0));
        const right = Math.min(chartArea.right, x.getPixelForValue(b.x1));
        if (right > left) ctx.fillRect(left, chartArea.top, right - left, chartArea.bottom - chartArea.top);
      }
      ctx.restore();
    },
  },
  {
    id: 'errorBars',
    afterDatasetsDraw(chart, _args, options) {
      const bars = (options && options.bars) || [];
      if (!bars.length) return;
      const horizontal = chart.options.indexAxis === 'y';
      const { ctx, chartArea } = chart;
      ctx.save();
      // Whiskers stay inside the plot, whatever the axis limits.
      ctx.beginPath();
      ctx.rect(chartArea.left, chartArea.top, chartArea.right - chartArea.left, chartArea.bottom - chartArea.top);
      ctx.clip();
      ctx.strokeStyle = (options && options.color) || '#000000';
      ctx.lineWidth = 1.25;
      bars.forEach((intervals, datasetIndex) => {
        const meta = chart.getDatasetMeta(datasetIndex);
        if (!intervals || meta.hidden) return;
        const valueScale = horizontal ? chart.scales[meta.xAxisID] : chart.scales[meta.yAxisID];
        meta.data.forEach((element, i) => {
          const iv = intervals[i];
          if (!iv || element.skip) return;
          const lo = valueScale.getPixelForValue(iv[0]);
          const hi = valueScale.getPixelForValue(iv[1]);
          const at = horizontal ? element.y : element.x;
          const cap = 4;
          ctx.beginPath();
          if (horizontal) {
            ctx.moveTo(lo, at); ctx.lineTo(hi, at);
            ctx.moveTo(lo, at - cap); ctx.lineTo(lo, at + cap);
            ctx.moveTo(hi, at - cap); ctx.lineTo(hi, at + cap);
          } else {
            ctx.moveTo(at, lo); ctx.lineTo(at, hi);
            ctx.moveTo(at - cap, lo); ctx.lineTo(at + cap, lo);
            ctx.moveTo(at - cap, hi); ctx.lineTo(at + cap, hi);
          }
          ctx.stroke();
        });
      });
      ctx.restore();
    },
  },
]`;

let plugins: Plugin[] | null = null;

/** The plugins as objects, evaluated from the same source the site ships. */
export function chartPlugins(): Plugin[] {
  plugins ??= new Function(`return ${CHART_PLUGINS_SOURCE};`)() as Plugin[];
  return plugins;
}

/**
 * Chart of achieved % of bound per cell, one bar per phase, with the 100% line drawn as the
 * hardware limit.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChartConfiguration } from 'chart.js';
import type { RunResult } from '../../core/result-types.ts';
import type { Calibration } from '../../core/calibration-types.ts';
import { renderChart } from '../charts.ts';
import type { BoundPhase } from '../../roofline/bounds.ts';
import { rooflineRows, type DescriptorLookup } from '../../roofline/rows.ts';

const PHASES: Array<[BoundPhase, string, string]> = [
  ['image_encode', 'image encode', '#2ca02c'],
  ['prefill', 'prefill', '#1f77b4'],
  ['decode', 'decode', '#d62728'],
];

export function rooflineChart(result: RunResult, calibration: Calibration, descriptorFor: DescriptorLookup): ChartConfiguration<'bar'> {
  const rows = rooflineRows(result, calibration, descriptorFor);
  const cells = [...new Set(rows.map((r) => r.cellId))];
  const value = (cell: string, phase: BoundPhase, of: 'percentOfBound' | 'percentOfKernelCeiling' = 'percentOfBound'): number | null =>
    rows.find((r) => r.cellId === cell && r.phase === phase)?.[of] ?? null;
  const datasets = PHASES.filter(([phase]) => rows.some((r) => r.phase === phase && r.percentOfBound !== null)).map(
    ([phase, label, color]) => ({
      label,
      data: cells.map((c) => value(c, phase)),
      backgroundColor: color,
    }),
  );
  // Decode against what this runtime's batch-1 kernels allow, beside decode against the hardware.
  if (rows.some((r) => r.percentOfKernelCeiling !== null)) {
    datasets.push({
      label: 'decode, % of kernel ceiling',
      data: cells.map((c) => value(c, 'decode', 'percentOfKernelCeiling')),
      backgroundColor: '#f4a6a6',
    });
  }
  const highest = Math.max(100, ...rows.map((r) => Math.max(r.percentOfBound ?? 0, r.percentOfKernelCeiling ?? 0)));
  const source = calibration.bandwidth.read?.source ?? Object.values(calibration.matmul)[0]?.source ?? 'no';
  const synthetic = result.cells.some((c) => c.model?.synthetic) ? '; synthetic weights (random values, real architecture)' : '';
  return {
    type: 'bar',
    data: { labels: cells, datasets },
    options: {
      indexAxis: 'y',
      plugins: {
        title: { display: true, text: `${result.suite.name}: achieved % of hardware bound (median)`, font: { size: 18 } },
        subtitle: {
          display: true,
          text: `bounds from ${source} figures of ${calibration.host} (${calibration.createdAt.slice(0, 10)}); 100% = at the limit${synthetic}`,
          font: { size: 12 },
        },
      },
      scales: {
        x: { min: 0, max: Math.ceil(highest / 10) * 10, title: { display: true, text: '% of bound (bound time / measured time)' } },
        y: { title: { display: true, text: 'cell' } },
      },
    },
  };
}

/** Renders the chart to `<dir>/charts/roofline-percent-of-bound.png`; returns the file. */
export async function writeRooflineChart(
  result: RunResult,
  calibration: Calibration,
  descriptorFor: DescriptorLookup,
  dir: string,
): Promise<string> {
  const out = join(dir, 'charts');
  mkdirSync(out, { recursive: true });
  const file = join(out, 'roofline-percent-of-bound.png');
  const cellCount = new Set(result.cells.filter((c) => c.status === 'ok').map((c) => c.id)).size;
  writeFileSync(file, await renderChart(rooflineChart(result, calibration, descriptorFor) as ChartConfiguration, 1200, Math.max(360, 140 + cellCount * 60)));
  return file;
}

/**
 * What each cell's images and videos became (resolution, frames, tiles, image tokens, prompt
 * tokens) beside what they cost (preprocess, image encode, TTFT): the table and chart of cost vs
 * resolution and frames. Only for runs whose cells have a resolution or frames axis, or real
 * images; counts come from the cell's first measured iteration, times are medians.
 */
import type { ChartConfiguration } from 'chart.js';
import { markdownTable } from 'markdown-table';
import type { CellResult, RunResult } from '../core/result-types.ts';
import { fmtStat } from './format.ts';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

function workloadCells(result: RunResult): CellResult[] {
  return result.cells.filter(
    (c) => c.status === 'ok' && (c.params['resolution'] !== undefined || c.params['frames'] !== undefined || c.settings['preprocessFamily'] !== undefined),
  );
}

function counts(c: CellResult): { tiles: number | null; imageTokens: number | null; promptTokens: number | null } {
  const it = c.iterations.find((i) => !i.warmup && !i.error);
  const num = (v: number | null | undefined) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return { tiles: num(it?.visionTiles), imageTokens: num(it?.imageTokens), promptTokens: num(it?.promptTokens) };
}

/** "1280x720, 8 frames" — what the cell's visual input was. */
function inputLabel(c: CellResult): string {
  const parts: string[] = [];
  const images = c.params['images'];
  if (images !== undefined && Number(images) > 0) parts.push(`${String(images)} image(s)`);
  if (c.params['frames'] !== undefined) parts.push(`${String(c.params['frames'])} frames`);
  const source = String(c.settings['imageSource'] ?? '');
  parts.push(String(c.settings['resolution'] ?? c.params['resolution'] ?? (source.startsWith('synthetic') ? 'encoder tile size' : 'file size')));
  return parts.join(', ');
}

export function workloadTable(result: RunResult): string | null {
  const cells = workloadCells(result);
  if (cells.length === 0) return null;
  const rows = cells.map((c) => {
    const n = counts(c);
    const detail = [c.settings['imagePreprocessing'], c.settings['videoPreprocessing']].filter((d) => d !== undefined).join('; ');
    return [
      c.id,
      inputLabel(c),
      String(n.tiles ?? '?'),
      String(n.imageTokens ?? '?'),
      String(n.promptTokens ?? '?'),
      fmtStat(c.metrics['preprocess_ms']),
      fmtStat(c.metrics['image_encode_ms']),
      fmtStat(c.metrics['ttft_ms']),
      detail || '–',
    ];
  });
  return markdownTable(
    [['Cell', 'Input', 'Encoder tiles', 'Image tokens', 'Prompt tokens', 'Preprocess (ms)', 'Image encode (ms)', 'TTFT (ms)', 'Preprocessing'], ...rows],
    { align: ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'l'] },
  );
}

/** TTFT (median) per visual input, ordered by image tokens; one bar series per precision and prefill. */
export function ttftVsWorkload(result: RunResult): ChartConfiguration | null {
  const cells = workloadCells(result).filter((c) => c.metrics['ttft_ms']);
  if (cells.length === 0) return null;
  const label = (c: CellResult) => `${inputLabel(c)} (${counts(c).imageTokens ?? '?'} tok)`;
  const tokensOf = new Map<string, number>();
  for (const c of cells) tokensOf.set(label(c), counts(c).imageTokens ?? 0);
  const labels = [...tokensOf.keys()].sort((a, b) => tokensOf.get(a)! - tokensOf.get(b)!);
  const seriesKey = (c: CellResult) => `${String(c.params['precision'] ?? 'default')}, prefill ${String(c.params['prefill'] ?? '?')}`;
  const series = [...new Set(cells.map(seriesKey))];
  const synthetic = result.cells.some((c) => c.model?.synthetic);
  return {
    type: 'bar',
    data: {
      labels,
      datasets: series.map((s, i) => ({
        label: s,
        data: labels.map((l) => cells.find((c) => seriesKey(c) === s && label(c) === l)?.metrics['ttft_ms']?.median ?? null),
        backgroundColor: PALETTE[i % PALETTE.length],
      })),
    },
    options: {
      plugins: {
        title: { display: true, text: `${result.suite.name}: TTFT vs resolution / frames (median)`, font: { size: 18 } },
        ...(synthetic ? { subtitle: { display: true, text: 'synthetic weights (random values, real architecture)', font: { size: 12 } } } : {}),
      },
      scales: {
        x: { title: { display: true, text: 'visual input (image tokens per request)' } },
        y: { title: { display: true, text: 'TTFT, end to end (ms)' }, beginAtZero: true },
      },
    },
  };
}

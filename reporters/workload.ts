/**
 * What each cell's images and videos became (resolution, frames, encoder tiles, image tokens,
 * prompt tokens) beside what they cost (preprocess, image encode, TTFT medians): a section of
 * the report with its table and a TTFT vs resolution/frames chart. Only for runs whose cells
 * have a resolution or frames axis, or real images; counts come from each cell's first measured
 * iteration (counted by the runner).
 */
import type { CellResult, RunResult } from '../core/result-types.ts';
import { medianCell, type StoredStats } from './figures.ts';
import { cell, columns, type ChartSpec, type Section, type Table } from './report-model.ts';

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

/** "1 image(s), 1280x720" / "8 frames, 1920x1080" — what the cell's visual input was. */
function inputLabel(c: CellResult): string {
  const parts: string[] = [];
  const images = c.params['images'];
  if (images !== undefined && Number(images) > 0) parts.push(`${String(images)} image(s)`);
  if (c.params['frames'] !== undefined) parts.push(`${String(c.params['frames'])} frames`);
  const source = String(c.settings['imageSource'] ?? '');
  parts.push(String(c.settings['resolution'] ?? c.params['resolution'] ?? (source.startsWith('synthetic') ? 'encoder tile size' : 'file size')));
  return parts.join(', ');
}

export function workloadTable(result: RunResult): Table | null {
  const cells = workloadCells(result);
  if (cells.length === 0) return null;
  const ms = (n: string) => n;
  const rows = cells.map((c) => {
    const n = counts(c);
    const m = c.metrics as Record<string, StoredStats>;
    const detail = [c.settings['imagePreprocessing'], c.settings['videoPreprocessing']].filter((d) => d !== undefined).join('; ');
    const count = (v: number | null) => cell(v === null ? '?' : String(v), v === null ? { status: 'missing' } : { value: v, status: 'measured' });
    return [
      cell(c.id),
      cell(inputLabel(c)),
      count(n.tiles),
      count(n.imageTokens),
      count(n.promptTokens),
      medianCell(m['preprocess_ms'], 'measured', ms),
      medianCell(m['image_encode_ms'], 'measured', ms),
      medianCell(m['ttft_ms'], 'measured', ms),
      cell(detail || '–'),
    ];
  });
  return {
    id: 'workload',
    figures: "tiles the vision encoder ran, image and prompt tokens: counted by the runner in the first measured iteration; times: medians (ms) of measured iterations",
    columns: columns([
      ['Cell', 'left'],
      ['Input', 'left'],
      ['Encoder tiles', 'right'],
      ['Image tokens', 'right'],
      ['Prompt tokens', 'right'],
      ['Preprocess (ms)', 'right'],
      ['Image encode (ms)', 'right'],
      ['TTFT (ms)', 'right'],
      ['Preprocessing', 'left'],
    ]),
    rows,
  };
}

/** TTFT (median) per visual input, ordered by image tokens; one bar series per precision and prefill. */
export function ttftVsWorkload(result: RunResult): ChartSpec | null {
  const cells = workloadCells(result).filter((c) => c.metrics['ttft_ms']);
  if (cells.length === 0) return null;
  const label = (c: CellResult) => `${inputLabel(c)} (${counts(c).imageTokens ?? '?'} tok)`;
  const tokensOf = new Map<string, number>();
  for (const c of cells) tokensOf.set(label(c), counts(c).imageTokens ?? 0);
  const labels = [...tokensOf.keys()].sort((a, b) => tokensOf.get(a)! - tokensOf.get(b)!);
  const seriesKey = (c: CellResult) => `${String(c.params['precision'] ?? c.params['llm_precision'] ?? 'default')}, prefill ${String(c.params['prefill'] ?? '?')}`;
  const series = [...new Set(cells.map(seriesKey))];
  const synthetic = result.cells.some((c) => c.model?.synthetic);
  const title = `${result.suite.name}: TTFT vs resolution / frames (median)`;
  return {
    id: 'ttft-vs-resolution-frames',
    title,
    width: 1200,
    height: 540,
    config: {
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
          title: { display: true, text: title, font: { size: 18 } },
          ...(synthetic ? { subtitle: { display: true, text: 'synthetic weights (random values, real architecture)', font: { size: 12 } } } : {}),
        },
        scales: {
          x: { title: { display: true, text: 'visual input (image tokens per request)' } },
          y: { title: { display: true, text: 'TTFT, end to end (ms)' }, beginAtZero: true },
        },
      },
    },
  };
}

/** The report section, or null for runs without resolution, frames or real images. */
export function workloadSection(result: RunResult): Section | null {
  const table = workloadTable(result);
  if (!table) return null;
  const chart = ttftVsWorkload(result);
  return {
    id: 'workload',
    heading: 'Images and video: resolution, tiles, tokens',
    notes: ["What each cell's images and frames became under the model family's preprocessing (docs/workloads.md), and what they cost."],
    tables: [table],
    charts: chart ? [chart] : [],
  };
}

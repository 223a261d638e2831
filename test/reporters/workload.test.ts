/**
 * The images-and-video table and chart: what each cell's images became (from its first measured
 * iteration) beside the medians of what they cost, ordered by image tokens in the chart.
 */
import { describe, expect, it } from 'vitest';
import type { CellResult } from '../../core/result-types.ts';
import { summarize } from '../../core/stats.ts';
import { buildReport } from '../../reporters/build-report.ts';
import { ttftVsWorkload, workloadTable } from '../../reporters/workload.ts';
import { buildRunResult } from '../helpers/run-result.ts';

function cell(index: number, resolution: string, tiles: number, tokens: number, ttft: number[]): CellResult {
  const params = { images: 1, prefill: 128, resolution, precision: 'int8' };
  return {
    id: `images=1,prefill=128,resolution=${resolution},precision=int8`,
    index,
    params,
    status: 'ok',
    startedAt: '2026-11-25T00:00:00Z',
    finishedAt: '2026-11-25T00:00:10Z',
    loadMs: 1,
    model: { architecture: 'internvl2_5-1b', precision: 'int8', layout: 'onnx-community', synthetic: true },
    settings: { resolution: resolution === '720p' ? '1280x720' : resolution, preprocessFamily: 'internvl', imagePreprocessing: `grid for ${resolution}` },
    iterations: [
      { index: 0, warmup: true, startMs: 0, endMs: 1, promptTokens: 0, imageTokens: 0, images: 1, outputTokens: 1, events: [] },
      { index: 1, warmup: false, startMs: 0, endMs: 1, promptTokens: 128 + tokens, imageTokens: tokens, images: 1, visionTiles: tiles, outputTokens: 1, events: [] },
    ],
    metrics: { ttft_ms: summarize(ttft, 'ms'), preprocess_ms: summarize([5, 6, 7], 'ms'), image_encode_ms: summarize([50, 60, 70], 'ms') },
    subgraphs: {},
    peakRssBytes: null,
  };
}

const result = buildRunResult({ cells: [cell(0, '720p', 9, 2304, [900, 1000, 1100]), cell(1, '448x448', 1, 256, [100, 110, 120])] });

describe('images and video in the report', () => {
  it('tabulates tiles, tokens and costs per cell, counts from the first measured iteration', () => {
    const table = workloadTable(result)!;
    const rows = table.rows.map((r) => r.map((c) => c.text));
    expect(rows[0]!.slice(1)).toEqual(['1 image(s), 1280x720', '9', '2304', '2432', '6.000', '60.00', '1000.0', 'grid for 720p']);
    expect(rows[1]!.slice(1, 5)).toEqual(['1 image(s), 448x448', '1', '256', '384']);
    expect(buildReport(result).sections.map((s) => s.heading)).toContain('Images and video: resolution, tiles, tokens');
  });

  it('charts TTFT per visual input in image-token order', () => {
    const chart = ttftVsWorkload(result)!.config;
    expect(chart.data.labels).toEqual(['1 image(s), 448x448 (256 tok)', '1 image(s), 1280x720 (2304 tok)']);
    expect(chart.data.datasets[0]!.data).toEqual([110, 1000]);
  });

  it('leaves runs without workload axes alone', () => {
    const plain = buildRunResult({ cells: [{ ...cell(0, '720p', 9, 2304, [1]), params: { images: 1 }, settings: {} }] });
    expect(workloadTable(plain)).toBeNull();
    expect(ttftVsWorkload(plain)).toBeNull();
  });
});

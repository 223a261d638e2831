/** Calibrations and run results for the roofline tests: round figures so bounds can be checked by hand. */
import { buildRunResult } from '../helpers/run-result.ts';
import type { CellResult, RunResult } from '../../core/result-types.ts';
import type { MetricStats } from '../../core/stats.ts';
import type { Calibration, Figure } from '../../core/calibration-types.ts';

export function measured(value: number): Figure {
  return { value, source: 'measured', method: 'test figure', threads: 2, samples: { n: 3, best: value, median: value * 0.9, worst: value * 0.8 } };
}

/** 20 GB/s read, fp32 200 / int8 400 / int4 100 G op/s, fp16 run as fp32 (as ORT CPU does). */
export function testCalibration(over: Partial<Calibration> = {}): Calibration {
  return {
    schemaVersion: 1,
    host: 'testhost',
    target: 'local',
    createdAt: '2025-01-02T03:04:05.000Z',
    durationMs: 1234,
    machine: { cpu: 'Test CPU', cores: 2, memoryBytes: 8 * 2 ** 30, llcBytes: 32 * 2 ** 20, runtime: 'onnxruntime-node test' },
    threads: 2,
    bandwidth: { read: measured(20), copy: measured(15), extra: {} },
    matmul: { fp32: measured(200), int8: measured(400), int4: measured(100) },
    matmulExtra: {},
    runtimeFormats: { fp16: { as: 'fp32', reason: 'ORT CPU folds the Cast of fp16 weights' } },
    notes: [],
    ...over,
  };
}

export function stat(median: number, unit = 'ms'): MetricStats {
  return { unit, n: 3, median, mean: median, p90: median, p99: median, min: median, max: median, stdev: 0, ci95: null };
}

export function okCell(id: string, params: CellResult['params'], metrics: Record<string, number>, shape: { images: number; promptTokens: number; outputTokens: number }): CellResult {
  return {
    id,
    index: 0,
    params,
    status: 'ok',
    startedAt: '2025-01-02T03:04:05.000Z',
    finishedAt: '2025-01-02T03:04:06.000Z',
    loadMs: 10,
    model: { architecture: 'internvl2_5-1b', precision: String(params['precision']), layout: 'onnx-community', synthetic: true, seed: 1234, scale: 'full' },
    settings: { outputTokens: shape.outputTokens, chunkSize: 'whole prompt' },
    iterations: [
      { index: 0, warmup: true, startMs: 0, endMs: 1, promptTokens: shape.promptTokens, imageTokens: 0, images: shape.images, outputTokens: shape.outputTokens, events: [] },
      { index: 1, warmup: false, startMs: 1, endMs: 2, promptTokens: shape.promptTokens, imageTokens: 0, images: shape.images, outputTokens: shape.outputTokens, events: [] },
    ],
    metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, stat(v)])),
    subgraphs: {},
    peakRssBytes: null,
  };
}

export function runWith(cells: CellResult[]): RunResult {
  return buildRunResult({
    suite: 'roofline-test',
    startedAt: '2025-01-02T03:04:05.000Z',
    finishedAt: '2025-01-02T03:05:05.000Z',
    cells,
  });
}

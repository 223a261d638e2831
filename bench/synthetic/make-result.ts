/**
 * Builds realistic run results for comparison tests: every iteration carries raw timed events
 * (phases, per-image encoder invocations, token arrivals) whose durations are log-normal around
 * the cell's medians, so the comparison recomputes its values from events as it does on real runs.
 */
import { buildRunResult } from './run-result.ts';
import type { IterationRecord, TimedEvent } from '../../core/events.ts';
import type { CellResult, RunResult } from '../../core/result-types.ts';
import { summarize } from '../../core/stats.ts';
import { cellMetrics, subgraphStats } from '../../core/metrics.ts';
import { logNormal, rng } from './noise.ts';

export interface CellSpec {
  images: number;
  prefill: number;
  precision: string;
  /** Medians of each phase in ms; `step` is one decode step. */
  encodePerImage: number;
  prefillMs: number;
  step: number;
  /** Multiplies every duration of this cell: 1.1 plants a 10% slowdown. */
  factor?: number;
}

export interface RunSpec {
  seed: number;
  cells: CellSpec[];
  iterations?: number;
  warmup?: number;
  /** Coefficient of variation of each phase's duration per iteration. */
  cv?: number;
  outputTokens?: number;
  threads?: number;
  runId?: string;
  suite?: string;
  target?: string;
  hostname?: string;
  cpu?: string;
  versions?: Record<string, string>;
  board?: Record<string, string>;
  synthetic?: boolean;
  hashes?: Record<string, string>;
  throttledCells?: string[];
}

export const cellId = (c: Pick<CellSpec, 'images' | 'prefill' | 'precision'>) => `images=${c.images},prefill=${c.prefill},precision=${c.precision}`;

function request(spec: CellSpec, draw: () => number, tokens: number, index: number, warmup: boolean, offset: number): IterationRecord {
  const f = spec.factor ?? 1;
  const events: TimedEvent[] = [];
  let t = offset;
  const pre = 3 * f * draw();
  events.push({ kind: 'phase', phase: 'preprocess', startMs: t, endMs: t + pre });
  t += pre;
  if (spec.images) {
    const start = t;
    for (let i = 0; i < spec.images; i++) {
      const enc = spec.encodePerImage * f * draw();
      events.push({ kind: 'subgraph', graph: 'vision_encoder', phase: 'image_encode', startMs: t, endMs: t + enc, items: 1 });
      t += enc;
    }
    events.push({ kind: 'phase', phase: 'image_encode', startMs: start, endMs: t });
  }
  const prefill = spec.prefillMs * f * draw();
  events.push({ kind: 'subgraph', graph: 'decoder_model_merged', phase: 'prefill', startMs: t, endMs: t + prefill });
  events.push({ kind: 'phase', phase: 'prefill', startMs: t, endMs: t + prefill });
  t += prefill;
  events.push({ kind: 'token', tMs: t, index: 0, count: 1 });
  const decodeStart = t;
  // One clock/thermal state per request: the steps of a request share its speed.
  const step = spec.step * f * draw();
  for (let i = 1; i < tokens; i++) {
    events.push({ kind: 'subgraph', graph: 'decoder_model_merged', phase: 'decode', startMs: t, endMs: t + step });
    t += step;
    events.push({ kind: 'token', tMs: t, index: i, count: 1 });
  }
  events.push({ kind: 'phase', phase: 'decode', startMs: decodeStart, endMs: t });
  return {
    index,
    warmup,
    startMs: offset,
    endMs: t,
    promptTokens: spec.prefill + 256 * spec.images,
    imageTokens: 256 * spec.images,
    images: spec.images,
    outputTokens: tokens,
    events,
  };
}

export function makeCell(spec: CellSpec, index: number, run: RunSpec, draw: () => number): CellResult {
  const iterations: IterationRecord[] = [];
  const n = run.iterations ?? 10;
  const warm = run.warmup ?? 1;
  const tokens = run.outputTokens ?? 16;
  for (let i = 0; i < warm + n; i++) iterations.push(request(spec, draw, tokens, i, i < warm, i * 100_000));
  const metrics = cellMetrics(iterations);
  metrics['load_ms'] = summarize([500], 'ms');
  const id = cellId(spec);
  const cell: CellResult = {
    id,
    index,
    params: { images: spec.images, prefill: spec.prefill, precision: spec.precision },
    status: 'ok',
    startedAt: '2026-11-25T00:00:00Z',
    finishedAt: '2026-11-25T00:00:10Z',
    loadMs: 500,
    model: {
      architecture: 'internvl2_5-1b',
      precision: spec.precision,
      layout: 'onnx-community',
      synthetic: run.synthetic ?? true,
      ...(run.hashes ? { hashes: run.hashes } : {}),
    },
    settings: { executionProvider: 'cpu', intraOpNumThreads: run.threads ?? 4 },
    iterations,
    metrics,
    subgraphs: subgraphStats(iterations),
    peakRssBytes: 2 ** 29,
  };
  if (run.throttledCells?.includes(id)) {
    cell.throttled = true;
    cell.throttleReasons = ['cpu0 clock 2201 -> 1498 MHz'];
  }
  return cell;
}

export function makeResult(run: RunSpec): RunResult {
  const draw = logNormal(rng(run.seed), 1, run.cv ?? 0.04);
  const suite = run.suite ?? 'internvl-board';
  const cells = run.cells.map((c, i) => makeCell(c, i, run, draw));
  return buildRunResult({
    runId: run.runId ?? `run-${run.seed}`,
    suite,
    suiteSource: 'builtin',
    suiteHash: 'suitehash0001',
    definition: { defaults: { warmup: 1, iterations: 10, outputTokens: 16 } },
    target: run.target ?? 'local',
    finishedAt: '2026-11-25T00:10:00Z',
    options: { iterations: run.iterations ?? 10, warmup: run.warmup ?? 1, outputTokens: run.outputTokens ?? 16, threads: run.threads ?? 4, filters: [] },
    host: { hostname: run.hostname ?? 'orin-01', cpu: run.cpu ?? 'ARMv8 Cortex-A78AE', cores: 8, physicalCores: 8, memoryBytes: 16 * 2 ** 30, arch: 'arm64' },
    environment: {
      os: { platform: 'linux', distro: 'Ubuntu', release: '22.04', kernel: '5.15.148-tegra' },
      versions: run.versions ?? { 'vlm-edge-bench': '0.1.0', node: '20.19.0', 'onnxruntime-node': '1.30.0' },
      git: { revision: 'a1b2c3d4e5f60718293a', dirty: false },
      ...(run.board ? { board: run.board } : {}),
    },
    cells,
  });
}

/** A small board matrix: text-only and image cells, two precisions. */
export function boardCells(overrides: Partial<Record<string, number>> = {}): CellSpec[] {
  const base: CellSpec[] = [
    { images: 0, prefill: 128, precision: 'w8a16', encodePerImage: 0, prefillMs: 120, step: 70 },
    { images: 1, prefill: 128, precision: 'w8a16', encodePerImage: 400, prefillMs: 380, step: 72 },
    { images: 0, prefill: 128, precision: 'w4a16', encodePerImage: 0, prefillMs: 100, step: 45 },
    { images: 1, prefill: 128, precision: 'w4a16', encodePerImage: 400, prefillMs: 330, step: 46 },
  ];
  return base.map((c) => ({ ...c, factor: overrides[cellId(c)] ?? 1 }));
}

/**
 * Scale check for `bench report` (issue 18 item 3): synthetic results of 1,200 / 6,000 / 10,000
 * cells (ORT-like: 1 warm-up + 3 measured iterations with per-graph events and 8 tokens each),
 * each reported by the real CLI in a child process; prints seconds and the child's peak RSS, and
 * checks every chart is bounded (a PNG no taller than the cap) and report.md pages its long tables.
 *
 *   npm run bench:report-scale [-- --cells 1200,6000,10000]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IterationRecord, TimedEvent } from '../core/events.ts';
import { cellMetrics, subgraphStats } from '../core/metrics.ts';
import { seededRandom } from '../core/random.ts';
import type { CellResult, RunResult } from '../core/result-types.ts';
import { summarize } from '../core/stats.ts';
import { RESULT_SCHEMA_VERSION } from '../core/result-types.ts';

const OUTPUT_TOKENS = 8;
const MEASURED = 3;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

function iteration(index: number, warmup: boolean, images: number, prefill: number, rand: () => number): IterationRecord {
  const n = () => 0.9 + 0.2 * rand();
  const events: TimedEvent[] = [];
  let t = index * 10_000;
  const start = t;
  events.push({ kind: 'phase', phase: 'preprocess', startMs: t, endMs: (t += 2 * n()) });
  if (images) {
    const s = t;
    for (let i = 0; i < images; i++) events.push({ kind: 'subgraph', graph: 'vision_encoder', phase: 'image_encode', startMs: t, endMs: (t += 300 * n()) });
    events.push({ kind: 'phase', phase: 'image_encode', startMs: s, endMs: t });
  }
  const p = t;
  events.push({ kind: 'subgraph', graph: 'embed_tokens', phase: 'prefill', startMs: t, endMs: (t += 1 * n()) });
  events.push({ kind: 'subgraph', graph: 'decoder_model_merged', phase: 'prefill', startMs: t, endMs: (t += (prefill + 256 * images) * 0.5 * n()) });
  events.push({ kind: 'subgraph', graph: 'lm_head', phase: 'prefill', startMs: t, endMs: (t += 3 * n()) });
  events.push({ kind: 'phase', phase: 'prefill', startMs: p, endMs: t });
  events.push({ kind: 'token', tMs: t, index: 0, count: 1 });
  const d = t;
  for (let k = 1; k < OUTPUT_TOKENS; k++) {
    events.push({ kind: 'subgraph', graph: 'decoder_model_merged', phase: 'decode', startMs: t, endMs: (t += 40 * n()) });
    events.push({ kind: 'subgraph', graph: 'lm_head', phase: 'decode', startMs: t, endMs: (t += 3 * n()) });
    events.push({ kind: 'token', tMs: t, index: k, count: 1 });
  }
  events.push({ kind: 'phase', phase: 'decode', startMs: d, endMs: t });
  return { index, warmup, startMs: start, endMs: t, promptTokens: prefill + 256 * images, imageTokens: 256 * images, images, outputTokens: OUTPUT_TOKENS, events };
}

export function syntheticResult(cells: number, seed = 1): RunResult {
  const rand = seededRandom(seed);
  const list: CellResult[] = [];
  const precisions = ['fp32', 'fp16', 'int8', 'int4'];
  for (let i = 0; i < cells; i++) {
    const params = { images: [0, 1, 2, 4][i % 4]!, prefill: 64 * (1 + (Math.floor(i / 4) % 25)), precision: precisions[Math.floor(i / 100) % 4]!, variant: Math.floor(i / 400) };
    const iterations = Array.from({ length: MEASURED + 1 }, (_, k) => iteration(k, k === 0, params.images, params.prefill, rand));
    const metrics = cellMetrics(iterations);
    metrics['load_ms'] = summarize([800], 'ms');
    list.push({
      id: `images=${params.images},prefill=${params.prefill},precision=${params.precision},variant=${params.variant}`,
      index: i,
      params,
      status: i % 97 === 5 ? 'failed' : 'ok',
      ...(i % 97 === 5 ? { error: 'planted failure' } : {}),
      startedAt: '2026-11-25T00:00:00Z',
      finishedAt: '2026-11-25T00:00:10Z',
      loadMs: 800,
      model: { architecture: 'internvl2_5-1b', precision: params.precision, layout: 'onnx-community', synthetic: true, seed: 1234, scale: 'tiny' },
      settings: { executionProvider: 'cpu' },
      iterations,
      metrics,
      subgraphs: subgraphStats(iterations),
      peakRssBytes: 300 * 2 ** 20,
    });
  }
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    runId: `scale-${cells}`,
    suite: { name: 'scale', source: 'synthetic', hash: 'x', definition: { name: 'scale', model: { zoo: 'internvl2_5-1b', scale: 'tiny' }, target: 'local', runner: 'ort', defaults: { warmup: 1, iterations: MEASURED, outputTokens: OUTPUT_TOKENS }, matrix: {} } },
    target: 'local',
    status: 'complete',
    startedAt: '2026-11-25T00:00:00Z',
    finishedAt: '2026-11-25T01:00:00Z',
    options: { iterations: MEASURED, warmup: 1, outputTokens: OUTPUT_TOKENS, threads: 2, filters: [] },
    environment: {
      host: { hostname: 'scale-host', cpu: 'Synthetic CPU', cores: 2, physicalCores: 2, memoryBytes: 2 ** 34, arch: 'x64' },
      os: { platform: 'linux', distro: 'Debian', release: '12', kernel: '6' },
      versions: { node: process.versions.node },
      git: { revision: null, dirty: null },
    },
    cells: list,
    plannedCells: list.map((c) => c.id),
    warnings: [],
  };
}

/** PNG height from its IHDR chunk. */
const pngHeight = (file: string): number => readFileSync(file).readUInt32BE(20);

function main(): void {
  const sizes = arg('--cells', '1200,6000,10000').split(',').map(Number);
  const repo = join(import.meta.dirname, '..');
  console.log(`bench report at scale; ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('cells   result.json   seconds   peak RSS   report.md   charts (max height)   tables/*.csv');
  for (const cells of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'report-scale-'));
    try {
      const file = join(dir, 'result.json');
      writeFileSync(file, JSON.stringify(syntheticResult(cells)));
      const started = process.hrtime.bigint();
      const child = spawnSync(process.execPath, ['--import', join(repo, 'bench/print-peak-rss.mjs'), join(repo, 'bin/bench.mjs'), 'report', file, '--out', join(dir, 'out')], {
        encoding: 'utf8',
        maxBuffer: 1 << 30,
        // The CLI prints the report; keep the terminal readable.
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (child.status !== 0) throw new Error(`bench report failed on ${cells} cells: ${child.stderr.slice(-2000)}`);
      const rssKib = Number(/peak-rss-kib (\d+)/.exec(child.stderr)?.[1] ?? NaN);
      const charts = readdirSync(join(dir, 'out', 'charts')).map((f) => join(dir, 'out', 'charts', f));
      const tables = readdirSync(join(dir, 'out')).includes('tables') ? readdirSync(join(dir, 'out', 'tables')).length : 0;
      const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
      console.log(
        `${String(cells).padEnd(7)} ${mb(statSync(file).size).padStart(11)}   ${seconds.toFixed(2).padStart(7)}   ${(rssKib / 1024).toFixed(0).padStart(5)} MiB   ${mb(statSync(join(dir, 'out', 'report.md')).size).padStart(9)}   ${String(charts.length).padStart(6)} (${Math.max(...charts.map(pngHeight))} px)         ${tables}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

if (process.argv[1]?.endsWith("report-scale.ts")) main();

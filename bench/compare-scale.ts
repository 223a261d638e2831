/**
 * Scale check for comparisons: two runs of a 5,000-cell matrix (10,000 cells in total), each
 * cell with 1 warm-up + 10 measured iterations of raw events, compared with compareRuns, then
 * rendered as Markdown and as the published table. Budget: under 2 s for the three steps.
 *
 *   npx tsx bench/compare-scale.ts [--cells-per-run N]
 */
import { cpus, loadavg } from 'node:os';
import type { IterationRecord, TimedEvent } from '../core/events.ts';
import type { CellResult, RunResult } from '../core/result-types.ts';
import { summarize } from '../core/stats.ts';
import { compareRuns } from '../analysis/compare-runs.ts';
import { formatComparisonJunit } from '../reporters/compare/junit.ts';
import { formatComparisonMarkdown } from '../reporters/compare/markdown.ts';
import { comparisonTables } from '../reporters/compare/table.ts';
import { cellMetrics } from '../core/metrics.ts';
import { seededRandom } from '../core/random.ts';

const BUDGET_MS = 2000;
const ITERATIONS = 10;
const OUTPUT_TOKENS = 16;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} expects a positive integer`);
  return v;
}

/** Seeded uniform numbers, so both runs and their noise are reproducible. */
const rng = seededRandom;

/** Log-normal multiplicative noise with about 4% CV. */
function noise(rand: () => number): () => number {
  return () => Math.exp(0.04 * Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand()));
}

function iteration(index: number, images: number, prefill: number, scale: number, n: () => number): IterationRecord {
  const events: TimedEvent[] = [];
  let t = index * 60_000;
  const start = t;
  events.push({ kind: 'phase', phase: 'preprocess', startMs: t, endMs: (t += 3 * n()) });
  if (images) {
    const s = t;
    for (let i = 0; i < images; i++) events.push({ kind: 'subgraph', graph: 'vision_encoder', phase: 'image_encode', startMs: t, endMs: (t += 400 * scale * n()) });
    events.push({ kind: 'phase', phase: 'image_encode', startMs: s, endMs: t });
  }
  const p = t;
  events.push({ kind: 'phase', phase: 'prefill', startMs: p, endMs: (t += (prefill + 256 * images) * 0.9 * scale * n()) });
  const step = 70 * scale * n();
  for (let k = 0; k < OUTPUT_TOKENS; k++) {
    if (k) t += step;
    events.push({ kind: 'token', tMs: t, index: k, count: 1 });
  }
  events.push({ kind: 'phase', phase: 'decode', startMs: p + (t - p) - step * (OUTPUT_TOKENS - 1), endMs: t });
  return { index, warmup: index === 0, startMs: start, endMs: t, promptTokens: prefill + 256 * images, imageTokens: 256 * images, images, outputTokens: OUTPUT_TOKENS, events };
}

function makeRun(cells: number, seed: number, host: string, slowEvery: number): RunResult {
  const n = noise(rng(seed));
  const list: CellResult[] = [];
  const precisions = ['w8a16', 'w4a16', 'fp16', 'int8', 'q4'];
  for (let i = 0; i < cells; i++) {
    const params = { images: [0, 1, 2, 4, 8][i % 5]!, prefill: 64 * (1 + (Math.floor(i / 5) % 20)), precision: precisions[Math.floor(i / 100) % 5]!, variant: Math.floor(i / 500) };
    const scale = slowEvery && i % slowEvery === 0 ? 1.1 : 1;
    const iterations = Array.from({ length: ITERATIONS + 1 }, (_, k) => iteration(k, params.images, params.prefill, scale, n));
    const metrics = cellMetrics(iterations);
    metrics['load_ms'] = summarize([800], 'ms');
    list.push({
      id: `images=${params.images},prefill=${params.prefill},precision=${params.precision},variant=${params.variant}`,
      index: i,
      params,
      status: 'ok',
      startedAt: '2026-11-25T00:00:00Z',
      finishedAt: '2026-11-25T00:00:10Z',
      loadMs: 800,
      model: { architecture: 'internvl2_5-1b', precision: params.precision, layout: 'axera', synthetic: true },
      settings: { executionProvider: 'cpu' },
      iterations,
      metrics,
      subgraphs: {},
      peakRssBytes: null,
    });
  }
  return {
    schemaVersion: 1,
    runId: `scale-${seed}`,
    suite: { name: 'scale', source: 'generated', hash: 'scale', definition: { name: 'scale', model: { name: 'generated' }, target: 'orin', runner: 'command', defaults: { warmup: 1, iterations: ITERATIONS, outputTokens: OUTPUT_TOKENS }, matrix: {} } },
    target: 'orin',
    status: 'complete',
    startedAt: '2026-11-25T00:00:00Z',
    finishedAt: '2026-11-25T10:00:00Z',
    options: { iterations: ITERATIONS, warmup: 1, outputTokens: OUTPUT_TOKENS, threads: 8, filters: [] },
    environment: {
      host: { hostname: host, cpu: 'ARMv8 Cortex-A78AE', cores: 8, physicalCores: 8, memoryBytes: 16 * 2 ** 30, arch: 'arm64' },
      os: { platform: 'linux', distro: 'Ubuntu', release: '22.04', kernel: '5.15' },
      versions: { node: process.versions.node },
      git: { revision: null, dirty: null },
    },
    cells: list,
    plannedCells: list.map((c) => c.id),
    warnings: [],
  };
}

const perRun = arg('--cells-per-run', 5000);
const genStart = performance.now();
const base = makeRun(perRun, 1, 'board-01', 0);
const cand = makeRun(perRun, 2, 'board-02', 100);
const events = [base, cand].reduce((s, r) => s + r.cells.reduce((a, c) => a + c.iterations.reduce((b, it) => b + it.events.length, 0), 0), 0);
console.log(`generated 2 runs x ${perRun} cells x ${ITERATIONS + 1} iterations (${(events / 1e6).toFixed(2)} M events) in ${(performance.now() - genStart).toFixed(0)} ms`);

/** One pass of the budgeted steps; the comparison is kept for the summary. */
function pass() {
  const t0 = performance.now();
  const comparison = compareRuns(base, cand, { thresholdPct: 5 });
  const t1 = performance.now();
  const markdown = formatComparisonMarkdown(comparison);
  const t2 = performance.now();
  const table = comparisonTables([base, cand], 'target');
  const t3 = performance.now();
  return { comparison, markdown, table, compare: t1 - t0, md: t2 - t1, tables: t3 - t2, total: t3 - t0 };
}

// The first pass is what a CLI invocation costs (cold code, cold caches); two more show the spread.
const passes = [pass(), pass(), pass()];
const first = passes[0]!;
const { comparison, markdown, table } = first;
const tj = performance.now();
const junit = formatComparisonJunit(comparison);
const junitMs = performance.now() - tj;

const planted = new Set(cand.cells.filter((c) => c.index % 100 === 0).map((c) => c.id));
const caught = comparison.regressedCells.filter((id) => planted.has(id)).length;
const falseAlarms = comparison.regressedCells.length - caught;
const ms = (x: number) => `${x.toFixed(0)} ms`;
console.log(`machine load average (1 min): ${loadavg()[0]!.toFixed(2)} on ${cpus().length} cores`);
console.log(`compareRuns:     ${ms(first.compare)} (${comparison.rows.length} cell x metric comparisons; planted 10% slowdowns caught ${caught}/${planted.size}, other cells flagged ${falseAlarms})`);
console.log(`Markdown:        ${ms(first.md)} (${(markdown.length / 1e6).toFixed(2)} MB)`);
console.log(`published table: ${ms(first.tables)} (${(table.length / 1e6).toFixed(2)} MB)`);
console.log(`(JUnit, not in the budget: ${ms(junitMs)}, ${(junit.length / 1e6).toFixed(2)} MB)`);
console.log(`repeat passes (warm): ${passes.slice(1).map((p) => ms(p.total)).join(', ')}`);
const total = first.total;
console.log(`total, first pass: ${ms(total)} (budget ${BUDGET_MS} ms): ${total < BUDGET_MS ? 'OK' : 'OVER BUDGET'}`);
if (total >= BUDGET_MS) process.exitCode = 1;

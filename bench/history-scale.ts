/**
 * Scale check for the history (issue 15): a database of 10,000 stored runs of a 20-cell matrix,
 * then a new run is added and checked against it. Budget: under 2 s for add + check + Markdown.
 *
 * The stored runs are written through the store's own add (in batches of 500 per transaction,
 * to build the file in reasonable time); each cell holds the four checked metrics with 10
 * iteration values plus load_ms and peak_rss_mb once, and two cells carry a 10% slowdown over
 * their last 50 runs, so the permutation test runs in full on some series as it would on a real
 * change. The new run is a full RunResult with raw events (test/compare/make-result.ts), read
 * back from a file as `bench history check` reads it.
 *
 *   npx tsx bench/history-scale.ts [--runs 10000] [--db FILE (kept, reused when it exists)]
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../core/random.ts';
import { readResult } from '../harness/result-store.ts';
import { checkRun } from '../history/check.ts';
import { recordFromResult, type CellRecord, type MetricRecord, type RunRecord } from '../history/record.ts';
import { formatHistoryMarkdown } from '../history/render.ts';
import { HistoryStore } from '../history/store.ts';
import { cellId, makeResult, type CellSpec } from './synthetic/make-result.ts';

const BUDGET_MS = 2000;
const ITERATIONS = 10;
const BATCH = 500;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const RUNS = Number(arg('--runs') ?? 10_000);
if (!Number.isInteger(RUNS) || RUNS < 10) throw new Error('--runs expects a whole number >= 10');

// 20 cells: 5 prefill lengths x 0/1 image x 2 precisions.
const CELLS: CellSpec[] = [];
for (const precision of ['w8a16', 'w4a16'])
  for (const images of [0, 1])
    for (const prefill of [64, 128, 256, 512, 1024])
      CELLS.push({ images, prefill, precision, encodePerImage: 400, prefillMs: prefill * (precision === 'w8a16' ? 0.9 : 0.75), step: precision === 'w8a16' ? 70 : 45 });
const SLOW = new Set([cellId(CELLS[3]!), cellId(CELLS[17]!)]);
// Stored runs share the configuration identity of the checked run (made by make-result the same way), so they form its series.
const IDENTITIES = new Map(recordFromResult(makeResult({ seed: 0, cells: CELLS, iterations: ITERATIONS })).cells.map((c) => [c.cellId, c]));

/** Medians of the checked metrics of a cell, as make-result's events give them (16 output tokens, 3 ms preprocess). */
function cellLevels(c: CellSpec): Record<string, number> {
  const encode = c.images * c.encodePerImage;
  return { image_encode_ms: encode, prefill_ms: c.prefillMs, ttft_ms: 3 + encode + c.prefillMs, decode_tokens_per_s: 1000 / c.step };
}

function storedRun(i: number, z: () => number): RunRecord {
  const cells: CellRecord[] = CELLS.map((c) => {
    const slow = SLOW.has(cellId(c)) && i >= RUNS - 50 ? 1.1 : 1;
    const drift = Math.exp(0.02 * z());
    const metrics = new Map<string, MetricRecord>();
    for (const [metric, level] of Object.entries(cellLevels(c))) {
      if (level === 0) continue;
      const scale = metric === 'decode_tokens_per_s' ? 1 / (slow * drift) : slow * drift;
      const values = Array.from({ length: ITERATIONS }, () => level * scale * Math.exp(0.04 * z()));
      const sorted = [...values].sort((a, b) => a - b);
      metrics.set(metric, { unit: metric === 'decode_tokens_per_s' ? 'tokens/s' : 'ms', values, median: (sorted[4]! + sorted[5]!) / 2 });
    }
    metrics.set('load_ms', { unit: 'ms', values: [500], median: 500, note: 'one value per cell' });
    metrics.set('peak_rss_mb', { unit: 'MiB', values: [512], median: 512, note: 'one value per cell' });
    const { identity, identityKey } = IDENTITIES.get(cellId(c))!;
    return { cellId: cellId(c), status: 'ok', throttled: false, params: { images: c.images, prefill: c.prefill, precision: c.precision }, metrics, identity, identityKey, loadFlags: [], findings: [] };
  });
  const date = new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString();
  return {
    provenance: {
      id: `scale-${RUNS}-${i}`,
      runId: `run-${i}`,
      suite: 'internvl-board',
      suiteHash: 'suitehash0001',
      board: 'orin-01',
      target: 'local',
      host: 'orin-01',
      runner: 'ort',
      runtime: 'onnxruntime-node 1.30.0',
      versions: '{}',
      modelHash: null,
      precisions: 'w8a16,w4a16',
      powerMode: '',
      gitCommit: (0x10000000 + i).toString(16).padEnd(40, '0'),
      gitDirty: false,
      commitDate: date,
      commitDateSource: 'option',
      startedAt: date,
      status: 'complete',
      source: 'bench/history-scale.ts',
    },
    cells,
  };
}

const keep = arg('--db');
const dir = mkdtempSync(join(tmpdir(), 'bench-history-scale-'));
const dbFile = keep ?? join(dir, 'history.sqlite');
const store = HistoryStore.open(dbFile, { create: true });
const existing = store.countRuns('internvl-board', 'orin-01');
if (existing < RUNS) {
  const t0 = performance.now();
  const z = (() => {
    const r = seededRandom(42);
    return () => Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
  })();
  for (let start = 0; start < RUNS; start += BATCH) {
    // A kept database is completed; runs already in it are skipped by their content id.
    store.addMany(Array.from({ length: Math.min(BATCH, RUNS - start) }, (_, k) => storedRun(start + k, z)));
    process.stderr.write(`\rbuilding: ${Math.min(start + BATCH, RUNS)} / ${RUNS} runs`);
  }
  process.stderr.write(`\nbuilt ${RUNS} runs in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

// New runs to add and check: full results with raw events, as a board would write them.
const timings: number[] = [];
const parts: string[] = [];
let lastCheck = null as ReturnType<typeof checkRun> | null;
for (let k = 0; k < 3; k++) {
  const result = makeResult({ seed: 900 + k, cells: CELLS.map((c) => ({ ...c, factor: SLOW.has(cellId(c)) ? 1.1 : 1 })), cv: 0.04, runId: `new-run-${k}-${Date.now()}` });
  result.environment.git.revision = (0x20000000 + k).toString(16).padEnd(40, '0');
  const file = join(dir, `new-${k}.json`);
  writeFileSync(file, JSON.stringify(result));
  const t0 = performance.now();
  const read = readResult(file);
  const t1 = performance.now();
  // Committed after every stored run: the newest point of each series, as in CI.
  const record = recordFromResult(read, { board: 'orin-01', commitDate: new Date(Date.UTC(2025, 0, 1) + (RUNS + k) * 3_600_000).toISOString(), source: file });
  store.add(record);
  const t2 = performance.now();
  const check = checkRun(store, record, { thresholdPct: 5 });
  const t3 = performance.now();
  formatHistoryMarkdown(check);
  const t4 = performance.now();
  timings.push(t4 - t0);
  parts.push(`read ${(t1 - t0).toFixed(0)} + add ${(t2 - t1).toFixed(0)} + check ${(t3 - t2).toFixed(0)} + Markdown ${(t4 - t3).toFixed(0)} ms`);
  lastCheck = check;
}
store.close();
if (!keep) rmSync(dir, { recursive: true, force: true });

const c = lastCheck!;
console.log(`history scale: ${RUNS} stored runs x ${CELLS.length} cells; new run (${CELLS.length} cells, ${ITERATIONS} iterations, raw events) read + add + check + Markdown`);
console.log(`  ${c.summary.checked} series checked, ${c.rows[0]?.points ?? 0} run medians analysed per series, ${c.summary.changes} unaccepted changes, ${c.summary.regressions} failing the gate`);
console.log(`  times: ${timings.map((t) => `${t.toFixed(0)} ms`).join(', ')} (budget ${BUDGET_MS} ms): ${Math.max(...timings) <= BUDGET_MS ? 'within budget' : 'OVER BUDGET'}`);
for (const p of parts) console.log(`    ${p}`);
console.log(`  ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
if (existsSync(dbFile) && keep) console.log(`  database kept: ${dbFile}`);
process.exitCode = Math.max(...timings) <= BUDGET_MS ? 0 : 1;

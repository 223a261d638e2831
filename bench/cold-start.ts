/**
 * `npm run bench:cold-start`: how long the README's main command (`npm start` = `bench run`,
 * the default suite) takes on a first run and on a later one, and where the time goes.
 *
 * Both runs use a fresh temporary folder as BENCH_CACHE_DIR (no model, verdict or fp32 output
 * cached) and as working folder (so no calibration of this host exists, as in a fresh clone:
 * calibrations live in ./results/calibration). The first run builds everything; the second runs
 * the same command again on what the first left. Each run's standard error is read line by
 * line as it comes, stamped, and its progress lines mark phase boundaries; each cell's split
 * (accuracy gate, session load, warm-up, measured iterations) comes from its result.json.
 * Phases are shown in seconds and as shares of the run, with the load average sampled every
 * second while it ran: on a shared machine, read shares and ratios, not minutes.
 *
 * `npm install` is not included (measure it with `time npm ci` in a fresh clone).
 *
 * Options (env): COLD_START_RUNS (2: first and later; 1: first only), COLD_START_ARGS (extra
 * `bench run` arguments, e.g. "--filter images=0" for a quick look), COLD_START_KEEP (1 = keep
 * the temporary folder and print it).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BENCH_ENTRY } from '../core/commands.ts';
import type { CellResult, RunResult } from '../core/result-types.ts';
import { readResult } from '../harness/result-store.ts';
import { machineIdentity } from '../models/accuracy-gate.ts';

const runs = Number(process.env['COLD_START_RUNS'] ?? '2');
const extraArgs = (process.env['COLD_START_ARGS'] ?? '').split(/\s+/).filter(Boolean);
const keep = process.env['COLD_START_KEEP'] === '1';

interface StampedLine {
  at: number;
  text: string;
}

interface RunTrace {
  wallMs: number;
  exitCode: number | null;
  lines: StampedLine[];
  resultFile: string | null;
  load: number[];
}

/** Runs `bench run` as `npm start` does, in `cwd`, stamping each stderr line on arrival (ms since spawn). */
async function traceRun(cwd: string, cacheDir: string): Promise<RunTrace> {
  const started = performance.now();
  const load: number[] = [];
  const sampler = setInterval(() => load.push(loadavg()[0]!), 1000);
  const child = spawn(process.execPath, [BENCH_ENTRY, 'run', '--out', join(cwd, 'results'), ...extraArgs], {
    cwd,
    env: { ...process.env, BENCH_CACHE_DIR: cacheDir, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: StampedLine[] = [];
  let resultFile: string | null = null;
  const stderr = createInterface({ input: child.stderr });
  stderr.on('line', (text) => lines.push({ at: performance.now() - started, text: text.trim() }));
  const stdout = createInterface({ input: child.stdout });
  stdout.on('line', (text) => {
    const m = /^result: (.+)$/.exec(text.trim());
    if (m) resultFile = m[1]!;
    if (/^result: /.test(text.trim())) lines.push({ at: performance.now() - started, text: 'report written' });
  });
  const exitCode = await new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  clearInterval(sampler);
  return { wallMs: performance.now() - started, exitCode, lines, resultFile, load };
}

/** A progress line that starts a phase, and the phase it starts. */
const MARKERS: Array<[RegExp, string]> = [
  [/^first run: building/, 'model builds (parallel processes)'],
  [/^\[\d+\/\d+\] \S+: preparing$/, 'cells'],
  [/^accuracy gate: checking/, 'accuracy gate: fp32 reference outputs'],
  [/^building \S+ \(.*fp32\)/, 'accuracy gate: fp32 twin build'],
  [/^built in [\d.]+ s: .*-fp32-/, 'accuracy gate: fp32 reference outputs'],
  [/^checking (int8|int4|fp16)$/, 'accuracy gate: quantised build outputs'],
  [/accurate on this machine|NUMERICALLY WRONG/, 'cells'],
  // The last cell's line ends the cells: what follows until the roofline or the report is the run's finish.
  [/^\[(\d+)\/\1\] \S+: (?!preparing$)/, 'report + charts'],
  [/^\[\d+\/\d+\] \S+: (?!preparing$)/, 'cells'],
  [/calibration of this machine|measuring memory bandwidth/, 'roofline calibration (once per machine)'],
  [/^calibration (saved|failed)/, 'report + charts'],
  [/^report written$/, 'exit'],
];

/** Wall time per phase: each marker line starts a phase that lasts until the next one. */
function phasesOf(trace: RunTrace): Map<string, number> {
  const phases = new Map<string, number>();
  let current = 'start-up (node, tsx, suite and plan checks)';
  let since = 0;
  const add = (name: string, ms: number) => phases.set(name, (phases.get(name) ?? 0) + ms);
  for (const { at, text } of trace.lines) {
    const hit = MARKERS.find(([re]) => re.test(text));
    if (!hit) continue;
    add(current, at - since);
    current = hit[1];
    since = at;
  }
  add(current, trace.wallMs - since);
  return phases;
}

const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const pct = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(1)}%`;

/** One cell's time split from its result: gate (when it ran), sessions, warm-up and measured iterations. */
function cellLine(c: CellResult): string {
  const wall = Date.parse(c.finishedAt) - Date.parse(c.startedAt);
  const iterMs = (warm: boolean) => c.iterations.filter((r) => r.warmup === warm).reduce((sum, r) => sum + (r.endMs - r.startMs), 0);
  const gate = c.accuracy && !c.accuracy.cached ? c.accuracy.gateCost?.ms ?? 0 : 0;
  const load = c.loadMs ?? 0;
  const warm = iterMs(true);
  const measured = iterMs(false);
  const n = c.iterations.filter((r) => !r.warmup).length;
  const other = wall - gate - load - warm - measured;
  const m = c.machine;
  const machine = m ? `load ${m.loadAvg1Before.toFixed(1)}->${m.loadAvg1After.toFixed(1)}${m.stealPct !== null ? `, steal ${m.stealPct.toFixed(0)}%` : ''}${m.runQueueWaitPct !== null ? `, run-queue wait ${m.runQueueWaitPct.toFixed(0)}%` : ''}` : 'load not recorded';
  return (
    `  ${c.id}: ${s(wall)} = gate ${s(gate)} + sessions ${s(load)} + warm-up ${s(warm)} + ${n} measured ${s(measured)} + other ${s(other)}` +
    ` (stopped: ${c.stopping?.rule ?? c.stopReason ?? '?'}; ${machine})`
  );
}

function report(label: string, trace: RunTrace): void {
  const loadText = trace.load.length ? `load average (1 min) mean ${(trace.load.reduce((a, b) => a + b, 0) / trace.load.length).toFixed(2)}, max ${Math.max(...trace.load).toFixed(2)} on ${availableParallelism()} CPUs` : '';
  console.log(`\n${label}: ${s(trace.wallMs)} (exit ${trace.exitCode}); ${loadText}`);
  const phases = phasesOf(trace);
  for (const [name, ms] of phases) console.log(`  ${name.padEnd(46)} ${s(ms).padStart(9)}  ${pct(ms, trace.wallMs).padStart(6)}`);
  // Each parallel build's own finish (harness/prebuild.ts says when each is done).
  const builds = trace.lines.map((l) => /^built \S+ (\S+) \(([\d.]+) s since the builds started\)/.exec(l.text)).filter((m) => m !== null);
  if (builds.length) console.log(`  builds finished: ${builds.map((m) => `${m[1]} at ${m[2]} s`).join(', ')}`);
  if (!trace.resultFile) {
    console.log('  no result file: the run failed; its last lines:');
    for (const l of trace.lines.slice(-10)) console.log(`    ${l.text}`);
    return;
  }
  const result: RunResult = readResult(trace.resultFile);
  console.log(`  per cell (from ${trace.resultFile}):`);
  for (const c of result.cells) console.log(cellLine(c));
}

const id = machineIdentity();
console.log(`CPU ${cpus()[0]?.model ?? '?'} x${availableParallelism()}; kernel flags: ${id.flags.join(' ') || 'none'}; ONNX Runtime ${id.onnxruntime}`);
console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const dir = mkdtempSync(join(tmpdir(), 'bench-cold-start-'));
try {
  const cacheDir = join(dir, 'cache');
  for (let i = 0; i < runs; i++) {
    const trace = await traceRun(dir, cacheDir);
    report(i === 0 ? 'first run (empty cache, no calibration)' : `later run ${i} (models, verdicts, calibration from the first)`, trace);
    if (trace.exitCode !== 0) break;
  }
} finally {
  if (keep) console.log(`\nkept: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

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
 * the temporary folder and print it), COLD_START_ENCODE_S (1.25: the vision encoder's seconds per
 * image of the machine the COMPOSED lines are for), COLD_START_COMPOSE_FROM (a result.json or run
 * folder, e.g. of `npm start`: run nothing, print that run's cells and their composition),
 * COLD_START_PREFILL_MS_PER_TOKEN and COLD_START_TPOT_MS (optional, "34.1" or "int8=34.1,int4=33.9":
 * the composed machine's prefill per prompt token and decode per token, by LLM precision; a
 * precision not listed keeps its measured times).
 *
 * After each run's measured phases it prints a labelled composition, never a measurement: the
 * same run on a machine whose vision encoder takes COLD_START_ENCODE_S per image (by default the
 * int8 encoder's 1.25 s on the 2-core AVX-512 VNNI Xeon of issue 25, where the cold-start goals
 * were set), each cell's other request parts, sessions and gate kept as measured here and the
 * suite's stopping rule re-applied to the shorter requests (bench/cold-start-composition.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BENCH_ENTRY } from '../core/commands.ts';
import type { CellResult, RunResult } from '../core/result-types.ts';
import { readResult } from '../harness/result-store.ts';
import { loadResultArg } from '../harness/load-result.ts';
import { machineIdentity } from '../models/accuracy-gate.ts';
import { InputError } from '../core/errors.ts';
import { cellTimeSplit, composeCell } from './cold-start-composition.ts';

const runs = Number(process.env['COLD_START_RUNS'] ?? '2');
const extraArgs = (process.env['COLD_START_ARGS'] ?? '').split(/\s+/).filter(Boolean);
const keep = process.env['COLD_START_KEEP'] === '1';
const composeEncodeS = Number(process.env['COLD_START_ENCODE_S'] ?? '1.25');
if (!(composeEncodeS > 0)) throw new InputError(`COLD_START_ENCODE_S must be a number of seconds > 0, got ${process.env['COLD_START_ENCODE_S']}`);
const composeEncodeSource = process.env['COLD_START_ENCODE_S'] === undefined ? "issue 25's measured int8 encoder on a 2-core AVX-512 VNNI Xeon" : 'COLD_START_ENCODE_S';
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
/**
 * A time per LLM precision from the environment: "34.1" for every precision, or
 * "int8=34.1,int4=33.9"; undefined when unset (the composition keeps what was measured).
 */
function perPrecision(name: string): ((precision: string) => number | undefined) | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const bad = () => new InputError(`${name} must be milliseconds > 0, as "34.1" or "int8=34.1,int4=33.9", got ${JSON.stringify(raw)}`);
  if (/^[\d.]+$/.test(raw.trim())) {
    const v = Number(raw);
    if (!(v > 0)) throw bad();
    return () => v;
  }
  const map = new Map<string, number>();
  for (const part of raw.split(',')) {
    const m = /^\s*([a-z0-9_]+)\s*=\s*([\d.]+)\s*$/i.exec(part);
    if (!m || !(Number(m[2]) > 0)) throw bad();
    map.set(m[1]!, Number(m[2]));
  }
  return (precision) => map.get(precision);
}
const composePrefill = perPrecision('COLD_START_PREFILL_MS_PER_TOKEN');
const composeTpot = perPrecision('COLD_START_TPOT_MS');
/** A result.json (or its run folder) to compose instead of running: COLD_START_COMPOSE_FROM. */
const composeFrom = process.env['COLD_START_COMPOSE_FROM'];

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

const STARTUP_PHASE = 'start-up (node, tsx, suite and plan checks)';

/** Wall time per phase: each marker line starts a phase that lasts until the next one. */
function phasesOf(trace: RunTrace): Map<string, number> {
  const phases = new Map<string, number>();
  let current = STARTUP_PHASE;
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
  const t = cellTimeSplit(c);
  const m = c.machine;
  const machine = m ? `load ${m.loadAvg1Before.toFixed(1)}->${m.loadAvg1After.toFixed(1)}${m.stealPct !== null ? `, steal ${m.stealPct.toFixed(0)}%` : ''}${m.runQueueWaitPct !== null ? `, run-queue wait ${m.runQueueWaitPct.toFixed(0)}%` : ''}` : 'load not recorded';
  return (
    `  ${c.id}: ${s(t.wallMs)} = gate ${s(t.gateMs)} + sessions ${s(t.sessionsMs)} + warm-up ${s(t.warmupMs)} + ${t.measured} measured ${s(t.measuredMs)} + other ${s(t.otherMs)}` +
    ` (stopped: ${c.stopping?.rule ?? c.stopReason ?? '?'}; ${machine})`
  );
}

const range = (r: { fewest: number; most: number }): string => (Math.abs(r.most - r.fewest) < 50 ? s(r.most) : `${s(r.fewest)}-${s(r.most)}`);

interface ComposedCells {
  cellsWallMs: number;
  cells: { fewest: number; most: number };
  cellsWithoutGates: { fewest: number; most: number };
}

/**
 * The cells of a run composed for a machine whose vision encoder takes `composeEncodeS` per
 * image (bench/cold-start-composition.ts), one labelled line each; null when no cell measured anything.
 */
function composedCells(result: RunResult): ComposedCells | null {
  const ok = result.cells.filter((c) => c.iterations.some((r) => !r.warmup && !r.error));
  if (ok.length === 0) return null;
  const cells = ok.map((c) => {
    const precision = String(c.params['llm_precision'] ?? c.params['precision'] ?? '');
    const prefillMsPerToken = composePrefill?.(precision);
    const tpotMs = composeTpot?.(precision);
    return composeCell(c, result.options, { encodeMsPerImage: composeEncodeS * 1000, ...(prefillMsPerToken !== undefined ? { prefillMsPerToken } : {}), ...(tpotMs !== undefined ? { tpotMs } : {}) });
  });
  const given = [composePrefill ? `prefill ${process.env['COLD_START_PREFILL_MS_PER_TOKEN']} ms per prompt token` : '', composeTpot ? `TPOT ${process.env['COLD_START_TPOT_MS']} ms` : ''].filter(Boolean).join(', ');
  const plan = result.options.adaptive
    ? `${result.options.iterations} to ${result.options.adaptive.maxIterations} measured requests, ${result.options.adaptive.maxCellSeconds} s budget per cell`
    : `${result.options.iterations} measured requests per cell`;
  console.log(
    `\n  COMPOSED, NOT MEASURED: this run with the vision encoder at ${composeEncodeS} s per image (${composeEncodeSource})${given ? `, ${given} (given)` : ''}, ` +
      `every other part of each request and of the run as measured above, the suite's stopping rule re-applied (${plan}; ` +
      'a range from the interval reaching its target at the minimum to the count or budget stopping the cell):',
  );
  for (const c of cells) {
    const here = c.measuredEncodePerImageMs !== null ? `, measured encode ${s(c.measuredEncodePerImageMs)}/image` : '';
    const n = c.iterations.fewest === c.iterations.most ? `${c.iterations.most}` : `${c.iterations.fewest}-${c.iterations.most}`;
    console.log(`    ${c.id}: measured ${s(c.measured.wallMs)} (${c.measured.measured} requests${here}) -> composed ${range(c.composedMs)} (${n} requests of ${s(c.composedRequestMs)})`);
  }
  const total = (pick: (c: (typeof cells)[number]) => { fewest: number; most: number }) => ({ fewest: sum(cells.map((c) => pick(c).fewest)), most: sum(cells.map((c) => pick(c).most)) });
  return { cellsWallMs: sum(cells.map((c) => c.measured.wallMs)), cells: total((c) => c.composedMs), cellsWithoutGates: total((c) => c.composedWithoutGateMs) };
}

/** The whole traced run composed: its cells recomposed, everything outside them kept as measured here. */
function composition(trace: RunTrace, result: RunResult, firstRun: boolean): void {
  const composed = composedCells(result);
  if (!composed) return;
  const outside = trace.wallMs - composed.cellsWallMs;
  const plus = (ms: number, r: { fewest: number; most: number }) => ({ fewest: ms + r.fewest, most: ms + r.most });
  console.log(`    run: measured ${s(trace.wallMs)}, of which cells ${s(composed.cellsWallMs)} -> composed ${range(plus(outside, composed.cells))} (cells ${range(composed.cells)}, the rest ${s(outside)} as measured)`);
  if (firstRun) {
    // A later run: start-up, the cells without their accuracy gates (cached verdicts), the report.
    const phases = phasesOf(trace);
    const around = (phases.get(STARTUP_PHASE) ?? 0) + (phases.get('report + charts') ?? 0) + (phases.get('exit') ?? 0);
    console.log(`    a later run (start-up and report as measured in this one, cells without their gates): composed ${range(plus(around, composed.cellsWithoutGates))}`);
  }
}

function report(label: string, trace: RunTrace, firstRun: boolean): void {
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
  composition(trace, result, firstRun);
}

const id = machineIdentity();
console.log(`CPU ${cpus()[0]?.model ?? '?'} x${availableParallelism()}; kernel flags: ${id.flags.join(' ') || 'none'}; ONNX Runtime ${id.onnxruntime}`);
console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
if (composeFrom) {
  // No run: compose the cells of a result already measured (e.g. an `npm start` run folder).
  const { result } = loadResultArg(composeFrom, 'COLD_START_COMPOSE_FROM');
  console.log(`cells of ${composeFrom} (suite ${result.suite.name}, ${result.cells.length} cells); phases outside the cells are not in that file`);
  for (const c of result.cells) console.log(cellLine(c));
  const composed = composedCells(result);
  if (composed) {
    console.log(`    cells: measured ${s(composed.cellsWallMs)} -> composed ${range(composed.cells)}, ${range(composed.cellsWithoutGates)} without the gates that ran in them`);
  }
} else {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cold-start-'));
  try {
    const cacheDir = join(dir, 'cache');
    for (let i = 0; i < runs; i++) {
      const trace = await traceRun(dir, cacheDir);
      report(i === 0 ? 'first run (empty cache, no calibration)' : `later run ${i} (models, verdicts, calibration from the first)`, trace, i === 0);
      if (trace.exitCode !== 0) break;
    }
  } finally {
    if (keep) console.log(`\nkept: ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

/**
 * How well `bench history check` finds changes, measured on synthetic histories (issue 15):
 * run medians of a board's series with log-normal noise, planted slowdowns of 3, 5, 10 and 20%
 * at a known commit, and noise-only series. Both detectors are the code the check runs
 * (judgeSeries): E-divisive on the medians, and the two-run test of the newest run against its
 * stable window.
 *
 * Noise model (per run): every iteration = level x run drift x iteration noise, all log-normal.
 * - iteration noise CV 4%: the middle of the per-phase spread docs/ci.md's comparison figures are
 *   measured at (3-5%), i.e. a board with fixed clocks;
 * - run drift CV 2% by default: what moves all iterations of a run together (temperature, clock
 *   governor, another tenant); `--run-cv` raises it to model a shared or warm board.
 * 10 measured iterations per run, as the suites' defaults.
 *
 *   npx tsx bench/history-quality.ts [--trials N] [--noise-checks N] [--run-cv 0.02] [--iter-cv 0.04]
 */
import { cpus, loadavg } from 'node:os';
import { seededRandom } from '../core/random.ts';
import { median } from '../core/stats.ts';
import { DEFAULT_CONFIDENCE } from '../analysis/compare-runs.ts';
import { DEFAULT_STABLE_RUNS, judgeSeries, type JudgeOptions } from '../history/check.ts';
import { DEFAULT_EDIVISIVE } from '../history/e-divisive.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} expects a positive number`);
  return v;
}

const TRIALS = arg('--trials', 200);
const NOISE_CHECKS = arg('--noise-checks', 3000);
const RUN_CV = arg('--run-cv', 0.02);
const ITER_CV = arg('--iter-cv', 0.04);
const ITERATIONS = 10;
const BEFORE = 30; // runs at the old level before the change
const AFTER = arg('--after', 10); // runs at the new level checked, one check after each
const NOISE_LENGTH = BEFORE + AFTER;
const THRESHOLD = 5;
const SHIFTS = [3, 5, 10, 20];

const sigma = (cv: number) => Math.sqrt(Math.log(1 + cv * cv));

function normal(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
}

/** Per-iteration values of a series of runs; run i >= shiftAt is slower by shiftPct. */
function history(seed: number, runs: number, shiftAt: number, shiftPct: number): number[][] {
  const z = normal(seededRandom(seed));
  const sRun = sigma(RUN_CV);
  const sIter = sigma(ITER_CV);
  return Array.from({ length: runs }, (_, i) => {
    const level = 100 * (i >= shiftAt ? 1 + shiftPct / 100 : 1) * Math.exp(sRun * z());
    return Array.from({ length: ITERATIONS }, () => level * Math.exp(sIter * z()));
  });
}

const med = (v: readonly number[]) => median(v)!;

const DETECTOR = { ...DEFAULT_EDIVISIVE, pValue: arg('--p', DEFAULT_EDIVISIVE.pValue), permutations: arg('--permutations', DEFAULT_EDIVISIVE.permutations), minSize: arg('--min-size', DEFAULT_EDIVISIVE.minSize) };
const opts: JudgeOptions = { thresholdPct: THRESHOLD, confidence: DEFAULT_CONFIDENCE, stableRuns: DEFAULT_STABLE_RUNS, gateTwoRun: false, detector: DETECTOR };

/** The check of the newest run of runs[0..end). */
function check(runs: number[][], end: number, seed: number) {
  const window = runs.slice(0, end);
  return judgeSeries(
    {
      medians: window.map(med),
      direction: 'lower is better',
      candidate: { values: window[end - 1]! },
      samplesOf: (idx) => idx.flatMap((i) => window[i]!),
    },
    { ...opts, detector: { ...opts.detector, seed } },
  );
}

const pct = (k: number, n: number) => `${((100 * k) / n).toFixed(1)}%`;

const t0 = performance.now();
console.log(`# history check quality: ${TRIALS} series per shift, ${NOISE_CHECKS} noise-only checks`);
console.log(
  `noise: iteration CV ${ITER_CV * 100}%, run drift CV ${RUN_CV * 100}%, ${ITERATIONS} iterations per run; ` +
    `${BEFORE} runs before the change, checks after each of the ${AFTER} runs after it; threshold ${THRESHOLD}%; ` +
    `E-divisive p <= ${DETECTOR.pValue}, ${DETECTOR.permutations} permutations, min segment ${DETECTOR.minSize}; two-run test at ${DEFAULT_CONFIDENCE * 100}% against up to ${DEFAULT_STABLE_RUNS} runs`,
);
console.log('');
console.log(`| Shift | E-div: found by the check ${AFTER} runs after (at the commit / within ±1) | Mean abs. position error | Median runs until found at the commit | Gate fails (beyond ${THRESHOLD}%) ${AFTER} runs after | Two-run test on the first run after: gate fails / significant |`);
console.log('|---:|---:|---:|---:|---:|---:|');
for (const shift of SHIFTS) {
  let found = 0;
  let exact = 0;
  let near = 0;
  let errSum = 0;
  let gate = 0;
  let twoRunGate = 0;
  let twoRunSignificant = 0;
  const delays: number[] = [];
  for (let t = 0; t < TRIALS; t++) {
    const runs = history(1000 * shift + t, BEFORE + AFTER, BEFORE, shift);
    // Checks as CI runs them: after each new run at the new level.
    let delay: number | null = null;
    for (let k = 1; k <= AFTER; k++) {
      const j = check(runs, BEFORE + k, t);
      if (k === 1) {
        if (j.twoRun.regression) twoRunGate++;
        if (j.twoRun.verdict === 'slower') twoRunSignificant++;
      }
      const hit = j.changes.find((c) => c.index === BEFORE);
      if (hit && delay === null) delay = k;
      if (k === AFTER) {
        if (j.regression) gate++;
        if (j.changes.length) {
          const closest = j.changes.reduce((a, b) => (Math.abs(b.index - BEFORE) < Math.abs(a.index - BEFORE) ? b : a));
          found++;
          const err = Math.abs(closest.index - BEFORE);
          errSum += err;
          if (err === 0) exact++;
          if (err <= 1) near++;
        }
      }
    }
    delays.push(delay ?? Infinity);
  }
  delays.sort((a, b) => a - b);
  const medDelay = delays[delays.length >> 1]!;
  console.log(
    `| +${shift}% | ${pct(found, TRIALS)} (${pct(exact, TRIALS)} / ${pct(near, TRIALS)}) | ${found ? (errSum / found).toFixed(2) : '–'} runs | ` +
      `${Number.isFinite(medDelay) ? medDelay : `> ${AFTER}`} | ${pct(gate, TRIALS)} | ${pct(twoRunGate, TRIALS)} / ${pct(twoRunSignificant, TRIALS)} |`,
  );
}

let anyChange = 0;
let gateFalse = 0;
let gateFalseAt3 = 0;
let twoRunFalse = 0;
let twoRunSlower = 0;
for (let t = 0; t < NOISE_CHECKS; t++) {
  const runs = history(7_000_000 + t, NOISE_LENGTH, NOISE_LENGTH, 0);
  const j = check(runs, NOISE_LENGTH, t);
  if (j.changes.length) anyChange++;
  if (j.regression) gateFalse++;
  if (j.changes.some((c) => c.changePct > 3)) gateFalseAt3++;
  if (j.twoRun.regression) twoRunFalse++;
  if (j.twoRun.verdict === 'slower') twoRunSlower++;
}
const per1000 = (k: number) => ((1000 * k) / NOISE_CHECKS).toFixed(2);
console.log('');
console.log(`| Noise-only checks (${NOISE_CHECKS}, series of ${NOISE_LENGTH} runs) | per 1,000 checks |`);
console.log('|:--|--:|');
console.log(`| E-divisive: any change point reported | ${per1000(anyChange)} |`);
console.log(`| E-divisive: gate fails (a change point worse by more than ${THRESHOLD}%) | ${per1000(gateFalse)} |`);
console.log(`| E-divisive: gate would fail at a 3% threshold | ${per1000(gateFalseAt3)} |`);
console.log(`| Two-run test: gate fails (significant and beyond ${THRESHOLD}%) | ${per1000(twoRunFalse)} |`);
console.log(`| Two-run test: significantly slower (any size) | ${per1000(twoRunSlower)} |`);
console.log('');
console.log(`took ${((performance.now() - t0) / 1000).toFixed(1)} s on ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

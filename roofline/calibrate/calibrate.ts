/**
 * `bench calibrate`: measures this machine (target "local", or a targets-file target of kind
 * local without peaks) or writes a board's published peaks (the target definition's `peaks`,
 * else the boards built into published.ts), as one Calibration.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname, loadavg, totalmem } from 'node:os';
import * as ort from 'onnxruntime-node';
import { InputError } from '../../core/errors.ts';
import { measureBandwidth, readWithChain } from './bandwidth.ts';
import { ZOO_INT8_MATMUL_FORM, type MatmulShape } from './graphs.ts';
import { DEFAULT_MATMUL_SHAPE, measureMatmul } from './matmul.ts';
import { STREAM_FORMS, measureWeightStream } from './weight-stream.ts';
import { measureDecodeAttention } from './attention.ts';
import { resolveTarget, type TargetDefinition } from '../../targets/targets.ts';
import { calibrationFromPeaks, findPublishedTarget, publishedCalibration, publishedTargetNames } from './published.ts';
import type { TimingBudget } from './timing.ts';
import { CALIBRATION_SCHEMA_VERSION, type Calibration, type Figure } from '../../core/calibration-types.ts';

export interface CalibrateOptions {
  /** "local" measures this machine; a board (targets file or built-in) gives its published figures. */
  target: string;
  /** Targets file (default: as `bench run` finds it: $BENCH_TARGETS, ./targets.yaml, <repo>/targets.yaml). */
  targetsFile?: string;
  /** Target name to store the calibration under (a suite's `target`); default `target`. */
  label?: string;
  /** Intra-op threads / copy workers; default: all logical CPUs. */
  threads?: number;
  /** Longer runs: a 1 GiB buffer, more repetitions, the MatMulInteger int8 form too. */
  long?: boolean;
  /** Override the read buffer size, MiB. */
  bufferMiB?: number;
  /** Override the timing budget of each microbenchmark (tests, tools). */
  budget?: TimingBudget;
  /** Override the MatMul shape (tests, tools). */
  matmulShape?: MatmulShape;
  log?: (message: string) => void;
}

const MiB = 2 ** 20;
/**
 * 8x the 32 MiB L3 one core complex of a current x86 server CPU shares (a VM's cores see that
 * slice, not the socket total the OS may report). On the 2-vCPU EPYC development VM a C read
 * sweep fell from ~90 GB/s at 8 MiB to a flat ~30 GB/s from 32 MiB up, and the ORT read's
 * median was flat from 128 MiB up (bench/calibrate-check.ts prints that sweep).
 */
export const DEFAULT_BUFFER_MIB = 256;
export const LONG_BUFFER_MIB = 1024;

const SHORT_BUDGET: TimingBudget = { timeMs: 400, minIterations: 5, warmupIterations: 2 };
const LONG_BUDGET: TimingBudget = { timeMs: 2500, minIterations: 20, warmupIterations: 3 };

function readNumberFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Last-level cache size from sysfs, else getconf; null when neither knows. */
export function lastLevelCacheBytes(): number | null {
  for (const index of [3, 2]) {
    const text = readNumberFile(`/sys/devices/system/cpu/cpu0/cache/index${index}/size`);
    const m = text?.match(/^(\d+)([KMG]?)$/);
    if (m) return Number(m[1]) * ({ '': 1, K: 1024, M: MiB, G: 2 ** 30 }[m[2] as '' | 'K' | 'M' | 'G'] ?? 1);
  }
  for (const name of ['LEVEL3_CACHE_SIZE', 'LEVEL2_CACHE_SIZE']) {
    try {
      const v = Number(execFileSync('getconf', [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      if (Number.isFinite(v) && v > 0) return v;
    } catch {
      // getconf missing or the name unknown on this libc
    }
  }
  return null;
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 1) throw new InputError(`${name} expects an integer >= 1, got ${String(v)}`);
  return v;
}

/**
 * What calibrating `name` means: measure here, or take published figures. A targets-file entry
 * wins over a built-in board of the same name; an SSH target without peaks cannot be
 * calibrated from here.
 */
export function calibrationPlan(name: string, targetsFile?: string): { kind: 'measure' } | { kind: 'published'; calibration: (label: string) => Calibration } {
  if (name === 'local' && targetsFile === undefined) return { kind: 'measure' };
  let target: TargetDefinition | undefined;
  let lookupError: InputError | undefined;
  try {
    target = resolveTarget(name, targetsFile);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    lookupError = err;
  }
  if (target) {
    const peaks = target.peaks;
    if (peaks) return { kind: 'published', calibration: (label) => calibrationFromPeaks({ ...target, peaks }, label) };
    if (target.kind === 'local') return { kind: 'measure' };
    if (findPublishedTarget(name)) return { kind: 'published', calibration: (label) => publishedCalibration(name, label) };
    throw new InputError(
      `target "${name}" (${target.source}) has no "peaks" and its accelerator cannot be measured from here: add peaks (memoryBandwidthGBps, int8Tops, ... with their source; see targets.example.yaml), or calibrate a built-in board (${publishedTargetNames().join(', ')}) with --label ${name}`,
    );
  }
  if (findPublishedTarget(name)) return { kind: 'published', calibration: (label) => publishedCalibration(name, label) };
  throw new InputError(
    `cannot calibrate target "${name}": ${lookupError?.message ?? 'not found'}; boards with built-in published peaks: ${publishedTargetNames().join(', ')}; "local" measures this machine`,
  );
}

export async function calibrate(opts: CalibrateOptions): Promise<Calibration> {
  const plan = calibrationPlan(opts.target, opts.targetsFile);
  if (plan.kind === 'published') return plan.calibration(opts.label ?? opts.target);
  const log = opts.log ?? (() => {});
  const started = performance.now();
  const loadBefore = loadavg();
  const threads = positiveInt('--threads', opts.threads, availableParallelism());
  const bufferMiB = positiveInt('--buffer-mib', opts.bufferMiB, opts.long ? LONG_BUFFER_MIB : DEFAULT_BUFFER_MIB);
  const budget = opts.budget ?? (opts.long ? LONG_BUDGET : SHORT_BUDGET);
  const shape = opts.matmulShape ?? DEFAULT_MATMUL_SHAPE;
  const llcBytes = lastLevelCacheBytes();
  const notes: string[] = [];
  if (llcBytes !== null && bufferMiB * MiB < 4 * llcBytes) {
    notes.push(
      `The ${bufferMiB} MiB buffer is less than 4x the last-level cache the OS reports (${(llcBytes / MiB).toFixed(0)} MiB). A VM may report its host's whole L3 rather than the slice its cores share; run with --long (1 GiB) or see bench/calibrate-check.ts's size sweep to confirm the figure does not depend on the size.`,
    );
  }

  const bw = await measureBandwidth({ bufferBytes: bufferMiB * MiB, threads, budget, log });
  notes.push(...bw.notes);

  const matmul: Calibration['matmul'] = {};
  const matmulExtra: Record<string, Figure> = {};
  log('matmul: fp32');
  matmul.fp32 = await measureMatmul('fp32', shape, threads, budget);
  log(`matmul: int8 (${ZOO_INT8_MATMUL_FORM}, the zoo's form)`);
  matmul.int8 = await measureMatmul(ZOO_INT8_MATMUL_FORM, shape, threads, budget);
  log('matmul: int4 (MatMulNBits)');
  matmul.int4 = await measureMatmul('int4-matmulnbits', shape, threads, budget);
  if (opts.long) {
    log('matmul: int8 (MatMulInteger)');
    matmulExtra['int8_matmul_integer'] = await measureMatmul('int8-matmul-integer', shape, threads, budget);
  }

  const weightStream: NonNullable<Calibration['weightStream']> = {};
  for (const [key, form] of STREAM_FORMS) {
    log(`decode kernel ceiling: ${key} weights streamed at batch 1`);
    weightStream[key] = await measureWeightStream(form, bufferMiB * MiB, threads, budget);
  }
  log('decode kernel ceiling: attention over a long KV cache at batch 1');
  const decodeAttention = await measureDecodeAttention(threads, budget);

  const loadAfter = loadavg();
  // Only the load before counts: the one after includes these measurements themselves.
  const busy = loadBefore[0] ?? 0;
  if (busy >= 0.5 * availableParallelism()) {
    notes.push(
      `The machine was busy (1-minute load average ${busy.toFixed(2)} on ${availableParallelism()} CPUs before measuring): other processes took CPU time from these microbenchmarks, so the figures are probably low, the bounds too slow, and measurements may exceed 100% of them. Calibrate again when the machine is idle.`,
    );
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return {
    schemaVersion: CALIBRATION_SCHEMA_VERSION,
    host: hostname(),
    target: opts.label ?? opts.target,
    createdAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - started),
    machine: {
      cpu,
      cores: availableParallelism(),
      memoryBytes: totalmem(),
      llcBytes,
      runtime: `onnxruntime-node ${ort.env.versions.node ?? 'unknown'} (CPU execution provider), node ${process.versions.node}`,
    },
    threads,
    loadAverage: { before: loadBefore.map(round2), after: loadAfter.map(round2) },
    bandwidth: { read: readWithChain(bw.read, weightStream.fp32), copy: bw.copy, extra: bw.extra },
    matmul,
    weightStream,
    decodeAttention,
    matmulExtra,
    runtimeFormats: {
      fp16: {
        as: 'fp32',
        reason: 'ONNX Runtime\'s CPU provider folds the Cast of fp16 weights at session creation: an fp16 model reads and multiplies fp32 weights',
      },
    },
    notes,
  };
}

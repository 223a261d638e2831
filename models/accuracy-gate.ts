/**
 * Accuracy gate: before a quantised zoo model is timed on a machine for the first time, its
 * outputs are compared with the fp32 build of the same model (models/check.ts: logit cosine,
 * top-1 agreement, image features) at the cell's scale, and the verdict is cached per model
 * build and machine. A model whose kernels compute wrong numbers on this CPU (as s8 int8 did
 * on AVX2 without VNNI) is still timed, but its cells say it is numerically wrong.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { arch, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { AccuracyCheck } from '../core/runner.ts';
import { ACCURACY_THRESHOLDS, checkPrecisions } from './check.ts';
import { defaultCacheDir, modelHash, type BuildRequest, type BuiltModel } from './zoo.ts';

/** The machine a verdict holds for: kernels are chosen by CPU features and the ORT build. */
export interface MachineIdentity {
  cpu: string;
  arch: string;
  /** CPU features that select MLAS's integer kernels (subset of /proc/cpuinfo flags/Features). */
  flags: string[];
  onnxruntime: string;
  /** sha256 (12 hex) of cpu + arch + every CPU flag + ORT version: the cache key. */
  key: string;
}

/** The verdict type lives in core (results carry it); models fills it. */
export type AccuracyVerdict = AccuracyCheck;

/** Features whose presence changes which MLAS integer kernels run (x86 and Arm names). */
const KERNEL_FLAGS = ['avx2', 'fma', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx_vnni', 'amx_int8', 'asimddp', 'i8mm', 'sve'];

function cpuinfo(): { model: string; flags: string[] } {
  let text = '';
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // Not Linux: the model name from Node, no flags.
  }
  const field = (name: string): string | undefined => text.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim();
  const flags = (field('flags') ?? field('Features') ?? '').split(/\s+/).filter(Boolean);
  const model = field('model name') ?? field('Hardware') ?? cpus()[0]?.model ?? 'unknown CPU';
  return { model, flags };
}

export function machineIdentity(): MachineIdentity {
  const { model, flags } = cpuinfo();
  const onnxruntime = ort.env.versions.node ?? ort.env.versions.common ?? 'unknown';
  const key = createHash('sha256')
    .update(JSON.stringify({ model, arch: arch(), flags: [...flags].sort(), onnxruntime }))
    .digest('hex')
    .slice(0, 12);
  return { cpu: model, arch: arch(), flags: KERNEL_FLAGS.filter((f) => flags.includes(f)), onnxruntime, key };
}

export interface GateOptions {
  /** Where verdicts are cached (`<dir>/accuracy/`); default the model cache. */
  cacheDir?: string;
  threads?: number;
  /** Tokens compared (default 32, as `bench models check`). */
  tokens?: number;
  log?: (message: string) => void;
  /** Defaults to this machine; tests pass another to check the cache key. */
  machine?: MachineIdentity;
}

/** What names a verdict: the build's hash and request (a BuiltModel, or a build not made yet). */
type GatedBuild = Pick<BuiltModel, 'hash'> & { request: Pick<BuiltModel['request'], 'model' | 'scale' | 'precision'> };

export function verdictPath(cacheDir: string, model: GatedBuild, machine: MachineIdentity): string {
  return join(resolve(cacheDir), 'accuracy', `${model.request.model}-${model.request.scale}-${model.request.precision}-${model.hash.slice(0, 12)}-${machine.key}.json`);
}

function readVerdict(path: string, model: GatedBuild): AccuracyVerdict | null {
  if (!existsSync(path)) return null;
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as AccuracyVerdict;
    // Same build and the thresholds it was judged by still hold: otherwise check again.
    const t = ACCURACY_THRESHOLDS[model.request.precision];
    if (v.modelHash !== model.hash || JSON.stringify(v.thresholds) !== JSON.stringify(t)) return null;
    return { ...v, cached: true };
  } catch {
    return null;
  }
}

/**
 * Whether the build `req` asks for already has a verdict for this machine in the cache, so that
 * gating it runs nothing (fp32, the reference, is never gated). Nothing is built or read beyond
 * the verdict file.
 */
export function isVerdictCached(req: BuildRequest, opts: Pick<GateOptions, 'cacheDir' | 'machine'> = {}): boolean {
  if (req.precision === 'fp32') return true;
  const model: GatedBuild = { hash: modelHash(req), request: { model: req.model, scale: req.scale, precision: req.precision } };
  const path = verdictPath(opts.cacheDir ?? req.cacheDir ?? defaultCacheDir(), model, opts.machine ?? machineIdentity());
  return readVerdict(path, model) !== null;
}

/**
 * The verdict for a zoo model on this machine: from the cache, or by running the check now
 * (builds the fp32 twin if needed). fp32 itself is the reference: null.
 */
export async function accuracyGate(model: BuiltModel, opts: GateOptions = {}): Promise<AccuracyVerdict | null> {
  const { precision, scale, seed } = model.request;
  if (precision === 'fp32') return null;
  const machine = opts.machine ?? machineIdentity();
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const path = verdictPath(cacheDir, model, machine);
  const cached = readVerdict(path, model);
  if (cached) return cached;

  opts.log?.(`accuracy gate: checking ${model.request.model} ${precision} (${scale}) against fp32 on this machine`);
  const report = await checkPrecisions({
    model: model.request.model,
    scale,
    precisions: [precision],
    seed,
    tokens: opts.tokens,
    threads: opts.threads,
    cacheDir,
    log: opts.log,
    vision: model.request.vision,
    referenceCache: { dir: join(resolve(cacheDir), 'accuracy'), machineKey: machine.key },
  });
  const r = report.results[0]!;
  const { key: _key, ...checkedOn } = machine;
  const verdict: AccuracyVerdict = {
    reference: 'fp32',
    precision,
    scale,
    tokens: report.tokens,
    cosine: r.cosineMean,
    cosineMin: r.cosineMin,
    top1: r.top1Agreement,
    imageCosine: r.imageCosine,
    passed: r.passed,
    failures: r.failures,
    thresholds: ACCURACY_THRESHOLDS[precision],
    checkedOn,
    checkedAt: new Date().toISOString(),
    modelHash: model.hash,
    cached: false,
  };
  mkdirSync(join(resolve(cacheDir), 'accuracy'), { recursive: true });
  // Written whole then renamed, so a concurrent reader never sees half a file.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(verdict, null, 2)}\n`);
  renameSync(tmp, path);
  return verdict;
}

/** One line for logs and warnings. */
export function describeVerdict(v: AccuracyVerdict): string {
  const figures = `logit cosine ${v.cosine.toFixed(4)}, top-1 ${(v.top1 * 100).toFixed(1)}%${v.imageCosine === null ? '' : `, image cosine ${v.imageCosine.toFixed(4)}`} vs fp32`;
  return v.passed ? `${v.precision} accurate on this machine (${figures})` : `${v.precision} NUMERICALLY WRONG on this machine: ${v.failures.join('; ')} (${figures})`;
}

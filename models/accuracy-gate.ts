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
import { runBenchCommand } from '../core/commands.ts';
import { InputError } from '../core/errors.ts';
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

/** What the gate reads of a build: its hash and the request it was built from (all a child process needs). */
export type GateSubject = Pick<BuiltModel, 'hash' | 'request'>;

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
export async function accuracyGate(model: GateSubject, opts: GateOptions = {}): Promise<AccuracyVerdict | null> {
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

/** What `bench models gate` is given (base64 JSON): the build and the check's options. */
export interface GateRequest {
  model: GateSubject;
  threads?: number;
  tokens?: number;
  cacheDir: string;
}

/** What `bench models gate` prints as its last stdout line. */
export interface GateProcessAnswer {
  verdict: AccuracyVerdict | null;
  /** The gate process's lifetime peak RSS (it ran nothing else). */
  peakRssBytes: number;
}

export function encodeGateRequest(req: GateRequest): string {
  return Buffer.from(JSON.stringify(req)).toString('base64');
}

export function decodeGateRequest(text: string): GateRequest {
  // A hidden command, but its argument is still input: anything else is a one-line refusal (exit 2).
  const notARequest = new InputError('models gate: --request is not a gate request (base64 JSON with model.hash, model.request, cacheDir)');
  let req: GateRequest;
  try {
    req = JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as GateRequest;
  } catch {
    throw notARequest;
  }
  if (typeof req?.model?.hash !== 'string' || typeof req.model.request?.precision !== 'string' || typeof req.cacheDir !== 'string') throw notARequest;
  return req;
}

/** The last stdout line of the gate process, checked: its own output, but still read as data. */
function parseGateAnswer(stdout: string): GateProcessAnswer {
  const last = stdout.trim().split('\n').pop() ?? '';
  let answer: GateProcessAnswer;
  try {
    answer = JSON.parse(last) as GateProcessAnswer;
  } catch {
    throw new Error(`accuracy gate process: its answer is not JSON: ${JSON.stringify(last.slice(0, 200))}`);
  }
  const v = answer?.verdict;
  const verdictOk = v === null || (typeof v === 'object' && typeof v.passed === 'boolean' && Number.isFinite(v.cosine) && Number.isFinite(v.top1) && Array.isArray(v.failures));
  if (!verdictOk || !(Number.isFinite(answer.peakRssBytes) && answer.peakRssBytes > 0)) {
    throw new Error(`accuracy gate process: unexpected answer ${JSON.stringify(last.slice(0, 200))}`);
  }
  return answer;
}

/**
 * The verdict as `accuracyGate` gives it, with a check that is not cached run in a child process
 * (`bench models gate`): the fp32 twin's and the quantised build's sessions never enter this
 * process, so the peak RSS of the cell measured next holds nothing of them. In process, with
 * the sessions released, the process still held 580 MiB (against 231-235 with the child) before
 * the second cell of a full-scale internvl2_5-1b int8 run, and its first cell read 829-840 MiB
 * (753-759 with the child): memory the allocator kept. The child's lifetime peak is also the
 * gate's exact cost (gateCost, scope `gate-process`). A cached verdict is read here.
 */
export async function accuracyGateInOwnProcess(model: GateSubject, opts: GateOptions = {}): Promise<AccuracyVerdict | null> {
  if (model.request.precision === 'fp32') return null;
  const machine = opts.machine ?? machineIdentity();
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const cached = readVerdict(verdictPath(cacheDir, model, machine), model);
  if (cached) return cached;
  const started = performance.now();
  const request: GateRequest = { model: { hash: model.hash, request: model.request }, cacheDir, ...(opts.threads ? { threads: opts.threads } : {}), ...(opts.tokens ? { tokens: opts.tokens } : {}) };
  // The check's progress lines are passed on as they come.
  const { code, stdout, lastStderrLine } = await runBenchCommand('modelsGate', ['--request', encodeGateRequest(request)], opts.log ? { onStderrLine: opts.log } : {});
  if (code !== 0) throw new Error(`accuracy gate process exited with ${code}: ${lastStderrLine || 'no message'}`);
  const answer = parseGateAnswer(stdout);
  if (!answer.verdict) return null;
  return { ...answer.verdict, gateCost: { ms: performance.now() - started, peakRssBytes: answer.peakRssBytes, scope: 'gate-process' } };
}

/** One line for logs and warnings. */
export function describeVerdict(v: AccuracyVerdict): string {
  const figures = `logit cosine ${v.cosine.toFixed(4)}, top-1 ${(v.top1 * 100).toFixed(1)}%${v.imageCosine === null ? '' : `, image cosine ${v.imageCosine.toFixed(4)}`} vs fp32`;
  return v.passed ? `${v.precision} accurate on this machine (${figures})` : `${v.precision} NUMERICALLY WRONG on this machine: ${v.failures.join('; ')} (${figures})`;
}

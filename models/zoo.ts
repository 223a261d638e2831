/**
 * The model zoo: synthesises architecture-faithful VLMs as ONNX files with random (seeded)
 * weights and caches them by a hash of everything that determines their bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../core/errors.ts';
import {
  descriptorEntry,
  knownModelIds,
  resolveDescriptor,
  validateDescriptor,
  type Scale,
  type VlmDescriptor,
} from './descriptors.ts';
import { DEFAULT_LINEAR_OPTIONS, type LinearOptions, type Precision } from './layers/linear.ts';
import { buildAxera } from './layouts/axera.ts';
import { buildOnnxCommunity } from './layouts/onnx-community.ts';
import { buildGguf } from './gguf/llm.ts';
import { mmprojWeightType, parseMmprojType, type MmprojWeightType } from './gguf/mmproj.ts';
import type { LayoutBuild, LayoutResult } from './layouts/types.ts';

export type { Precision } from './layers/linear.ts';
export type { Scale, VlmDescriptor } from './descriptors.ts';
/** Graph layout of the ONNX builds, or `gguf`: the LLM alone as a llama.cpp GGUF file (models/gguf/). */
export type Layout = 'onnx-community' | 'axera' | 'gguf';

export const PRECISIONS: readonly Precision[] = ['fp32', 'fp16', 'int8', 'int4'];
export const SCALES: readonly Scale[] = ['full', 'tiny'];
export const LAYOUTS: readonly Layout[] = ['onnx-community', 'axera', 'gguf'];

/** Bump when the bytes a build produces change for the same request. */
export const BUILDER_VERSION = '1.3.0';
/** Bump when the GGUF layout's files change (only gguf builds' hashes include it, so ONNX caches stay valid). 2: + mmproj; 3: Qwen2-VL / Qwen2.5-VL / SmolVLM mmproj, SmolVLM vocabulary with the tokens mtmd looks up. */
export const GGUF_WRITER_VERSION = 3;
export const DEFAULT_SEED = 1234;

export interface BuildRequest {
  model: string;
  scale: Scale;
  precision: Precision;
  layout: Layout;
  /** Default 1234. */
  seed?: number;
  /** Default: process.env.BENCH_CACHE_DIR ?? <repo>/.cache/models */
  cacheDir?: string;
  /** Default 'separate'. */
  lmHead?: 'separate' | 'merged';
  /** Operator forms other than the zoo's defaults (DEFAULT_LINEAR_OPTIONS), for benchmarks that compare forms. */
  opForms?: Partial<Omit<LinearOptions, 'precision' | 'seed'>>;
  /**
   * Default true. False: the LLM's graphs only (onnx-community layout), for a precision whose
   * vision encoder no cell runs (the default suite's int4 LLM cells encode images at int8).
   */
  vision?: boolean;
  /**
   * gguf only: the form of the mmproj's matrices (default MMPROJ_WEIGHT_TYPE of the precision:
   * F32 at fp32, else F16). Part of the hash when it is not the default.
   */
  mmprojType?: MmprojWeightType;
  log?: (msg: string) => void;
}

export interface BuiltModel {
  /** Absolute folder in the cache. */
  dir: string;
  /** Session name -> absolute .onnx path (plain names: the runner needs no suffixes). */
  files: Record<string, string>;
  /** Resolved at the requested scale. */
  descriptor: VlmDescriptor;
  request: Required<Omit<BuildRequest, 'cacheDir' | 'log' | 'opForms' | 'mmprojType'>>;
  /** sha256 of descriptor + precision + layout + seed + lmHead (+ vision: false) + BUILDER_VERSION (+ op forms). */
  hash: string;
  builderVersion: string;
  /** File name (incl. external data files) -> bytes. */
  sizes: Record<string, number>;
  /** False when it came from the cache. */
  built: boolean;
  /** 0 when cached. */
  buildMs: number;
  /** Non-ONNX files a host needs: the Axera layout's embedding table (`embed_tokens`, raw float32 [vocab, hidden]). */
  assets: Record<string, string>;
  /** Host-loop parameters of the layout (Axera: prefillChunk, kvCacheLen); empty for onnx-community. */
  layoutParams: Record<string, number>;
  /** Operator forms of the quantised linears (int8 form, int4 block and accuracy level). */
  opForms: Omit<LinearOptions, 'precision' | 'seed'>;
}

/** What builder.json holds (and is read back from the cache). */
interface BuilderRecord {
  synthetic: true;
  seed: number;
  hash: string;
  builderVersion: string;
  request: BuiltModel['request'];
  descriptor: VlmDescriptor;
  opForms: Omit<LinearOptions, 'precision' | 'seed'>;
  /** Session name -> file name inside the folder. */
  files: Record<string, string>;
  assets: Record<string, string>;
  layoutParams: Record<string, number>;
  sizes: Record<string, number>;
  buildMs: number;
  createdAt: string;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function defaultCacheDir(): string {
  return process.env.BENCH_CACHE_DIR ?? join(REPO_ROOT, '.cache', 'models');
}

export function listZoo(): Array<{ id: string; description: string }> {
  return knownModelIds().map((id) => ({ id, description: descriptorEntry(id)?.full.description ?? '' }));
}

export function getDescriptor(id: string, scale: Scale): VlmDescriptor {
  const entry = descriptorEntry(id);
  if (!entry) throw new InputError(`unknown model "${id}"; known models: ${knownModelIds().join(', ')}`);
  if (!SCALES.includes(scale)) throw new InputError(`unknown scale "${String(scale)}"; valid scales: ${SCALES.join(', ')}`);
  const d = resolveDescriptor(entry, scale);
  const problems = validateDescriptor(d);
  if (problems.length > 0) throw new InputError(`descriptor ${id} (${scale}) is inconsistent: ${problems.join('; ')}`);
  return d;
}

function checkRequest(req: BuildRequest): void {
  if (!PRECISIONS.includes(req.precision)) {
    throw new InputError(`unknown precision "${String(req.precision)}"; valid precisions: ${PRECISIONS.join(', ')}`);
  }
  if (!LAYOUTS.includes(req.layout)) {
    throw new InputError(`unknown layout "${String(req.layout)}"; valid layouts: ${LAYOUTS.join(', ')}`);
  }
  if (req.lmHead !== undefined && req.lmHead !== 'separate' && req.lmHead !== 'merged') {
    throw new InputError(`unknown lmHead "${String(req.lmHead)}"; valid values: separate, merged`);
  }
  if (req.vision === false && req.layout !== 'onnx-community') {
    throw new InputError(`a build without the vision encoder exists for the onnx-community layout only, not ${req.layout}`);
  }
  if (req.mmprojType !== undefined) {
    parseMmprojType(req.mmprojType, 'model build');
    if (req.layout !== 'gguf') throw new InputError(`an mmproj form (mmprojType ${req.mmprojType}) exists for the gguf layout only, not ${req.layout}`);
  }
  if (req.seed !== undefined && (!Number.isInteger(req.seed) || req.seed < 0)) {
    throw new InputError(`seed must be a non-negative integer, got ${String(req.seed)}`);
  }
}

export function buildHash(
  descriptor: VlmDescriptor,
  request: BuiltModel['request'],
  forms: Omit<LinearOptions, 'precision' | 'seed'>,
  mmprojType?: MmprojWeightType,
): string {
  // RoPE in RotaryEmbedding nodes is what builds wrote before the form was an option: left out
  // of the key, so their hashes (and every cache) stay valid.
  const { ropeForm, ...rest } = forms;
  const opForms = ropeForm === 'nodes' ? rest : forms;
  const key = JSON.stringify({
    descriptor,
    precision: request.precision,
    layout: request.layout,
    seed: request.seed,
    lmHead: request.lmHead,
    // Only when left out, so every cached build with its vision encoder keeps its hash.
    ...(request.vision ? {} : { vision: false }),
    opForms,
    builderVersion: BUILDER_VERSION,
    ...(request.layout === 'gguf' ? { ggufWriter: GGUF_WRITER_VERSION } : {}),
    // Only a form other than the precision's default, so default builds keep their hashes.
    ...(mmprojType !== undefined && mmprojType !== mmprojWeightType(request.precision) ? { mmprojType } : {}),
  });
  return createHash('sha256').update(key).digest('hex');
}

/** What a build request resolves to: the descriptor, the full request, its hash and its cache folder. */
function resolveBuild(req: BuildRequest) {
  checkRequest(req);
  const descriptor = getDescriptor(req.model, req.scale);
  const request: BuiltModel['request'] = {
    model: req.model,
    scale: req.scale,
    precision: req.precision,
    layout: req.layout,
    seed: req.seed ?? DEFAULT_SEED,
    lmHead: req.lmHead ?? 'separate',
    vision: req.vision ?? true,
  };
  const opForms = { ...DEFAULT_LINEAR_OPTIONS, ...req.opForms };
  const mmprojType = req.mmprojType;
  const hash = buildHash(descriptor, request, opForms, mmprojType);
  const parts = request.vision ? '' : '-llm-only';
  const folder = join(resolve(req.cacheDir ?? defaultCacheDir()), `${request.model}-${request.scale}-${request.layout}-${request.precision}-${request.lmHead}${parts}-${hash.slice(0, 12)}`);
  return { descriptor, request, opForms, mmprojType, hash, folder };
}

/** The hash a build of `req` has (its cache key), without building or reading anything. */
export function modelHash(req: BuildRequest): string {
  return resolveBuild(req).hash;
}

/** Whether the model `req` asks for is already in the cache (nothing is built or checked beyond its record and files). */
export function isModelCached(req: BuildRequest): boolean {
  const { hash, folder } = resolveBuild(req);
  return readCached(folder, hash) !== undefined;
}

const LAYOUT_BUILDERS: Record<Layout, (b: LayoutBuild) => LayoutResult> = {
  'onnx-community': buildOnnxCommunity,
  axera: buildAxera,
  gguf: buildGguf,
};

const inFlight = new Map<string, Promise<BuiltModel>>();

/** Builds the model if it is not cached yet (in a temp folder, then renamed), else returns the cached one. */
export function ensureModel(req: BuildRequest): Promise<BuiltModel> {
  try {
    const { descriptor, request, opForms, mmprojType, hash, folder } = resolveBuild(req);
    const pending = inFlight.get(folder);
    if (pending) return pending;
    const job = Promise.resolve().then(() =>
      ensureModelSync(folder, descriptor, request, opForms, mmprojType, hash, req.log ?? (() => {})),
    );
    inFlight.set(folder, job);
    const clear = (): void => {
      inFlight.delete(folder);
    };
    job.then(clear, clear);
    return job;
  } catch (err) {
    return Promise.reject(err);
  }
}

function ensureModelSync(
  folder: string,
  descriptor: VlmDescriptor,
  request: BuiltModel['request'],
  opForms: Omit<LinearOptions, 'precision' | 'seed'>,
  mmprojType: MmprojWeightType | undefined,
  hash: string,
  log: (msg: string) => void,
): BuiltModel {
  const cached = readCached(folder, hash);
  if (cached) return cached;

  const parent = dirname(folder);
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.tmp-${hash.slice(0, 12)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp);
  const started = performance.now();
  let result: LayoutResult;
  try {
    log(`building ${request.model} (${request.scale}, ${request.layout}, ${request.precision}${request.vision ? '' : ', LLM only'}) in ${tmp}`);
    const layoutBuild = {
      dir: tmp,
      descriptor,
      lin: { ...opForms, precision: request.precision, seed: request.seed },
      lmHead: request.lmHead,
      vision: request.vision,
      ...(mmprojType ? { mmprojType } : {}),
      log: (m: string) => log(`  ${m}`),
    };
    result = LAYOUT_BUILDERS[request.layout](layoutBuild);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  const buildMs = performance.now() - started;
  const record: BuilderRecord = {
    synthetic: true,
    seed: request.seed,
    hash,
    builderVersion: BUILDER_VERSION,
    request,
    descriptor,
    opForms,
    files: Object.fromEntries(Object.entries(result.files).map(([k, p]) => [k, p.slice(tmp.length + 1)])),
    assets: Object.fromEntries(Object.entries(result.assets).map(([k, p]) => [k, p.slice(tmp.length + 1)])),
    layoutParams: result.params,
    sizes: result.sizes,
    buildMs,
    createdAt: new Date().toISOString(),
  };
  writeFileSync(join(tmp, 'builder.json'), `${JSON.stringify(record, null, 2)}\n`);
  try {
    renameSync(tmp, folder);
  } catch (err) {
    // Another process finished the same build first: its folder is just as good. A folder
    // that is not a valid build (files deleted by hand) is replaced.
    const other = readCached(folder, hash);
    if (other) {
      rmSync(tmp, { recursive: true, force: true });
      return other;
    }
    try {
      rmSync(folder, { recursive: true, force: true });
      renameSync(tmp, folder);
    } catch {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
  }
  log(`built in ${(buildMs / 1000).toFixed(1)} s: ${folder}`);
  return toBuiltModel(folder, record, true, buildMs);
}

function readCached(folder: string, hash: string): BuiltModel | undefined {
  const recordPath = join(folder, 'builder.json');
  if (!existsSync(recordPath)) return undefined;
  let record: BuilderRecord;
  try {
    record = JSON.parse(readFileSync(recordPath, 'utf8')) as BuilderRecord;
  } catch {
    return undefined;
  }
  // A record from another builder version or a damaged one is rebuilt, not trusted.
  if (record.hash !== hash || record.builderVersion !== BUILDER_VERSION) return undefined;
  if (typeof record.files !== 'object' || typeof record.assets !== 'object' || typeof record.sizes !== 'object') return undefined;
  for (const name of Object.keys(record.sizes)) if (!existsSync(join(folder, name))) return undefined;
  return toBuiltModel(folder, record, false, 0);
}

function toBuiltModel(folder: string, record: BuilderRecord, built: boolean, buildMs: number): BuiltModel {
  return {
    dir: folder,
    files: Object.fromEntries(Object.entries(record.files).map(([k, f]) => [k, join(folder, f)])),
    descriptor: record.descriptor,
    // Records written before builds could leave the vision encoder out have every part.
    request: { ...record.request, vision: record.request.vision ?? true },
    hash: record.hash,
    builderVersion: record.builderVersion,
    sizes: record.sizes,
    built,
    buildMs,
    assets: Object.fromEntries(Object.entries(record.assets).map(([k, f]) => [k, join(folder, f)])),
    layoutParams: record.layoutParams,
    opForms: record.opForms,
  };
}

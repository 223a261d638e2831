/**
 * Hardware bounds of one cell: the least time each phase can take on the calibrated machine,
 * max(operations / peak, bytes / bandwidth). Pure functions of a descriptor, the cell's shape
 * and a calibration.
 */
import { InputError } from '../core/errors.ts';
import type { Calibration, ComputeKey, Figure } from '../core/calibration-types.ts';
import type { VlmDescriptor } from '../models/descriptors.ts';
import { addWork, decodeStepWork, deepstackPrefillWork, imageEncodeWork, prefillWork, type Work } from './costs.ts';
import { resolveFormat, type WeightFormat } from './precision.ts';

export type BoundPhase = 'decode' | 'prefill' | 'image_encode';

/**
 * Arithmetic that can compute a precision exactly: the precision itself and every wider one
 * its values widen into without loss (int4 codes are int8 values, int8 and fp16 values are
 * fp32 values). The hardware bound of a precision is the fastest of these the calibration
 * measured, whichever kernel shows it.
 */
const EXACT_WIDENINGS: Record<ComputeKey, readonly ComputeKey[]> = {
  int4: ['int4', 'int8', 'fp16', 'fp32'],
  int8: ['int8', 'fp16', 'fp32'],
  fp16: ['fp16', 'fp32'],
  fp32: ['fp32'],
};

/** The rate a part of a phase's compute bound (or ceiling) is taken at, and which kernel showed it. */
export interface ComputeRate {
  part: 'weight matmuls' | 'attention';
  /** Arithmetic of the work (the format's). */
  precision: ComputeKey;
  /** Arithmetic of the kernel the rate is from: the precision, or a wider one it widens into. */
  via: ComputeKey;
  /** Calibration entry: `matmul.<key>` or `matmulExtra.<name>`. */
  figure: string;
  gops: number;
  /** The calibration's method text for that figure (names the operator). */
  method: string;
}

export interface PhaseBound {
  phase: BoundPhase;
  /** What `boundMs` covers: one decode step, the whole prefill, all images of the request. */
  per: 'output token' | 'request';
  work: Work;
  /** bytes / read bandwidth, ms; null without a bandwidth figure. */
  memoryMs: number | null;
  /** linear ops / peak(weights) + attention ops / peak(activations), ms; null without any peak. */
  computeMs: number | null;
  /** max(memoryMs, computeMs); null when neither is known. */
  boundMs: number | null;
  limitedBy: 'memory' | 'compute' | null;
  /** The rates the compute bound uses: the fastest calibrated kernel for each part's precision. */
  computeRates: ComputeRate[];
  /**
   * This runtime's ceiling, the least time with its own kernels for the cell's format.
   * Prefill and image encoding: max(memoryMs, linear ops / the calibrated rate of the format's
   * own kernel + attention ops / the activation kernel's rate), null for formats another
   * runtime executes (the calibration times ONNX Runtime's kernels) or without that rate.
   * Decode: the least time with this runtime's batch-1 kernels, max(boundMs, matmul weight
   * bytes / the calibration's weight-stream rate + attention + other bytes / read bandwidth),
   * attention being max(KV bytes / read bandwidth, attention ops / the batch-1 attention rate)
   * when the calibration has that rate (else the KV bytes alone). It separates time the kernels
   * cannot save on this machine from time lost around them; null when the calibration has no
   * stream rate for the format.
   */
  kernelMs: number | null;
  /**
   * True when a figure the bound needs is missing from the calibration (bandwidth, or the peak
   * of some of the work): the bound is still a lower bound, but a looser one.
   */
  partial: boolean;
  notes: string[];
}

export interface BoundsParams {
  images: number;
  /**
   * Vision-encoder inputs of the request (tiles of the descriptor's image size); absent = one
   * per image. Tiling (InternVL grid + thumbnail, SmolVLM crops, video frames) makes it larger.
   */
  tiles?: number;
  /** Prompt tokens including image tokens. */
  promptTokens: number;
  /** Generated tokens (the first comes from prefill; decode steps = outputTokens - 1). */
  outputTokens: number;
  precision: string;
  /** Precision of the vision encoder when it differs from `precision` (the LLM's). */
  visionPrecision?: string;
  /** Prefill chunk size in tokens; 0 or absent = the whole prompt in one call. */
  chunkSize?: number;
}

export interface Bounds {
  params: BoundsParams;
  /** The format the runtime executes (fp16 on ORT CPU runs as fp32). */
  format: WeightFormat;
  /** Decode step at the mean attended length over the request's decode steps; null with < 2 output tokens. */
  decode: PhaseBound | null;
  prefill: PhaseBound;
  /** All images of the request (encoded one by one); null without images. */
  imageEncode: PhaseBound | null;
  /** Attended length the decode bound is taken at: prompt + outputTokens / 2. */
  decodeContext: number | null;
  notes: string[];
}

/** ms to move `bytes` at `figure` GB/s. */
const msAt = (amount: number, figure: Figure): number => (amount / (figure.value * 1e9)) * 1000;

/** Calibrated matmul figures of one arithmetic: `matmul.<key>` and `matmulExtra.<key>_<form>`. */
function figuresOf(key: ComputeKey, calibration: Calibration): Array<[string, Figure]> {
  const out: Array<[string, Figure]> = [];
  const main = calibration.matmul[key];
  if (main) out.push([`matmul.${key}`, main]);
  for (const [name, f] of Object.entries(calibration.matmulExtra ?? {})) if (name.startsWith(`${key}_`)) out.push([`matmulExtra.${name}`, f]);
  return out;
}

/**
 * The fastest calibrated way to compute `precision`: the best figure over the arithmetic it
 * widens into exactly (EXACT_WIDENINGS); null when the calibration measured none of them.
 */
export function fastestRate(part: ComputeRate['part'], precision: ComputeKey, calibration: Calibration): ComputeRate | null {
  let best: ComputeRate | null = null;
  for (const via of EXACT_WIDENINGS[precision]) {
    for (const [figure, f] of figuresOf(via, calibration)) {
      if (!(f.value > 0) || (best && best.gops >= f.value)) continue;
      best = { part, precision, via, figure, gops: f.value, method: f.method };
    }
  }
  return best;
}

/** The rate of the format's own kernel (`matmul.<precision>`): this runtime's ceiling, not the hardware's. */
export function runtimeKernelRate(part: ComputeRate['part'], precision: ComputeKey, calibration: Calibration): ComputeRate | null {
  const f = calibration.matmul[precision];
  return f && f.value > 0 ? { part, precision, via: precision, figure: `matmul.${precision}`, gops: f.value, method: f.method } : null;
}

type RateOf = (part: ComputeRate['part'], precision: ComputeKey, calibration: Calibration) => ComputeRate | null;

/** Linear ops at the weight rate + attention ops at the activation rate; null when no part has a rate. */
function computeMs(work: Work, format: WeightFormat, calibration: Calibration, rateOf: RateOf, notes: string[] | null): { ms: number | null; rates: ComputeRate[]; missing: boolean } {
  const parts: Array<[number, ComputeKey, ComputeRate['part']]> = [
    [work.linearOps, format.weightCompute, 'weight matmuls'],
    [work.attentionOps, format.activationCompute, 'attention'],
  ];
  let total: number | null = null;
  let missing = false;
  const rates: ComputeRate[] = [];
  for (const [ops, key, part] of parts) {
    if (ops === 0) continue;
    const rate = rateOf(part, key, calibration);
    if (!rate) {
      missing = true;
      notes?.push(`no matmul peak in the calibration that computes ${key} (${EXACT_WIDENINGS[key].join(', ')}): ${part} not in the compute bound`);
      continue;
    }
    rates.push(rate);
    total = (total ?? 0) + (ops / (rate.gops * 1e9)) * 1000;
  }
  return { ms: total, rates, missing };
}

function phaseBound(
  phase: BoundPhase,
  per: PhaseBound['per'],
  work: Work,
  format: WeightFormat,
  calibration: Calibration,
): PhaseBound {
  const notes: string[] = [];
  const read = calibration.bandwidth.read;
  const memoryMs = read ? msAt(work.bytes, read) : null;
  if (!read) notes.push('no read bandwidth in the calibration: memory bound unknown');
  const hardware = computeMs(work, format, calibration, fastestRate, notes);
  const compute = hardware.ms;
  const partial = notes.length > 0;
  let boundMs: number | null = null;
  let limitedBy: PhaseBound['limitedBy'] = null;
  if (phase === 'decode' && memoryMs === null) {
    // A batch-1 decode step streams every weight for ~2 operations each: without a bandwidth
    // the compute-only figure would be a bound orders of magnitude below anything reachable.
    notes.push('decode is bounded by memory bandwidth alone here: no bound without it');
  } else if (memoryMs !== null || compute !== null) {
    const m = memoryMs ?? -1;
    const c = compute ?? -1;
    boundMs = Math.max(m, c);
    limitedBy = m >= c ? 'memory' : 'compute';
  }
  let kernelMs: number | null = null;
  if (boundMs !== null && phase === 'decode') kernelMs = read ? decodeKernelMs(work, format, calibration, read, boundMs) : null;
  else if (boundMs !== null && format.ortKernels !== false) {
    // Prefill and image encoding: the same work at the rates of this runtime's own kernels for the format.
    const own = computeMs(work, format, calibration, runtimeKernelRate, null);
    if (own.ms !== null && !own.missing) kernelMs = Math.max(boundMs, memoryMs ?? 0, own.ms);
  }
  return { phase, per, work, memoryMs, computeMs: compute, boundMs, limitedBy, computeRates: hardware.rates, kernelMs, partial, notes };
}

/** The kernel a decode ceiling is held by: this runtime's batch-1 weight-stream kernel for an arithmetic. */
export interface DecodeCeilingKernel {
  precision: ComputeKey;
  /** Calibration entry, `weightStream.<precision>`. */
  figure: string;
  /** Weight bytes per second it streams at batch 1, GB/s. */
  gbps: number;
  /** The calibration's method text (names the operator and its form). */
  method: string;
  /** gbps / read bandwidth: the most of a memory-bound decode this kernel can reach; null without a bandwidth. */
  shareOfRead: number | null;
}

/** Which calibrated kernel sets the decode ceiling of weights computed in `precision`; null when not calibrated. */
export function decodeCeilingKernel(precision: ComputeKey, calibration: Calibration): DecodeCeilingKernel | null {
  const f = calibration.weightStream?.[precision];
  if (!f || !(f.value > 0)) return null;
  const read = calibration.bandwidth.read?.value;
  return { precision, figure: `weightStream.${precision}`, gbps: f.value, method: f.method, shareOfRead: read && read > 0 ? f.value / read : null };
}

function decodeKernelMs(work: Work, format: WeightFormat, calibration: Calibration, read: Figure, boundMs: number): number | null {
  const stream = format.ortKernels === false ? undefined : calibration.weightStream?.[format.weightCompute];
  if (!stream) return null;
  const attentionRate = calibration.decodeAttention;
  const kvMs = msAt(work.kvBytes, read);
  const attentionMs = attentionRate ? Math.max(kvMs, msAt(work.attentionOps, attentionRate)) : kvMs;
  const otherMs = msAt(work.bytes - work.matmulWeightBytes - work.kvBytes, read);
  return Math.max(boundMs, msAt(work.matmulWeightBytes, stream) + attentionMs + otherMs);
}

function scaleWork(w: Work, k: number): Work {
  return { bytes: w.bytes * k, matmulWeightBytes: w.matmulWeightBytes * k, kvBytes: w.kvBytes * k, linearOps: w.linearOps * k, attentionOps: w.attentionOps * k };
}

function checkCount(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new InputError(`roofline bounds: ${name} must be an integer >= ${min}, got ${String(v)}`);
}

/**
 * Bounds of a cell: decode per output token (at the mean attended length of the request's
 * decode steps), prefill of the whole prompt, image encoding of all its images.
 */
export function cellBounds(descriptor: VlmDescriptor, params: BoundsParams, calibration: Calibration): Bounds {
  checkCount('images', params.images, 0);
  checkCount('promptTokens', params.promptTokens, 0);
  checkCount('outputTokens', params.outputTokens, 0);
  checkCount('chunkSize', params.chunkSize ?? 0, 0);
  const resolved = resolveFormat(params.precision, calibration);
  const format = resolved.format;
  const notes = [...resolved.notes];
  const llm = descriptor.llm;

  let decode: PhaseBound | null = null;
  let decodeContext: number | null = null;
  if (params.outputTokens >= 2) {
    // Step s (1..n-1) attends prompt + s positions; bytes and ops are linear in it, so the
    // mean step is the step at the mean length, prompt + n/2.
    decodeContext = params.promptTokens + params.outputTokens / 2;
    decode = phaseBound('decode', 'output token', decodeStepWork(llm, decodeContext, format), format, calibration);
  }
  // Image tokens of the prompt, whose DeepStack features (Qwen3-VL) the prefill reads too.
  const imageTokens = Math.min(params.promptTokens, params.images * descriptor.imageTokensPerTile);
  const prefillOnly = prefillWork(llm, params.promptTokens, params.chunkSize ?? 0, format);
  const prefill = phaseBound('prefill', 'request', addWork(prefillOnly, deepstackPrefillWork(descriptor, imageTokens)), format, calibration);
  let imageEncode: PhaseBound | null = null;
  if (params.images > 0) {
    // The encoder runs once per tile, each tile the descriptor's image size.
    const tiles = params.tiles ?? params.images;
    checkCount('tiles', tiles, 1);
    const vision = params.visionPrecision && params.visionPrecision !== params.precision ? resolveFormat(params.visionPrecision, calibration) : { format, notes: [] };
    notes.push(...vision.notes.map((n) => `vision encoder: ${n}`));
    imageEncode = phaseBound('image_encode', 'request', scaleWork(imageEncodeWork(descriptor, vision.format), tiles), vision.format, calibration);
  }
  return { params: { ...params }, format, decode, prefill, imageEncode, decodeContext, notes };
}

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
  /**
   * Decode only: the least time with this runtime's batch-1 kernels, max(boundMs, matmul weight
   * bytes / the calibration's weight-stream rate + attention + other bytes / read bandwidth),
   * attention being max(KV bytes / read bandwidth, attention ops / the batch-1 attention rate)
   * when the calibration has that rate (else the KV bytes alone). It separates time the kernels
   * cannot save on this machine from time lost around them; null for other phases and when the
   * calibration has no stream rate for the format.
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
  /** Prompt tokens including image tokens. */
  promptTokens: number;
  /** Generated tokens (the first comes from prefill; decode steps = outputTokens - 1). */
  outputTokens: number;
  precision: string;
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

function computeMs(work: Work, format: WeightFormat, calibration: Calibration, notes: string[]): number | null {
  const parts: Array<[number, ComputeKey, string]> = [
    [work.linearOps, format.weightCompute, 'weight matmuls'],
    [work.attentionOps, format.activationCompute, 'attention'],
  ];
  let total: number | null = null;
  for (const [ops, key, label] of parts) {
    if (ops === 0) continue;
    const peak = calibration.matmul[key];
    if (!peak) {
      notes.push(`no ${key} matmul peak in the calibration: ${label} not in the compute bound`);
      continue;
    }
    total = (total ?? 0) + msAt(ops, peak);
  }
  return total;
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
  const compute = computeMs(work, format, calibration, notes);
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
  const kernelMs = phase === 'decode' && boundMs !== null && read ? decodeKernelMs(work, format, calibration, read, boundMs) : null;
  return { phase, per, work, memoryMs, computeMs: compute, boundMs, limitedBy, kernelMs, partial, notes };
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
  const { format, notes } = resolveFormat(params.precision, calibration);
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
    imageEncode = phaseBound('image_encode', 'request', scaleWork(imageEncodeWork(descriptor, format), params.images), format, calibration);
  }
  return { params: { ...params }, format, decode, prefill, imageEncode, decodeContext, notes };
}

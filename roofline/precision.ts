/**
 * How each precision name stores weights and which arithmetic its kernels run, as far as a
 * roofline needs: bytes per weight (codes + quantisation scales), bytes of the float tensors
 * around the linears, bytes per KV cache element, and the peak its matmuls can reach.
 *
 * Layouts follow the model zoo (models/layers/linear.ts, models/layers/embedding.ts): int8 is
 * per-output-channel symmetric with one fp32 scale per output; int4 is MatMulNBits with one
 * fp32 scale per block of 32 inputs and an implicit zero point (0.5 + 4/32 = 0.625 bytes per
 * weight). Where a layout is not known (a vendor's w8a16), only the codes are counted: leaving
 * bytes out can only lower a bound, never make it unreachable.
 */
import { InputError } from '../core/errors.ts';
import type { Calibration, ComputeKey } from '../core/calibration-types.ts';

export type ScaleLayout =
  | { kind: 'block'; blockSize: number; bytesPerScale: number }
  | { kind: 'channel'; bytesPerScale: number }
  | null;

export interface WeightFormat {
  name: string;
  /** Bits of one stored weight code. */
  bits: number;
  scales: ScaleLayout;
  /** Bytes per element of the float tensors the precision leaves unquantised (norms, biases, conv, tables). */
  floatBytes: number;
  /** Bytes per element of the KV cache. */
  kvBytes: number;
  /** Peak the weight x activation matmuls run at. */
  weightCompute: ComputeKey;
  /** Peak the activation x activation products (attention) run at. */
  activationCompute: ComputeKey;
  /**
   * False for formats another runtime executes (llama.cpp's GGUF types): the calibration's
   * weight-stream ceilings time ONNX Runtime's kernels, so they say nothing about these.
   */
  ortKernels?: false;
}

export const WEIGHT_FORMATS: Readonly<Record<string, WeightFormat>> = {
  fp32: { name: 'fp32', bits: 32, scales: null, floatBytes: 4, kvBytes: 4, weightCompute: 'fp32', activationCompute: 'fp32' },
  fp16: { name: 'fp16', bits: 16, scales: null, floatBytes: 2, kvBytes: 2, weightCompute: 'fp16', activationCompute: 'fp16' },
  // ORT int8/int4 models keep activations, biases, norms and the KV cache in fp32.
  int8: {
    name: 'int8',
    bits: 8,
    scales: { kind: 'channel', bytesPerScale: 4 },
    floatBytes: 4,
    kvBytes: 4,
    weightCompute: 'int8',
    activationCompute: 'fp32',
  },
  int4: {
    name: 'int4',
    bits: 4,
    scales: { kind: 'block', blockSize: 32, bytesPerScale: 4 },
    floatBytes: 4,
    kvBytes: 4,
    weightCompute: 'int4',
    activationCompute: 'fp32',
  },
  // Axera-style NPU precisions: 8- or 4-bit weights, 16-bit activations and KV cache.
  w8a16: { name: 'w8a16', bits: 8, scales: null, floatBytes: 2, kvBytes: 2, weightCompute: 'int8', activationCompute: 'fp16' },
  w4a16: { name: 'w4a16', bits: 4, scales: null, floatBytes: 2, kvBytes: 2, weightCompute: 'int4', activationCompute: 'fp16' },
  // llama.cpp GGUF types (models/gguf/quants.ts): blocks of 32 with one fp16 scale (Q8_0 8.5,
  // Q4_0 4.5 bits/weight); norms and biases F32; KV cache F16 (llama.cpp's default).
  q8_0: {
    name: 'q8_0',
    bits: 8,
    scales: { kind: 'block', blockSize: 32, bytesPerScale: 2 },
    floatBytes: 4,
    kvBytes: 2,
    weightCompute: 'int8',
    activationCompute: 'fp32',
    ortKernels: false,
  },
  q4_0: {
    name: 'q4_0',
    bits: 4,
    scales: { kind: 'block', blockSize: 32, bytesPerScale: 2 },
    floatBytes: 4,
    kvBytes: 2,
    weightCompute: 'int4',
    activationCompute: 'fp32',
    ortKernels: false,
  },
  f32: { name: 'f32', bits: 32, scales: null, floatBytes: 4, kvBytes: 2, weightCompute: 'fp32', activationCompute: 'fp32', ortKernels: false },
  f16: { name: 'f16', bits: 16, scales: null, floatBytes: 4, kvBytes: 2, weightCompute: 'fp16', activationCompute: 'fp32', ortKernels: false },
};

export interface ResolvedFormat {
  /** The precision the cell names. */
  precision: string;
  /** The format the runtime actually executes. */
  format: WeightFormat;
  notes: string[];
}

/**
 * The format a cell's precision runs in on the calibrated runtime: the stored format, unless
 * the calibration says the runtime converts it (ORT CPU runs fp16 weights as fp32).
 */
export function resolveFormat(precision: string, calibration: Pick<Calibration, 'runtimeFormats'> | null): ResolvedFormat {
  const stored = WEIGHT_FORMATS[precision];
  if (!stored) {
    throw new InputError(`precision "${precision}" has no weight format for roofline bounds; known: ${Object.keys(WEIGHT_FORMATS).join(', ')}`);
  }
  const conversion = calibration?.runtimeFormats[precision];
  if (!conversion) return { precision, format: stored, notes: [] };
  const runtime = WEIGHT_FORMATS[conversion.as];
  if (!runtime) {
    throw new InputError(`calibration maps precision "${precision}" to unknown format "${conversion.as}"; known: ${Object.keys(WEIGHT_FORMATS).join(', ')}`);
  }
  return { precision, format: runtime, notes: [`${precision} runs as ${runtime.name}: ${conversion.reason}`] };
}

/** Bytes of a linear's weight `[in, out]` in `format`: codes (padded to whole blocks) + scales. */
export function weightBytes(inFeatures: number, outFeatures: number, format: WeightFormat): number {
  const s = format.scales;
  if (s?.kind === 'block') {
    const blocks = Math.ceil(inFeatures / s.blockSize);
    return outFeatures * blocks * ((s.blockSize * format.bits) / 8 + s.bytesPerScale);
  }
  const codes = (inFeatures * outFeatures * format.bits) / 8;
  return s?.kind === 'channel' ? codes + outFeatures * s.bytesPerScale : codes;
}

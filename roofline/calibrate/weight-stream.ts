/**
 * Decode kernel ceiling: how fast this runtime's matmul kernels stream weights at batch 1.
 *
 * A decode step multiplies one token by every weight, so its bound is bytes / bandwidth. Whether
 * a runtime can get there depends on its batch-1 kernels: on the 2-vCPU development VM an fp32
 * MatMul chain streamed ~45 GB/s, int8 DynamicQuantizeMatMul ~35 GB/s and int4 MatMulNBits
 * ~25 GB/s against ~55-70 GB/s read bandwidth, because unpacking and rescaling quantised weights
 * costs more cycles per byte than two cores have. This measures that rate per precision, in the
 * zoo's exact operator forms, over a chain of weights larger than the caches, so a report can
 * tell "the runner wastes time" from "the kernels cannot go faster here".
 */
import * as ort from 'onnxruntime-node';
import { weightChainModel, ZOO_INT8_MATMUL_FORM, type MatmulForm } from './graphs.ts';
import { INT8_FORM_TEXT } from '../../models/weights/int8-form.ts';
import { weightBytes, WEIGHT_FORMATS } from '../precision.ts';
import { pipelineSessionOptions } from '../../runners/ort/session-options.ts';
import { measureSessionRate } from './session.ts';
import type { TimingBudget } from './timing.ts';
import type { ComputeKey, Figure } from '../../core/calibration-types.ts';

/** Linear widths of the chain: a Qwen2.5-0.5B-class MLP, both multiples of the int4 block. */
export const CHAIN_HIDDEN = 1024;
export const CHAIN_INTERMEDIATE = 4096;
/** The chain's int4 block: the roofline's int4 format, so bytes are counted as they are laid out. */
const int4Scales = WEIGHT_FORMATS['int4']!.scales;
const INT4_BLOCK = int4Scales?.kind === 'block' ? int4Scales.blockSize : 32;

/** The operator form each precision's linears take in the zoo (models/layers/linear.ts). */
export const STREAM_FORMS: ReadonlyArray<[ComputeKey, MatmulForm]> = [
  ['fp32', 'fp32'],
  ['int8', ZOO_INT8_MATMUL_FORM],
  ['int4', 'int4-matmulnbits'],
];

const FORM_TEXT: Record<MatmulForm, string> = {
  fp32: 'MatMul, float32 weights',
  'int8-dynamic-quantize-matmul': INT8_FORM_TEXT,
  'int8-matmul-integer': 'DynamicQuantizeLinear + MatMulInteger, int8 weights with 7-bit codes + fp32 per-channel scales',
  'int4-matmulnbits': 'com.microsoft.MatMulNBits, 4-bit weights + fp32 scale per block of 32, accuracy_level 4',
};

/** The roofline's weight format of each operator form, so both count a weight's bytes alike. */
const FORM_FORMAT: Record<MatmulForm, string> = {
  fp32: 'fp32',
  'int8-dynamic-quantize-matmul': 'int8',
  'int8-matmul-integer': 'int8',
  'int4-matmulnbits': 'int4',
};

/** Bytes one `[k, n]` weight occupies in `form`: codes plus quantisation scales. */
export function chainWeightBytes(form: MatmulForm, k: number, n: number): number {
  return weightBytes(k, n, WEIGHT_FORMATS[FORM_FORMAT[form]]!);
}

function pairBytes(form: MatmulForm): number {
  return chainWeightBytes(form, CHAIN_HIDDEN, CHAIN_INTERMEDIATE) + chainWeightBytes(form, CHAIN_INTERMEDIATE, CHAIN_HIDDEN);
}

/** Up/down pairs needed for at least `totalBytes` of weights. */
export function chainPairs(form: MatmulForm, totalBytes: number): number {
  return Math.max(1, Math.ceil(totalBytes / pairBytes(form)));
}

export function measureWeightStream(form: MatmulForm, totalBytes: number, threads: number, budget: TimingBudget): Promise<Figure> {
  const pairs = chainPairs(form, totalBytes);
  const bytes = pairs * pairBytes(form);
  const x = new Float32Array(CHAIN_HIDDEN);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 7919) % 1000) / 500 - 1;
  return measureSessionRate({
    name: `weight-stream-${form}-t${threads}`,
    model: weightChainModel(form, CHAIN_HIDDEN, CHAIN_INTERMEDIATE, pairs, INT4_BLOCK),
    // The runner's options, spinning included: between a chain's many short kernels a sleeping
    // pool thread wakes late (measured: int8 30 GB/s without spinning, 35 with).
    options: pipelineSessionOptions(threads),
    feeds: { x: new ort.Tensor('float32', x, [1, CHAIN_HIDDEN]) },
    work: bytes,
    method: (runs) =>
      `ONNX Runtime ${FORM_TEXT[form]}: a batch-1 chain of ${2 * pairs} linears (${CHAIN_HIDDEN} <-> ${CHAIN_INTERMEDIATE}), ${(bytes / 2 ** 20).toFixed(0)} MiB of constant weights, intra-op threads ${threads}; GB/s = weight bytes / run time, best of ${runs} runs`,
    threads,
    budget,
  });
}

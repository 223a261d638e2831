/**
 * Tiny ONNX graphs for the calibration microbenchmarks, built in memory (no files): a reduction
 * for read bandwidth, a GEMV for weight streaming, and one MatMul per precision
 * in exactly the operator form the model zoo emits (models/layers/linear.ts), so the measured
 * peak is the one the runner's graphs can reach.
 */
import { encodeAttr, int, MS_DOMAIN, valueInfo } from '../../models/onnx/graph-builder.ts';
import { onnx, ONNX_DATA_TYPE, type ElemType, type NodeProtoInit, type TensorProtoInit } from '../../models/onnx/proto.ts';
import { DEFAULT_LINEAR_OPTIONS, type LinearOptions } from '../../models/layers/linear.ts';
import { INT8_CODE_LIMIT } from '../../models/weights/int8-form.ts';

function tensor(name: string, type: ElemType, dims: number[], data: ArrayBufferView): TensorProtoInit {
  return { name, dims, dataType: ONNX_DATA_TYPE[type], rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

interface GraphSpec {
  name: string;
  nodes: NodeProtoInit[];
  inputs: ReturnType<typeof valueInfo>[];
  outputs: ReturnType<typeof valueInfo>[];
  initializers?: TensorProtoInit[];
}

function encodeModel(spec: GraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'vlm-edge-bench calibrate',
    producerVersion: '1',
    opsetImport: [
      { domain: '', version: 17 },
      { domain: MS_DOMAIN, version: 1 },
    ],
    graph: {
      name: spec.name,
      node: spec.nodes,
      input: spec.inputs,
      output: spec.outputs,
      initializer: spec.initializers ?? [],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * `y[r] = sum_c x[r, c]` over a float32 input fed from JS: every byte of x is read once and
 * almost nothing is written. Reducing the last axis of a 2-D tensor lets ORT split rows over its
 * intra-op threads.
 */
export function reduceSumModel(rows: number, cols: number): Uint8Array {
  return encodeModel({
    name: 'calibrate_reduce_sum',
    nodes: [{ opType: 'ReduceSum', input: ['x', 'axes'], output: ['y'], attribute: [encodeAttr('keepdims', int(0))] }],
    inputs: [valueInfo('x', 'float32', [rows, cols])],
    outputs: [valueInfo('y', 'float32', [rows])],
    initializers: [tensor('axes', 'int64', [1], BigInt64Array.of(1n))],
  });
}

/**
 * `y[1, N] = x[1, K] @ W[K, N]` with W a graph input fed from JS: the decode step's access
 * pattern (one token through a weight much larger than the caches).
 */
export function gemvModel(k: number, n: number): Uint8Array {
  return encodeModel({
    name: 'calibrate_gemv',
    nodes: [{ opType: 'MatMul', input: ['x', 'w'], output: ['y'] }],
    inputs: [valueInfo('x', 'float32', [1, k]), valueInfo('w', 'float32', [k, n])],
    outputs: [valueInfo('y', 'float32', [1, n])],
  });
}

/** Precisions the ORT runner's synthetic models use for their linears. */
export type MatmulForm = 'fp32' | 'int8-dynamic-quantize-matmul' | 'int8-matmul-integer' | 'int4-matmulnbits';

/** The calibration graph of each zoo int8 linear form (both with the zoo's 7-bit codes). */
const MATMUL_FORM_OF_INT8: Record<LinearOptions['int8Form'], MatmulForm> = {
  's7-dynamic-quantize-matmul': 'int8-dynamic-quantize-matmul',
  's7-matmul-integer': 'int8-matmul-integer',
};

/** The form the zoo's int8 models use (models/layers/linear.ts), so calibration follows the zoo's choice. */
export const ZOO_INT8_MATMUL_FORM: MatmulForm = MATMUL_FORM_OF_INT8[DEFAULT_LINEAR_OPTIONS.int8Form];

export interface MatmulShape {
  m: number;
  k: number;
  n: number;
}

/**
 * Deterministic filler: weight values do not change the time of a dense kernel. fp32 +-0.05;
 * int8 codes in the zoo's 7-bit range [-INT8_CODE_LIMIT, INT8_CODE_LIMIT] (the range that
 * cannot saturate VPMADDUBSW, models/weights/int8-form.ts); uint8 (int4 nibbles) 0..255.
 */
function filled<T extends Float32Array | Int8Array | Uint8Array>(array: T, seed: number): T {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < array.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const u = (s >>> 0) / 4294967296;
    if (array instanceof Float32Array) array[i] = (u - 0.5) * 0.1;
    else if (array instanceof Int8Array) array[i] = Math.floor(u * (2 * INT8_CODE_LIMIT + 1)) - INT8_CODE_LIMIT;
    else array[i] = Math.floor(u * 256);
  }
  return array;
}

/** Initializer contents of a calibration MatMul, in the layout of each operator form. */
export interface MatmulWeights {
  /** fp32 [K, N]; int8 [K, N]; int4 [N, K/block, block/2] (low nibble first, zero point 8). */
  codes: Float32Array | Int8Array | Uint8Array;
  /** int8: per output channel [N]; int4: per (output, block) [N, K/block]; fp32: none. */
  scales: Float32Array | null;
}

export function matmulWeights(form: MatmulForm, shape: MatmulShape, int4BlockSize = 32, seed = 7): MatmulWeights {
  const { k, n } = shape;
  switch (form) {
    case 'fp32':
      return { codes: filled(new Float32Array(k * n), seed), scales: null };
    case 'int8-dynamic-quantize-matmul':
    case 'int8-matmul-integer':
      return { codes: filled(new Int8Array(k * n), seed), scales: new Float32Array(n).fill(0.01) };
    case 'int4-matmulnbits': {
      if (k % int4BlockSize !== 0) throw new Error(`MatMulNBits calibration needs K (${k}) to be a multiple of the block size ${int4BlockSize}`);
      const blocks = k / int4BlockSize;
      return { codes: filled(new Uint8Array(n * blocks * (int4BlockSize / 2)), seed), scales: new Float32Array(n * blocks).fill(0.01) };
    }
  }
}

/** Nodes and initializers of one linear `output = input @ W` in the zoo's encoding for `form`. */
interface LinearPiece {
  nodes: NodeProtoInit[];
  initializers: TensorProtoInit[];
}

function linearPiece(form: MatmulForm, input: string, output: string, prefix: string, k: number, n: number, w: MatmulWeights, int4BlockSize: number): LinearPiece {
  const wName = `${prefix}w`;
  const sName = `${prefix}w_scale`;
  const scales = w.scales ?? new Float32Array(0);
  switch (form) {
    case 'fp32':
      return {
        nodes: [{ opType: 'MatMul', input: [input, wName], output: [output] }],
        initializers: [tensor(wName, 'float32', [k, n], w.codes)],
      };
    case 'int8-dynamic-quantize-matmul':
      return {
        nodes: [{ opType: 'DynamicQuantizeMatMul', input: [input, wName, sName], output: [output], domain: MS_DOMAIN }],
        initializers: [tensor(wName, 'int8', [k, n], w.codes), tensor(sName, 'float32', [n], scales)],
      };
    case 'int8-matmul-integer': {
      const t = (name: string): string => `${prefix}${name}`;
      return {
        nodes: [
          { opType: 'DynamicQuantizeLinear', input: [input], output: [t('xq'), t('xs'), t('xz')] },
          { opType: 'MatMulInteger', input: [t('xq'), wName, t('xz')], output: [t('acc')] },
          { opType: 'Cast', input: [t('acc')], output: [t('accf')], attribute: [encodeAttr('to', int(ONNX_DATA_TYPE.float32))] },
          { opType: 'Mul', input: [t('xs'), sName], output: [t('scale')] },
          { opType: 'Mul', input: [t('accf'), t('scale')], output: [output] },
        ],
        initializers: [tensor(wName, 'int8', [k, n], w.codes), tensor(sName, 'float32', [n], scales)],
      };
    }
    case 'int4-matmulnbits': {
      const blocks = k / int4BlockSize;
      return {
        nodes: [
          {
            opType: 'MatMulNBits',
            input: [input, wName, sName],
            output: [output],
            domain: MS_DOMAIN,
            attribute: [encodeAttr('K', int(k)), encodeAttr('N', int(n)), encodeAttr('bits', int(4)), encodeAttr('block_size', int(int4BlockSize)), encodeAttr('accuracy_level', int(4))],
          },
        ],
        initializers: [tensor(wName, 'uint8', [n, blocks, int4BlockSize / 2], w.codes), tensor(sName, 'float32', [n, blocks], scales)],
      };
    }
  }
}

const GRAPH_NAME: Record<MatmulForm, string> = {
  fp32: 'calibrate_matmul_fp32',
  'int8-dynamic-quantize-matmul': 'calibrate_matmul_int8_dqmm',
  'int8-matmul-integer': 'calibrate_matmul_int8_mmi',
  'int4-matmulnbits': 'calibrate_matmul_int4',
};

/**
 * `y[M, N] = x[M, K] @ W` with W a constant initializer in the zoo's encoding for `form`:
 * fp32 MatMul; int8 per-output-channel 7-bit weight codes through DynamicQuantizeMatMul (the zoo
 * default) or DynamicQuantizeLinear + MatMulInteger; int4 MatMulNBits, block 32, accuracy_level 4.
 */
export function matmulModel(form: MatmulForm, shape: MatmulShape, int4BlockSize = 32): Uint8Array {
  const { m, k, n } = shape;
  const piece = linearPiece(form, 'x', 'y', '', k, n, matmulWeights(form, shape, int4BlockSize), int4BlockSize);
  return encodeModel({
    name: GRAPH_NAME[form],
    nodes: piece.nodes,
    inputs: [valueInfo('x', 'float32', [m, k])],
    outputs: [valueInfo('y', 'float32', [m, n])],
    initializers: piece.initializers,
  });
}

/** Largest magnitude of a weight code in each form (fp32 filler +-0.05, int8 7-bit codes, int4 -8..7). */
const CODE_RANGE: Record<MatmulForm, number> = {
  fp32: 0.05,
  'int8-dynamic-quantize-matmul': INT8_CODE_LIMIT,
  'int8-matmul-integer': INT8_CODE_LIMIT,
  'int4-matmulnbits': 8,
};

/**
 * A batch-1 chain through `pairs` x (hidden -> intermediate -> hidden) linears, every weight a
 * constant initializer in the zoo's encoding for `form`: a decode step's matmuls without the
 * rest of the layer. Scales keep activations at unit size along the chain (uniform codes of
 * magnitude c have variance c^2/3, so scale sqrt(3 / K) / c), so no value overflows and every
 * run does the same work.
 */
export function weightChainModel(form: MatmulForm, hidden: number, intermediate: number, pairs: number, int4BlockSize = 32): Uint8Array {
  const nodes: NodeProtoInit[] = [];
  const initializers: TensorProtoInit[] = [];
  let input = 'x';
  for (let p = 0; p < pairs; p++) {
    for (const [k, n, part] of [[hidden, intermediate, 'up'], [intermediate, hidden, 'down']] as const) {
      // Distinct contents per layer, so no runtime could share one copy between them.
      const w = matmulWeights(form, { m: 1, k, n }, int4BlockSize, 7 + 2 * p + (part === 'up' ? 0 : 1));
      const gain = Math.sqrt(3 / k) / CODE_RANGE[form];
      if (w.scales) w.scales.fill(gain);
      else for (let i = 0; i < w.codes.length; i++) (w.codes as Float32Array)[i]! *= gain;
      const output = p === pairs - 1 && part === 'down' ? 'y' : `h${p}_${part}`;
      const piece = linearPiece(form, input, output, `l${p}_${part}_`, k, n, w, int4BlockSize);
      nodes.push(...piece.nodes);
      initializers.push(...piece.initializers);
      input = output;
    }
  }
  return encodeModel({
    name: `${GRAPH_NAME[form]}_chain`,
    nodes,
    inputs: [valueInfo('x', 'float32', [1, hidden])],
    outputs: [valueInfo('y', 'float32', [1, hidden])],
    initializers,
  });
}

/**
 * One decode step of GroupQueryAttention as the zoo's onnx-community decoder runs it: one new
 * token's q, k, v against a BNSH KV cache passed as past and fetched as present (the runner's
 * shared buffer, appended in place). seqlens_k and total_sequence_length are graph inputs.
 */
export function gqaDecodeModel(heads: number, kvHeads: number, headDim: number): Uint8Array {
  const cache = [1, kvHeads, 'capacity', headDim];
  return encodeModel({
    name: 'calibrate_gqa_decode',
    nodes: [
      {
        opType: 'GroupQueryAttention',
        input: ['q', 'k', 'v', 'past_key', 'past_value', 'seqlens_k', 'total_sequence_length'],
        output: ['y', 'present_key', 'present_value'],
        domain: MS_DOMAIN,
        attribute: [encodeAttr('num_heads', int(heads)), encodeAttr('kv_num_heads', int(kvHeads))],
      },
    ],
    inputs: [
      valueInfo('q', 'float32', [1, 1, heads * headDim]),
      valueInfo('k', 'float32', [1, 1, kvHeads * headDim]),
      valueInfo('v', 'float32', [1, 1, kvHeads * headDim]),
      valueInfo('past_key', 'float32', cache),
      valueInfo('past_value', 'float32', cache),
      valueInfo('seqlens_k', 'int32', [1]),
      valueInfo('total_sequence_length', 'int32', []),
    ],
    outputs: [
      valueInfo('y', 'float32', [1, 1, heads * headDim]),
      valueInfo('present_key', 'float32', cache),
      valueInfo('present_value', 'float32', cache),
    ],
  });
}

/**
 * Tiny ONNX graphs for the calibration microbenchmarks, built in memory (no files): a reduction
 * for read bandwidth, a GEMV for weight streaming, and one MatMul per precision
 * in exactly the operator form the model zoo emits (models/layers/linear.ts), so the measured
 * peak is the one the runner's graphs can reach.
 */
import { onnx, ONNX_DATA_TYPE, type ElemType, type NodeProtoInit, type TensorProtoInit } from '../../models/onnx/proto.ts';

const MS_DOMAIN = 'com.microsoft';
const ATTR_INT = 2;

function valueInfo(name: string, type: ElemType, dims: Array<number | string>) {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_DATA_TYPE[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function intAttr(name: string, value: number) {
  return { name, type: ATTR_INT, i: value };
}

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
    nodes: [{ opType: 'ReduceSum', input: ['x', 'axes'], output: ['y'], attribute: [intAttr('keepdims', 0)] }],
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

export interface MatmulShape {
  m: number;
  k: number;
  n: number;
}

/** Deterministic filler: weight values do not change the time of a dense kernel. */
function filled<T extends Float32Array | Int8Array | Uint8Array>(array: T, seed: number): T {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < array.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const u = (s >>> 0) / 4294967296;
    array[i] = array instanceof Float32Array ? (u - 0.5) * 0.1 : Math.floor(u * 256) - (array instanceof Int8Array ? 128 : 0);
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

export function matmulWeights(form: MatmulForm, shape: MatmulShape, int4BlockSize = 32): MatmulWeights {
  const { k, n } = shape;
  switch (form) {
    case 'fp32':
      return { codes: filled(new Float32Array(k * n), 7), scales: null };
    case 'int8-dynamic-quantize-matmul':
    case 'int8-matmul-integer':
      return { codes: filled(new Int8Array(k * n), 7), scales: new Float32Array(n).fill(0.01) };
    case 'int4-matmulnbits': {
      if (k % int4BlockSize !== 0) throw new Error(`MatMulNBits calibration needs K (${k}) to be a multiple of the block size ${int4BlockSize}`);
      const blocks = k / int4BlockSize;
      return { codes: filled(new Uint8Array(n * blocks * (int4BlockSize / 2)), 7), scales: new Float32Array(n * blocks).fill(0.01) };
    }
  }
}

/**
 * `y[M, N] = x[M, K] @ W` with W a constant initializer in the zoo's encoding for `form`:
 * fp32 MatMul; int8 per-output-channel weights through DynamicQuantizeMatMul (the zoo default)
 * or DynamicQuantizeLinear + MatMulInteger; int4 MatMulNBits, block 32, accuracy_level 4.
 */
export function matmulModel(form: MatmulForm, shape: MatmulShape, int4BlockSize = 32): Uint8Array {
  const { m, k, n } = shape;
  const x = valueInfo('x', 'float32', [m, k]);
  const y = valueInfo('y', 'float32', [m, n]);
  const w = matmulWeights(form, shape, int4BlockSize);
  const scales = w.scales ?? new Float32Array(0);
  switch (form) {
    case 'fp32':
      return encodeModel({
        name: 'calibrate_matmul_fp32',
        nodes: [{ opType: 'MatMul', input: ['x', 'w'], output: ['y'] }],
        inputs: [x],
        outputs: [y],
        initializers: [tensor('w', 'float32', [k, n], w.codes)],
      });
    case 'int8-dynamic-quantize-matmul':
      return encodeModel({
        name: 'calibrate_matmul_int8_dqmm',
        nodes: [{ opType: 'DynamicQuantizeMatMul', input: ['x', 'w', 'w_scale'], output: ['y'], domain: MS_DOMAIN }],
        inputs: [x],
        outputs: [y],
        initializers: [tensor('w', 'int8', [k, n], w.codes), tensor('w_scale', 'float32', [n], scales)],
      });
    case 'int8-matmul-integer':
      return encodeModel({
        name: 'calibrate_matmul_int8_mmi',
        nodes: [
          { opType: 'DynamicQuantizeLinear', input: ['x'], output: ['xq', 'xs', 'xz'] },
          { opType: 'MatMulInteger', input: ['xq', 'w', 'xz'], output: ['acc'] },
          { opType: 'Cast', input: ['acc'], output: ['accf'], attribute: [intAttr('to', ONNX_DATA_TYPE.float32)] },
          { opType: 'Mul', input: ['xs', 'w_scale'], output: ['scale'] },
          { opType: 'Mul', input: ['accf', 'scale'], output: ['y'] },
        ],
        inputs: [x],
        outputs: [y],
        initializers: [tensor('w', 'int8', [k, n], w.codes), tensor('w_scale', 'float32', [n], scales)],
      });
    case 'int4-matmulnbits': {
      const blocks = k / int4BlockSize;
      return encodeModel({
        name: 'calibrate_matmul_int4',
        nodes: [
          {
            opType: 'MatMulNBits',
            input: ['x', 'w', 'w_scale'],
            output: ['y'],
            domain: MS_DOMAIN,
            attribute: [intAttr('K', k), intAttr('N', n), intAttr('bits', 4), intAttr('block_size', int4BlockSize), intAttr('accuracy_level', 4)],
          },
        ],
        inputs: [x],
        outputs: [y],
        initializers: [tensor('w', 'uint8', [n, blocks, int4BlockSize / 2], w.codes), tensor('w_scale', 'float32', [n, blocks], scales)],
      });
    }
  }
}

import { MS_DOMAIN, int, type GraphBuilder } from '../onnx/graph-builder.ts';
import { produceFlat, produceTransposed, quantizeInt4Blockwise, quantizeInt8PerChannel } from '../weights/encode.ts';
import { INT8_FORM_ID } from '../weights/int8-form.ts';
import { RandomTensor } from '../weights/random.ts';

export type Precision = 'fp32' | 'fp16' | 'int8' | 'int4';

/** How quantised MatMuls are expressed; chosen by measurement (see models/README.md). */
export interface LinearOptions {
  precision: Precision;
  seed: number;
  /**
   * int8: fused DynamicQuantizeMatMul, or the DynamicQuantizeLinear + MatMulInteger pattern;
   * both with 7-bit weight codes (models/weights/int8-form.ts explains why).
   */
  int8Form: typeof INT8_FORM_ID | 's7-matmul-integer';
  /** int4: MatMulNBits block size and accuracy level. */
  int4BlockSize: number;
  int4AccuracyLevel: number;
  /**
   * Where the onnx-community decoder applies RoPE (not a linear's form, but an operator form the
   * build hash must cover like the others): `nodes` = Split of the packed q|k|v and a
   * RotaryEmbedding node on q and on k before GroupQueryAttention; `attention` = the packed
   * q|k|v straight into GroupQueryAttention with do_rotary (onnxruntime-genai's CPU form: three
   * nodes per layer fewer). Decoders with M-RoPE or QK-norm keep `nodes` (their rotation or norm
   * needs q and k apart). Measured in bench:decode-profile (models/README.md).
   */
  ropeForm: 'nodes' | 'attention';
}

export const DEFAULT_LINEAR_OPTIONS: Omit<LinearOptions, 'precision' | 'seed'> = {
  int8Form: INT8_FORM_ID,
  int4BlockSize: 32,
  int4AccuracyLevel: 4,
  ropeForm: 'nodes',
};

export interface LinearSpec {
  /** Canonical weight name without suffix, e.g. `llm.layers.0.mlp.down_proj`. */
  name: string;
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
  /** Weight std; defaults to 1/sqrt(in). */
  std?: number;
}

/** Bias values are small so they shift, not dominate, activations. */
export const BIAS_STD = 0.02;

export function linearWeight(seed: number, spec: LinearSpec): RandomTensor {
  return new RandomTensor(seed, `${spec.name}.weight`, [spec.outFeatures, spec.inFeatures], {
    std: spec.std ?? 1 / Math.sqrt(spec.inFeatures),
  });
}

export function linearBias(seed: number, spec: LinearSpec): RandomTensor {
  return new RandomTensor(seed, `${spec.name}.bias`, [spec.outFeatures], { std: BIAS_STD });
}

/**
 * y = x W^T (+ b) on the last axis of `x` (float32), with W stored per precision:
 * fp32 MatMul; fp16 weights Cast to fp32 (ORT folds the Cast at session creation, so the CPU
 * computes in fp32 from a half-size file); int8 dynamic quantisation; int4 MatMulNBits.
 */
export function linear(g: GraphBuilder, x: string, spec: LinearSpec, opts: LinearOptions): string {
  const w = linearWeight(opts.seed, spec);
  const biasName = spec.bias ? emitBias(g, spec, opts) : undefined;
  const K = spec.inFeatures;
  const N = spec.outFeatures;
  switch (opts.precision) {
    case 'fp32':
    case 'fp16': {
      let wName: string;
      if (opts.precision === 'fp32') {
        wName = g.weight(`${spec.name}.weight`, 'float32', [K, N], produceTransposed(w, 'float32'));
      } else {
        const half = g.weight(`${spec.name}.weight_fp16`, 'float16', [K, N], produceTransposed(w, 'float16'));
        wName = g.op('Cast', [half], { to: int(1) });
      }
      const y = g.op('MatMul', [x, wName]);
      return biasName ? g.op('Add', [y, biasName]) : y;
    }
    case 'int8': {
      const q = quantizeInt8PerChannel(w);
      const codes = g.weight(`${spec.name}.weight_int8`, 'int8', [K, N], q.produceCodes);
      const scales = g.weight(`${spec.name}.weight_scale`, 'float32', [N], (emit) => emit(q.scales));
      if (opts.int8Form === INT8_FORM_ID) {
        const inputs = [x, codes, scales, '', biasName ?? ''];
        while (inputs[inputs.length - 1] === '') inputs.pop();
        return g.op('DynamicQuantizeMatMul', inputs, {}, MS_DOMAIN);
      }
      const [xq, xScale, xZero] = g.node('DynamicQuantizeLinear', [x], 3) as [string, string, string];
      const acc = g.op('MatMulInteger', [xq, codes, xZero]);
      const accF = g.op('Cast', [acc], { to: int(1) });
      const scale = g.op('Mul', [xScale, scales]);
      const y = g.op('Mul', [accF, scale]);
      return biasName ? g.op('Add', [y, biasName]) : y;
    }
    case 'int4': {
      const bs = opts.int4BlockSize;
      const q = quantizeInt4Blockwise(w, bs);
      const codes = g.weight(`${spec.name}.weight_q4`, 'uint8', [N, q.blocks, bs / 2], q.produceCodes);
      const scales = g.weight(`${spec.name}.weight_q4_scale`, 'float32', [N, q.blocks], (emit) => emit(q.scales));
      const inputs = [x, codes, scales];
      if (biasName) inputs.push('', '', biasName);
      return g.op(
        'MatMulNBits',
        inputs,
        { K: int(K), N: int(N), bits: int(4), block_size: int(bs), accuracy_level: int(opts.int4AccuracyLevel) },
        MS_DOMAIN,
      );
    }
  }
}

function emitBias(g: GraphBuilder, spec: LinearSpec, opts: LinearOptions): string {
  const b = linearBias(opts.seed, spec);
  // Biases stay fp32 in every precision (as ORT's quantisers leave them).
  return g.weight(`${spec.name}.bias`, 'float32', [spec.outFeatures], produceFlat(b, 'float32'));
}

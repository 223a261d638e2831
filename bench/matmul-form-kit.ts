/**
 * What the operator-form sweeps (bench/int8-forms.ts, bench/int4-forms.ts) share: one-node
 * graphs built in memory, deterministic LLM-like data, the relative error against float64 and
 * an interleaved timer whose rounds rotate the order of the forms, so load changes on a shared
 * machine hit every form alike and none always runs after the same neighbour.
 */
import * as ort from 'onnxruntime-node';
import { MS_DOMAIN, valueInfo } from '../models/onnx/graph-builder.ts';
import { onnx, ONNX_DATA_TYPE, type ElemType, type NodeProtoInit, type TensorProtoInit } from '../models/onnx/proto.ts';

export function tensor(name: string, type: ElemType, dims: number[], data: ArrayBufferView): TensorProtoInit {
  return { name, dims, dataType: ONNX_DATA_TYPE[type], rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** `y[m, n] = f(x[m, k])` as one graph; `opset` 21 for int4 DequantizeLinear. */
export function encodeForm(nodes: NodeProtoInit[], initializers: TensorProtoInit[], k: number, n: number, opset = 17): Uint8Array {
  const graph = { name: 'matmul_form', node: nodes, input: [valueInfo('x', 'float32', ['m', k])], output: [valueInfo('y', 'float32', ['m', n])], initializer: initializers };
  const model = onnx.ModelProto.create({ irVersion: opset >= 21 ? 10 : 8, opsetImport: [{ domain: '', version: opset }, { domain: MS_DOMAIN, version: 1 }], graph });
  return onnx.ModelProto.encode(model).finish();
}

/** Deterministic Gaussian noise (xorshift + Box-Muller). */
export function gaussian(seed: number): () => number {
  let s = seed >>> 0 || 1;
  const u = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** W `[k, n]` with std 1/sqrt(k), as the zoo's linears. */
export function randomWeight(k: number, n: number, seed: number): Float32Array {
  const g = gaussian(seed);
  return Float32Array.from({ length: k * n }, () => g() / Math.sqrt(k));
}

/** LLM-like activations `[m, k]`: Gaussian, every 97th channel x8 (the outlier channels). */
export function llmActivations(m: number, k: number, seed: number): Float32Array {
  const g = gaussian(seed);
  return Float32Array.from({ length: m * k }, (_, i) => g() * ((i % k) % 97 === 0 ? 8 : 1));
}

/** ||y - x W|| / ||x W|| with x W in float64 and the unquantised W. */
export function relativeError(x: Float32Array, w: Float32Array, y: Float32Array, m: number, k: number, n: number): number {
  let err = 0;
  let ref = 0;
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < n; j++) {
      let exact = 0;
      for (let i = 0; i < k; i++) exact += x[r * k + i]! * w[i * n + j]!;
      err += (y[r * n + j]! - exact) ** 2;
      ref += exact ** 2;
    }
  }
  return Math.sqrt(err / ref);
}

export interface TimedForm {
  median: number;
  best: number;
  /** Per-round time / the reference form's time in the same round (median): the figure a loaded machine cannot skew. */
  ratioToReference: number;
}

/**
 * Interleaved timing: `rounds` rounds, each running every session `reps` times in a rotated
 * order; ms per run. Ratios are taken round by round against `reference`.
 */
export async function timeInterleaved<F extends string>(
  sessions: Map<F, ort.InferenceSession>,
  feed: Record<string, ort.Tensor>,
  rounds: number,
  reps: number,
  reference: F,
): Promise<Map<F, TimedForm>> {
  const forms = [...sessions.keys()];
  const times = new Map<F, number[]>(forms.map((f) => [f, []]));
  for (const s of sessions.values()) for (let i = 0; i < 2; i++) await s.run(feed);
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < forms.length; j++) {
      const form = forms[(round + j) % forms.length]!;
      const s = sessions.get(form)!;
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) await s.run(feed);
      times.get(form)!.push((performance.now() - t0) / reps);
    }
  }
  const median = (v: number[]): number => {
    const s = [...v].sort((a, b) => a - b);
    const h = Math.floor(s.length / 2);
    return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
  };
  const ref = times.get(reference);
  const out = new Map<F, TimedForm>();
  for (const [form, t] of times) {
    out.set(form, {
      median: median(t),
      best: Math.min(...t),
      ratioToReference: ref ? median(t.map((v, i) => v / ref[i]!)) : NaN,
    });
  }
  return out;
}

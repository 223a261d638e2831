/**
 * Plain-TypeScript forward passes of one decoder layer and one ViT block, written from the
 * model definitions (Qwen2 decoder layer, InternViT encoder layer), reading the same
 * counter-based random weights as the ONNX builder. Float64 throughout; row-major arrays.
 */
import type { LanguageModel, VlmDescriptor } from '../../models/descriptors.ts';
import { mlpSpecs, oProjSpec, qkvSpec } from '../../models/layers/decoder.ts';
import { linearBias, linearWeight, type LinearSpec } from '../../models/layers/linear.ts';
import { biasTensor, gainTensor } from '../../models/layers/norms.ts';
import { layerScaleTensor } from '../../models/layers/vision.ts';

export type Mat = Float64Array;

function linear(x: Mat, rows: number, spec: LinearSpec, seed: number): Mat {
  const w = linearWeight(seed, spec).toArray();
  const b = spec.bias ? linearBias(seed, spec).toArray() : undefined;
  const K = spec.inFeatures;
  const N = spec.outFeatures;
  const y = new Float64Array(rows * N);
  for (let r = 0; r < rows; r++) {
    for (let n = 0; n < N; n++) {
      let acc = b ? (b[n] as number) : 0;
      for (let k = 0; k < K; k++) acc += (x[r * K + k] as number) * (w[n * K + k] as number);
      y[r * N + n] = acc;
    }
  }
  return y;
}

function rmsNorm(x: Mat, rows: number, H: number, gamma: Float32Array, eps: number): Mat {
  const y = new Float64Array(rows * H);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let h = 0; h < H; h++) ss += (x[r * H + h] as number) ** 2;
    const inv = 1 / Math.sqrt(ss / H + eps);
    for (let h = 0; h < H; h++) y[r * H + h] = (x[r * H + h] as number) * inv * (gamma[h] as number);
  }
  return y;
}

function layerNorm(x: Mat, rows: number, H: number, gamma: Float32Array, beta: Float32Array, eps: number): Mat {
  const y = new Float64Array(rows * H);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let h = 0; h < H; h++) mean += x[r * H + h] as number;
    mean /= H;
    let v = 0;
    for (let h = 0; h < H; h++) v += ((x[r * H + h] as number) - mean) ** 2;
    const inv = 1 / Math.sqrt(v / H + eps);
    for (let h = 0; h < H; h++) y[r * H + h] = ((x[r * H + h] as number) - mean) * inv * (gamma[h] as number) + (beta[h] as number);
  }
  return y;
}

/** rotate_half RoPE on each head of `x [rows, heads*D]` in place. */
function rope(x: Mat, rows: number, heads: number, D: number, positions: number[], theta: number): void {
  const half = D / 2;
  for (let r = 0; r < rows; r++) {
    const p = positions[r] as number;
    for (let h = 0; h < heads; h++) {
      const base = r * heads * D + h * D;
      for (let j = 0; j < half; j++) {
        const a = p * Math.pow(theta, (-2 * j) / D);
        const x1 = x[base + j] as number;
        const x2 = x[base + j + half] as number;
        x[base + j] = x1 * Math.cos(a) - x2 * Math.sin(a);
        x[base + j + half] = x2 * Math.cos(a) + x1 * Math.sin(a);
      }
    }
  }
}

function softmaxInPlace(row: Float64Array): void {
  let m = -Infinity;
  for (const v of row) m = Math.max(m, v);
  let s = 0;
  for (let i = 0; i < row.length; i++) {
    row[i] = Math.exp((row[i] as number) - m);
    s += row[i] as number;
  }
  for (let i = 0; i < row.length; i++) row[i] = (row[i] as number) / s;
}

/** Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), enough for a 1e-4 comparison. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

const gelu = (x: number): number => 0.5 * x * (1 + erf(x / Math.SQRT2));

export interface DecoderLayerResult {
  output: Mat;
  kNew: Mat;
  vNew: Mat;
}

/**
 * Qwen2 (or Qwen3, with QK-norm) decoder layer over `rows` new tokens at `positions`, attending to `history` cached
 * rows (keys already rotated) plus themselves, with `visible(row, col)` deciding the mask.
 */
export function decoderLayerReference(
  llm: LanguageModel,
  seed: number,
  layer: number,
  input: Mat,
  positions: number[],
  kCache: Mat,
  vCache: Mat,
  history: number,
  visible: (row: number, col: number) => boolean,
): DecoderLayerResult {
  const { hidden: H, heads: Hq, kvHeads: Hkv, headDim: D } = llm;
  const rows = positions.length;
  const normed = rmsNorm(input, rows, H, gainTensor(seed, `llm.layers.${layer}.input_layernorm.weight`, H).toArray(), llm.rmsEps);
  const qkv = linear(normed, rows, qkvSpec(llm, layer), seed);
  const qDim = Hq * D;
  const kvDim = Hkv * D;
  const width = qDim + 2 * kvDim;
  const q = new Float64Array(rows * qDim);
  const kNew = new Float64Array(rows * kvDim);
  const vNew = new Float64Array(rows * kvDim);
  for (let r = 0; r < rows; r++) {
    q.set(qkv.subarray(r * width, r * width + qDim), r * qDim);
    kNew.set(qkv.subarray(r * width + qDim, r * width + qDim + kvDim), r * kvDim);
    vNew.set(qkv.subarray(r * width + qDim + kvDim, (r + 1) * width), r * kvDim);
  }
  if (llm.qkNorm) {
    // Qwen3: RMSNorm over head_dim on every query / key head, before RoPE.
    const perHead = (x: Mat, heads: number, name: string): void => {
      const gamma = gainTensor(seed, `llm.layers.${layer}.self_attn.${name}.weight`, D).toArray();
      x.set(rmsNorm(x, rows * heads, D, gamma, llm.rmsEps));
    };
    perHead(q, Hq, 'q_norm');
    perHead(kNew, Hkv, 'k_norm');
  }
  rope(q, rows, Hq, D, positions, llm.ropeTheta);
  rope(kNew, rows, Hkv, D, positions, llm.ropeTheta);
  const T = history + rows;
  const kAll = new Float64Array(T * kvDim);
  kAll.set(kCache.subarray(0, history * kvDim));
  kAll.set(kNew, history * kvDim);
  const vAll = new Float64Array(T * kvDim);
  vAll.set(vCache.subarray(0, history * kvDim));
  vAll.set(vNew, history * kvDim);

  const attn = new Float64Array(rows * qDim);
  const group = Hq / Hkv;
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < Hq; h++) {
      const kvh = Math.floor(h / group);
      const scores = new Float64Array(T);
      for (let t = 0; t < T; t++) {
        if (!visible(r, t)) {
          scores[t] = -Infinity;
          continue;
        }
        let dot = 0;
        for (let j = 0; j < D; j++) dot += (q[r * qDim + h * D + j] as number) * (kAll[t * kvDim + kvh * D + j] as number);
        scores[t] = dot / Math.sqrt(D);
      }
      softmaxInPlace(scores);
      for (let j = 0; j < D; j++) {
        let acc = 0;
        for (let t = 0; t < T; t++) acc += (scores[t] as number) * (vAll[t * kvDim + kvh * D + j] as number);
        attn[r * qDim + h * D + j] = acc;
      }
    }
  }
  const o = linear(attn, rows, oProjSpec(llm, layer), seed);
  const resid1 = input.map((v, i) => v + (o[i] as number));
  const n2 = rmsNorm(resid1, rows, H, gainTensor(seed, `llm.layers.${layer}.post_attention_layernorm.weight`, H).toArray(), llm.rmsEps);
  const m = mlpSpecs(llm, layer);
  const gate = linear(n2, rows, m.gate, seed);
  const up = linear(n2, rows, m.up, seed);
  const act = gate.map((gv, i) => (gv / (1 + Math.exp(-gv))) * (up[i] as number));
  const down = linear(act, rows, m.down, seed);
  return { output: resid1.map((v, i) => v + (down[i] as number)), kNew, vNew };
}

/** InternViT encoder layer (pre-LN, layer scale, full attention) over `tokens` rows. */
export function vitBlockReference(d: VlmDescriptor, seed: number, layer: number, x: Mat, tokens: number): Mat {
  const v = d.vision;
  const C = v.hidden;
  const p = `vision.encoder.layers.${layer}`;
  const ln = (input: Mat, name: string): Mat =>
    layerNorm(input, tokens, C, gainTensor(seed, `${name}.weight`, C).toArray(), biasTensor(seed, `${name}.bias`, C).toArray(), v.normEps);
  const qkv = linear(ln(x, `${p}.norm1`), tokens, { name: `${p}.attn.qkv`, inFeatures: C, outFeatures: 3 * C, bias: v.qkvBias }, seed);
  const D = v.headDim;
  const attn = new Float64Array(tokens * C);
  for (let h = 0; h < v.heads; h++) {
    for (let r = 0; r < tokens; r++) {
      const scores = new Float64Array(tokens);
      for (let t = 0; t < tokens; t++) {
        let dot = 0;
        for (let j = 0; j < D; j++) dot += (qkv[r * 3 * C + h * D + j] as number) * (qkv[t * 3 * C + C + h * D + j] as number);
        scores[t] = dot / Math.sqrt(D);
      }
      softmaxInPlace(scores);
      for (let j = 0; j < D; j++) {
        let acc = 0;
        for (let t = 0; t < tokens; t++) acc += (scores[t] as number) * (qkv[t * 3 * C + 2 * C + h * D + j] as number);
        attn[r * C + h * D + j] = acc;
      }
    }
  }
  const ls1 = layerScaleTensor(seed, `${p}.ls1`, d).toArray();
  const ls2 = layerScaleTensor(seed, `${p}.ls2`, d).toArray();
  const proj = linear(attn, tokens, { name: `${p}.attn.proj`, inFeatures: C, outFeatures: C, bias: true }, seed);
  const mid = x.map((val, i) => val + (proj[i] as number) * (ls1[i % C] as number));
  const fc1 = linear(ln(mid, `${p}.norm2`), tokens, { name: `${p}.mlp.fc1`, inFeatures: C, outFeatures: v.intermediate, bias: true }, seed);
  const fc2 = linear(fc1.map(gelu), tokens, { name: `${p}.mlp.fc2`, inFeatures: v.intermediate, outFeatures: C, bias: true }, seed);
  return mid.map((val, i) => val + (fc2[i] as number) * (ls2[i % C] as number));
}

/**
 * InternVL pixel_shuffle(x, 0.5) (ps_version v2) with explicit indices, derived step by step
 * from its view/permute sequence (see the comments in the body).
 */
export function pixelShuffleReference(x: Mat, side: number, C: number): Mat {
  // view(n, s, s/2, 2C): element [a][b][c2] = x[a*s + 2b + floor(c2/C)][c2 % C]
  // permute -> [b][a][c2]; view(n, s/2, s/2, 4C): [b][a2][c4] with a = 2*a2 + floor(c4/(2C)), c2 = c4 % 2C
  // permute -> [a2][b][c4]; flatten tokens as a2*(s/2) + b.
  const s2 = side / 2;
  const y = new Float64Array(s2 * s2 * 4 * C);
  for (let a2 = 0; a2 < s2; a2++) {
    for (let b = 0; b < s2; b++) {
      for (let c4 = 0; c4 < 4 * C; c4++) {
        const a = 2 * a2 + Math.floor(c4 / (2 * C));
        const c2 = c4 % (2 * C);
        const patch = a * side + 2 * b + Math.floor(c2 / C);
        y[(a2 * s2 + b) * 4 * C + c4] = x[patch * C + (c2 % C)] as number;
      }
    }
  }
  return y;
}

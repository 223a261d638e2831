/**
 * Work of each phase from a model descriptor: bytes that must cross the memory bus and
 * floating-point (or integer) operations, split into weight x activation matmuls ("linear")
 * and activation x activation products ("attention") because they run at different peaks.
 *
 * Every simplification leaves work out, never adds it (activations, softmax, norms' arithmetic
 * and RoPE are not counted; weights are counted once per graph invocation), so a time derived
 * from these figures is a true lower bound.
 */
import type { LanguageModel, VlmDescriptor } from '../models/descriptors.ts';
import { weightBytes, type WeightFormat } from './precision.ts';

export interface LinearShape {
  name: string;
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
}

export interface Work {
  /** Bytes read or written in memory. */
  bytes: number;
  /** The part of `bytes` that is linear weights (codes + scales) read through matmul kernels. */
  matmulWeightBytes: number;
  /** The part of `bytes` that is KV cache read and written. */
  kvBytes: number;
  /** Operations of weight x activation matmuls (2 per multiply-add). */
  linearOps: number;
  /** Operations of attention's QK^T and AV products. */
  attentionOps: number;
}

/** The linears of one decoder layer, as the zoo builds them (q|k|v packed, SiLU-gated MLP). */
export function decoderLayerLinears(llm: LanguageModel): LinearShape[] {
  return [
    { name: 'qkv_proj', inFeatures: llm.hidden, outFeatures: (llm.heads + 2 * llm.kvHeads) * llm.headDim, bias: llm.qkvBias },
    { name: 'o_proj', inFeatures: llm.heads * llm.headDim, outFeatures: llm.hidden, bias: false },
    { name: 'gate_proj', inFeatures: llm.hidden, outFeatures: llm.intermediate, bias: false },
    { name: 'up_proj', inFeatures: llm.hidden, outFeatures: llm.intermediate, bias: false },
    { name: 'down_proj', inFeatures: llm.intermediate, outFeatures: llm.hidden, bias: false },
  ];
}

export function lmHeadLinear(llm: LanguageModel): LinearShape {
  return { name: 'lm_head', inFeatures: llm.hidden, outFeatures: llm.vocab, bias: false };
}

/** Patch-conv ViT block linears (InternViT, SigLIP, Qwen2-VL ViT all have biases on proj and MLP). */
export function visionLayerLinears(d: VlmDescriptor): LinearShape[] {
  const v = d.vision;
  return [
    { name: 'qkv', inFeatures: v.hidden, outFeatures: 3 * v.hidden, bias: v.qkvBias },
    { name: 'proj', inFeatures: v.hidden, outFeatures: v.hidden, bias: true },
    { name: 'fc1', inFeatures: v.hidden, outFeatures: v.intermediate, bias: true },
    { name: 'fc2', inFeatures: v.intermediate, outFeatures: v.hidden, bias: true },
  ];
}

/** Projector linears after the merge of mergeFactor^2 patches into one token. */
export function projectorLinears(d: VlmDescriptor): LinearShape[] {
  let width = d.vision.hidden * d.projector.mergeFactor ** 2;
  return d.projector.layers.map((layer, j) => {
    const shape = { name: `projector.${j}`, inFeatures: width, outFeatures: layer.out, bias: layer.bias };
    width = layer.out;
    return shape;
  });
}

export const params = (l: LinearShape): number => l.inFeatures * l.outFeatures;
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Weight + (fp32-class) bias bytes of a set of linears. */
export function linearsBytes(linears: readonly LinearShape[], f: WeightFormat): number {
  return sum(linears.map((l) => weightBytes(l.inFeatures, l.outFeatures, f) + (l.bias ? l.outFeatures * f.floatBytes : 0)));
}

/** Weight bytes (codes + scales, no biases) of a set of linears: what their matmul kernels stream. */
export function linearsWeightBytes(linears: readonly LinearShape[], f: WeightFormat): number {
  return sum(linears.map((l) => weightBytes(l.inFeatures, l.outFeatures, f)));
}

/** Bytes of the decoder stack's weights: linears, two RMSNorm weights per layer and the final norm. */
export function decoderWeightBytes(llm: LanguageModel, f: WeightFormat): number {
  return llm.layers * (linearsBytes(decoderLayerLinears(llm), f) + 2 * llm.hidden * f.floatBytes) + llm.hidden * f.floatBytes;
}

/** Bytes of K and V for `positions` tokens over all layers. */
export function kvBytes(llm: LanguageModel, positions: number, f: WeightFormat): number {
  return 2 * llm.layers * llm.kvHeads * llm.headDim * positions * f.kvBytes;
}

/** Linear parameters of the decoder stack (excluding embeddings and lm_head). */
export function decoderLinearParams(llm: LanguageModel): number {
  return llm.layers * sum(decoderLayerLinears(llm).map(params));
}

/**
 * One decode step at an attended length of `context` positions (the cache plus the new token):
 * one embedding row, every decoder weight, lm_head, the whole KV cache read and one position
 * written.
 */
export function decodeStepWork(llm: LanguageModel, context: number, f: WeightFormat): Work {
  const head = lmHeadLinear(llm);
  const kv = kvBytes(llm, Math.max(0, context - 1), f) + kvBytes(llm, 1, f);
  const bytes = weightBytes(llm.hidden, 1, f) + decoderWeightBytes(llm, f) + linearsBytes([head], f) + kv;
  return {
    bytes,
    kvBytes: kv,
    matmulWeightBytes: llm.layers * linearsWeightBytes(decoderLayerLinears(llm), f) + linearsWeightBytes([head], f),
    linearOps: 2 * (decoderLinearParams(llm) + params(head)),
    attentionOps: 4 * llm.layers * llm.heads * llm.headDim * context,
  };
}

/**
 * Prefill of `tokens` prompt tokens in chunks of `chunk` (0 = one call): embedding rows, the
 * decoder weights once per chunk, lm_head for the last row only (the runner's separate
 * lm_head), the KV cache written once and read by every later chunk; causal attention over
 * the prompt.
 */
export function prefillWork(llm: LanguageModel, tokens: number, chunk: number, f: WeightFormat): Work {
  if (tokens <= 0) return { bytes: 0, matmulWeightBytes: 0, kvBytes: 0, linearOps: 0, attentionOps: 0 };
  const size = chunk > 0 ? Math.min(chunk, tokens) : tokens;
  const chunks = Math.ceil(tokens / size);
  let earlierPositions = 0;
  for (let c = 1; c < chunks; c++) earlierPositions += c * size;
  const head = lmHeadLinear(llm);
  const kv = kvBytes(llm, tokens, f) + kvBytes(llm, earlierPositions, f);
  const bytes = tokens * weightBytes(llm.hidden, 1, f) + chunks * decoderWeightBytes(llm, f) + linearsBytes([head], f) + kv;
  return {
    bytes,
    kvBytes: kv,
    matmulWeightBytes: chunks * llm.layers * linearsWeightBytes(decoderLayerLinears(llm), f) + linearsWeightBytes([head], f),
    linearOps: 2 * tokens * decoderLinearParams(llm) + 2 * params(head),
    // Query t attends t + 1 keys: sum over t of (t + 1) = T(T+1)/2, times 2 products x 2 ops x headDim x heads.
    attentionOps: 2 * llm.layers * llm.heads * llm.headDim * tokens * (tokens + 1),
  };
}

/** Tokens the ViT runs over for one tile: patches (+ CLS). */
export function visionTokens(d: VlmDescriptor): number {
  const side = d.vision.imageSize / d.vision.patchSize;
  return side * side + (d.vision.clsToken ? 1 : 0);
}

/** Bytes of the vision tower and projector weights. */
export function visionWeightBytes(d: VlmDescriptor, f: WeightFormat): number {
  const v = d.vision;
  const fb = f.floatBytes;
  const patchIn = v.channels * v.patchSize * v.patchSize * (v.temporalPatchSize ?? 1);
  const embeddings = (patchIn * v.hidden + v.hidden) * fb + visionTokens(d) * v.hidden * fb + (v.clsToken ? v.hidden * fb : 0);
  const perLayer = linearsBytes(visionLayerLinears(d), f) + 4 * v.hidden * fb + (v.layerScale !== null ? 2 * v.hidden * fb : 0);
  const postNorm = v.postNorm ? 2 * v.hidden * fb : 0;
  const p = d.projector;
  const normWidth = p.norm === 'after-merge' ? v.hidden * p.mergeFactor ** 2 : p.norm === 'before-merge' ? v.hidden : 0;
  const projector = linearsBytes(projectorLinears(d), f) + 2 * normWidth * fb;
  return embeddings + v.layers * perLayer + postNorm + projector;
}

/** One image tile through the ViT and the projector (the runner encodes images one by one). */
export function imageEncodeWork(d: VlmDescriptor, f: WeightFormat): Work {
  const v = d.vision;
  const side = v.imageSize / v.patchSize;
  const patches = side * side;
  const t = visionTokens(d);
  const patchIn = v.channels * v.patchSize * v.patchSize * (v.temporalPatchSize ?? 1);
  const merged = patches / d.projector.mergeFactor ** 2;
  const layerParams = sum(visionLayerLinears(d).map(params));
  return {
    bytes: visionWeightBytes(d, f),
    kvBytes: 0,
    matmulWeightBytes: v.layers * linearsWeightBytes(visionLayerLinears(d), f) + linearsWeightBytes(projectorLinears(d), f),
    linearOps: 2 * patches * patchIn * v.hidden + v.layers * 2 * t * layerParams + 2 * merged * sum(projectorLinears(d).map(params)),
    // Full (non-causal) attention within the tile: QK^T and AV, 2 t^2 hidden ops each.
    attentionOps: v.layers * 4 * t * t * v.hidden,
  };
}

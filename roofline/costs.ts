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

/**
 * ViT block linears (InternViT, SigLIP and the Qwen-VL ViTs all have biases on proj and MLP);
 * Qwen2.5-VL's gated MLP has three projections where the others have two.
 */
export function visionLayerLinears(d: VlmDescriptor): LinearShape[] {
  const v = d.vision;
  const attention: LinearShape[] = [
    { name: 'qkv', inFeatures: v.hidden, outFeatures: 3 * v.hidden, bias: v.qkvBias },
    { name: 'proj', inFeatures: v.hidden, outFeatures: v.hidden, bias: true },
  ];
  if (v.mlp === 'gated') {
    return [
      ...attention,
      { name: 'gate_proj', inFeatures: v.hidden, outFeatures: v.intermediate, bias: true },
      { name: 'up_proj', inFeatures: v.hidden, outFeatures: v.intermediate, bias: true },
      { name: 'down_proj', inFeatures: v.intermediate, outFeatures: v.hidden, bias: true },
    ];
  }
  return [
    ...attention,
    { name: 'fc1', inFeatures: v.hidden, outFeatures: v.intermediate, bias: true },
    { name: 'fc2', inFeatures: v.intermediate, outFeatures: v.hidden, bias: true },
  ];
}

/** Qwen3-VL DeepStack: ViT blocks tapped, each through its own merger, each added into one LLM layer. */
export function deepstackTaps(d: VlmDescriptor): number {
  return d.vision.deepstackLayers?.length ?? 0;
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

/**
 * Bytes of the decoder stack's weights: linears, two RMSNorm weights per layer (plus the
 * q_norm / k_norm gains of head_dim each with QK-norm) and the final norm.
 */
export function decoderWeightBytes(llm: LanguageModel, f: WeightFormat): number {
  const norms = 2 * llm.hidden + (llm.qkNorm ? 2 * llm.headDim : 0);
  return llm.layers * (linearsBytes(decoderLayerLinears(llm), f) + norms * f.floatBytes) + llm.hidden * f.floatBytes;
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

const isQwenTower = (d: VlmDescriptor): boolean => d.vision.kind === 'qwen2-vit' || d.vision.kind === 'qwen2_5-vit' || d.vision.kind === 'qwen3-vit';

/**
 * Bytes of the position information one tile reads: a learned table of one row per token
 * (InternViT, SigLIP); the Qwen-VL towers' 2-D RoPE cos/sin tables (headDim/2 each per patch),
 * and for Qwen3-VL the learned-table rows its bilinear interpolation gathers (4 per patch, at
 * most the whole table).
 */
function visionPositionBytes(d: VlmDescriptor, fb: number): number {
  const v = d.vision;
  if (!isQwenTower(d)) return visionTokens(d) * v.hidden * fb;
  const patches = visionTokens(d);
  const learned = v.positionEmbeddings !== undefined ? Math.min(v.positionEmbeddings, 4 * patches) * v.hidden * fb : 0;
  return patches * v.headDim * fb + learned;
}

/** Bytes of the vision tower and projector weights (and the DeepStack mergers). */
export function visionWeightBytes(d: VlmDescriptor, f: WeightFormat): number {
  const v = d.vision;
  const fb = f.floatBytes;
  const patchIn = v.channels * v.patchSize * v.patchSize * (v.temporalPatchSize ?? 1);
  // The patch conv of InternViT / SigLIP has a bias; of the Qwen-VL towers only Qwen3-VL's.
  const patchBias = isQwenTower(d) ? v.patchBias === true : true;
  const embeddings = (patchIn * v.hidden + (patchBias ? v.hidden : 0)) * fb + visionPositionBytes(d, fb) + (v.clsToken ? v.hidden * fb : 0);
  // LayerNorm has a gain and a bias, RMSNorm a gain only.
  const normVectors = v.norm === 'rms' ? 1 : 2;
  const perLayer = linearsBytes(visionLayerLinears(d), f) + 2 * normVectors * v.hidden * fb + (v.layerScale !== null ? 2 * v.hidden * fb : 0);
  const postNorm = v.postNorm ? 2 * v.hidden * fb : 0;
  const p = d.projector;
  const merged = v.hidden * p.mergeFactor ** 2;
  const normBytes = p.norm === 'after-merge' ? 2 * merged * fb : p.norm === 'before-merge' ? normVectors * v.hidden * fb : 0;
  const projector = linearsBytes(projectorLinears(d), f) + normBytes;
  // Each DeepStack merger: LayerNorm over the merged vector + the projector's linears.
  const deepstack = deepstackTaps(d) * (linearsBytes(projectorLinears(d), f) + 2 * merged * fb);
  return embeddings + v.layers * perLayer + postNorm + projector + deepstack;
}

/** Tokens one attention window holds in a windowed block: the whole tile without windows. */
export function visionWindowTokens(d: VlmDescriptor): number {
  const v = d.vision;
  if (v.windowSize === undefined) return visionTokens(d);
  const side = v.windowSize / v.patchSize;
  return side * side;
}

/** Blocks that attend over the whole tile (all of them without window attention). */
export function fullAttentionBlocks(d: VlmDescriptor): number {
  return d.vision.windowSize === undefined ? d.vision.layers : (d.vision.fullAttentionBlocks ?? []).length;
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
  // The main merger, plus one merger per DeepStack tap over the same merged tokens.
  const mergers = 1 + deepstackTaps(d);
  const full = fullAttentionBlocks(d);
  const windowed = v.layers - full;
  return {
    bytes: visionWeightBytes(d, f),
    kvBytes: 0,
    matmulWeightBytes: v.layers * linearsWeightBytes(visionLayerLinears(d), f) + mergers * linearsWeightBytes(projectorLinears(d), f),
    linearOps: 2 * patches * patchIn * v.hidden + v.layers * 2 * t * layerParams + mergers * 2 * merged * sum(projectorLinears(d).map(params)),
    // Non-causal attention, QK^T and AV at 2 x tokens x attended x hidden ops each: over the whole
    // tile in full blocks, within a window (Qwen2.5-VL) in the others.
    attentionOps: full * 4 * t * t * v.hidden + windowed * 4 * t * visionWindowTokens(d) * v.hidden,
  };
}

/**
 * What DeepStack adds to a prefill: the decoder reads the features of every image token at
 * each level (float32 graph input) and adds them into the first layers' outputs. The adds are
 * element-wise, left out like the other non-matmul arithmetic; the bytes are counted.
 */
export function deepstackPrefillWork(d: VlmDescriptor, imageTokens: number): Work {
  const bytes = deepstackTaps(d) * imageTokens * d.llm.hidden * 4;
  return { bytes, matmulWeightBytes: 0, kvBytes: 0, linearOps: 0, attentionOps: 0 };
}

export function addWork(a: Work, b: Work): Work {
  return {
    bytes: a.bytes + b.bytes,
    matmulWeightBytes: a.matmulWeightBytes + b.matmulWeightBytes,
    kvBytes: a.kvBytes + b.kvBytes,
    linearOps: a.linearOps + b.linearOps,
    attentionOps: a.attentionOps + b.attentionOps,
  };
}

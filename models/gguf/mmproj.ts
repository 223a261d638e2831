/**
 * The vision tower + projector of a zoo descriptor as an mmproj GGUF in the form llama.cpp's
 * multimodal library (tools/mtmd, clip.cpp) loads: `clip.*` metadata keys, `v.*` / `mm.*`
 * tensor names, `clip.projector_type`. Same canonical random weights as the ONNX vision
 * encoder (models/layers/vision.ts names, models/weights/random.ts values), so both runtimes
 * encode an image with the same function.
 *
 * Written for the families whose mtmd graph equals the zoo's ONNX graph tensor for tensor:
 * - InternVL (`internvl` projector: InternViT with CLS token, layer scale, fused qkv, pixel
 *   shuffle, LayerNorm + MLP projector) — InternVL2.5-1B and InternVL3.5-1B.
 * Other families are refused with the reason (Qwen2-VL/2.5-VL/3-VL towers use 2-D RoPE, window
 * attention and DeepStack, whose mtmd tensor layouts are not written yet; SmolVLM's Idefics3
 * projector likewise).
 *
 * Two numerical differences that are llama.cpp's own, not the file's (docs/runtimes.md):
 * - mtmd's graph appends the CLS token after the patches (HF prepends it); attention without
 *   RoPE does not depend on order, so the position table is written in mtmd's order (patch
 *   rows, then the CLS row) and each token gets the same position vector as in the ONNX graph;
 * - `clip.use_gelu` selects ggml_gelu, the tanh approximation, where the ONNX graph uses
 *   erf GELU (com.microsoft Gelu); the difference is below 1e-3 per activation.
 */
import { InputError } from '../../core/errors.ts';
import type { VlmDescriptor } from '../descriptors.ts';
import { linearBias, linearWeight, type LinearSpec, type Precision } from '../layers/linear.ts';
import { biasTensor, gainTensor } from '../layers/norms.ts';
import { classEmbedding, layerScaleTensor, patchEmbeddingWeight, positionEmbedding } from '../layers/vision.ts';
import { PIXEL_CONVENTIONS } from '../preprocess/pixels.ts';
import { familyPreprocessing } from '../preprocess/plan.ts';
import { RandomTensor } from '../weights/random.ts';
import { f32, str, u32, type GgufTensor, type GgufValue } from './container.ts';
import { encodeMatrix, type GgmlTypeName } from './quants.ts';

/**
 * ggml type of the mmproj's matrices per zoo precision: F32 at fp32 (the form the embeddings
 * agreement is checked at), F16 otherwise — the form llama.cpp users ship mmproj files in
 * (converters write mmproj at F16 whatever the LLM's quantisation). Norms, biases, CLS and
 * position tables stay F32.
 */
export const MMPROJ_WEIGHT_TYPE: Record<Precision, GgmlTypeName> = { fp32: 'F32', fp16: 'F16', int8: 'F16', int4: 'F16' };

/** mtmd projector type per family; absent = not written (with the reason). */
const PROJECTOR_TYPE: Partial<Record<VlmDescriptor['family'], string>> = { internvl: 'internvl' };

const NOT_WRITTEN: Partial<Record<VlmDescriptor['family'], string>> = {
  'qwen2-vl': 'Qwen2-VL\'s tower (2-D RoPE, qwen2vl_merger) is not written as an mmproj yet',
  'qwen2_5-vl': 'Qwen2.5-VL\'s tower (window attention, gated MLP, qwen2.5vl_merger) is not written as an mmproj yet',
  'qwen3-vl': 'Qwen3-VL\'s tower (DeepStack, interpolated positions) is not written as an mmproj yet',
  smolvlm: 'SmolVLM\'s SigLIP + Idefics3 projector is not written as an mmproj yet',
};

/** The mtmd projector type of a descriptor, or the reason it has no mmproj. */
export function mmprojSupport(d: VlmDescriptor): { projector: string } | { reason: string } {
  const projector = PROJECTOR_TYPE[d.family];
  if (projector) return { projector };
  return { reason: NOT_WRITTEN[d.family] ?? `family ${d.family} has no mmproj writer` };
}

/** `[rows, cols]` matrix of a RandomTensor (ne = [cols, rows]). */
function matrix(name: string, type: GgmlTypeName, source: RandomTensor, rows: number, cols: number): GgufTensor {
  return { name, ne: [cols, rows], type, produce: encodeMatrix(type, rows, cols, (r, c) => source.at(r * cols + c)) };
}

function vector(name: string, source: RandomTensor): GgufTensor {
  return { name, ne: [source.size], type: 'F32', produce: encodeMatrix('F32', 1, source.size, (_r, c) => source.at(c)) };
}

function linearTensors(prefix: string, type: GgmlTypeName, seed: number, spec: LinearSpec): GgufTensor[] {
  const out = [matrix(`${prefix}.weight`, type, linearWeight(seed, spec), spec.outFeatures, spec.inFeatures)];
  if (spec.bias) out.push(vector(`${prefix}.bias`, linearBias(seed, spec)));
  return out;
}

/** Tensors of the InternVL mmproj, in mtmd's names and ggml shapes. */
export function internVlMmprojTensors(d: VlmDescriptor, seed: number, type: GgmlTypeName): GgufTensor[] {
  const v = d.vision;
  const p = d.projector;
  if (!v.clsToken || v.layerScale === null || v.postNorm || v.norm === 'rms' || v.mlp === 'gated' || p.norm !== 'after-merge' || p.layers.length !== 2) {
    throw new Error(`${d.id}: the InternVL mmproj writer expects InternViT (CLS, layer scale, LayerNorm, fc1/fc2) with LayerNorm + 2-layer MLP projector`);
  }
  const tensors: GgufTensor[] = [];
  const patch = patchEmbeddingWeight(seed, d);
  // PyTorch [out, in, kh, kw] is ggml [kw, kh, in, out]: the same bytes.
  tensors.push({
    name: 'v.patch_embd.weight',
    ne: [v.patchSize, v.patchSize, v.channels, v.hidden],
    type,
    produce: encodeMatrix(type, v.hidden * v.channels * v.patchSize, v.patchSize, (r, c) => patch.at(r * v.patchSize + c)),
  });
  tensors.push(vector('v.patch_embd.bias', new RandomTensor(seed, 'vision.embeddings.patch_embedding.bias', [v.hidden], { std: 0.02 })));
  tensors.push(vector('v.class_embd', classEmbedding(seed, d)));
  // ONNX order: [CLS, patch 0 .. N-1]; mtmd concatenates CLS after the patches.
  const pos = positionEmbedding(seed, d);
  const patches = (v.imageSize / v.patchSize) ** 2;
  tensors.push({
    name: 'v.position_embd.weight',
    ne: [v.hidden, patches + 1],
    type: 'F32',
    produce: encodeMatrix('F32', patches + 1, v.hidden, (r, c) => pos.at((r < patches ? r + 1 : 0) * v.hidden + c)),
  });
  for (let i = 0; i < v.layers; i++) {
    const src = `vision.encoder.layers.${i}`;
    const dst = `v.blk.${i}`;
    tensors.push(vector(`${dst}.ln1.weight`, gainTensor(seed, `${src}.norm1.weight`, v.hidden)));
    tensors.push(vector(`${dst}.ln1.bias`, biasTensor(seed, `${src}.norm1.bias`, v.hidden)));
    tensors.push(...linearTensors(`${dst}.attn_qkv`, type, seed, { name: `${src}.attn.qkv`, inFeatures: v.hidden, outFeatures: 3 * v.hidden, bias: v.qkvBias }));
    tensors.push(...linearTensors(`${dst}.attn_out`, type, seed, { name: `${src}.attn.proj`, inFeatures: v.hidden, outFeatures: v.hidden, bias: true }));
    tensors.push(vector(`${dst}.ls1.weight`, layerScaleTensor(seed, `${src}.ls1`, d)));
    tensors.push(vector(`${dst}.ln2.weight`, gainTensor(seed, `${src}.norm2.weight`, v.hidden)));
    tensors.push(vector(`${dst}.ln2.bias`, biasTensor(seed, `${src}.norm2.bias`, v.hidden)));
    tensors.push(...linearTensors(`${dst}.ffn_up`, type, seed, { name: `${src}.mlp.fc1`, inFeatures: v.hidden, outFeatures: v.intermediate, bias: true }));
    tensors.push(...linearTensors(`${dst}.ffn_down`, type, seed, { name: `${src}.mlp.fc2`, inFeatures: v.intermediate, outFeatures: v.hidden, bias: true }));
    tensors.push(vector(`${dst}.ls2.weight`, layerScaleTensor(seed, `${src}.ls2`, d)));
  }
  const merged = v.hidden * p.mergeFactor * p.mergeFactor;
  tensors.push(vector('mm.model.mlp.0.weight', gainTensor(seed, 'projector.norm.weight', merged)));
  tensors.push(vector('mm.model.mlp.0.bias', biasTensor(seed, 'projector.norm.bias', merged)));
  const [first, second] = p.layers as [Projector0, Projector0];
  tensors.push(...linearTensors('mm.model.mlp.1', type, seed, { name: 'projector.0', inFeatures: merged, outFeatures: first.out, bias: first.bias }));
  tensors.push(...linearTensors('mm.model.mlp.3', type, seed, { name: 'projector.1', inFeatures: first.out, outFeatures: second.out, bias: second.bias }));
  return tensors;
}

type Projector0 = VlmDescriptor['projector']['layers'][number];

export function mmprojMetadata(d: VlmDescriptor, seed: number, type: GgmlTypeName, projector: string): Array<[string, GgufValue]> {
  const v = d.vision;
  const family = familyPreprocessing(d.family);
  if (!family) throw new InputError(`mmproj GGUF: family ${d.family} has no reference preprocessing (pixel mean/std) in the zoo`);
  // The same normalisation the ONNX runner applies, so both runtimes see the same tensor.
  const pixels = PIXEL_CONVENTIONS[family];
  const floats = (values: readonly number[]): GgufValue => ({ type: 'array', itemType: 'float32', value: values });
  const fileType = type === 'F32' ? 0 : 1;
  return [
    ['general.architecture', str('clip')],
    ['general.type', str('mmproj')],
    ['general.name', str(`SYNTHETIC random weights: ${d.id} vision tower + projector (${d.scale}), seed ${seed}, not a trained model`)],
    ['general.description', str(`vlm-edge-bench model zoo: the ${d.description} vision encoder with random seeded weights, for latency measurement only`)],
    ['general.file_type', u32(fileType)],
    ['general.alignment', u32(32)],
    ['clip.projector_type', str(projector)],
    ['clip.has_vision_encoder', { type: 'bool', value: true }],
    ['clip.use_gelu', { type: 'bool', value: v.activation === 'gelu' || v.activation === 'gelu_tanh' }],
    ['clip.vision.image_size', u32(v.imageSize)],
    ['clip.vision.patch_size', u32(v.patchSize)],
    ['clip.vision.embedding_length', u32(v.hidden)],
    ['clip.vision.feed_forward_length', u32(v.intermediate)],
    ['clip.vision.block_count', u32(v.layers)],
    ['clip.vision.projection_dim', u32(d.llm.hidden)],
    ['clip.vision.attention.head_count', u32(v.heads)],
    ['clip.vision.attention.layer_norm_epsilon', f32(v.normEps)],
    ['clip.vision.image_mean', floats(pixels.mean)],
    ['clip.vision.image_std', floats(pixels.std)],
    ['clip.vision.projector.scale_factor', u32(d.projector.mergeFactor)],
  ];
}

/** Metadata and tensors of a descriptor's mmproj; InputError for a family with no writer. */
export function mmprojContent(d: VlmDescriptor, seed: number, precision: Precision): { metadata: Array<[string, GgufValue]>; tensors: GgufTensor[]; type: GgmlTypeName } {
  const support = mmprojSupport(d);
  if ('reason' in support) throw new InputError(`mmproj GGUF: ${support.reason}`);
  const type = MMPROJ_WEIGHT_TYPE[precision];
  return { metadata: mmprojMetadata(d, seed, type, support.projector), tensors: internVlMmprojTensors(d, seed, type), type };
}

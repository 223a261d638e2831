/**
 * The vision tower + projector of a zoo descriptor as an mmproj GGUF in the form llama.cpp's
 * multimodal library (tools/mtmd, clip.cpp) loads: `clip.*` metadata keys, `v.*` / `mm.*`
 * tensor names, `clip.projector_type`. Same canonical random weights as the ONNX vision
 * encoder (models/layers/vision.ts and qwen2-vision.ts names, models/weights/random.ts
 * values), so both runtimes encode an image with the same function. Read against llama.cpp
 * b10256 (checked again against the release node-llama-cpp 3.21.1 ships, which the image cells run): clip.cpp load_hparams / load_tensors,
 * models/internvl.cpp, models/qwen2vl.cpp, models/siglip.cpp; and convert_hf_to_gguf.py for
 * which HF tensor becomes which GGUF tensor.
 *
 * Projector types written:
 * - `internvl` (InternVL2.5-1B, InternVL3.5-1B): InternViT with CLS token, layer scale, fused
 *   qkv, pixel shuffle, LayerNorm + MLP projector. mtmd appends the CLS token after the patches
 *   (HF prepends it); attention without RoPE does not depend on order, so the position table is
 *   written in mtmd's order (patch rows, then the CLS row).
 * - `qwen2vl_merger` (Qwen2-VL-2B): the Conv3d patch embedding as two Conv2d kernels (one per
 *   temporal frame: `v.patch_embd.weight` and `.weight.1`; a still image goes through both, as
 *   the processor repeats it over the 2 frames), separate q/k/v, LayerNorm blocks, QuickGELU
 *   (neither `use_gelu` nor `use_silu`), 2-D RoPE (theta 10000, rows then columns: mtmd's
 *   vision M-RoPE with 4 equal sections is the same rotation), merger LayerNorm as `v.post_ln`,
 *   merger MLP as `mm.0` / `mm.2`.
 * - `qwen2.5vl_merger` (Qwen2.5-VL-3B): as Qwen2-VL with RMSNorm, a SiLU-gated MLP
 *   (`use_silu`, `ffn_gate`) and window attention: `clip.vision.n_wa_pattern` = n makes every
 *   n-th block full attention. mtmd fixes the window at 112 px for this projector (it does not
 *   read `clip.vision.window_size`), so a descriptor with other windows gets a file whose
 *   function differs from its ONNX encoder: written (same work, for timing) but labelled
 *   (`differs`, and in the file's description).
 * - `idefics3` (SmolVLM-256M): SigLIP (learned positions, no CLS, post-LayerNorm, gelu_tanh =
 *   ggml's GELU), pixel shuffle, `mm.model.fc` without bias; `clip.vision.preproc_image_size` =
 *   4 tiles (SmolVLM's size.longest_edge 2048 for 512 px tiles), as the converter writes it.
 * - `qwen3vl_merger` (Qwen3-VL-2B; read against llama.cpp v0.4.0 = node-llama-cpp's bundle,
 *   tools/mtmd/models/qwen3vl.cpp, clip.cpp, conversion/qwen3vl.py): the Qwen2-VL patch kernels
 *   plus `v.patch_embd.bias`, the learned position table `v.position_embd.weight` (HF row order
 *   h * n + w; mtmd resizes it to the patch grid bilinearly with aligned corners, which is HF's
 *   fast_pos_embed_interpolate on linspace(0, n-1) and the ONNX encoder's 4-row gather), fused
 *   `attn_qkv` (mtmd's graph reads only the fused form), LayerNorm blocks with gelu_tanh
 *   (`use_gelu`: ggml's GELU is the tanh form, exactly HF's gelu_pytorch_tanh), merger LayerNorm
 *   before the merge as `v.post_ln`, merger as `mm.0` / `mm.2`, and per DeepStack tap at block i
 *   `v.deepstack.{i}.norm|fc1|fc2` (LayerNorm after the merge; i = the block, as the converter
 *   maps deepstack_merger_list[k] to deepstack_visual_indexes[k]). mtmd appends the taps' outputs
 *   to each image token: n_embd x (1 + taps) per token, the ONNX encoder's image_features then
 *   deepstack_features[k]. mtmd's merger GELUs are ggml's tanh form where HF (nn.GELU) and the
 *   ONNX encoder use erf (about 1e-3 per activation). mtmd keeps an image between 8 and 4096
 *   tokens (clip.cpp set_limit_image_tokens; it reads no pixel limits from the file for this
 *   projector), where Qwen3-VL's processor keeps it between 64 and 16384.
 *
 * ggml's GELU (`use_gelu`, and the merger / projector GELUs mtmd hard-codes) is the tanh
 * approximation where the ONNX graphs of InternVL and Qwen use the erf form: differences around
 * 1e-3 per activation.
 */
import { InputError } from '../../core/errors.ts';
import type { VlmDescriptor } from '../descriptors.ts';
import { linearBias, linearWeight, type LinearSpec, type Precision } from '../layers/linear.ts';
import { biasTensor, gainTensor } from '../layers/norms.ts';
import { positionTable } from '../layers/qwen2-vision.ts';
import { classEmbedding, layerScaleTensor, patchEmbeddingWeight, positionEmbedding } from '../layers/vision.ts';
import { familyPixels } from '../preprocess/pixels.ts';
import { RandomTensor } from '../weights/random.ts';
import { f32, str, u32, type GgufTensor, type GgufValue } from './container.ts';
import { encodeMatrix, GGML_TYPES, type GgmlTypeName } from './quants.ts';

/**
 * ggml type of the mmproj's matrices per zoo precision: F32 at fp32 (the form the embeddings
 * agreement is checked at), F16 otherwise — the form llama.cpp users ship mmproj files in
 * (converters write mmproj at F16 whatever the LLM's quantisation). Norms, biases, CLS and
 * position tables stay F32. A suite may ask for another form (options.mmprojType).
 */
export const MMPROJ_WEIGHT_TYPE: Record<Precision, MmprojWeightType> = { fp32: 'F32', fp16: 'F16', int8: 'F16', int4: 'F16' };

/**
 * Forms the mmproj's matrices can be written in. Q8_0 is llama.cpp's 8-bit form (what
 * `llama-quantize` of an mmproj writes), to compare its image encoding with ORT's int8 vision
 * encoder at the same precision. At Q8_0 the patch-embedding kernels stay F16 (llama.cpp's mmproj
 * quantiser only quantises 2-D tensors, and ggml's im2col takes no quantised kernel), as does a
 * matrix whose rows are not a multiple of Q8_0's 32-value block.
 */
export const MMPROJ_WEIGHT_TYPES = ['F32', 'F16', 'Q8_0'] as const;
export type MmprojWeightType = (typeof MMPROJ_WEIGHT_TYPES)[number];

/** The mmproj form of a build: the one asked for, else the precision's default. */
export function mmprojWeightType(precision: Precision, chosen?: MmprojWeightType): MmprojWeightType {
  return chosen ?? MMPROJ_WEIGHT_TYPE[precision];
}

/** A suite's options.mmprojType, checked: undefined when not given; InputError naming the valid forms otherwise. */
export function parseMmprojType(value: unknown, where: string): MmprojWeightType | undefined {
  if (value === undefined) return undefined;
  const form = MMPROJ_WEIGHT_TYPES.find((t) => typeof value === 'string' && t.toLowerCase() === value.toLowerCase());
  if (!form) throw new InputError(`${where}: options.mmprojType must be one of ${MMPROJ_WEIGHT_TYPES.join(', ')}, got ${JSON.stringify(value)}`);
  return form;
}

/** The type a `[rows, cols]` matrix is written in: the mmproj's form, F16 where Q8_0's 32-value blocks do not tile a row. */
function matrixType(type: GgmlTypeName, cols: number): GgmlTypeName {
  return type === 'Q8_0' && cols % GGML_TYPES.Q8_0.blockSize !== 0 ? 'F16' : type;
}

/** The attention window mtmd's qwen2.5vl_merger graph uses, whatever the file says (clip.cpp set_input, `attn_window_size` default). */
export const MTMD_QWEN25VL_WINDOW_PX = 112;

type TensorWriter = (d: VlmDescriptor, seed: number, type: GgmlTypeName) => GgufTensor[];

interface FamilyWriter {
  projector: string;
  tensors: TensorWriter;
  /** Family-specific clip keys. */
  metadata: (d: VlmDescriptor) => Array<[string, GgufValue]>;
  /** Why mtmd's graph computes another function than the zoo's ONNX encoder for this descriptor, if it does. */
  differs?: (d: VlmDescriptor) => string | undefined;
}

export type MmprojSupport = { projector: string; differs?: string } | { reason: string };

/** The mtmd projector type of a descriptor (and where mtmd's function differs from the ONNX encoder's), or the reason it has no mmproj. */
export function mmprojSupport(d: VlmDescriptor): MmprojSupport {
  const writer = WRITERS[d.family];
  if (!writer) return { reason: `family ${d.family} has no mmproj writer` };
  const differs = writer.differs?.(d);
  return { projector: writer.projector, ...(differs ? { differs } : {}) };
}

/** `[rows, cols]` matrix of a RandomTensor (ne = [cols, rows]), optionally a row range of it. */
function matrix(name: string, form: GgmlTypeName, source: RandomTensor, rows: number, cols: number, rowOffset = 0): GgufTensor {
  const type = matrixType(form, cols);
  return { name, ne: [cols, rows], type, produce: encodeMatrix(type, rows, cols, (r, c) => source.at((rowOffset + r) * cols + c)) };
}

function vector(name: string, source: RandomTensor, offset = 0, length = source.size): GgufTensor {
  return { name, ne: [length], type: 'F32', produce: encodeMatrix('F32', 1, length, (_r, c) => source.at(offset + c)) };
}

function linearTensors(prefix: string, type: GgmlTypeName, seed: number, spec: LinearSpec): GgufTensor[] {
  const out = [matrix(`${prefix}.weight`, type, linearWeight(seed, spec), spec.outFeatures, spec.inFeatures)];
  if (spec.bias) out.push(vector(`${prefix}.bias`, linearBias(seed, spec)));
  return out;
}

/** A norm's gain (and bias, for LayerNorm) under mtmd's name. */
function normTensors(dst: string, seed: number, src: string, size: number, rms: boolean): GgufTensor[] {
  const out = [vector(`${dst}.weight`, gainTensor(seed, `${src}.weight`, size))];
  if (!rms) out.push(vector(`${dst}.bias`, biasTensor(seed, `${src}.bias`, size)));
  return out;
}

/** The fused qkv linear of block `src` as mtmd's separate attn_q / attn_k / attn_v (rows 0..h, h..2h, 2h..3h). */
function splitQkv(dst: string, type: GgmlTypeName, seed: number, src: string, d: VlmDescriptor): GgufTensor[] {
  const h = d.vision.hidden;
  const spec: LinearSpec = { name: `${src}.attn.qkv`, inFeatures: h, outFeatures: 3 * h, bias: d.vision.qkvBias };
  const w = linearWeight(seed, spec);
  const out: GgufTensor[] = [];
  ['q', 'k', 'v'].forEach((part, i) => {
    out.push(matrix(`${dst}.attn_${part}.weight`, type, w, h, h, i * h));
    if (spec.bias) out.push(vector(`${dst}.attn_${part}.bias`, linearBias(seed, spec), i * h, h));
  });
  return out;
}

/** A pre-norm block's attention half in mtmd's names: ln1, separate q/k/v, attn_out, ln2 (Qwen-VL and SigLIP towers). */
function attentionTensors(i: number, type: GgmlTypeName, seed: number, d: VlmDescriptor, rms: boolean): GgufTensor[] {
  const v = d.vision;
  const src = `vision.encoder.layers.${i}`;
  const dst = `v.blk.${i}`;
  return [
    ...normTensors(`${dst}.ln1`, seed, `${src}.norm1`, v.hidden, rms),
    ...splitQkv(dst, type, seed, src, d),
    ...linearTensors(`${dst}.attn_out`, type, seed, { name: `${src}.attn.proj`, inFeatures: v.hidden, outFeatures: v.hidden, bias: true }),
    ...normTensors(`${dst}.ln2`, seed, `${src}.norm2`, v.hidden, rms),
  ];
}

/** A PyTorch Conv2d kernel [out, in, kh, kw] is ggml [kw, kh, in, out]: the same bytes. `at(o, c, y, x)` reads the value. */
function convKernel(name: string, form: GgmlTypeName, d: VlmDescriptor, at: (o: number, c: number, y: number, x: number) => number): GgufTensor {
  // A quantised mmproj keeps its 4-D patch kernels F16 (see MMPROJ_WEIGHT_TYPES).
  const type = form === 'Q8_0' ? 'F16' : form;
  const v = d.vision;
  const P = v.patchSize;
  return {
    name,
    ne: [P, P, v.channels, v.hidden],
    type,
    produce: encodeMatrix(type, v.hidden * v.channels * P, P, (r, x) => at(Math.floor(r / (v.channels * P)), Math.floor(r / P) % v.channels, r % P, x)),
  };
}

function checkTower(d: VlmDescriptor, ok: boolean, expected: string): void {
  if (!ok) throw new Error(`${d.id}: the ${d.family} mmproj writer expects ${expected}`);
}

/** InternVL (`internvl`). */
function internVlTensors(d: VlmDescriptor, seed: number, type: GgmlTypeName): GgufTensor[] {
  const v = d.vision;
  const p = d.projector;
  checkTower(
    d,
    v.clsToken && v.layerScale !== null && !v.postNorm && v.norm !== 'rms' && v.mlp !== 'gated' && p.norm === 'after-merge' && p.layers.length === 2,
    'InternViT (CLS, layer scale, LayerNorm, fc1/fc2) with LayerNorm + 2-layer MLP projector',
  );
  const tensors: GgufTensor[] = [];
  const patch = patchEmbeddingWeight(seed, d);
  const P = v.patchSize;
  tensors.push(convKernel('v.patch_embd.weight', type, d, (o, c, y, x) => patch.at(((o * v.channels + c) * P + y) * P + x)));
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
    tensors.push(...normTensors(`${dst}.ln1`, seed, `${src}.norm1`, v.hidden, false));
    tensors.push(...linearTensors(`${dst}.attn_qkv`, type, seed, { name: `${src}.attn.qkv`, inFeatures: v.hidden, outFeatures: 3 * v.hidden, bias: v.qkvBias }));
    tensors.push(...linearTensors(`${dst}.attn_out`, type, seed, { name: `${src}.attn.proj`, inFeatures: v.hidden, outFeatures: v.hidden, bias: true }));
    tensors.push(vector(`${dst}.ls1.weight`, layerScaleTensor(seed, `${src}.ls1`, d)));
    tensors.push(...normTensors(`${dst}.ln2`, seed, `${src}.norm2`, v.hidden, false));
    tensors.push(...linearTensors(`${dst}.ffn_up`, type, seed, { name: `${src}.mlp.fc1`, inFeatures: v.hidden, outFeatures: v.intermediate, bias: true }));
    tensors.push(...linearTensors(`${dst}.ffn_down`, type, seed, { name: `${src}.mlp.fc2`, inFeatures: v.intermediate, outFeatures: v.hidden, bias: true }));
    tensors.push(vector(`${dst}.ls2.weight`, layerScaleTensor(seed, `${src}.ls2`, d)));
  }
  const merged = v.hidden * p.mergeFactor * p.mergeFactor;
  tensors.push(...normTensors('mm.model.mlp.0', seed, 'projector.norm', merged, false));
  const [first, second] = p.layers as [ProjectorLayer, ProjectorLayer];
  tensors.push(...linearTensors('mm.model.mlp.1', type, seed, { name: 'projector.0', inFeatures: merged, outFeatures: first.out, bias: first.bias }));
  tensors.push(...linearTensors('mm.model.mlp.3', type, seed, { name: 'projector.1', inFeatures: first.out, outFeatures: second.out, bias: second.bias }));
  return tensors;
}

type ProjectorLayer = VlmDescriptor['projector']['layers'][number];

/**
 * The Qwen-VL patch embedding: the Linear over flattened patches (row layout: channel, frame, y,
 * x) is the Conv3d; its frame t is a Conv2d kernel (`v.patch_embd.weight`, `.weight.1`), and
 * Qwen3-VL's bias is `v.patch_embd.bias`.
 */
function qwenPatchTensors(d: VlmDescriptor, seed: number, type: GgmlTypeName): GgufTensor[] {
  const v = d.vision;
  const P = v.patchSize;
  const T = v.temporalPatchSize!;
  const patchDim = v.channels * T * P * P;
  const spec: LinearSpec = { name: 'vision.patch_embed.proj', inFeatures: patchDim, outFeatures: v.hidden, bias: v.patchBias ?? false };
  const patch = linearWeight(seed, spec);
  const tensors: GgufTensor[] = [0, 1].map((t) =>
    convKernel(t === 0 ? 'v.patch_embd.weight' : 'v.patch_embd.weight.1', type, d, (o, c, y, x) => patch.at(o * patchDim + ((c * T + t) * P + y) * P + x)),
  );
  if (spec.bias) tensors.push(vector('v.patch_embd.bias', linearBias(seed, spec)));
  return tensors;
}

/** Qwen2-VL (`qwen2vl_merger`) and Qwen2.5-VL (`qwen2.5vl_merger`). */
function qwenVlTensors(d: VlmDescriptor, seed: number, type: GgmlTypeName): GgufTensor[] {
  const v = d.vision;
  const p = d.projector;
  const qwen25 = v.kind === 'qwen2_5-vit';
  checkTower(
    d,
    (v.kind === 'qwen2-vit' || qwen25) &&
      v.temporalPatchSize === 2 &&
      !v.patchBias &&
      p.mergeFactor === 2 &&
      p.norm === 'before-merge' &&
      p.normEps === v.normEps &&
      p.layers.length === 2 &&
      qwen25 === (v.mlp === 'gated'),
    'a Qwen2-VL / Qwen2.5-VL ViT (temporal patch 2, no patch bias, 2x2 merger: norm with the blocks\' eps, Linear, GELU, Linear)',
  );
  const rms = v.norm === 'rms';
  const tensors = qwenPatchTensors(d, seed, type);
  for (let i = 0; i < v.layers; i++) {
    const src = `vision.encoder.layers.${i}`;
    const dst = `v.blk.${i}`;
    tensors.push(...attentionTensors(i, type, seed, d, rms));
    const mlp = (name: string, proj: string, inF: number, outF: number) =>
      linearTensors(`${dst}.${name}`, type, seed, { name: `${src}.mlp.${proj}`, inFeatures: inF, outFeatures: outF, bias: true });
    if (v.mlp === 'gated') {
      tensors.push(...mlp('ffn_gate', 'gate_proj', v.hidden, v.intermediate), ...mlp('ffn_up', 'up_proj', v.hidden, v.intermediate));
      tensors.push(...mlp('ffn_down', 'down_proj', v.intermediate, v.hidden));
    } else {
      tensors.push(...mlp('ffn_up', 'fc1', v.hidden, v.intermediate), ...mlp('ffn_down', 'fc2', v.intermediate, v.hidden));
    }
  }
  // The merger's ln_q normalises each patch before the 2x2 merge: mtmd's post-layernorm.
  tensors.push(...normTensors('v.post_ln', seed, 'projector.norm', v.hidden, rms));
  tensors.push(...mergerMlpTensors(['mm.0', 'mm.2'], type, seed, 'projector', v.hidden * 4, d));
  return tensors;
}

/** The 2-layer merger MLP `src`.{0,1} as mtmd's `fc1` / `fc2` pair named by `names`, over `merged` inputs. */
function mergerMlpTensors(names: [string, string], type: GgmlTypeName, seed: number, src: string, merged: number, d: VlmDescriptor): GgufTensor[] {
  const [first, second] = d.projector.layers as [ProjectorLayer, ProjectorLayer];
  return [
    ...linearTensors(names[0], type, seed, { name: `${src}.0`, inFeatures: merged, outFeatures: first.out, bias: first.bias }),
    ...linearTensors(names[1], type, seed, { name: `${src}.1`, inFeatures: first.out, outFeatures: second.out, bias: second.bias }),
  ];
}

/** Qwen3-VL (`qwen3vl_merger`): learned interpolated positions, fused qkv, DeepStack mergers. */
function qwen3VlTensors(d: VlmDescriptor, seed: number, type: GgmlTypeName): GgufTensor[] {
  const v = d.vision;
  const p = d.projector;
  const table = v.positionEmbeddings ?? 0;
  const taps = v.deepstackLayers ?? [];
  checkTower(
    d,
    v.kind === 'qwen3-vit' &&
      v.temporalPatchSize === 2 &&
      v.patchBias === true &&
      table > 0 &&
      Number.isInteger(Math.sqrt(table)) &&
      v.qkvBias &&
      v.norm !== 'rms' &&
      v.mlp !== 'gated' &&
      v.activation === 'gelu_tanh' &&
      v.windowSize === undefined &&
      p.mergeFactor === 2 &&
      p.norm === 'before-merge' &&
      p.normEps === v.normEps &&
      p.layers.length === 2 &&
      p.layers.every((l) => l.bias) &&
      p.layers[0]!.activation === 'gelu' &&
      taps.every((t) => Number.isInteger(t) && t >= 0 && t < v.layers),
    'a Qwen3-VL ViT (temporal patch 2, patch bias, square learned position table, qkv bias, LayerNorm, gelu_tanh, no windows) with 2x2 mergers (Linear, GELU, Linear, with biases; the blocks\' eps) and DeepStack taps inside the tower',
  );
  const tensors = qwenPatchTensors(d, seed, type);
  tensors.push(matrix('v.position_embd.weight', 'F32', positionTable(seed, d), table, v.hidden));
  for (let i = 0; i < v.layers; i++) {
    const src = `vision.encoder.layers.${i}`;
    const dst = `v.blk.${i}`;
    tensors.push(...normTensors(`${dst}.ln1`, seed, `${src}.norm1`, v.hidden, false));
    tensors.push(...linearTensors(`${dst}.attn_qkv`, type, seed, { name: `${src}.attn.qkv`, inFeatures: v.hidden, outFeatures: 3 * v.hidden, bias: true }));
    tensors.push(...linearTensors(`${dst}.attn_out`, type, seed, { name: `${src}.attn.proj`, inFeatures: v.hidden, outFeatures: v.hidden, bias: true }));
    tensors.push(...normTensors(`${dst}.ln2`, seed, `${src}.norm2`, v.hidden, false));
    tensors.push(...linearTensors(`${dst}.ffn_up`, type, seed, { name: `${src}.mlp.fc1`, inFeatures: v.hidden, outFeatures: v.intermediate, bias: true }));
    tensors.push(...linearTensors(`${dst}.ffn_down`, type, seed, { name: `${src}.mlp.fc2`, inFeatures: v.intermediate, outFeatures: v.hidden, bias: true }));
  }
  const merged = v.hidden * 4;
  tensors.push(...normTensors('v.post_ln', seed, 'projector.norm', v.hidden, false));
  tensors.push(...mergerMlpTensors(['mm.0', 'mm.2'], type, seed, 'projector', merged, d));
  taps.forEach((block, k) => {
    const src = `projector.deepstack.${k}`;
    tensors.push(...normTensors(`v.deepstack.${block}.norm`, seed, `${src}.norm`, merged, false));
    tensors.push(...mergerMlpTensors([`v.deepstack.${block}.fc1`, `v.deepstack.${block}.fc2`], type, seed, src, merged, d));
  });
  return tensors;
}

/** Qwen2.5-VL: the block pattern mtmd can express (every n-th block full attention) and its fixed 112 px windows. */
function qwen25Differs(d: VlmDescriptor): string | undefined {
  const v = d.vision;
  if (v.windowSize !== MTMD_QWEN25VL_WINDOW_PX) {
    return `mtmd's qwen2.5vl_merger graph attends within ${MTMD_QWEN25VL_WINDOW_PX} px windows whatever the file says (clip.cpp does not read clip.vision.window_size for this projector); ${d.id} (${d.scale}) has ${String(v.windowSize)} px windows, so its windowed blocks attend over other tokens than the ONNX encoder's`;
  }
  const pattern = waPattern(d);
  if (pattern === undefined) {
    return `mtmd makes every n-th block full attention (clip.vision.n_wa_pattern); ${d.id} (${d.scale}) has full attention in blocks ${(v.fullAttentionBlocks ?? []).join(', ')}, not such a pattern`;
  }
  return undefined;
}

/** n such that the full-attention blocks are exactly n-1, 2n-1, ...; undefined when they are not. */
function waPattern(d: VlmDescriptor): number | undefined {
  const full = [...(d.vision.fullAttentionBlocks ?? [])].sort((a, b) => a - b);
  if (full.length === 0) return undefined;
  const n = full[0]! + 1;
  const expected: number[] = [];
  for (let b = n - 1; b < d.vision.layers; b += n) expected.push(b);
  return expected.length === full.length && expected.every((b, i) => b === full[i]) ? n : undefined;
}

/** SmolVLM (`idefics3`): SigLIP + pixel shuffle + Linear without bias. */
function idefics3Tensors(d: VlmDescriptor, seed: number, type: GgmlTypeName): GgufTensor[] {
  const v = d.vision;
  const p = d.projector;
  checkTower(
    d,
    v.kind === 'siglip' && !v.clsToken && v.layerScale === null && v.postNorm && v.norm !== 'rms' && v.mlp !== 'gated' && p.norm === null && p.layers.length === 1 && !p.layers[0]!.bias,
    'SigLIP (no CLS, post-LayerNorm, fc1/fc2) with a pixel shuffle and one Linear without bias',
  );
  const tensors: GgufTensor[] = [];
  const patch = patchEmbeddingWeight(seed, d);
  const P = v.patchSize;
  tensors.push(convKernel('v.patch_embd.weight', type, d, (o, c, y, x) => patch.at(((o * v.channels + c) * P + y) * P + x)));
  tensors.push(vector('v.patch_embd.bias', new RandomTensor(seed, 'vision.embeddings.patch_embedding.bias', [v.hidden], { std: 0.02 })));
  const patches = (v.imageSize / v.patchSize) ** 2;
  const pos = positionEmbedding(seed, d);
  tensors.push(matrix('v.position_embd.weight', 'F32', pos, patches, v.hidden));
  for (let i = 0; i < v.layers; i++) {
    const src = `vision.encoder.layers.${i}`;
    const dst = `v.blk.${i}`;
    tensors.push(...attentionTensors(i, type, seed, d, false));
    tensors.push(...linearTensors(`${dst}.ffn_up`, type, seed, { name: `${src}.mlp.fc1`, inFeatures: v.hidden, outFeatures: v.intermediate, bias: true }));
    tensors.push(...linearTensors(`${dst}.ffn_down`, type, seed, { name: `${src}.mlp.fc2`, inFeatures: v.intermediate, outFeatures: v.hidden, bias: true }));
  }
  tensors.push(...normTensors('v.post_ln', seed, 'vision.post_layernorm', v.hidden, false));
  const merged = v.hidden * p.mergeFactor * p.mergeFactor;
  tensors.push(matrix('mm.model.fc.weight', type, linearWeight(seed, { name: 'projector.0', inFeatures: merged, outFeatures: p.layers[0]!.out, bias: false }), p.layers[0]!.out, merged));
  return tensors;
}

/** SmolVLM's size.longest_edge is 4 tiles (2048 for 512 px tiles): images are resized to it and split into tiles plus a global image. */
export const IDEFICS3_LONGEST_EDGE_TILES = 4;

const WRITERS: Partial<Record<VlmDescriptor['family'], FamilyWriter>> = {
  internvl: { projector: 'internvl', tensors: internVlTensors, metadata: (d) => [['clip.vision.projector.scale_factor', u32(d.projector.mergeFactor)]] },
  'qwen2-vl': {
    projector: 'qwen2vl_merger',
    tensors: qwenVlTensors,
    metadata: (d) => [['clip.vision.spatial_merge_size', u32(d.projector.mergeFactor)]],
  },
  'qwen2_5-vl': {
    projector: 'qwen2.5vl_merger',
    tensors: qwenVlTensors,
    metadata: (d) => [
      ['clip.vision.spatial_merge_size', u32(d.projector.mergeFactor)],
      // What the file can say: the pattern (0 = no window attention when it cannot be expressed, which differs() reports) and the window, which mtmd ignores.
      ['clip.vision.n_wa_pattern', u32(waPattern(d) ?? 0)],
      ['clip.vision.window_size', u32(d.vision.windowSize ?? 0)],
    ],
    differs: qwen25Differs,
  },
  'qwen3-vl': {
    projector: 'qwen3vl_merger',
    tensors: qwen3VlTensors,
    // The converter also writes clip.vision.is_deepstack_layers; clip.cpp v0.4.0 does not read it (it counts the v.deepstack tensors).
    metadata: (d) => [['clip.vision.spatial_merge_size', u32(d.projector.mergeFactor)]],
  },
  smolvlm: {
    projector: 'idefics3',
    tensors: idefics3Tensors,
    metadata: (d) => [
      ['clip.vision.projector.scale_factor', u32(d.projector.mergeFactor)],
      ['clip.vision.preproc_image_size', u32(IDEFICS3_LONGEST_EDGE_TILES * d.vision.imageSize)],
    ],
  },
};

/** clip.use_gelu / clip.use_silu: mtmd's block activation (neither = QuickGELU). */
function activationKeys(d: VlmDescriptor): Array<[string, GgufValue]> {
  const a = d.vision.activation;
  return [
    ['clip.use_gelu', { type: 'bool', value: a === 'gelu' || a === 'gelu_tanh' }],
    ['clip.use_silu', { type: 'bool', value: a === 'silu' }],
  ];
}

export function mmprojMetadata(d: VlmDescriptor, seed: number, type: GgmlTypeName, support: { projector: string; differs?: string }): Array<[string, GgufValue]> {
  const v = d.vision;
  // The reference processor's normalisation, as the ONNX runner applies it, so both runtimes see the same tensor.
  const pixels = familyPixels(d.family);
  if (!pixels) throw new InputError(`mmproj GGUF: family ${d.family} has no reference pixel mean/std in the zoo`);
  const floats = (values: readonly number[]): GgufValue => ({ type: 'array', itemType: 'float32', value: values });
  // llama_ftype: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7.
  const fileType = type === 'F32' ? 0 : type === 'Q8_0' ? 7 : 1;
  const caveat = support.differs ? ` NOT the ONNX encoder's function in llama.cpp: ${support.differs}.` : '';
  return [
    ['general.architecture', str('clip')],
    ['general.type', str('mmproj')],
    ['general.name', str(`SYNTHETIC random weights: ${d.id} vision tower + projector (${d.scale}), seed ${seed}, not a trained model`)],
    ['general.description', str(`vlm-edge-bench model zoo: the ${d.description} vision encoder with random seeded weights, for latency measurement only.${caveat}`)],
    ['general.file_type', u32(fileType)],
    ['general.alignment', u32(32)],
    ['clip.projector_type', str(support.projector)],
    ['clip.has_vision_encoder', { type: 'bool', value: true }],
    ...activationKeys(d),
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
    ...WRITERS[d.family]!.metadata(d),
  ];
}

/** Metadata and tensors of a descriptor's mmproj; InputError for a family with no writer. */
export function mmprojContent(
  d: VlmDescriptor,
  seed: number,
  precision: Precision,
  chosen?: MmprojWeightType,
): { metadata: Array<[string, GgufValue]>; tensors: GgufTensor[]; type: MmprojWeightType; differs?: string } {
  const support = mmprojSupport(d);
  if ('reason' in support) throw new InputError(`mmproj GGUF: ${support.reason}`);
  const type = mmprojWeightType(precision, chosen);
  return {
    metadata: mmprojMetadata(d, seed, type, support),
    tensors: WRITERS[d.family]!.tensors(d, seed, type),
    type,
    ...(support.differs ? { differs: support.differs } : {}),
  };
}

/**
 * Vision tower + projector for patch-conv ViTs (InternViT, SigLIP): `pixel_values [n, 3, S, S]`
 * -> `[n, tokens_per_tile, llm_hidden]`. Attention is com.microsoft.MultiHeadAttention (ORT's
 * fused CPU kernel); biases, GELU and Add+LayerNorm are left to ORT's own fusions.
 *
 * Canonical weight names: vision.embeddings.{patch_embedding.{weight,bias}, class_embedding,
 * position_embedding}, vision.encoder.layers.{i}.{norm1,norm2}.{weight,bias},
 * .attn.qkv.{weight,bias}, .attn.proj.{weight,bias}, .ls1, .ls2, .mlp.fc1/.mlp.fc2,
 * vision.post_layernorm, projector.norm, projector.{j}.
 */
import type { VlmDescriptor } from '../descriptors.ts';
import { MS_DOMAIN, int, type GraphBuilder } from '../onnx/graph-builder.ts';
import { produceFlat } from '../weights/encode.ts';
import { RandomTensor } from '../weights/random.ts';
import { linear, type LinearOptions } from './linear.ts';
import { emitVector, layerNorm, rmsNorm } from './norms.ts';

const INT64_MAX = Number.MAX_SAFE_INTEGER;

export function patchEmbeddingWeight(seed: number, d: VlmDescriptor): RandomTensor {
  const v = d.vision;
  const fanIn = v.channels * v.patchSize * v.patchSize;
  return new RandomTensor(seed, 'vision.embeddings.patch_embedding.weight', [v.hidden, v.channels, v.patchSize, v.patchSize], {
    std: 1 / Math.sqrt(fanIn),
  });
}

export function positionEmbedding(seed: number, d: VlmDescriptor): RandomTensor {
  const v = d.vision;
  const side = v.imageSize / v.patchSize;
  return new RandomTensor(seed, 'vision.embeddings.position_embedding', [1, side * side + (v.clsToken ? 1 : 0), v.hidden], { std: 0.5 });
}

export function classEmbedding(seed: number, d: VlmDescriptor): RandomTensor {
  return new RandomTensor(seed, 'vision.embeddings.class_embedding', [1, 1, d.vision.hidden], { std: 0.5 });
}

export function layerScaleTensor(seed: number, name: string, d: VlmDescriptor): RandomTensor {
  return new RandomTensor(seed, name, [d.vision.hidden], { std: 0.01, mean: d.vision.layerScale ?? 1 });
}

/** Large float tensors outside MatMuls (conv, position table) follow the weight storage type. */
export function emitFloat(g: GraphBuilder, t: RandomTensor, lin: LinearOptions): string {
  if (lin.precision === 'fp16') {
    const half = g.weight(`${t.name}_fp16`, 'float16', t.shape, produceFlat(t, 'float16'));
    return g.op('Cast', [half], { to: int(1) });
  }
  return g.weight(t.name, 'float32', t.shape, produceFlat(t, 'float32'));
}

export function visionEncoder(g: GraphBuilder, pixels: string, d: VlmDescriptor, lin: LinearOptions): string {
  const v = d.vision;
  const seed = lin.seed;
  if (v.kind !== 'internvit' && v.kind !== 'siglip') throw new Error(`vision tower kind ${v.kind} is not built by the patch-conv ViT builder`);
  const side = v.imageSize / v.patchSize;
  const patches = side * side;

  const convW = emitFloat(g, patchEmbeddingWeight(seed, d), lin);
  const convB = emitVector(g, new RandomTensor(seed, 'vision.embeddings.patch_embedding.bias', [v.hidden], { std: 0.02 }));
  const conv = g.op('Conv', [pixels, convW, convB], {
    kernel_shape: { ints: [v.patchSize, v.patchSize] },
    strides: { ints: [v.patchSize, v.patchSize] },
  });
  // [n, C, side, side] -> [n, side*side, C]
  let x = g.op('Transpose', [g.op('Reshape', [conv, g.i64([0, v.hidden, patches])])], { perm: { ints: [0, 2, 1] } });
  if (v.clsToken) {
    const cls = emitVector(g, classEmbedding(seed, d));
    const n = g.op('Slice', [g.op('Shape', [pixels]), g.i64([0]), g.i64([1])]);
    const clsShape = g.op('Concat', [n, g.i64([1, v.hidden])], { axis: int(0) });
    x = g.op('Concat', [g.op('Expand', [cls, clsShape]), x], { axis: int(1) });
  }
  x = g.op('Add', [x, emitFloat(g, positionEmbedding(seed, d), lin)]);

  for (let i = 0; i < v.layers; i++) x = vitBlock(g, x, d, lin, i);
  if (v.postNorm) x = layerNorm(g, x, seed, 'vision.post_layernorm', v.hidden, v.normEps);
  if (v.clsToken) x = g.op('Slice', [x, g.i64([1]), g.i64([INT64_MAX]), g.i64([1])]);

  return projector(g, pixelShuffle(g, x, side, v.hidden, d.projector.mergeFactor), d, lin);
}

/** Rotary inputs for towers with RoPE inside attention (Qwen2-VL): RotaryEmbedding operands. */
export interface VisionRope {
  positions: string;
  cos: string;
  sin: string;
}

export function activation(g: GraphBuilder, x: string, kind: VlmDescriptor['vision']['activation']): string {
  if (kind === 'silu') return g.op('Mul', [x, g.op('Sigmoid', [x])]);
  const op = kind === 'gelu' ? 'Gelu' : kind === 'gelu_tanh' ? 'FastGelu' : 'QuickGelu';
  return g.op(op, [x], {}, MS_DOMAIN);
}

/** The tower's block norm: LayerNorm with bias, or RMSNorm (Qwen2.5-VL). */
export function visionNorm(g: GraphBuilder, x: string, d: VlmDescriptor, seed: number, name: string, size: number, eps: number): string {
  return d.vision.norm === 'rms' ? rmsNorm(g, x, seed, name, size, eps) : layerNorm(g, x, seed, name, size, eps);
}

/**
 * One pre-norm ViT block: x + ls1 * attn(norm1(x)), then x + ls2 * mlp(norm2(x)). With
 * `windowTokens`, attention runs within consecutive windows of that many tokens (Qwen2.5-VL's
 * windowed blocks, whose tokens the caller has put in window order); RoPE is applied on the
 * whole sequence first because its tables are indexed by sequence position.
 */
export function vitBlock(
  g: GraphBuilder,
  x: string,
  d: VlmDescriptor,
  lin: LinearOptions,
  i: number,
  rope?: VisionRope,
  windowTokens?: number,
): string {
  const v = d.vision;
  const seed = lin.seed;
  const p = `vision.encoder.layers.${i}`;
  const h1 = visionNorm(g, x, d, seed, `${p}.norm1`, v.hidden, v.normEps);
  const qkv = linear(g, h1, { name: `${p}.attn.qkv`, inFeatures: v.hidden, outFeatures: 3 * v.hidden, bias: v.qkvBias }, lin);
  let [q, k, vv] = g.node('Split', [qkv, g.i64([v.hidden, v.hidden, v.hidden])], 3, { axis: int(-1) }) as [string, string, string];
  if (rope) {
    const attrs = { num_heads: int(v.heads), interleaved: int(0) };
    q = g.op('RotaryEmbedding', [q, rope.positions, rope.cos, rope.sin], attrs, MS_DOMAIN);
    k = g.op('RotaryEmbedding', [k, rope.positions, rope.cos, rope.sin], attrs, MS_DOMAIN);
  }
  let attn: string;
  if (windowTokens !== undefined) {
    const windows = g.i64([-1, windowTokens, v.hidden]);
    const inWindows = (t: string): string => g.op('Reshape', [t, windows]);
    attn = g.op('MultiHeadAttention', [inWindows(q), inWindows(k), inWindows(vv)], { num_heads: int(v.heads) }, MS_DOMAIN);
    attn = g.op('Reshape', [attn, g.op('Shape', [x])]);
  } else {
    attn = g.op('MultiHeadAttention', [q, k, vv], { num_heads: int(v.heads) }, MS_DOMAIN);
  }
  let branch = linear(g, attn, { name: `${p}.attn.proj`, inFeatures: v.hidden, outFeatures: v.hidden, bias: true }, lin);
  if (v.layerScale !== null) branch = g.op('Mul', [branch, emitVector(g, layerScaleTensor(seed, `${p}.ls1`, d))]);
  const mid = g.op('Add', [x, branch]);

  const h2 = visionNorm(g, mid, d, seed, `${p}.norm2`, v.hidden, v.normEps);
  if (v.mlp === 'gated') {
    // Qwen2.5-VL: down(silu(gate(x)) * up(x)), every projection with a bias.
    const gate = linear(g, h2, { name: `${p}.mlp.gate_proj`, inFeatures: v.hidden, outFeatures: v.intermediate, bias: true }, lin);
    const up = linear(g, h2, { name: `${p}.mlp.up_proj`, inFeatures: v.hidden, outFeatures: v.intermediate, bias: true }, lin);
    const act = g.op('Mul', [activation(g, gate, 'silu'), up]);
    branch = linear(g, act, { name: `${p}.mlp.down_proj`, inFeatures: v.intermediate, outFeatures: v.hidden, bias: true }, lin);
  } else {
    const fc1 = linear(g, h2, { name: `${p}.mlp.fc1`, inFeatures: v.hidden, outFeatures: v.intermediate, bias: true }, lin);
    const act = activation(g, fc1, v.activation);
    branch = linear(g, act, { name: `${p}.mlp.fc2`, inFeatures: v.intermediate, outFeatures: v.hidden, bias: true }, lin);
  }
  if (v.layerScale !== null) branch = g.op('Mul', [branch, emitVector(g, layerScaleTensor(seed, `${p}.ls2`, d))]);
  return g.op('Add', [mid, branch]);
}

/**
 * InternVL pixel_shuffle (ps_version v2) / Idefics3 pixel_shuffle: `[n, s*s, c]` ->
 * `[n, (s/r)^2, c*r^2]`, via view(n, s, s/r, c*r), permute(0,2,1,3), view(n, s/r, s/r, c*r*r),
 * permute(0,2,1,3).
 */
export function pixelShuffle(g: GraphBuilder, x: string, side: number, channels: number, r: number): string {
  if (r === 1) return x;
  const s2 = side / r;
  const perm = { perm: { ints: [0, 2, 1, 3] } };
  let y = g.op('Reshape', [x, g.i64([-1, side, s2, channels * r])]);
  y = g.op('Transpose', [y], perm);
  y = g.op('Reshape', [y, g.i64([-1, s2, s2, channels * r * r])]);
  y = g.op('Transpose', [y], perm);
  return g.op('Reshape', [y, g.i64([-1, s2 * s2, channels * r * r])]);
}

function projector(g: GraphBuilder, x: string, d: VlmDescriptor, lin: LinearOptions): string {
  const p = d.projector;
  let width = d.vision.hidden * p.mergeFactor * p.mergeFactor;
  let y = x;
  if (p.norm === 'after-merge') y = layerNorm(g, y, lin.seed, 'projector.norm', width, p.normEps);
  if (p.norm === 'before-merge') throw new Error('projector norm before merge is only used by the Qwen2-VL tower');
  p.layers.forEach((layer, j) => {
    y = linear(g, y, { name: `projector.${j}`, inFeatures: width, outFeatures: layer.out, bias: layer.bias }, lin);
    if (layer.activation === 'gelu') y = g.op('Gelu', [y], {}, MS_DOMAIN);
    width = layer.out;
  });
  return y;
}

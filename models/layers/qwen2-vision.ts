/**
 * Qwen2-VL vision tower + PatchMerger: flattened patches `[num_patches, 3*2*14*14]` (the
 * processor's layout: each image's patches in 2x2 merge-window order) -> `[num_patches/4,
 * llm_hidden]`. The patch Conv3d (kernel = stride = patch) is the Linear it is equivalent to.
 * Every image is assumed to be `imageSize` square (a fixed grid): the 2-D RoPE tables are
 * baked for that grid and attention runs per image ([n, grid², C]), which is what cu_seqlens
 * does for same-sized images.
 *
 * Canonical weights: vision.patch_embed.proj.weight, vision.encoder.layers.{i}.* (as vitBlock),
 * projector.norm (ln_q), projector.{0,1}.
 */
import type { VlmDescriptor } from '../descriptors.ts';
import type { GraphBuilder } from '../onnx/graph-builder.ts';
import { MS_DOMAIN } from '../onnx/graph-builder.ts';
import { linear, type LinearOptions } from './linear.ts';
import { layerNorm } from './norms.ts';
import { vitBlock } from './vision.ts';

/** Vision RoPE base (Qwen2-VL VisionRotaryEmbedding default). */
const VISION_ROPE_THETA = 10000;

/** Patch (h, w) of the p-th patch in merge-window order: windows row-major, 2x2 inside. */
export function patchGridPosition(p: number, side: number, merge: number): { h: number; w: number } {
  const inWindow = merge * merge;
  const window = Math.floor(p / inWindow);
  const inner = p % inWindow;
  const windowsPerRow = side / merge;
  return {
    h: Math.floor(window / windowsPerRow) * merge + Math.floor(inner / merge),
    w: (window % windowsPerRow) * merge + (inner % merge),
  };
}

/**
 * cos/sin `[patches, headDim/2]`: the first half of the rotary dims turns with the patch row,
 * the second with the column (freqs = cat(h * inv_freq, w * inv_freq), inv_freq over headDim/2).
 */
export function visionRopeTables(d: VlmDescriptor): { cos: Float32Array; sin: Float32Array } {
  const v = d.vision;
  const side = v.imageSize / v.patchSize;
  const patches = side * side;
  const half = v.headDim / 2;
  const quarter = half / 2;
  const cos = new Float32Array(patches * half);
  const sin = new Float32Array(patches * half);
  for (let p = 0; p < patches; p++) {
    const { h, w } = patchGridPosition(p, side, d.projector.mergeFactor);
    for (let j = 0; j < half; j++) {
      const pos = j < quarter ? h : w;
      const freq = Math.pow(VISION_ROPE_THETA, (-2 * (j % quarter)) / half);
      cos[p * half + j] = Math.cos(pos * freq);
      sin[p * half + j] = Math.sin(pos * freq);
    }
  }
  return { cos, sin };
}

export function qwen2VisionEncoder(g: GraphBuilder, patches: string, d: VlmDescriptor, lin: LinearOptions): string {
  const v = d.vision;
  const side = v.imageSize / v.patchSize;
  const perImage = side * side;
  const patchDim = v.channels * (v.temporalPatchSize ?? 1) * v.patchSize * v.patchSize;
  let x = linear(g, patches, { name: 'vision.patch_embed.proj', inFeatures: patchDim, outFeatures: v.hidden, bias: false }, lin);
  x = g.op('Reshape', [x, g.i64([-1, perImage, v.hidden])]);

  const tables = visionRopeTables(d);
  const half = v.headDim / 2;
  const rope = {
    // A single start position: patch s of every image uses row s of the tables.
    positions: g.i64([0], 'vision_rope_start'),
    cos: g.weight('vision.rope.cos', 'float32', [perImage, half], (emit) => emit(tables.cos)),
    sin: g.weight('vision.rope.sin', 'float32', [perImage, half], (emit) => emit(tables.sin)),
  };
  for (let i = 0; i < v.layers; i++) x = vitBlock(g, x, d, lin, i, rope);

  const p = d.projector;
  let y = layerNorm(g, x, lin.seed, 'projector.norm', v.hidden, p.normEps);
  let width = v.hidden * p.mergeFactor * p.mergeFactor;
  // Merge windows are consecutive patches, so merging is a reshape.
  y = g.op('Reshape', [y, g.i64([-1, width])]);
  p.layers.forEach((layer, j) => {
    y = linear(g, y, { name: `projector.${j}`, inFeatures: width, outFeatures: layer.out, bias: layer.bias }, lin);
    if (layer.activation === 'gelu') y = g.op('Gelu', [y], {}, MS_DOMAIN);
    width = layer.out;
  });
  return y;
}

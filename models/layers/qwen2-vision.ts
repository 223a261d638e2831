/**
 * The Qwen-VL vision towers + patch mergers (Qwen2-VL, Qwen2.5-VL, Qwen3-VL): flattened patches
 * `[num_patches, 3*2*P*P]` (the processor's layout: each image's patches in 2x2 merge-window
 * order) -> `[num_patches/4, llm_hidden]`. The patch Conv3d (kernel = stride = patch) is the
 * Linear it is equivalent to. Every image is assumed to be `imageSize` square (a fixed grid):
 * the 2-D RoPE tables, window order and position interpolation are baked for that grid and
 * attention runs per image ([n, grid², C]), which is what cu_seqlens does for same-sized images.
 *
 * Per tower:
 * - Qwen2-VL: LayerNorm blocks, QuickGELU MLP, LayerNorm merger.
 * - Qwen2.5-VL: RMSNorm blocks, SwiGLU MLP, window attention (merge units reordered so each
 *   window is contiguous, attention within windows except in `fullAttentionBlocks`, order
 *   restored after the merger, as get_window_index / reverse_indices do), RMSNorm merger.
 * - Qwen3-VL: patch bias, a learned position table bilinearly interpolated to the grid
 *   (fast_pos_embed_interpolate: 4 gathered rows per patch, weighted), LayerNorm blocks,
 *   gelu-tanh MLP, LayerNorm merger, and DeepStack: the outputs of `deepstackLayers` blocks each
 *   through their own merger (LayerNorm after the merge) as extra features for the LLM.
 *
 * Canonical weights: vision.patch_embed.proj.{weight,bias}, vision.pos_embed,
 * vision.encoder.layers.{i}.* (as vitBlock), projector.norm (ln_q), projector.{0,1},
 * projector.deepstack.{k}.{norm,0,1}.
 */
import type { VlmDescriptor } from '../descriptors.ts';
import type { GraphBuilder } from '../onnx/graph-builder.ts';
import { MS_DOMAIN, int } from '../onnx/graph-builder.ts';
import { RandomTensor } from '../weights/random.ts';
import { linear, type LinearOptions } from './linear.ts';
import { layerNorm } from './norms.ts';
import { emitFloat, visionNorm, vitBlock } from './vision.ts';

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
 * Qwen2.5-VL get_window_index for one square image whose grid divides into windows: merge
 * units (2x2 patch groups, row-major over the unit grid) listed window by window (windows
 * row-major, units row-major inside each). Entry j = the original unit at window-order slot j.
 */
export function windowOrder(d: VlmDescriptor): number[] {
  const v = d.vision;
  if (v.windowSize === undefined) throw new Error(`${d.id}: no window attention`);
  const m = d.projector.mergeFactor;
  const units = v.imageSize / v.patchSize / m;
  const perWindow = v.windowSize / v.patchSize / m;
  const order: number[] = [];
  for (let wr = 0; wr < units / perWindow; wr++) {
    for (let wc = 0; wc < units / perWindow; wc++) {
      for (let r = 0; r < perWindow; r++) {
        for (let c = 0; c < perWindow; c++) order.push((wr * perWindow + r) * units + wc * perWindow + c);
      }
    }
  }
  return order;
}

/** Patches per attention window of a windowed block. */
export function windowPatches(d: VlmDescriptor): number {
  const v = d.vision;
  const side = (v.windowSize ?? v.imageSize) / v.patchSize;
  return side * side;
}

/**
 * cos/sin `[patches, headDim/2]`: the first half of the rotary dims turns with the patch row,
 * the second with the column (freqs = cat(h * inv_freq, w * inv_freq), inv_freq over headDim/2).
 * Row s is for the patch at sequence position s: merge-window order, or, with `unitOrder`, the
 * merge units rearranged as listed (window order).
 */
function visionRopeTables(d: VlmDescriptor, unitOrder?: number[]): { cos: Float32Array; sin: Float32Array } {
  const v = d.vision;
  const side = v.imageSize / v.patchSize;
  const patches = side * side;
  const perUnit = d.projector.mergeFactor ** 2;
  const half = v.headDim / 2;
  const quarter = half / 2;
  const cos = new Float32Array(patches * half);
  const sin = new Float32Array(patches * half);
  for (let s = 0; s < patches; s++) {
    const unit = Math.floor(s / perUnit);
    const p = (unitOrder ? (unitOrder[unit] as number) : unit) * perUnit + (s % perUnit);
    const { h, w } = patchGridPosition(p, side, d.projector.mergeFactor);
    for (let j = 0; j < half; j++) {
      const pos = j < quarter ? h : w;
      const freq = Math.pow(VISION_ROPE_THETA, (-2 * (j % quarter)) / half);
      cos[s * half + j] = Math.cos(pos * freq);
      sin[s * half + j] = Math.sin(pos * freq);
    }
  }
  return { cos, sin };
}

/**
 * Qwen3-VL fast_pos_embed_interpolate for the fixed grid: per patch (merge-window order) the 4
 * table rows around its place on a linspace(0, n-1) grid and their bilinear weights.
 */
export function positionInterpolation(d: VlmDescriptor): { indices: BigInt64Array; weights: Float32Array } {
  const v = d.vision;
  if (v.positionEmbeddings === undefined) throw new Error(`${d.id}: no learned position table`);
  const n = Math.round(Math.sqrt(v.positionEmbeddings));
  const side = v.imageSize / v.patchSize;
  const patches = side * side;
  const at = (i: number): number => (side === 1 ? 0 : (i * (n - 1)) / (side - 1));
  const indices = new BigInt64Array(4 * patches);
  const weights = new Float32Array(4 * patches);
  for (let p = 0; p < patches; p++) {
    const { h, w } = patchGridPosition(p, side, d.projector.mergeFactor);
    const hy = at(h);
    const wx = at(w);
    const h0 = Math.floor(hy);
    const w0 = Math.floor(wx);
    const h1 = Math.min(h0 + 1, n - 1);
    const w1 = Math.min(w0 + 1, n - 1);
    const dh = hy - h0;
    const dw = wx - w0;
    const corners: Array<[number, number]> = [
      [h0 * n + w0, (1 - dh) * (1 - dw)],
      [h0 * n + w1, (1 - dh) * dw],
      [h1 * n + w0, dh * (1 - dw)],
      [h1 * n + w1, dh * dw],
    ];
    corners.forEach(([row, weight], k) => {
      indices[k * patches + p] = BigInt(row);
      weights[k * patches + p] = weight;
    });
  }
  return { indices, weights };
}

export function positionTable(seed: number, d: VlmDescriptor): RandomTensor {
  return new RandomTensor(seed, 'vision.pos_embed', [d.vision.positionEmbeddings ?? 0, d.vision.hidden], { std: 0.5 });
}

export interface QwenVisionOutputs {
  /** `[num_images * tokens, llm_hidden]`. */
  features: string;
  /** DeepStack features, one `[num_images * tokens, llm_hidden]` per tapped block (Qwen3-VL). */
  deepstack: string[];
}

/**
 * A patch merger: 2x2 neighbouring patches (consecutive in merge-window order) concatenated
 * into one token and projected. `norm: 'before'` normalises each patch first (ln_q, the main
 * merger); `'after'` normalises the merged vector (Qwen3-VL's DeepStack mergers).
 */
function patchMerger(g: GraphBuilder, x: string, d: VlmDescriptor, lin: LinearOptions, name: string, norm: 'before' | 'after'): string {
  const v = d.vision;
  const p = d.projector;
  let width = v.hidden * p.mergeFactor * p.mergeFactor;
  let y = x;
  if (norm === 'before') y = visionNorm(g, y, d, lin.seed, `${name}.norm`, v.hidden, p.normEps);
  y = g.op('Reshape', [y, g.i64([-1, width])]);
  if (norm === 'after') y = layerNorm(g, y, lin.seed, `${name}.norm`, width, p.normEps);
  p.layers.forEach((layer, j) => {
    y = linear(g, y, { name: `${name}.${j}`, inFeatures: width, outFeatures: layer.out, bias: layer.bias }, lin);
    if (layer.activation === 'gelu') y = g.op('Gelu', [y], {}, MS_DOMAIN);
    width = layer.out;
  });
  return y;
}

export function qwenVisionEncoder(g: GraphBuilder, patches: string, d: VlmDescriptor, lin: LinearOptions): QwenVisionOutputs {
  const v = d.vision;
  const side = v.imageSize / v.patchSize;
  const perImage = side * side;
  const perUnit = d.projector.mergeFactor ** 2;
  const patchDim = v.channels * (v.temporalPatchSize ?? 1) * v.patchSize * v.patchSize;
  let x = linear(g, patches, { name: 'vision.patch_embed.proj', inFeatures: patchDim, outFeatures: v.hidden, bias: v.patchBias ?? false }, lin);
  x = g.op('Reshape', [x, g.i64([-1, perImage, v.hidden])]);

  if (v.positionEmbeddings !== undefined) {
    const { indices, weights } = positionInterpolation(d);
    const table = emitFloat(g, positionTable(lin.seed, d), lin);
    const rows = g.op('Gather', [table, g.constant('int64', [4, perImage], indices, 'pos_rows')], { axis: int(0) });
    const weighted = g.op('Mul', [rows, g.constant('float32', [4, perImage, 1], weights, 'pos_weights')]);
    x = g.op('Add', [x, g.op('ReduceSum', [weighted, g.i64([0])], { keepdims: int(0) })]);
  }

  // Window attention works on window-contiguous merge units (get_window_index).
  const order = v.windowSize !== undefined ? windowOrder(d) : undefined;
  const units = perImage / perUnit;
  if (order) {
    const grouped = g.op('Reshape', [x, g.i64([-1, units, perUnit * v.hidden])]);
    const reordered = g.op('Gather', [grouped, g.constant('int64', [units], BigInt64Array.from(order.map(BigInt)), 'window_order')], { axis: int(1) });
    x = g.op('Reshape', [reordered, g.i64([-1, perImage, v.hidden])]);
  }

  const tables = visionRopeTables(d, order);
  const half = v.headDim / 2;
  const rope = {
    // A single start position: patch s of every image uses row s of the tables.
    positions: g.i64([0], 'vision_rope_start'),
    cos: g.weight('vision.rope.cos', 'float32', [perImage, half], (emit) => emit(tables.cos)),
    sin: g.weight('vision.rope.sin', 'float32', [perImage, half], (emit) => emit(tables.sin)),
  };
  const full = new Set(v.fullAttentionBlocks ?? []);
  const taps = v.deepstackLayers ?? [];
  const deepstack: string[] = [];
  for (let i = 0; i < v.layers; i++) {
    const windowed = order !== undefined && !full.has(i);
    x = vitBlock(g, x, d, lin, i, rope, windowed ? windowPatches(d) : undefined);
    const tap = taps.indexOf(i);
    if (tap >= 0) deepstack.push(patchMerger(g, x, d, lin, `projector.deepstack.${tap}`, 'after'));
  }

  let features = patchMerger(g, x, d, lin, 'projector', 'before');
  if (order) {
    // reverse_indices: tokens back to the processor's (row-major unit) order.
    const reverse = new BigInt64Array(units);
    order.forEach((unit, slot) => {
      reverse[unit] = BigInt(slot);
    });
    const out = d.projector.layers[d.projector.layers.length - 1]?.out ?? d.llm.hidden;
    const perImageTokens = g.op('Reshape', [features, g.i64([-1, units, out])]);
    const restored = g.op('Gather', [perImageTokens, g.constant('int64', [units], reverse, 'window_reverse')], { axis: int(1) });
    features = g.op('Reshape', [restored, g.i64([-1, out])]);
  }
  return { features, deepstack };
}

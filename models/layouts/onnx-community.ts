/**
 * The onnx-community / transformers.js layout: vision_encoder, embed_tokens,
 * decoder_model_merged (+ lm_head when the head is kept separate), with the exact tensor
 * names of real exports (reference notes §1.3). Decoder attention is ORT's fused
 * GroupQueryAttention after RotaryEmbedding on q and k; seqlens_k and total_sequence_length are derived from
 * attention_mask in the graph, as onnxruntime-genai's builder does.
 */
import { decoderStack, emitRopeTables, finalNormAndHead, lmHead, splitQkv, type DecoderContext, type LayerOutputFn } from '../layers/decoder.ts';
import { embedTokens } from '../layers/embedding.ts';
import type { Precision } from '../layers/linear.ts';
import { qwenVisionEncoder } from '../layers/qwen2-vision.ts';
import { visionEncoder } from '../layers/vision.ts';
import { MS_DOMAIN, float, int, str, type GraphBuilder } from '../onnx/graph-builder.ts';
import { writeGraph, type WrittenGraph } from '../onnx/write-graph.ts';
import type { LayoutBuild, LayoutResult } from './types.ts';

/** onnx-community file suffixes (transformers.js dtypes.js). */
export const PRECISION_SUFFIX: Record<Precision, string> = { fp32: '', fp16: '_fp16', int8: '_int8', int4: '_q4' };

export const DIM = {
  batch: 'batch_size',
  seq: 'sequence_length',
  past: 'past_sequence_length',
  total: 'total_sequence_length',
  images: 'num_images',
  patches: 'num_patches',
  imageTokens: 'num_image_tokens',
} as const;

/**
 * Qwen3-VL DeepStack I/O (no public ONNX export to copy; names follow the HF forward arguments):
 * the vision encoder also outputs `deepstack_features [taps, num_image_tokens, hidden]`; the
 * decoder takes `visual_pos_masks` bool `[batch, seq]` (true at image-token rows of this call)
 * and `deepstack_visual_embeds [taps, num_visual_tokens, hidden]` (the rows of those tokens,
 * in order) and adds level k to the output of layer k at the masked rows.
 */
export const DEEPSTACK_FEATURES = 'deepstack_features';
export const VISUAL_POS_MASKS = 'visual_pos_masks';
export const DEEPSTACK_EMBEDS = 'deepstack_visual_embeds';

function isQwenTower(d: LayoutBuild['descriptor']): boolean {
  const k = d.vision.kind;
  return k === 'qwen2-vit' || k === 'qwen2_5-vit' || k === 'qwen3-vit';
}

/** The vision encoder's grid input name, as transformers.js passes it per model type. */
export function gridInputName(d: LayoutBuild['descriptor']): string {
  return d.vision.kind === 'qwen2-vit' ? 'grid_thw' : 'image_grid_thw';
}

export function buildOnnxCommunity(b: LayoutBuild): LayoutResult {
  const suffix = PRECISION_SUFFIX[b.lin.precision];
  const files: Record<string, string> = {};
  const sizes: Record<string, number> = {};
  const add = (session: string, w: WrittenGraph): void => {
    files[session] = w.path;
    Object.assign(sizes, w.sizes);
  };
  const doc = `synthetic ${b.descriptor.id} (${b.descriptor.scale}), random weights seed ${b.lin.seed}, ${b.lin.precision}`;
  const d = b.descriptor;

  if (b.vision !== false) buildVisionEncoder(b, doc, add);

  b.log('embed_tokens');
  add('embed_tokens', writeGraph(b.dir, `embed_tokens${suffix}`, doc, (g) => {
    const ids = g.input('input_ids', 'int64', [DIM.batch, DIM.seq]);
    g.output('inputs_embeds', 'float32', [DIM.batch, DIM.seq, d.llm.hidden], embedTokens(g, ids, d.llm, b.lin));
  }));

  b.log('decoder_model_merged');
  add('decoder_model_merged', writeGraph(b.dir, `decoder_model_merged${suffix}`, doc, (g) => buildDecoder(g, b)));

  if (b.lmHead === 'separate') {
    b.log('lm_head');
    add('lm_head', writeGraph(b.dir, `lm_head${suffix}`, doc, (g) => {
      const ctx: DecoderContext = { g, llm: d.llm, lin: b.lin };
      const h = g.input('hidden_states', 'float32', [DIM.batch, DIM.seq, d.llm.hidden]);
      g.output('logits', 'float32', [DIM.batch, DIM.seq, d.llm.vocab], finalNormAndHead(ctx, h));
    }));
  }
  return { files, sizes, assets: {}, params: {} };
}

function buildVisionEncoder(b: LayoutBuild, doc: string, add: (session: string, w: WrittenGraph) => void): void {
  const d = b.descriptor;
  const suffix = PRECISION_SUFFIX[b.lin.precision];
  b.log('vision_encoder');
  add('vision_encoder', writeGraph(b.dir, `vision_encoder${suffix}`, doc, (g) => {
    if (isQwenTower(d)) {
      // transformers.js feeds flattened patches + the grid, named grid_thw for Qwen2-VL and
      // image_grid_thw for Qwen2.5-VL / Qwen3-VL (reference notes §1.3). The synthetic graph
      // bakes a fixed imageSize grid per image; the grid input is declared but not read.
      const v = d.vision;
      const patchDim = v.channels * (v.temporalPatchSize ?? 1) * v.patchSize * v.patchSize;
      const px = g.input('pixel_values', 'float32', [DIM.patches, patchDim]);
      g.input(gridInputName(d), 'int64', [DIM.images, 3]);
      const out = qwenVisionEncoder(g, px, d, b.lin);
      g.output('image_features', 'float32', [DIM.imageTokens, d.llm.hidden], out.features);
      if (out.deepstack.length > 0) {
        const stacked = g.op('Concat', out.deepstack.map((f) => g.op('Unsqueeze', [f, g.i64([0])])), { axis: int(0) });
        g.output(DEEPSTACK_FEATURES, 'float32', [out.deepstack.length, DIM.imageTokens, d.llm.hidden], stacked);
      }
      return;
    }
    const S = d.vision.imageSize;
    const px = g.input('pixel_values', 'float32', [DIM.images, d.vision.channels, S, S]);
    g.output('image_features', 'float32', [DIM.images, d.imageTokensPerTile, d.llm.hidden], visionEncoder(g, px, d, b.lin));
  }));
}

function buildDecoder(g: GraphBuilder, b: LayoutBuild): void {
  const llm = b.descriptor.llm;
  const ctx: DecoderContext = { g, llm, lin: b.lin };
  const embeds = g.input('inputs_embeds', 'float32', [DIM.batch, DIM.seq, llm.hidden]);
  const mask = g.input('attention_mask', 'int64', [DIM.batch, DIM.total]);
  const positionIds = llm.mropeSections
    ? g.input('position_ids', 'int64', [3, DIM.batch, DIM.seq])
    : g.input('position_ids', 'int64', [DIM.batch, DIM.seq]);
  const kvShape = [DIM.batch, llm.kvHeads, DIM.past, llm.headDim];
  const presentShape = [DIM.batch, llm.kvHeads, DIM.total, llm.headDim];
  for (let i = 0; i < llm.layers; i++) {
    g.input(`past_key_values.${i}.key`, 'float32', kvShape);
    g.input(`past_key_values.${i}.value`, 'float32', kvShape);
  }
  const taps = b.descriptor.vision.deepstackLayers?.length ?? 0;
  let afterLayer: LayerOutputFn | undefined;
  if (taps > 0) {
    const visualMask = g.input(VISUAL_POS_MASKS, 'bool', [DIM.batch, DIM.seq]);
    const deepstack = g.input(DEEPSTACK_EMBEDS, 'float32', [taps, 'num_visual_tokens', llm.hidden]);
    // [n, 2] (batch, row) of every masked row, in row-major order = the order of the embeds.
    const rows = g.op('Transpose', [g.op('NonZero', [visualMask])], { perm: { ints: [1, 0] } });
    afterLayer = (layer, mlpOut) => {
      if (layer >= taps) return mlpOut;
      const level = g.op('Gather', [deepstack, g.i64Scalar(layer)], { axis: int(0) });
      return g.op('ScatterND', [mlpOut, rows, level], { reduction: str('add') });
    };
  }

  // GQA wants seqlens_k = valid tokens - 1 per row (int32) and the total length (int32 scalar).
  const valid = g.op('ReduceSum', [mask, g.i64([1])], { keepdims: int(0) });
  const seqlensK = g.op('Cast', [g.op('Sub', [valid, g.i64Scalar(1)])], { to: int(6) });
  const totalLen = g.op('Cast', [g.op('Gather', [g.op('Shape', [mask]), g.i64Scalar(1)], { axis: int(0) })], { to: int(6) });

  const tables = emitRopeTables(g, llm, llm.maxPositions);
  const { positions, cos, sin } = llm.mropeSections
    ? multimodalRope(g, llm.headDim, llm.mropeSections, llm.mropeInterleaved ?? false, positionIds, tables.cos, tables.sin)
    : { positions: positionIds, ...tables };

  // ORT's CPU GroupQueryAttention derives rotary positions from the cache length and ignores
  // its position_ids input (checked: a gap in position_ids did not change the output), so RoPE
  // is applied by RotaryEmbedding nodes that read position_ids, as real exports honour them.
  const attend = (i: number, qkv: string): string => {
    const { q, k, v } = splitQkv(ctx, i, qkv);
    const qRot = g.op('RotaryEmbedding', [q, positions, cos, sin], { num_heads: int(llm.heads), interleaved: int(0) }, MS_DOMAIN);
    const kRot = g.op('RotaryEmbedding', [k, positions, cos, sin], { num_heads: int(llm.kvHeads), interleaved: int(0) }, MS_DOMAIN);
    const [out] = g.node(
      'GroupQueryAttention',
      [qRot, kRot, v, `past_key_values.${i}.key`, `past_key_values.${i}.value`, seqlensK, totalLen],
      [g.fresh(`attn_${i}`), `present.${i}.key`, `present.${i}.value`],
      {
        num_heads: int(llm.heads),
        kv_num_heads: int(llm.kvHeads),
        scale: float(1 / Math.sqrt(llm.headDim)),
      },
      MS_DOMAIN,
    );
    return out as string;
  };

  const layers = Array.from({ length: llm.layers }, (_, i) => i);
  if (b.lmHead === 'separate') {
    const h = decoderStack(ctx, embeds, layers, attend, 'hidden', afterLayer);
    g.output('hidden_states', 'float32', [DIM.batch, DIM.seq, llm.hidden], h);
  } else {
    const normed = decoderStack(ctx, embeds, layers, attend, 'final-norm', afterLayer);
    g.output('logits', 'float32', [DIM.batch, DIM.seq, llm.vocab], lmHead(ctx, normed));
  }
  for (let i = 0; i < llm.layers; i++) {
    g.output(`present.${i}.key`, 'float32', presentShape);
    g.output(`present.${i}.value`, 'float32', presentShape);
  }
}

/** Which position axis (0 t, 1 h, 2 w) turns rotary half-dim j under interleaved M-RoPE (Qwen3-VL apply_interleaved_mrope). */
export function interleavedMropeAxis(j: number, sections: [number, number, number]): 0 | 1 | 2 {
  if (j % 3 === 1 && j < 3 * sections[1]) return 1;
  if (j % 3 === 2 && j < 3 * sections[2]) return 2;
  return 0;
}

/**
 * Qwen-VL M-RoPE as RotaryEmbedding operands: the rotary half-dims are turned by the
 * temporal, height and width position ids (`position_ids [3, b, s]`), in contiguous sections
 * (Qwen2-VL, Qwen2.5-VL) or interleaved every third dim (Qwen3-VL). Per-token cos/sin rows are
 * gathered and assembled here, then indexed by a 0..b*s-1 position grid, so ORT's fused
 * RotaryEmbedding kernel still does the rotation.
 */
function multimodalRope(
  g: GraphBuilder,
  headDim: number,
  sections: [number, number, number],
  interleaved: boolean,
  positionIds: string,
  cosCache: string,
  sinCache: string,
): { positions: string; cos: string; sin: string } {
  const half = headDim / 2;
  const bounds = [0, sections[0], sections[0] + sections[1], half];
  const axisIds = [0, 1, 2].map((a) => g.op('Gather', [positionIds, g.i64Scalar(a)], { axis: int(0) }));
  // Interleaved: per axis a 0/1 selector over the half-dims; the three gathered rows are summed.
  const selectors = interleaved
    ? [0, 1, 2].map((a) =>
        g.constant('float32', [half], Float32Array.from({ length: half }, (_, j) => (interleavedMropeAxis(j, sections) === a ? 1 : 0)), 'mrope_select'),
      )
    : [];
  const assemble = (cache: string): string => {
    if (interleaved) {
      const parts = axisIds.map((ids, a) => g.op('Mul', [g.op('Gather', [cache, ids], { axis: int(0) }), selectors[a] as string]));
      return g.op('Reshape', [g.op('Add', [g.op('Add', [parts[0] as string, parts[1] as string]), parts[2] as string]), g.i64([-1, half])]);
    }
    const parts = axisIds.map((ids, a) =>
      g.op('Slice', [g.op('Gather', [cache, ids], { axis: int(0) }), g.i64([bounds[a] as number]), g.i64([bounds[a + 1] as number]), g.i64([-1])]),
    );
    return g.op('Reshape', [g.op('Concat', parts, { axis: int(-1) }), g.i64([-1, half])]);
  };
  const shape = g.op('Shape', [positionIds]);
  const batchSeq = g.op('Slice', [shape, g.i64([1]), g.i64([3])]);
  const count = g.op('ReduceProd', [batchSeq], { keepdims: int(0) });
  const grid = g.op('Range', [g.i64Scalar(0), count, g.i64Scalar(1)]);
  return { positions: g.op('Reshape', [grid, batchSeq]), cos: assemble(cosCache), sin: assemble(sinCache) };
}

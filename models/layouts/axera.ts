/**
 * The Axera (pulsar2 llm_build) split of a VLM as ONNX, reference notes §3:
 *   {llm}_p{chunk}_l{i}_together.onnx  one graph per decoder layer serving every shape group
 *                                      (g0 decode, g1..gN prefill chunks) through dynamic shapes
 *   {llm}_post.onnx                    final RMSNorm + lm_head
 *   vit.onnx                           ViT + pixel shuffle + projector, `image` -> `output`
 *   model.embed_tokens.weight.float32.bin   embedding table looked up on the host
 *
 * Layer graph I/O (names exactly as infer.py / LLM.hpp use them): `input [1, S, hidden]`,
 * `indices [1, S]` uint32 absolute positions, `mask [1, S, P+S]` float32 (0 visible, -65536
 * masked), `K_cache`/`V_cache [1, P, kv_dim]` history -> `K_cache_out`/`V_cache_out
 * [1, S, kv_dim]` (the new rows; keys after RoPE), `output [1, S, hidden]`.
 * Axera compiles one static graph per shape group inside each layer file; ONNX Runtime takes
 * dynamic shapes, so one ONNX per layer keeps each layer's weights loaded once while every
 * group stays a distinct, separately timed invocation shape. bf16 I/O becomes float32 (the
 * CPU EP has almost no bf16 kernels).
 */
import { decoderStack, emitRopeTables, finalNormAndHead, splitQkv, type DecoderContext } from '../layers/decoder.ts';
import { embeddingTable } from '../layers/embedding.ts';
import { visionEncoder } from '../layers/vision.ts';
import { ExternalDataSink } from '../onnx/external-data.ts';
import { MS_DOMAIN, float, int, type GraphBuilder } from '../onnx/graph-builder.ts';
import { writeGraph, type WrittenGraph } from '../onnx/write-graph.ts';
import { produceFlat } from '../weights/encode.ts';
import type { LanguageModel, Scale } from '../descriptors.ts';
import type { LayoutBuild, LayoutResult } from './types.ts';
import { join } from 'node:path';
import { InputError } from '../../core/errors.ts';
import { statSync } from 'node:fs';

/** Host-loop shape parameters: the AX650 build of InternVL2.5-1B, and a small test version. */
export const AXERA_PARAMS: Record<Scale, { prefillChunk: number; kvCacheLen: number }> = {
  full: { prefillChunk: 128, kvCacheLen: 2559 },
  tiny: { prefillChunk: 4, kvCacheLen: 63 },
};

/** The value infer.py writes into masked positions of the bf16 mask. */
export const AXERA_MASKED = -65536;

export const EMBED_TABLE_FILE = 'model.embed_tokens.weight.float32.bin';

export function axeraLayerSession(i: number): string {
  return `layer_${i}`;
}

export function buildAxera(b: LayoutBuild): LayoutResult {
  const d = b.descriptor;
  const llm = d.llm;
  const params = AXERA_PARAMS[d.scale];
  if (llm.mropeSections || d.vision.kind === 'qwen2-vit' || d.vision.kind === 'qwen2_5-vit' || d.vision.kind === 'qwen3-vit') {
    // The reference notes describe the Axera split for InternVL/Qwen2 only; how an Axera build
    // feeds M-RoPE positions and flattened patches is not documented, so it is not guessed.
    throw new InputError(`layout "axera" is not available for ${d.id} (M-RoPE / Qwen-VL vision); use onnx-community`);
  }
  const files: Record<string, string> = {};
  const sizes: Record<string, number> = {};
  const add = (session: string, w: WrittenGraph): void => {
    files[session] = w.path;
    Object.assign(sizes, w.sizes);
  };
  const doc = `synthetic ${d.id} (${d.scale}) Axera split, random weights seed ${b.lin.seed}, ${b.lin.precision}`;

  b.log('vit');
  add('vit', writeGraph(b.dir, 'vit', doc, (g) => {
    const S = d.vision.imageSize;
    const image = g.input('image', 'float32', [1, d.vision.channels, S, S]);
    g.output('output', 'float32', [1, d.imageTokensPerTile, llm.hidden], visionEncoder(g, image, d, b.lin));
  }));

  b.log('embedding table');
  const table = embeddingTable(b.lin.seed, llm);
  const tablePath = join(b.dir, EMBED_TABLE_FILE);
  const sink = new ExternalDataSink(tablePath);
  try {
    sink.write(table.name, 'float32', table.size, produceFlat(table, 'float32'));
  } finally {
    sink.close();
  }
  sizes[EMBED_TABLE_FILE] = statSync(tablePath).size;

  const stem = `${llm.kind}_p${params.prefillChunk}`;
  for (let i = 0; i < llm.layers; i++) {
    b.log(`layer ${i}`);
    add(axeraLayerSession(i), writeGraph(b.dir, `${stem}_l${i}_together`, doc, (g) => buildLayer(g, b, i, params.kvCacheLen + 1)));
  }

  b.log('post');
  add('post', writeGraph(b.dir, `${llm.kind}_post`, doc, (g) => {
    const ctx: DecoderContext = { g, llm, lin: b.lin };
    const x = g.input('input', 'float32', [1, 'sequence_length', llm.hidden]);
    g.output('output', 'float32', [1, 'sequence_length', llm.vocab], finalNormAndHead(ctx, x));
  }));

  return { files, sizes, assets: { embed_tokens: tablePath }, params: { ...params } };
}

function buildLayer(g: GraphBuilder, b: LayoutBuild, layer: number, ropeRows: number): void {
  const llm = b.descriptor.llm;
  const kvDim = llm.kvHeads * llm.headDim;
  const input = g.input('input', 'float32', [1, 'sequence_length', llm.hidden]);
  const indices = g.input('indices', 'uint32', [1, 'sequence_length']);
  const mask = g.input('mask', 'float32', [1, 'sequence_length', 'total_length']);
  const kCache = g.input('K_cache', 'float32', [1, 'history_length', kvDim]);
  const vCache = g.input('V_cache', 'float32', [1, 'history_length', kvDim]);
  const positions = g.op('Cast', [indices], { to: int(7) });
  const { cos, sin } = emitRopeTables(g, llm, ropeRows);
  const ctx: DecoderContext = { g, llm, lin: b.lin };
  const attend = (i: number, qkv: string): string =>
    maskedAttention(g, llm, { ...splitQkv(ctx, i, qkv), positions, cos, sin, kCache, vCache, mask, kOut: 'K_cache_out', vOut: 'V_cache_out' });
  const out = decoderStack(ctx, input, [layer], attend, 'hidden');
  g.output('K_cache_out', 'float32', [1, 'sequence_length', kvDim]);
  g.output('V_cache_out', 'float32', [1, 'sequence_length', kvDim]);
  g.output('output', 'float32', [1, 'sequence_length', llm.hidden], out);
}

interface MaskedAttentionIO {
  /** Projections split (and QK-normalised) by splitQkv. */
  q: string;
  k: string;
  v: string;
  positions: string;
  cos: string;
  sin: string;
  kCache: string;
  vCache: string;
  mask: string;
  /** Names given to the new (rotated) key rows and value rows. */
  kOut: string;
  vOut: string;
}

/**
 * Grouped-query attention written out as MatMul/Softmax with an additive mask, as an eager
 * PyTorch export of the Axera wrapper contains: q is viewed as [1, kv_heads, group, S, D] so
 * each KV head serves its group of query heads without repeating K/V.
 */
export function maskedAttention(g: GraphBuilder, llm: LanguageModel, io: MaskedAttentionIO): string {
  const D = llm.headDim;
  const Hq = llm.heads;
  const Hkv = llm.kvHeads;
  const G = Hq / Hkv;
  const qDim = Hq * D;
  const { q, k, v } = io;
  const qRot = g.op('RotaryEmbedding', [q, io.positions, io.cos, io.sin], { num_heads: int(Hq), interleaved: int(0) }, MS_DOMAIN);
  g.node('RotaryEmbedding', [k, io.positions, io.cos, io.sin], [io.kOut], { num_heads: int(Hkv), interleaved: int(0) }, MS_DOMAIN);
  g.node('Identity', [v], [io.vOut]);
  const kAll = g.op('Concat', [io.kCache, io.kOut], { axis: int(1) });
  const vAll = g.op('Concat', [io.vCache, io.vOut], { axis: int(1) });

  // q: [1, S, Hq*D] -> [1, Hkv, G, S, D].
  const q5 = g.op('Transpose', [g.op('Reshape', [qRot, g.i64([0, -1, Hkv, G, D])])], { perm: { ints: [0, 2, 3, 1, 4] } });
  // k, v: [1, T, Hkv*D] -> [1, Hkv, 1, T, D]. Moving whole D-rows keeps the transposes cheap;
  // K^T and the 1/sqrt(D) scale are attributes of FusedMatMul, so K is never transposed to
  // [D, T] (measured: that 5-D transpose alone cost more than the layer's MatMulNBits).
  const toHeads = (t: string): string =>
    g.op('Unsqueeze', [g.op('Transpose', [g.op('Reshape', [t, g.i64([0, -1, Hkv, D])])], { perm: { ints: [0, 2, 1, 3] } }), g.i64([2])]);
  const k5 = toHeads(kAll);
  const v5 = toHeads(vAll);
  const raw = g.op('FusedMatMul', [q5, k5], { transB: int(1), alpha: float(1 / Math.sqrt(D)) }, MS_DOMAIN);
  const scores = g.op('Add', [raw, g.op('Unsqueeze', [io.mask, g.i64([1, 2])])]);
  const probs = g.op('Softmax', [scores], { axis: int(-1) });
  const ctx = g.op('MatMul', [probs, v5]); // [1, Hkv, G, S, D]
  const merged = g.op('Transpose', [ctx], { perm: { ints: [0, 3, 1, 2, 4] } }); // [1, S, Hkv, G, D]
  return g.op('Reshape', [merged, g.i64([0, -1, qDim])]);
}

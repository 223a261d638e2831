/**
 * Pre-norm decoder stack of Qwen2 / Llama class LLMs, shared by both layouts. Attention is
 * supplied by the caller because the layouts differ exactly there (GroupQueryAttention with a
 * BNSH KV cache for onnx-community; explicit indices/mask and per-layer caches for Axera).
 *
 * Canonical weight names (what the random values are keyed on):
 *   llm.layers.{i}.input_layernorm.weight, llm.layers.{i}.self_attn.qkv_proj.{weight,bias}
 *   (q rows, then k rows, then v rows), llm.layers.{i}.self_attn.o_proj.weight,
 *   llm.layers.{i}.self_attn.{q_norm,k_norm}.weight (Qwen3, [head_dim]),
 *   llm.layers.{i}.post_attention_layernorm.weight, llm.layers.{i}.mlp.{gate,up,down}_proj.weight,
 *   llm.norm.weight, llm.lm_head.weight (or llm.embed_tokens.weight when tied).
 */
import type { LanguageModel } from '../descriptors.ts';
import type { GraphBuilder } from '../onnx/graph-builder.ts';
import { int } from '../onnx/graph-builder.ts';
import { linear, type LinearOptions, type LinearSpec } from './linear.ts';
import { rmsNorm, skipRmsNorm } from './norms.ts';

export interface DecoderContext {
  g: GraphBuilder;
  llm: LanguageModel;
  lin: LinearOptions;
}

/** Receives the packed q|k|v projection `[b, s, (heads + 2 kvHeads) * headDim]`, returns `[b, s, heads * headDim]`. */
export type AttentionFn = (layer: number, qkv: string) => string;

/**
 * Called with each layer's MLP output (before it joins the residual stream); what it returns
 * joins instead. Adding to it is adding to the layer's output hidden state (Qwen3-VL DeepStack).
 */
export type LayerOutputFn = (layer: number, mlpOut: string) => string;

/**
 * Splits the packed projection into q `[b, s, heads*D]`, k and v `[b, s, kvHeads*D]`. Qwen3
 * (QK-norm) then RMS-normalises every query and key head over head_dim with its own gain
 * (q_norm / k_norm), which must happen before RoPE.
 */
export function splitQkv(ctx: DecoderContext, layer: number, qkv: string): { q: string; k: string; v: string } {
  const { g, llm, lin } = ctx;
  const qDim = llm.heads * llm.headDim;
  const kvDim = llm.kvHeads * llm.headDim;
  const [q, k, v] = g.node('Split', [qkv, g.i64([qDim, kvDim, kvDim])], 3, { axis: int(-1) }) as [string, string, string];
  if (!llm.qkNorm) return { q, k, v };
  const perHead = (x: string, heads: number, name: string): string => {
    const split = g.op('Reshape', [x, g.i64([0, 0, heads, llm.headDim])]);
    const normed = rmsNorm(g, split, lin.seed, `llm.layers.${layer}.self_attn.${name}`, llm.headDim, llm.rmsEps);
    return g.op('Reshape', [normed, g.i64([0, 0, heads * llm.headDim])]);
  };
  return { q: perHead(q, llm.heads, 'q_norm'), k: perHead(k, llm.kvHeads, 'k_norm'), v };
}

export function qkvSpec(llm: LanguageModel, layer: number): LinearSpec {
  return {
    name: `llm.layers.${layer}.self_attn.qkv_proj`,
    inFeatures: llm.hidden,
    outFeatures: (llm.heads + 2 * llm.kvHeads) * llm.headDim,
    bias: llm.qkvBias,
  };
}

export function oProjSpec(llm: LanguageModel, layer: number): LinearSpec {
  return { name: `llm.layers.${layer}.self_attn.o_proj`, inFeatures: llm.heads * llm.headDim, outFeatures: llm.hidden, bias: false };
}

export function mlpSpecs(llm: LanguageModel, layer: number): { gate: LinearSpec; up: LinearSpec; down: LinearSpec } {
  const p = `llm.layers.${layer}.mlp`;
  return {
    gate: { name: `${p}.gate_proj`, inFeatures: llm.hidden, outFeatures: llm.intermediate, bias: false },
    up: { name: `${p}.up_proj`, inFeatures: llm.hidden, outFeatures: llm.intermediate, bias: false },
    down: { name: `${p}.down_proj`, inFeatures: llm.intermediate, outFeatures: llm.hidden, bias: false },
  };
}

export function lmHeadSpec(llm: LanguageModel): LinearSpec {
  return {
    name: llm.tieWordEmbeddings ? 'llm.embed_tokens' : 'llm.lm_head',
    inFeatures: llm.hidden,
    outFeatures: llm.vocab,
    bias: false,
  };
}

/**
 * Runs `layers` (consecutive indices) over the residual stream `hidden` (not normalised).
 * `end: 'hidden'` returns the last layer's output (residual added, before the final norm);
 * `end: 'final-norm'` returns the final-RMSNorm'ed hidden state, ready for lm_head.
 */
export function decoderStack(
  ctx: DecoderContext,
  hidden: string,
  layers: number[],
  attend: AttentionFn,
  end: 'hidden' | 'final-norm',
  afterLayer?: LayerOutputFn,
): string {
  const { g, llm, lin } = ctx;
  const seed = lin.seed;
  let residual = hidden;
  let pending: string | undefined;
  for (const i of layers) {
    let normed: string;
    const inNorm = `llm.layers.${i}.input_layernorm`;
    if (pending === undefined) {
      normed = rmsNorm(g, residual, seed, inNorm, llm.hidden, llm.rmsEps);
    } else {
      const s = skipRmsNorm(g, pending, residual, seed, inNorm, llm.hidden, llm.rmsEps);
      normed = s.normed;
      residual = s.sum;
    }
    const qkv = linear(g, normed, qkvSpec(llm, i), lin);
    const attn = attend(i, qkv);
    const o = linear(g, attn, oProjSpec(llm, i), lin);
    const post = skipRmsNorm(g, o, residual, seed, `llm.layers.${i}.post_attention_layernorm`, llm.hidden, llm.rmsEps);
    residual = post.sum;
    const m = mlpSpecs(llm, i);
    const gate = linear(g, post.normed, m.gate, lin);
    const up = linear(g, post.normed, m.up, lin);
    const act = g.op('Mul', [gate, g.op('Sigmoid', [gate])]);
    pending = linear(g, g.op('Mul', [act, up]), m.down, lin);
    if (afterLayer) pending = afterLayer(i, pending);
  }
  if (pending === undefined) throw new Error('decoderStack: no layers');
  if (end === 'hidden') return g.op('Add', [pending, residual]);
  return skipRmsNorm(g, pending, residual, seed, 'llm.norm', llm.hidden, llm.rmsEps).normed;
}

/** Final RMSNorm + lm_head over a hidden state that has not been normalised yet. */
export function finalNormAndHead(ctx: DecoderContext, hidden: string): string {
  const { g, llm, lin } = ctx;
  const normed = rmsNorm(g, hidden, lin.seed, 'llm.norm', llm.hidden, llm.rmsEps);
  return linear(g, normed, lmHeadSpec(llm), lin);
}

/** Head over an already-normalised hidden state. */
export function lmHead(ctx: DecoderContext, normed: string): string {
  return linear(ctx.g, normed, lmHeadSpec(ctx.llm), ctx.lin);
}

/** RoPE tables `[rows, headDim/2]` (non-interleaved halves, as Qwen2/Llama rotate_half). */
export function ropeTables(llm: LanguageModel, rows: number): { cos: Float32Array; sin: Float32Array } {
  const half = llm.headDim / 2;
  const cos = new Float32Array(rows * half);
  const sin = new Float32Array(rows * half);
  for (let p = 0; p < rows; p++) {
    for (let j = 0; j < half; j++) {
      const angle = p * Math.pow(llm.ropeTheta, (-2 * j) / llm.headDim);
      cos[p * half + j] = Math.cos(angle);
      sin[p * half + j] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** The cos/sin caches RotaryEmbedding reads, for positions 0..rows-1. */
export function emitRopeTables(g: GraphBuilder, llm: LanguageModel, rows: number): { cos: string; sin: string } {
  const rope = ropeTables(llm, rows);
  const half = llm.headDim / 2;
  return {
    cos: g.weight('llm.rope.cos_cache', 'float32', [rows, half], (emit) => emit(rope.cos)),
    sin: g.weight('llm.rope.sin_cache', 'float32', [rows, half], (emit) => emit(rope.sin)),
  };
}

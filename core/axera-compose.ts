/**
 * The Axera method of building a VLM timing table from per-subgraph latencies (the seed's
 * InternVL2.5-1B AX650N README): the LLM is compiled per decoder layer, prefill runs in chunks
 * of `chunkSize` tokens where chunk k is its own subgraph g_k (its KV history grows with k),
 * decode is subgraph g0, and a post graph (final norm + lm_head) runs once per token.
 *
 *   ImageEncoder = images x vit
 *   Prefill TTFT = (g1 + ... + g_chunks) x layers + post,  chunks = ceil(prompt tokens / chunkSize)
 *   Decoder      = g0 x layers + post  (ms per token);  tokens/s = 1000 / Decoder
 *
 * Every figure here is COMPOSED from measured subgraph latencies, never measured end to end;
 * reports label it so.
 */
import { CompositionError } from './errors.ts';


export interface SubgraphLatencies {
  /** Vision encoder, one image (ms). */
  vit: number;
  /** Decode subgraph, one layer (ms). */
  g0: number;
  /** Prefill chunk subgraphs g1..gN, one layer each (ms), index 0 = g1. */
  prefill: number[];
  /** Post graph: final norm + lm_head (ms). */
  post: number;
}

export interface ComposeParams {
  layers: number;
  chunkSize: number;
  textTokens: number;
  tokensPerImage: number;
}

export interface ComposedRow {
  images: number;
  promptTokens: number;
  chunks: number;
  imageEncoderMs: number;
  prefillTtftMs: number;
  decoderMs: number;
  tokensPerS: number;
  /** The formula with its numbers, so a reader can check it. */
  formula: string;
}

const r3 = (v: number) => Math.round(v * 1000) / 1000;

export function composeRow(images: number, lat: SubgraphLatencies, p: ComposeParams): ComposedRow {
  const promptTokens = p.textTokens + images * p.tokensPerImage;
  const chunks = Math.ceil(promptTokens / p.chunkSize);
  if (chunks > lat.prefill.length) {
    const missing = Array.from({ length: chunks - lat.prefill.length }, (_, i) => `g${lat.prefill.length + 1 + i}`);
    throw new CompositionError(
      `${images} image(s) give ${promptTokens} prompt tokens = ${chunks} chunks of ${p.chunkSize}, but only g1..g${lat.prefill.length} were measured`,
      missing,
    );
  }
  const perLayer = lat.prefill.slice(0, chunks).reduce((s, v) => s + v, 0);
  const prefillTtftMs = perLayer * p.layers + lat.post;
  const decoderMs = lat.g0 * p.layers + lat.post;
  return {
    images,
    promptTokens,
    chunks,
    imageEncoderMs: images * lat.vit,
    prefillTtftMs,
    decoderMs,
    tokensPerS: 1000 / decoderMs,
    formula: `(g1..g${chunks} = ${r3(perLayer)}) x ${p.layers} + ${lat.post} = ${r3(prefillTtftMs)} ms; decode ${lat.g0} x ${p.layers} + ${lat.post} = ${r3(decoderMs)} ms`,
  };
}

/**
 * Decimal places a published figure was printed with. Figures given as strings keep trailing
 * zeros ("11.50" has 2), which JSON numbers lose.
 */
export function printedDecimals(figure: number | string): number {
  const text = typeof figure === 'string' ? figure.trim() : String(figure);
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

export interface FigureCheck {
  name: string;
  published: number | string;
  composed: number;
  difference: number;
  /** True when the composed figure, rounded as the published one was printed, differs from it. */
  flagged: boolean;
}

/**
 * The step the published figure was rounded to: 10^-decimals, or, for a whole number printed
 * with trailing zeros ("1460"), the place of its last non-zero digit (tens): such a figure does
 * not say whether its zeros are digits or rounding, so rounding to them is not flagged.
 */
export function printedStep(figure: number | string): number {
  const decimals = printedDecimals(figure);
  if (decimals > 0) return 10 ** -decimals;
  const digits = (typeof figure === 'string' ? figure.trim() : String(figure)).replace(/^-/, '');
  const zeros = /^[1-9]\d*?(0+)$/.exec(digits)?.[1]?.length ?? 0;
  return 10 ** zeros;
}

/** Published vs composed: a difference is flagged when rounding cannot explain it. */
export function checkFigure(name: string, published: number | string, composed: number): FigureCheck {
  const value = Number(published);
  const step = printedStep(published);
  const rounded = Math.round(composed / step) * step;
  const difference = composed - value;
  return { name, published, composed, difference, flagged: Math.abs(rounded - value) > step * 1e-6 };
}

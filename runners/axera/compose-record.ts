/**
 * A COMPOSED iteration: the Axera method applied to one set of measured subgraph latencies,
 * laid out as the request would run on the board — ViT once per image, then for each prefill
 * chunk k the graph g_k once per decoder layer, the post graph, the first token; then per
 * further token g0 once per layer and the post graph. Every event's duration is a measured
 * per-invocation average; the sequence and the sums are composed. The record says so in
 * `reported` ("composed.*") and the cell's settings (timing: composed).
 */
import type { IterationRecord, TimedEvent } from '../../core/events.ts';
import { composeRow, type ComposedRow } from '../../core/axera-compose.ts';
import type { GraphLatency } from './measure.ts';
import type { CellGeometry } from './options.ts';

export interface ComposeSettings {
  layers: number;
  chunkSize: number;
  tokensPerImage: number;
}

/** composeRow (reporters/axera-compose.ts) on measured latencies. */
export function composeFromLatencies(lat: ReadonlyMap<string, GraphLatency>, g: CellGeometry, s: ComposeSettings): ComposedRow {
  const avg = (name: string): number => {
    const v = lat.get(name)?.avgMs;
    if (v === undefined) throw new Error(`no measured latency for graph ${name}`);
    return v;
  };
  const prefill: number[] = [];
  for (let k = 1; k <= g.chunks; k++) prefill.push(avg(`g${k}`));
  return composeRow(
    g.images,
    { vit: g.images > 0 ? avg('vit') : 0, g0: avg('g0'), prefill, post: avg('post') },
    { layers: s.layers, chunkSize: s.chunkSize, textTokens: g.textTokens, tokensPerImage: s.tokensPerImage },
  );
}

export function composedReported(row: ComposedRow): Record<string, number> {
  return {
    'composed.image_encoder_ms': row.imageEncoderMs,
    'composed.prefill_ttft_ms': row.prefillTtftMs,
    'composed.ttft_ms': row.imageEncoderMs + row.prefillTtftMs,
    'composed.decoder_ms': row.decoderMs,
    'composed.tokens_per_s': row.tokensPerS,
    'composed.prompt_tokens': row.promptTokens,
    'composed.chunks': row.chunks,
  };
}

export interface Placement {
  index: number;
  warmup: boolean;
  /** Run-clock time the composed request starts at, ms. */
  startMs: number;
  /** Generated tokens, the first included. */
  outputTokens: number;
}

export function composedRecord(lat: ReadonlyMap<string, GraphLatency>, g: CellGeometry, s: ComposeSettings, p: Placement, extraReported: Record<string, number>): IterationRecord {
  const row = composeFromLatencies(lat, g, s);
  const events: TimedEvent[] = [];
  let at = p.startMs;
  const call = (graph: string, phase: 'image_encode' | 'prefill' | 'decode', items?: number) => {
    const ms = lat.get(graph)!.avgMs;
    events.push({ kind: 'subgraph', graph, phase, startMs: at, endMs: at + ms, ...(items !== undefined ? { items } : {}) });
    at += ms;
  };

  if (g.images > 0) {
    const start = at;
    for (let i = 0; i < g.images; i++) call('vit', 'image_encode', 1);
    events.push({ kind: 'phase', phase: 'image_encode', startMs: start, endMs: at });
  }
  const prefillStart = at;
  for (let k = 1; k <= g.chunks; k++) {
    const tokens = Math.min(s.chunkSize, g.promptTokens - (k - 1) * s.chunkSize);
    for (let layer = 0; layer < s.layers; layer++) call(`g${k}`, 'prefill', tokens);
  }
  call('post', 'prefill', 1);
  events.push({ kind: 'phase', phase: 'prefill', startMs: prefillStart, endMs: at });
  events.push({ kind: 'token', tMs: at, index: 0, count: 1 });
  if (p.outputTokens > 1) {
    const decodeStart = at;
    for (let t = 1; t < p.outputTokens; t++) {
      for (let layer = 0; layer < s.layers; layer++) call('g0', 'decode', 1);
      call('post', 'decode', 1);
      events.push({ kind: 'token', tMs: at, index: t, count: 1 });
    }
    events.push({ kind: 'phase', phase: 'decode', startMs: decodeStart, endMs: at });
  }
  return {
    index: p.index,
    warmup: p.warmup,
    startMs: p.startMs,
    endMs: at,
    promptTokens: g.promptTokens,
    imageTokens: g.imageTokens,
    images: g.images,
    outputTokens: p.outputTokens,
    events,
    reported: { ...extraReported, ...composedReported(row) },
  };
}

import type { IterationRecord, PhaseName, SubgraphEvent, TokenEvent } from './events.ts';
import type { SubgraphStats } from './result-types.ts';
import { metricUnit } from './metric-registry.ts';
import { summarize, type MetricStats } from './stats.ts';

/** Per-iteration values of every metric DESIGN.md names, computed from one request's events. */
export interface IterationMetrics {
  preprocess_ms?: number;
  image_encode_ms?: number;
  /** One value per image of the request. */
  image_encode_per_image_ms?: number[];
  prefill_ms?: number;
  ttft_ms?: number;
  tpot_ms?: number;
  decode_tokens_per_s?: number;
  prefill_tokens_per_s?: number;
  decode_ms?: number;
  e2e_ms?: number;
  /** Gaps between successive token arrivals (a chunk may carry several tokens). */
  chunk_itl_ms?: number[];
}


function phaseMs(rec: IterationRecord, phase: PhaseName): number | undefined {
  let total: number | undefined;
  for (const e of rec.events) if (e.kind === 'phase' && e.phase === phase) total = (total ?? 0) + (e.endMs - e.startMs);
  return total;
}

function tokenArrivals(rec: IterationRecord): TokenEvent[] {
  return rec.events.filter((e): e is TokenEvent => e.kind === 'token').sort((a, b) => a.tMs - b.tMs);
}

/**
 * Time to first token: request start -> first generated token. In process that includes
 * preprocessing, image encoding and prefill; for an endpoint also the upload and the first
 * token's trip back. Null when no token arrived.
 */
export function ttftMs(rec: IterationRecord): number | null {
  const first = tokenArrivals(rec)[0];
  return first ? first.tMs - rec.startMs : null;
}

/**
 * Output tokens of the request: the larger of what the stream showed (the last arrival may
 * carry several tokens) and the runner's own count (a server's usage count can exceed what
 * chunk counting saw, e.g. chunks without content).
 */
export function outputTokenCount(rec: IterationRecord): number {
  const tokens = tokenArrivals(rec);
  const last = tokens[tokens.length - 1];
  const streamed = last ? last.index + last.count : 0;
  return Math.max(streamed, Number.isFinite(rec.outputTokens) ? rec.outputTokens : 0);
}

/**
 * TPOT = (t_last_token - t_first_token) / (n_output - 1), as DESIGN.md and vLLM define it. Null
 * with fewer than two output tokens; 0 when every token arrived in one chunk.
 */
export function tpotMs(rec: IterationRecord): number | null {
  const tokens = tokenArrivals(rec);
  const first = tokens[0];
  const last = tokens[tokens.length - 1];
  const n = outputTokenCount(rec);
  if (!first || !last || n < 2) return null;
  return (last.tMs - first.tMs) / (n - 1);
}

/** Decode tokens/s = 1000 / TPOT; null when TPOT is unknown or 0 (all tokens in one chunk). */
export function decodeTokensPerS(rec: IterationRecord): number | null {
  const tpot = tpotMs(rec);
  return tpot !== null && tpot > 0 ? 1000 / tpot : null;
}

/** Chunk ITL: gaps between successive token arrivals (a chunk may carry several tokens). */
export function chunkItlMs(rec: IterationRecord): number[] {
  const tokens = tokenArrivals(rec);
  return tokens.slice(1).map((t, i) => t.tMs - tokens[i]!.tMs);
}

/** End-to-end latency: request start -> its end (last token, [DONE] or end of body). */
export function e2eMs(rec: IterationRecord): number {
  return rec.endMs - rec.startMs;
}

export function iterationMetrics(rec: IterationRecord): IterationMetrics {
  const m: IterationMetrics = {};
  const pre = phaseMs(rec, 'preprocess');
  if (pre !== undefined) m.preprocess_ms = pre;
  if (rec.images > 0) {
    const enc = phaseMs(rec, 'image_encode');
    if (enc !== undefined) m.image_encode_ms = enc;
    const perImage = rec.events.filter(
      (e): e is SubgraphEvent => e.kind === 'subgraph' && e.phase === 'image_encode',
    );
    // One invocation per image gives each image's time; a batched call is split evenly and the
    // share is what is reported.
    if (perImage.length === rec.images) m.image_encode_per_image_ms = perImage.map((e) => e.endMs - e.startMs);
    else if (enc !== undefined) m.image_encode_per_image_ms = Array<number>(rec.images).fill(enc / rec.images);
  }
  const prefill = phaseMs(rec, 'prefill');
  if (prefill !== undefined) {
    m.prefill_ms = prefill;
    if (prefill > 0 && rec.promptTokens > 0) m.prefill_tokens_per_s = (rec.promptTokens * 1000) / prefill;
  }
  const decode = phaseMs(rec, 'decode');
  if (decode !== undefined) m.decode_ms = decode;

  const ttft = ttftMs(rec);
  if (ttft !== null) m.ttft_ms = ttft;
  const tpot = tpotMs(rec);
  if (tpot !== null) m.tpot_ms = tpot;
  const rate = decodeTokensPerS(rec);
  if (rate !== null) m.decode_tokens_per_s = rate;
  const itl = chunkItlMs(rec);
  if (itl.length > 0) m.chunk_itl_ms = itl;
  if (!rec.error) m.e2e_ms = e2eMs(rec);
  return m;
}

/**
 * One value per measured (non-warm-up, successful) iteration of each metric, in one pass over the
 * records. Iterations, not tokens or chunks, are the independent unit: a metric with several
 * values per request (chunk ITL, per-image encode) enters as that request's mean, because pooling
 * correlated gaps would make an interval look far more certain than the run is.
 */
export function iterationSeries(records: readonly IterationRecord[], metrics: readonly string[]): Array<Array<{ index: number; value: number }>> {
  const out = metrics.map((): Array<{ index: number; value: number }> => []);
  for (const rec of records) {
    if (rec.warmup || rec.error) continue;
    const m = iterationMetrics(rec) as Record<string, number | number[] | undefined>;
    for (let i = 0; i < metrics.length; i++) {
      const v = m[metrics[i]!];
      if (v === undefined) continue;
      const value = Array.isArray(v) ? (v.length ? v.reduce((s, x) => s + x, 0) / v.length : Number.NaN) : v;
      if (Number.isFinite(value)) out[i]!.push({ index: rec.index, value });
    }
  }
  return out;
}

/** Per-iteration values of one metric; see iterationSeries. */
export function metricSeries(records: readonly IterationRecord[], metric: string): Array<{ index: number; value: number }> {
  return iterationSeries(records, [metric])[0]!;
}

/** Statistics of each metric over the measured (non-warm-up, successful) iterations. */
export function cellMetrics(records: readonly IterationRecord[]): Record<string, MetricStats> {
  const measured = records.filter((r) => !r.warmup && !r.error);
  const pooled = new Map<string, number[]>();
  const add = (name: string, v: number | number[] | undefined) => {
    if (v === undefined) return;
    const list = pooled.get(name) ?? [];
    if (Array.isArray(v)) list.push(...v);
    else list.push(v);
    pooled.set(name, list);
  };
  for (const rec of measured) {
    for (const [name, value] of Object.entries(iterationMetrics(rec))) add(name, value as number | number[]);
  }
  const out: Record<string, MetricStats> = {};
  for (const [name, values] of pooled) {
    if (values.length > 0) out[name] = summarize(values, metricUnit(name));
  }
  return out;
}

/** Latency of each graph per invocation and per request, keyed "graph/phase". */
export function subgraphStats(records: readonly IterationRecord[]): Record<string, SubgraphStats> {
  const measured = records.filter((r) => !r.warmup && !r.error);
  const perInvocation = new Map<string, number[]>();
  const perRequest = new Map<string, number[]>();
  const counts = new Map<string, number[]>();
  const phases = new Map<string, string>();
  for (const rec of measured) {
    const sums = new Map<string, { ms: number; n: number }>();
    for (const e of rec.events) {
      if (e.kind !== 'subgraph') continue;
      const key = `${e.graph}/${e.phase}`;
      phases.set(key, e.phase);
      const ms = e.endMs - e.startMs;
      perInvocation.set(key, [...(perInvocation.get(key) ?? []), ms]);
      const s = sums.get(key) ?? { ms: 0, n: 0 };
      s.ms += ms;
      s.n += 1;
      sums.set(key, s);
    }
    for (const [key, s] of sums) {
      perRequest.set(key, [...(perRequest.get(key) ?? []), s.ms]);
      counts.set(key, [...(counts.get(key) ?? []), s.n]);
    }
  }
  const out: Record<string, SubgraphStats> = {};
  for (const [key, values] of perInvocation) {
    out[key] = {
      phase: phases.get(key)!,
      perInvocation: summarize(values, 'ms'),
      perRequest: summarize(perRequest.get(key)!, 'ms'),
      invocationsPerRequest: summarize(counts.get(key)!, 'calls').median,
    };
  }
  return out;
}

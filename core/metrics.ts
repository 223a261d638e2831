import type { IterationRecord } from './events.ts';
import type { SubgraphStats } from './result-types.ts';
import { METRICS, metricUnit, type MetricDefinition } from './metric-registry.ts';
import { summarize, type MetricStats } from './stats.ts';

export { chunkItlMs, decodeTokensPerS, e2eMs, outputTokenCount, tpotMs, ttftMs } from './iteration-events.ts';

/**
 * Per-iteration values of every per-iteration metric of the registry, computed from one
 * request's events by each definition's `fromIteration`. The named fields are the built-in
 * metrics, typed for readers; a new metric needs only its definition.
 */
export interface IterationMetrics {
  [metric: string]: number | number[] | undefined;
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


type IterationDefinition = MetricDefinition & Required<Pick<MetricDefinition, 'fromIteration'>>;

/** The metrics computed from each iteration's events, in the registry's order. */
const ITERATION_METRICS: readonly IterationDefinition[] = METRICS.filter((d): d is IterationDefinition => d.fromIteration !== undefined);

export function iterationMetrics(rec: IterationRecord): IterationMetrics {
  const m: IterationMetrics = {};
  for (const def of ITERATION_METRICS) {
    const v = def.fromIteration(rec);
    if (v !== null && v !== undefined) m[def.name] = v;
  }
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
    const m = iterationMetrics(rec);
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

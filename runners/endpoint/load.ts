/**
 * Throughput and goodput of a cell's requests under load, from its per-request records.
 *
 * Each record is one request; records issued together carry `reported.round` (see
 * runners/endpoint/README.md). The measured duration is the sum, over rounds, of the window from
 * the round's first send to its last answer — the idle time between rounds (the harness saving
 * results, preparing the next round's images) is not load and is left out. Records without a
 * round form one window together.
 *
 * Definitions follow vLLM `bench serve`: throughputs count successful requests only; a request
 * is "good" (DistServe goodput) when it succeeded and meets every target given. A request with a
 * single output token has no TPOT and so cannot miss a TPOT target (vLLM counts its TPOT as 0).
 */
import type { IterationRecord } from '../../core/events.ts';
import { e2eMs, tpotMs, ttftMs } from '../../core/metrics.ts';

export interface GoodputTargets {
  ttftMs?: number;
  tpotMs?: number;
  e2eMs?: number;
}

export interface LoadMetrics {
  /** Measured (non-warm-up) requests. */
  requests: number;
  completed: number;
  failed: number;
  /** Busy time the rates are computed over, ms. */
  duration_ms: number;
  /** Completed requests per second. */
  request_throughput: number;
  /** Output tokens of completed requests per second. */
  output_throughput: number;
  /** Prompt + output tokens of completed requests per second; null when a prompt count is unknown. */
  total_token_throughput: number | null;
  good_requests: number;
  /** Good requests per second. */
  request_goodput: number;
  /** Good requests / measured requests. */
  goodput_fraction: number;
}

export function isGoodRequest(rec: IterationRecord, targets: GoodputTargets): boolean {
  if (rec.error) return false;
  const ttft = ttftMs(rec);
  if (ttft === null) return false;
  if (targets.ttftMs !== undefined && ttft > targets.ttftMs) return false;
  const tpot = tpotMs(rec);
  if (targets.tpotMs !== undefined && tpot !== null && tpot > targets.tpotMs) return false;
  if (targets.e2eMs !== undefined && e2eMs(rec) > targets.e2eMs) return false;
  return true;
}

/** Sum over rounds of (last end - first start), ms. */
export function busyDurationMs(records: readonly IterationRecord[]): number {
  const windows = new Map<string, { start: number; end: number }>();
  for (const rec of records) {
    const round = rec.reported?.['round'];
    const key = round === undefined ? 'all' : String(round);
    const w = windows.get(key);
    if (w) {
      w.start = Math.min(w.start, rec.startMs);
      w.end = Math.max(w.end, rec.endMs);
    } else {
      windows.set(key, { start: rec.startMs, end: rec.endMs });
    }
  }
  let total = 0;
  for (const w of windows.values()) total += w.end - w.start;
  return total;
}

export function computeLoadMetrics(records: readonly IterationRecord[], targets: GoodputTargets = {}): LoadMetrics {
  const measured = records.filter((r) => !r.warmup);
  const ok = measured.filter((r) => !r.error);
  const durationMs = busyDurationMs(measured);
  const perS = (x: number) => (durationMs > 0 ? (x * 1000) / durationMs : 0);
  const outputTokens = ok.reduce((s, r) => s + (Number.isFinite(r.outputTokens) ? r.outputTokens : 0), 0);
  const promptKnown = ok.every((r) => Number.isFinite(r.promptTokens));
  const promptTokens = ok.reduce((s, r) => s + (Number.isFinite(r.promptTokens) ? r.promptTokens : 0), 0);
  const good = measured.filter((r) => isGoodRequest(r, targets)).length;
  return {
    requests: measured.length,
    completed: ok.length,
    failed: measured.length - ok.length,
    duration_ms: durationMs,
    request_throughput: perS(ok.length),
    output_throughput: perS(outputTokens),
    total_token_throughput: promptKnown ? perS(promptTokens + outputTokens) : null,
    good_requests: good,
    request_goodput: perS(good),
    goodput_fraction: measured.length > 0 ? good / measured.length : 0,
  };
}

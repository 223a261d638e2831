/**
 * Per-request metrics of one IterationRecord, named as in DESIGN.md. Pure functions of the
 * record's events; null when the figure does not exist for that record (no token arrived, a
 * single output token, ...).
 *
 * n_output is `record.outputTokens`, the server's own count (usage.completion_tokens or
 * llama.cpp timings.predicted_n) — not the number of chunks, which can be smaller when a chunk
 * carries several tokens.
 */
import type { IterationRecord, TokenEvent } from '../../core/events.ts';

function tokenEvents(rec: IterationRecord): TokenEvent[] {
  return rec.events.filter((e): e is TokenEvent => e.kind === 'token').sort((a, b) => a.tMs - b.tMs);
}

/**
 * Time to first token: request sent -> first content token received. For an endpoint this
 * includes the upload of the request (images), the server's image decoding and encoding, the
 * prefill and the first sampled token's trip back.
 */
export function ttftMs(rec: IterationRecord): number | null {
  const first = tokenEvents(rec)[0];
  return first ? first.tMs - rec.startMs : null;
}

/** TPOT = (t_last_token - t_first_token) / (n_output - 1). */
export function tpotMs(rec: IterationRecord): number | null {
  const tokens = tokenEvents(rec);
  const first = tokens[0];
  const last = tokens[tokens.length - 1];
  const n = rec.outputTokens;
  if (!first || !last || !Number.isFinite(n) || n < 2) return null;
  return (last.tMs - first.tMs) / (n - 1);
}

/** Decode tokens/s = 1000 / TPOT (null when TPOT is 0: all tokens arrived in one chunk). */
export function decodeTokensPerS(rec: IterationRecord): number | null {
  const tpot = tpotMs(rec);
  return tpot !== null && tpot > 0 ? 1000 / tpot : null;
}

/** Chunk ITL: gaps between successive streamed chunks (a chunk may carry several tokens). */
export function chunkItlMs(rec: IterationRecord): number[] {
  const tokens = tokenEvents(rec);
  return tokens.slice(1).map((t, i) => t.tMs - tokens[i]!.tMs);
}

/** End-to-end latency: request sent -> end of the answer ([DONE] or end of body). */
export function e2eMs(rec: IterationRecord): number {
  return rec.endMs - rec.startMs;
}

/**
 * Prefill tokens/s = prompt tokens (image tokens included) / prefill time, where the endpoint's
 * prefill phase is the TTFT window — a lower bound on the server's true prefill rate.
 */
export function prefillTokensPerS(rec: IterationRecord): number | null {
  const ttft = ttftMs(rec);
  return ttft !== null && ttft > 0 && Number.isFinite(rec.promptTokens) && rec.promptTokens > 0 ? (rec.promptTokens * 1000) / ttft : null;
}

export interface RequestMetrics {
  ttft_ms: number | null;
  tpot_ms: number | null;
  decode_tokens_per_s: number | null;
  prefill_tokens_per_s: number | null;
  e2e_ms: number;
  chunk_itl_ms: number[];
}

export function requestMetrics(rec: IterationRecord): RequestMetrics {
  return {
    ttft_ms: ttftMs(rec),
    tpot_ms: tpotMs(rec),
    decode_tokens_per_s: decodeTokensPerS(rec),
    prefill_tokens_per_s: prefillTokensPerS(rec),
    e2e_ms: e2eMs(rec),
    chunk_itl_ms: chunkItlMs(rec),
  };
}

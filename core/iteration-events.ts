/**
 * What one request's timed events say: phase totals, token arrivals and the figures built on
 * them. The metric registry's definitions (core/metric-registry.ts `fromIteration`) compute each
 * per-iteration metric from these.
 */
import type { IterationRecord, PhaseName, SubgraphEvent, TokenEvent } from './events.ts';

/** Total time of a phase's windows in the request; undefined when the phase did not occur. */
export function phaseMs(rec: IterationRecord, phase: PhaseName): number | undefined {
  let total: number | undefined;
  for (const e of rec.events) if (e.kind === 'phase' && e.phase === phase) total = (total ?? 0) + (e.endMs - e.startMs);
  return total;
}

/** Token arrivals in time order. */
export function tokenArrivals(rec: IterationRecord): TokenEvent[] {
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

/**
 * Vision encoder time of each image: one invocation per image gives each image's time; a batched
 * call is split evenly and the share is what is reported. Undefined without images.
 */
export function imageEncodePerImageMs(rec: IterationRecord): number[] | undefined {
  if (rec.images <= 0) return undefined;
  const perImage = rec.events.filter((e): e is SubgraphEvent => e.kind === 'subgraph' && e.phase === 'image_encode');
  if (perImage.length === rec.images) return perImage.map((e) => e.endMs - e.startMs);
  const enc = phaseMs(rec, 'image_encode');
  return enc !== undefined ? Array<number>(rec.images).fill(enc / rec.images) : undefined;
}

/** Prompt tokens (image tokens included) per second of prefill; undefined without a positive prefill or prompt. */
export function prefillTokensPerS(rec: IterationRecord): number | undefined {
  const prefill = phaseMs(rec, 'prefill');
  return prefill !== undefined && prefill > 0 && rec.promptTokens > 0 ? (rec.promptTokens * 1000) / prefill : undefined;
}

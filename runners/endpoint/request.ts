/**
 * One streamed chat completion -> one IterationRecord.
 *
 * Phases (times on the run's clock):
 * - `prefill`: request handed to the socket -> first content token received. This is the TTFT
 *   window; for an endpoint it includes the upload (images as data URLs), the server's image
 *   decoding and vision encoding, the prefill itself and the first token's trip back.
 * - `decode`: first -> last content token (present when at least two chunks carried tokens).
 *
 * `reported` keeps the server's own figures under their names, prefixed by where they came
 * from (`usage.prompt_tokens`, `timings.prompt_ms`, ...), beside this client's bookkeeping:
 * `request` (index within its round), `round`, `concurrency`, `scheduled_offset_ms` (Poisson
 * send time within the round), `http_status`, `done_marker` (1 if `data: [DONE]` came),
 * `chunk_counts_from_server` (1: each token event's count is a server delta; 0: one per chunk),
 * `output_tokens_from_server` (1: outputTokens is the server's count; 0: counted chunks).
 */
import type { Clock } from '../../core/clock.ts';
import type { IterationRecord, TimedEvent } from '../../core/events.ts';
import type { HttpTarget, StreamOutcome } from './http-client.ts';
import { displayUrl, postStream } from './http-client.ts';
import { DEFAULT_MAX_SSE_LINE_BYTES, SseDecoder } from './sse.ts';
import { StreamAccumulator } from './stream-accumulator.ts';
import { errorMessage } from '../../core/errors.ts';

export interface RequestMeta {
  index: number;
  warmup: boolean;
  images: number;
  round: number;
  request: number;
  concurrency: number;
  /** Cap of one SSE line or event, bytes (options.maxSseLineBytes). */
  maxSseLineBytes?: number;
  /** max_tokens asked: a server streaming more is stopped there (the request fails, saying so). */
  maxTokens?: number;
  scheduledOffsetMs: number | null;
  /** usage.prompt_tokens of the same prompt without images, to derive image tokens. */
  textPromptTokens: number | null;
}

/** Never throws: every failure becomes the record's `error`. */
export async function runStreamingRequest(
  target: HttpTarget,
  body: string,
  clock: Clock,
  meta: RequestMeta,
  redact: (text: string) => string,
): Promise<IterationRecord> {
  const acc = new StreamAccumulator(`SSE stream from ${displayUrl(target.url)}`);
  const decoder = new SseDecoder(meta.maxSseLineBytes ?? DEFAULT_MAX_SSE_LINE_BYTES);
  const progress = () => `after ${acc.tokensReceived} token${acc.tokensReceived === 1 ? '' : 's'}`;
  const outcome = await postStream(target, body, clock, {
    onData(bytes, tMs) {
      for (const ev of decoder.push(bytes)) {
        if (acc.onEvent(ev, tMs)) return true;
        if (meta.maxTokens !== undefined && acc.tokensReceived > meta.maxTokens) {
          throw new Error(`server streamed more tokens than the max_tokens (${meta.maxTokens}) asked: stopped reading ${progress()}`);
        }
      }
      return false;
    },
    progress,
  });

  let error = outcome.failure?.message ?? null;
  if (error === null && !acc.doneMarker) {
    // The body ended without [DONE]. Servers that never send it (ik_llama.cpp) still close a
    // complete answer with a finish_reason; without one the answer was cut short.
    const tail = decoder.end();
    try {
      for (const ev of tail.events) acc.onEvent(ev, outcome.endMs);
    } catch (err) {
      error = errorMessage(err);
    }
    if (error === null && acc.finishReason === null && !acc.doneMarker) {
      error = `stream ended without [DONE] and without a finish_reason${tail.incomplete ? ' (in the middle of an event)' : ''} ${progress()}: the answer is truncated`;
    }
  }
  return buildRecord(outcome, acc, meta, error === null ? null : redact(error));
}

function buildRecord(outcome: StreamOutcome, acc: StreamAccumulator, meta: RequestMeta, error: string | null): IterationRecord {
  const events: TimedEvent[] = [];
  const first = acc.tokens[0];
  const last = acc.tokens[acc.tokens.length - 1];
  if (first) events.push({ kind: 'phase', phase: 'prefill', startMs: outcome.startMs, endMs: first.tMs });
  if (first && last && acc.tokens.length > 1) events.push({ kind: 'phase', phase: 'decode', startMs: first.tMs, endMs: last.tMs });
  events.push(...acc.tokens);

  const usage = acc.usage ?? {};
  const timings = acc.timings ?? {};
  const serverOutput = usage['completion_tokens'] ?? timings['predicted_n'];
  const outputTokens = serverOutput ?? acc.tokensReceived;
  // llama.cpp's prompt_n leaves out tokens reused from its cache (cache_n).
  const fromTimings = timings['prompt_n'] !== undefined ? timings['prompt_n'] + (timings['cache_n'] ?? 0) : undefined;
  // NaN (null in JSON) when the server did not say: a count is never guessed.
  const promptTokens = usage['prompt_tokens'] ?? fromTimings ?? Number.NaN;
  let imageTokens = 0;
  if (meta.images > 0) {
    imageTokens = Number.isFinite(promptTokens) && meta.textPromptTokens !== null ? promptTokens - meta.textPromptTokens : Number.NaN;
  }

  const reported: Record<string, number> = {
    request: meta.request,
    round: meta.round,
    concurrency: meta.concurrency,
    done_marker: acc.doneMarker ? 1 : 0,
    chunk_counts_from_server: acc.tokens.length > 0 && acc.exactCounts ? 1 : 0,
    output_tokens_from_server: serverOutput !== undefined ? 1 : 0,
  };
  if (outcome.status !== null) reported['http_status'] = outcome.status;
  if (meta.scheduledOffsetMs !== null) reported['scheduled_offset_ms'] = meta.scheduledOffsetMs;
  for (const [k, v] of Object.entries(usage)) reported[`usage.${k}`] = v;
  for (const [k, v] of Object.entries(timings)) reported[`timings.${k}`] = v;

  const record: IterationRecord = {
    index: meta.index,
    warmup: meta.warmup,
    startMs: outcome.startMs,
    endMs: outcome.endMs,
    promptTokens,
    imageTokens,
    images: meta.images,
    outputTokens,
    events,
    reported,
  };
  if (error !== null) record.error = error;
  return record;
}

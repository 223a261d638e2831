/**
 * Turns the SSE events of one streamed chat completion into token arrivals and the server's own
 * figures. Token counts come from the server whenever it says how many tokens a chunk carried:
 * the cumulative `usage.completion_tokens` of vLLM's `continuous_usage_stats` or the cumulative
 * `timings.predicted_n` of llama.cpp's `timings_per_token`. Without them each chunk with text
 * counts as one token (`exactCounts` is then false, and the record says so) — a chunk may in
 * fact carry several tokens; the server's final `usage` still gives the true output count.
 */
import type { TokenEvent } from '../../core/events.ts';
import { parseChunk } from './chunk.ts';
import { StreamServerError } from '../../core/errors.ts';
import type { SseEvent } from './sse.ts';

export class StreamAccumulator {
  readonly tokens: TokenEvent[] = [];
  usage: Record<string, number> | null = null;
  timings: Record<string, number> | null = null;
  finishReason: string | null = null;
  doneMarker = false;
  /** Chunks that carried generated text. */
  textChunks = 0;
  /** False as soon as one token arrival had to be counted as 1 per chunk. */
  exactCounts = true;

  private mode: 'undecided' | 'exact' | 'per-chunk' = 'undecided';
  private counted = 0;

  constructor(private readonly source: string) {}

  get tokensReceived(): number {
    return this.counted;
  }

  /** Feeds one event received at `tMs`; returns true on `data: [DONE]`. Throws on bad data. */
  onEvent(ev: SseEvent, tMs: number): boolean {
    if (ev.data.trim() === '[DONE]') {
      this.doneMarker = true;
      return true;
    }
    const info = parseChunk(ev.data, this.source, ev.line);
    if (info.serverError !== null || ev.event === 'error') {
      throw new StreamServerError(`server reported an error in the stream (line ${ev.line}): ${info.serverError ?? ev.data}`);
    }
    if (info.usage) this.usage = info.usage;
    if (info.timings) this.timings = info.timings;
    if (info.finishReason !== null) this.finishReason = info.finishReason;
    if (info.textChars > 0) this.textChunks += 1;

    const cum = info.cumulativeTokens;
    if (this.mode === 'undecided' && (info.textChars > 0 || (cum !== null && cum > 0 && info.hasChoices))) {
      // Per-chunk counts are trusted only when they start with the first token: a count that
      // first appears in the final chunk (llama.cpp's closing usage) is a total, not a delta.
      this.mode = cum !== null && info.hasChoices && info.finishReason === null ? 'exact' : 'per-chunk';
    }
    if (this.mode === 'exact' && info.hasChoices) {
      if (cum !== null) {
        if (cum > this.counted) this.arrive(tMs, cum - this.counted);
      } else if (info.textChars > 0) {
        this.exactCounts = false;
        this.arrive(tMs, 1);
      }
    } else if (this.mode === 'per-chunk' && info.textChars > 0) {
      this.exactCounts = false;
      this.arrive(tMs, 1);
    }
    return false;
  }

  private arrive(tMs: number, count: number): void {
    this.tokens.push({ kind: 'token', tMs, index: this.counted, count });
    this.counted += count;
  }
}

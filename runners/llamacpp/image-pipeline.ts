/**
 * One image request through llama.cpp's mtmd (@fugood/llama.node): the images and the prompt
 * go to one `completion` call, which loads and preprocesses each image, encodes it with the
 * mmproj, evaluates the prompt with the image embeddings in place and decodes greedily.
 *
 * Timing, on the run's clock: the completion's start, the arrival of each generated token (the
 * binding's token callback) and its end, so time to first token and every decode step are
 * measured as for the other runners. Inside time to first token the binding shows no boundary
 * (its `prompt_ms` is llama.cpp's prompt-eval span, which runs from the first text chunk's
 * decode across the image encode, and mtmd's per-image encode times go to the process's stderr
 * only), so the phases are split with two further calls, each timed on the same clock:
 * - preprocess = a `tokenize` of the same prompt and images (image file decode, mtmd
 *   preprocessing, tokenisation: the work the completion starts with), run just before;
 * - prefill = a text-only completion of as many prompt tokens (llama_decode over the same
 *   number of positions, first token sampled), run just after;
 * - image_encode = time to first token - preprocess - prefill.
 * The cell's settings say so (`phaseSplit`); llama.cpp's own timings are kept in `reported`.
 */
import type { Clock } from '../../core/clock.ts';
import type { IterationRecord, TimedEvent } from '../../core/events.ts';
import type { MtmdContext } from './mtmd-binding.ts';

export const MTMD_PHASE_SPLIT =
  'time to first token and decode measured on the suite clock; inside it, preprocess = a tokenize of the same prompt and images and prefill = a text-only completion of as many prompt tokens, each timed on the suite clock beside the request; image_encode = time to first token - preprocess - prefill (composed)';

/** The marker rn-llama / mtmd replaces by an image's tokens (mtmd_default_marker). */
export const MEDIA_MARKER = '<__media__>';

export interface MtmdRequestShape {
  /** Text characters of the prompt: one token each with the zoo's byte-level vocabulary. */
  text: string;
  imagePaths: string[];
  outputTokens: number;
}

/** A prompt of `tokens` printable ASCII characters (one byte-level token each), fixed by the seed. */
export function promptText(tokens: number, seed: number): string {
  let s = '';
  let x = (seed >>> 0) || 1;
  for (let i = 0; i < tokens; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += String.fromCharCode(97 + ((x >>> 16) % 26));
  }
  return s;
}

export class MtmdPipeline {
  constructor(
    private readonly context: MtmdContext,
    private readonly clock: Clock,
  ) {}

  async run(shape: MtmdRequestShape, index: number, warmup: boolean): Promise<IterationRecord> {
    const { clock, context } = this;
    // rn-llama reuses the KV cache of an identical media prompt: dropped before the clock starts,
    // so every request encodes its images and evaluates its prompt.
    context.clearCache(true);
    const events: TimedEvent[] = [];
    const record: IterationRecord = {
      index,
      warmup,
      startMs: clock.now(),
      endMs: 0,
      promptTokens: Number.NaN,
      imageTokens: Number.NaN,
      images: shape.imagePaths.length,
      outputTokens: 0,
      events,
    };
    const tokenTimes: number[] = [];
    try {
      const prompt = shape.imagePaths.map(() => MEDIA_MARKER).join('') + shape.text;
      const tokStart = clock.now();
      const tokenized = await context.tokenize(prompt, { media_paths: shape.imagePaths });
      const preprocessMs = clock.now() - tokStart;
      // mtmd marks each image position with -1 in the token list.
      const imageTokens = Array.from(tokenized.tokens).filter((t) => t < 0).length;
      context.clearCache(true);

      record.startMs = clock.now();
      const result = await context.completion(
        { prompt, media_paths: shape.imagePaths, n_predict: shape.outputTokens, temperature: 0, top_k: 1, ignore_eos: true },
        () => {
          tokenTimes.push(clock.now());
        },
      );
      record.endMs = clock.now();
      if (tokenTimes.length === 0) throw new Error('llama.cpp returned no token');
      if (result.timings.prompt_n !== tokenized.tokens.length) {
        throw new Error(`llama.cpp evaluated ${result.timings.prompt_n} prompt tokens of ${tokenized.tokens.length}: a cached prompt, not what this cell measures`);
      }

      // The prefill reference: the same number of positions, text only, first token sampled.
      context.clearCache(true);
      const refStart = clock.now();
      await context.completion({ prompt: 'a'.repeat(tokenized.tokens.length), n_predict: 1, temperature: 0, top_k: 1, ignore_eos: true });
      const prefillRefMs = clock.now() - refStart;

      const first = tokenTimes[0]!;
      const ttft = first - record.startMs;
      const preprocess = Math.min(preprocessMs, ttft);
      const prefill = Math.min(prefillRefMs, ttft - preprocess);
      const encodeEnd = first - prefill;
      events.push({ kind: 'phase', phase: 'preprocess', startMs: record.startMs, endMs: record.startMs + preprocess });
      events.push({ kind: 'phase', phase: 'image_encode', startMs: record.startMs + preprocess, endMs: encodeEnd });
      events.push({ kind: 'phase', phase: 'prefill', startMs: encodeEnd, endMs: first });
      // The binding holds back a token that ends inside a UTF-8 sequence and sends it with the
      // next one: an arrival then carries more than one token (the last one takes the rest).
      const generated = result.tokens_predicted;
      tokenTimes.forEach((t, i) => {
        const count = i === tokenTimes.length - 1 ? Math.max(1, generated - i) : 1;
        events.push({ kind: 'token', tMs: t, index: i, count });
      });
      if (generated > 1) events.push({ kind: 'phase', phase: 'decode', startMs: first, endMs: tokenTimes[tokenTimes.length - 1]! });
      record.outputTokens = Math.max(generated, tokenTimes.length);
      record.imageTokens = imageTokens;
      record.visionTiles = shape.imagePaths.length;
      record.promptTokens = tokenized.tokens.length;
      record.reported = {
        prompt_ms: result.timings.prompt_ms,
        prompt_n: result.timings.prompt_n,
        predicted_ms: result.timings.predicted_ms,
        predicted_n: result.timings.predicted_n,
        token_arrivals: tokenTimes.length,
      };
    } catch (err) {
      record.error = err instanceof Error ? err.message : String(err);
      record.endMs = clock.now();
    }
    return record;
  }
}

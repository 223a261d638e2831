/**
 * One image request through llama.cpp's mtmd (@fugood/llama.node): a `completion` call loads
 * and preprocesses each image, encodes it with the mmproj, evaluates the prompt with the image
 * embeddings in place and samples greedily.
 *
 * Timing, on the run's clock. The binding's per-token callback is not usable as a clock: it
 * holds back tokens that end inside a UTF-8 sequence (frequent with the zoo's byte-level
 * vocabulary) and can deliver all of a request's tokens in one call or none. So:
 * - time to first token = a completion with n_predict 1, start to return;
 * - decode = the same request again at once, n_predict = output tokens - 1: rn-llama replays
 *   the cached prompt (checked: one prompt position evaluated) and generates; its duration is
 *   the decode phase, and its tokens arrive as one event at its end (TPOT = decode / steps);
 * - inside time to first token, preprocess = a `tokenize` of the same prompt and images (file
 *   decode, mtmd preprocessing, tokenisation) run just before, prefill = a text-only completion
 *   that evaluates exactly as many prompt positions (checked with `tokenize` before and with
 *   its `timings.prompt_n` after) run just after, image_encode = the rest (composed).
 * The cell's settings say so (`phaseSplit`); llama.cpp's own timings are kept in `reported`.
 */
import type { Clock } from '../../core/clock.ts';
import type { FigureSource } from '../../core/figure-source.ts';
import type { IterationRecord, TimedEvent } from '../../core/events.ts';
import type { MtmdCompletion, MtmdContext } from './mtmd-binding.ts';
import { errorMessage } from '../../core/errors.ts';

/** Greedy, fixed length: exactly n_predict tokens (the binding's loop stops at n_predict). */
const GREEDY = { temperature: 0, top_k: 1, ignore_eos: true } as const;

export const MTMD_PHASE_SPLIT =
  'on the suite clock: time to first token = a 1-token completion; decode = the same request replayed from its cached prompt for the remaining tokens (one arrival at its end); preprocess = a tokenize of the same prompt and images, prefill = a text-only completion evaluating exactly as many prompt positions (its prompt_n checked equal to that of the request), image_encode = time to first token - preprocess - prefill (composed)';

/**
 * The figures of an image cell that are compositions (core/figure-source.ts per-metric sources):
 * the phase windows inside TTFT, and what is read from them (prefill tokens/s, energy of a phase).
 * TTFT, TPOT, decode and end to end are measured on the suite's clock.
 */
export const MTMD_COMPOSED_FIGURES: Readonly<Record<string, FigureSource>> = { preprocess_ms: 'composed', image_encode_ms: 'composed', prefill_ms: 'composed' };
export const MTMD_COMPOSED_DETAIL =
  "inside the measured time to first token, preprocess = a tokenize of the same prompt and images run just before the request, prefill = a text-only completion of exactly as many prompt positions run just after it, image_encode = time to first token - preprocess - prefill; TTFT, TPOT and decode are measured on the suite's clock";

/** The marker rn-llama / mtmd replaces by an image's tokens (mtmd_default_marker). */
export const MEDIA_MARKER = '<__media__>';

export interface MtmdRequestShape {
  /** Text characters of the prompt: one token each with the zoo's byte-level vocabulary. */
  text: string;
  imagePaths: string[];
  outputTokens: number;
  /** Vision-encoder inputs mtmd runs per image (its tiles; default 1). */
  tilesPerImage?: number;
  /**
   * Image tokens mtmd evaluates per image, when its tokenisation does not list them one by one:
   * for M-RoPE models (Qwen-VL) it lists an image's positions, max(rows, cols) of its token grid.
   * Default: the listed image positions.
   */
  imageTokensPerImage?: number;
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

/**
 * @fugood/llama.node 1.7.15 marks a context busy after queueing a completion's worker and clears
 * the mark from the worker's end (LlamaContext::Completion: `Queue()`, then `_wip = worker`, then
 * `OnComplete(...)`). A completion that ends before the main thread registers the clearing leaves
 * the mark for good, and every later completion on that context throws this message. It happens
 * with tiny models under CPU contention (reproduced: 1 in ~250 one-token completions with 6 busy
 * loops on 2 cores); a full-scale request runs far longer than that window.
 */
export const WEDGED_CONTEXT_MESSAGE = 'Another completion is in progress';
/** Fresh contexts tried for one request before its error is recorded. */
const WEDGE_RETRIES = 3;

/** Seed of the prefill reference's text (any fixed seed: only its token count matters). */
const REFERENCE_SEED = 0x5eed;
/** Lengths tried before giving up on a text of exactly the wanted token count. */
const REFERENCE_ATTEMPTS = 12;

/**
 * A text prompt that tokenizes to exactly `positions` tokens under the loaded vocabulary. The
 * characters are not assumed to be one token each (a vocabulary may merge repeated or common
 * characters): the length is corrected by the token count `tokenize` returns until they agree.
 * The text is pseudo-random letters (as the cells' own prompts), not one repeated character,
 * which a BPE vocabulary merges most.
 */
export async function referencePrompt(positions: number, tokenize: (text: string) => Promise<number>): Promise<string> {
  let chars = positions;
  const tried: string[] = [];
  for (let attempt = 0; attempt < REFERENCE_ATTEMPTS && chars >= 1; attempt++) {
    const text = promptText(chars, REFERENCE_SEED);
    const count = await tokenize(text);
    if (count === positions) return text;
    tried.push(`${chars} characters -> ${count} tokens`);
    // Scaled by the characters per token seen so far, at least one character either way.
    const step = count > 0 ? Math.round(((positions - count) * chars) / count) : positions;
    chars += step === 0 ? Math.sign(positions - count) : step;
  }
  throw new Error(`no text prompt of exactly ${positions} tokens found for the prefill reference (${tried.join(', ')})`);
}

export class MtmdPipeline {
  /** Contexts replaced because the binding left them marked busy (WEDGED_CONTEXT_MESSAGE). */
  reloads = 0;
  /** Prefill reference text per prompt length (the same model on every context this pipeline opens). */
  private readonly references = new Map<number, string>();

  constructor(
    private context: MtmdContext,
    private readonly clock: Clock,
    /** Loads a new context of the same model and mmproj, outside any timed request. */
    private readonly reopen: () => Promise<MtmdContext>,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  /** The context requests currently run on (it changes when a wedged one is replaced). */
  get current(): MtmdContext {
    return this.context;
  }

  async run(shape: MtmdRequestShape, index: number, warmup: boolean): Promise<IterationRecord> {
    for (let attempt = 0; ; attempt++) {
      const record = await this.runOnce(shape, index, warmup);
      if (record.error !== WEDGED_CONTEXT_MESSAGE || attempt >= WEDGE_RETRIES) return record;
      // The wedged context is dropped, not released: its release() would write to the finished
      // worker the binding still points at. Garbage collection frees it (its destructor does not
      // touch that pointer). The request is run again whole on a new context; nothing of the
      // failed attempt is kept.
      this.log(`llama.node left its context marked busy after a completion (a binding race); loading a new context and running request ${index} again`);
      this.context = await this.reopen();
      this.reloads++;
    }
  }

  private async referenceFor(positions: number): Promise<string> {
    let text = this.references.get(positions);
    if (text === undefined) {
      text = await referencePrompt(positions, async (t) => (await this.context.tokenize(t, {})).tokens.length);
      this.references.set(positions, text);
    }
    return text;
  }

  private async runOnce(shape: MtmdRequestShape, index: number, warmup: boolean): Promise<IterationRecord> {
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
    try {
      const prompt = shape.imagePaths.map(() => MEDIA_MARKER).join('') + shape.text;
      const tokStart = clock.now();
      const tokenized = await context.tokenize(prompt, { media_paths: shape.imagePaths });
      const preprocessMs = clock.now() - tokStart;
      // mtmd marks each image position with -1 in the token list.
      const imagePositions = Array.from(tokenized.tokens).filter((t) => t < 0).length;
      const imageTokens = shape.imageTokensPerImage !== undefined ? shape.imageTokensPerImage * shape.imagePaths.length : imagePositions;
      const promptTokens = tokenized.tokens.length - imagePositions + imageTokens;
      context.clearCache(true);

      // Time to first token: the whole request up to its first token, one call.
      record.startMs = clock.now();
      const head = await context.completion({ prompt, media_paths: shape.imagePaths, ...GREEDY, n_predict: 1 });
      const first = clock.now();
      if (head.timings.prompt_n !== promptTokens) {
        throw new Error(`llama.cpp evaluated ${head.timings.prompt_n} prompt tokens of ${promptTokens}: a cached prompt, not what this cell measures`);
      }
      events.push({ kind: 'token', tMs: first, index: 0, count: 1 });
      let last = first;
      const steps = shape.outputTokens - 1;
      let tail: MtmdCompletion | undefined;
      if (steps > 0) {
        // Decode: the same request again at once; rn-llama replays the prompt's KV cache (checked:
        // it evaluates only the last prompt position), then generates `steps` tokens.
        tail = await context.completion({ prompt, media_paths: shape.imagePaths, ...GREEDY, n_predict: steps });
        last = clock.now();
        if (tail.timings.prompt_n > 1) {
          throw new Error(`llama.cpp re-evaluated ${tail.timings.prompt_n} prompt tokens instead of reusing the cached prompt: decode cannot be isolated`);
        }
        events.push({ kind: 'token', tMs: last, index: 1, count: steps });
      }
      record.endMs = last;

      // The prefill reference: the same number of prompt positions, text only, first token sampled.
      const refText = await this.referenceFor(promptTokens);
      context.clearCache(true);
      const refStart = clock.now();
      const ref = await context.completion({ prompt: refText, ...GREEDY, n_predict: 1 });
      const prefillRefMs = clock.now() - refStart;
      if (ref.timings.prompt_n !== head.timings.prompt_n) {
        throw new Error(`the prefill reference evaluated ${ref.timings.prompt_n} prompt positions, the image request ${head.timings.prompt_n}: prefill and image_encode cannot be split`);
      }

      const ttft = first - record.startMs;
      const preprocess = Math.min(preprocessMs, ttft);
      const prefill = Math.min(prefillRefMs, ttft - preprocess);
      const encodeEnd = first - prefill;
      events.unshift(
        { kind: 'phase', phase: 'preprocess', startMs: record.startMs, endMs: record.startMs + preprocess },
        { kind: 'phase', phase: 'image_encode', startMs: record.startMs + preprocess, endMs: encodeEnd },
        { kind: 'phase', phase: 'prefill', startMs: encodeEnd, endMs: first },
      );
      if (steps > 0) events.push({ kind: 'phase', phase: 'decode', startMs: first, endMs: last });
      record.outputTokens = shape.outputTokens;
      record.imageTokens = imageTokens;
      record.visionTiles = shape.imagePaths.length * (shape.tilesPerImage ?? 1);
      record.promptTokens = promptTokens;
      record.reported = {
        prompt_ms: head.timings.prompt_ms,
        prompt_n: head.timings.prompt_n,
        // The reference on the suite's clock: prefill = min(this, TTFT - preprocess), so a
        // reference slower than the request (a loaded machine) shows here as image_encode 0.
        'prefill_reference.ms': prefillRefMs,
        'prefill_reference.prompt_ms': ref.timings.prompt_ms,
        'prefill_reference.prompt_n': ref.timings.prompt_n,
        ...(tail ? { predicted_ms: tail.timings.predicted_ms, predicted_n: tail.timings.predicted_n } : {}),
      };
    } catch (err) {
      record.error = errorMessage(err);
      record.endMs = clock.now();
    }
    return record;
  }
}

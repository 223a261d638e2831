/**
 * One image request through llama.cpp's mtmd, with the suite's own addon
 * (runners/llamacpp/mtmd-native), every phase measured on the run's clock, as the ORT runner
 * measures its graphs:
 * - preprocess = `prepare`: the image files decoded, mtmd's preprocessing (resize, tiles,
 *   normalisation) and the prompt's tokenisation into text and image chunks;
 * - image_encode = `encodeImage` per image chunk (mtmd_encode_chunk: the mmproj's vision encoder
 *   and projector), one `mtmd_encode_chunk` subgraph event per chunk;
 * - prefill = `prefill`: the text chunks and the image embeddings into the KV memory in prompt
 *   order (llama_decode; mtmd's helper places image embeddings, M-RoPE positions for Qwen-VL);
 *   its end is the first token (greedy: the argmax of the last prompt row);
 * - decode = one `step` per further token (llama_decode of the previous token, argmax), one
 *   token event each.
 * llama.cpp's own counters (llama_perf_context) are kept in `reported`.
 */
import type { Clock } from '../../core/clock.ts';
import type { IterationRecord, PhaseName, TimedEvent } from '../../core/events.ts';
import { errorMessage } from '../../core/errors.ts';
import type { MtmdChunk, MtmdSession } from './mtmd-native/addon.ts';
import { LLAMA_DECODE_GRAPH } from './pipeline.ts';

export const MTMD_PHASE_TIMING =
  "measured on the suite clock, one addon call per phase: preprocess = image decode + mtmd preprocessing + tokenisation, image_encode = mtmd_encode_chunk per image chunk, prefill = text and image embeddings into the KV memory (first token = argmax of its last row), decode = one llama_decode per further token";

/** The marker mtmd replaces by an image's chunks (mtmd_default_marker). */
export const MEDIA_MARKER = '<__media__>';
/** Graph names of the subgraph events (the ORT runner's events name its ONNX graphs the same way). */
export const MTMD_ENCODE_GRAPH = 'mtmd_encode_chunk';

export interface MtmdRequestShape {
  /** The prompt's text, after the images' markers. */
  text: string;
  imagePaths: string[];
  outputTokens: number;
  /** Vision-encoder inputs mtmd runs per image (its tiles; default 1). */
  tilesPerImage?: number;
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

/** The prompt of a request: one marker per image, then the text. */
export function mediaPrompt(imageCount: number, text: string): string {
  return MEDIA_MARKER.repeat(imageCount) + text;
}

/** Tokens of a chunk list: all, and those of image chunks. */
export function chunkTokens(chunks: readonly MtmdChunk[]): { total: number; image: number; imageChunks: number } {
  let total = 0;
  let image = 0;
  let imageChunks = 0;
  for (const c of chunks) {
    total += c.nTokens;
    if (c.type === 'image') {
      image += c.nTokens;
      imageChunks++;
    }
  }
  return { total, image, imageChunks };
}

export class MtmdPipeline {
  constructor(
    private readonly session: MtmdSession,
    private readonly clock: Clock,
  ) {}

  async run(shape: MtmdRequestShape, index: number, warmup: boolean): Promise<IterationRecord> {
    const { clock, session } = this;
    // The previous request's KV memory and chunks are dropped before the clock starts.
    session.reset();
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
    // The phases tile the request: each starts where the previous one ended (the first at the
    // request's start), so nothing between them goes unaccounted.
    let mark = record.startMs;
    const phase = async <T>(name: PhaseName, fn: () => Promise<T>): Promise<T> => {
      const startMs = mark;
      const value = await fn();
      mark = clock.now();
      events.push({ kind: 'phase', phase: name, startMs, endMs: mark });
      return value;
    };
    try {
      const chunks = await phase('preprocess', () => session.prepare(mediaPrompt(shape.imagePaths.length, shape.text), shape.imagePaths));
      const counts = chunkTokens(chunks);
      await phase('image_encode', async () => {
        for (let i = 0; i < chunks.length; i++) {
          if (chunks[i]!.type !== 'image') continue;
          const startMs = clock.now();
          await session.encodeImage(i);
          events.push({ kind: 'subgraph', graph: MTMD_ENCODE_GRAPH, phase: 'image_encode', startMs, endMs: clock.now(), items: chunks[i]!.nTokens });
        }
      });
      const prefilled = await phase('prefill', () => session.prefill());
      events.push({ kind: 'token', tMs: mark, index: 0, count: 1 });
      const ids: number[] = [prefilled.token];
      record.outputTokens = 1;
      record.outputTokenIds = ids;
      record.promptTokens = counts.total;
      record.imageTokens = counts.image;
      record.visionTiles = shape.imagePaths.length * (shape.tilesPerImage ?? 1);
      await phase('decode', async () => {
        for (let step = 1; step < shape.outputTokens; step++) {
          const startMs = clock.now();
          ids.push(await session.step());
          const t = clock.now();
          events.push({ kind: 'subgraph', graph: LLAMA_DECODE_GRAPH, phase: 'decode', startMs, endMs: t, items: 1 });
          events.push({ kind: 'token', tMs: t, index: step, count: 1 });
          record.outputTokens = step + 1;
        }
      });
      const perf = session.perf();
      record.reported = {
        positions: prefilled.positions,
        image_chunks: counts.imageChunks,
        prompt_ms: perf.promptEvalMs,
        prompt_n: perf.promptEvalTokens,
        predicted_ms: perf.evalMs,
        predicted_n: perf.evalTokens,
      };
    } catch (err) {
      record.error = errorMessage(err);
    }
    record.endMs = clock.now();
    return record;
  }
}

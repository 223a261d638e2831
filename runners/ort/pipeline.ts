import * as ort from 'onnxruntime-node';
import { DEEPSTACK_FEATURES } from '../../models/layouts/onnx-community.ts';
import type { Clock } from '../../core/clock.ts';
import type { IterationRecord, PhaseName, TimedEvent } from '../../core/events.ts';
import { deepstackFeeds, type DeepstackInput } from '../../models/drivers/onnx-community.ts';
import { flattenPatches, patchCount, patchRowWidth } from '../../models/qwen-patches.ts';
import type { PipelineGeometry } from './geometry.ts';
import { SimdArgmax } from './argmax-simd.ts';
import { argmax, makePromptIds, makeTestImage, normalizeToChw } from './inputs.ts';
import { mropePositions, slicePositions, type MropePositions, type PromptSegment } from '../../models/mrope.ts';
import { prepareTiles, type PixelConvention, type VisualItem } from './visual-inputs.ts';
import { errorMessage } from '../../core/errors.ts';

export interface PipelineSessions {
  vision?: ort.InferenceSession;
  embed: ort.InferenceSession;
  decoder: ort.InferenceSession;
  lmHead?: ort.InferenceSession;
}

export interface RequestShape {
  /** Images per request when no `visuals` are given: one synthetic tile each (the legacy shape). */
  images: number;
  /**
   * Images and videos prepared as the model family's preprocessing does (resolution axis, real
   * images, video frames): each becomes its plan's tiles, the encoder runs once per tile.
   */
  visuals?: { items: VisualItem[]; pixels: PixelConvention };
  /** How the synthetic tiles of the legacy shape are normalised; needed when `images` > 0. */
  pixels?: PixelConvention;
  textTokens: number;
  outputTokens: number;
  /** Prefill chunk size in tokens; 0 = the whole prompt in one decoder call. */
  chunkSize: number;
  /** Range of token ids to draw the text prompt from. */
  vocab: number;
  seed: number;
}

type Feeds = Record<string, ort.Tensor>;
type Fetches = Record<string, ort.Tensor | null>;

/**
 * How the KV cache travels between decoder calls.
 * - `grow`: every call returns present.* one step longer and they are fed back as past.* (what
 *   any onnx-community export accepts; each step copies the whole cache out of the session).
 * - `shared`: one buffer per layer, as long as the request, passed both as past.* and as the
 *   pre-allocated present.* output, so GroupQueryAttention appends in place and nothing is
 *   copied (ONNX Runtime's past/present buffer sharing, as onnxruntime-genai uses it). Only
 *   for decoders whose attention is GroupQueryAttention, like the model zoo's.
 */
export type KvCacheMode = 'grow' | 'shared';

/**
 * One VLM request through the onnx-community split, as a real generation: images encoded one
 * by one (batch 1, as edge deployments run a tile), their features written over the image
 * placeholder rows of the prompt embeddings, chunked prefill, then greedy decode feeding the KV
 * cache back. Every session.run is timed on the run clock; nothing else is done between the
 * timed calls except building feeds, so phase times are the graphs' times plus the host glue a
 * deployment also pays.
 */
export class OrtPipeline {
  private readonly pastNames: string[];
  private readonly presentNames: string[];

  /** Shared-mode buffers, kept across requests of the cell (a deployment allocates its cache once). */
  private shared: { capacity: number; feeds: Feeds; fetches: Fetches } | null = null;

  /** Greedy choice over the vocabulary with WebAssembly SIMD (null: scalar loop). */
  private readonly argmaxer = SimdArgmax.create(0);
  /** lm_head's logits output, bound into the argmaxer's memory after the first call. */
  private logitsOut: { vocab: number; tensor: ort.Tensor } | null = null;

  constructor(
    private readonly sessions: PipelineSessions,
    private readonly geo: PipelineGeometry,
    private readonly clock: Clock,
    private readonly kvMode: KvCacheMode = 'grow',
  ) {
    this.pastNames = [];
    this.presentNames = [];
    for (let i = 0; i < geo.layers; i++) {
      for (const kv of ['key', 'value']) {
        this.pastNames.push(`past_key_values.${i}.${kv}`);
        this.presentNames.push(`present.${i}.${kv}`);
      }
    }
  }

  private emptyPast(): Feeds {
    const feeds: Feeds = {};
    const dims = [1, this.geo.kvHeads, 0, this.geo.headDim];
    const data = this.geo.kvType === 'float16' ? new Uint16Array(0) : new Float32Array(0);
    for (const name of this.pastNames) feeds[name] = new ort.Tensor(this.geo.kvType, data, dims);
    return feeds;
  }

  private sharedCache(capacity: number): { feeds: Feeds; fetches: Fetches } {
    if (!this.shared || this.shared.capacity < capacity) {
      const dims = [1, this.geo.kvHeads, capacity, this.geo.headDim];
      const size = this.geo.kvHeads * capacity * this.geo.headDim;
      const feeds: Feeds = {};
      const fetches: Fetches = { [this.geo.decoderOutput]: null };
      this.pastNames.forEach((name, i) => {
        const buffer = new ort.Tensor(this.geo.kvType, this.geo.kvType === 'float16' ? new Uint16Array(size) : new Float32Array(size), dims);
        feeds[name] = buffer;
        fetches[this.presentNames[i]!] = buffer;
      });
      this.shared = { capacity, feeds, fetches };
    }
    return this.shared;
  }

  /**
   * M-RoPE positions of a prompt (Qwen-VL, position_ids [3, batch, seq]): text tokens t = h = w,
   * image tokens their (t, h, w) grid ids, as get_rope_index computes them.
   */
  private promptPositions(total: number, imageRows: number[], tokensPerImage: number): MropePositions {
    const segments: PromptSegment[] = [];
    let row = 0;
    for (const start of imageRows) {
      if (start > row) segments.push({ kind: 'text', tokens: start - row });
      segments.push(this.imageSegment(tokensPerImage));
      row = start + tokensPerImage;
    }
    if (total > row) segments.push({ kind: 'text', tokens: total - row });
    return mropePositions(segments);
  }

  private imageSegment(tokensPerImage: number): PromptSegment {
    const { patch, imageSize } = this.geo;
    if (patch && imageSize) {
      const side = imageSize / patch.patchSize / patch.mergeSize;
      if (side * side === tokensPerImage) return { kind: 'image', gridT: 1, gridH: side, gridW: side };
    }
    // A square token grid otherwise (a ViT whose tokens are not patches of a known grid).
    const side = Math.round(Math.sqrt(tokensPerImage));
    return side * side === tokensPerImage ? { kind: 'image', gridT: 1, gridH: side, gridW: side } : { kind: 'text', tokens: tokensPerImage };
  }

  /**
   * position_ids of sequence rows [start, start + length): prompt rows from the M-RoPE table when
   * there is one; generated rows continue from the prompt's largest position + 1 on all axes.
   */
  private positionIds(start: number, length: number, mrope: MropePositions | null): ort.Tensor {
    if (this.geo.positionIdsRank === 3) {
      if (mrope && start < mrope.tokens) return new ort.Tensor('int64', slicePositions(mrope, start, length), [3, 1, length]);
      const p = BigInt(mrope ? mrope.next + (start - mrope.tokens) : start);
      const ids = new BigInt64Array(3 * length);
      for (let a = 0; a < 3; a++) for (let i = 0; i < length; i++) ids[a * length + i] = p + BigInt(i);
      return new ort.Tensor('int64', ids, [3, 1, length]);
    }
    const pos = new BigInt64Array(length);
    for (let i = 0; i < length; i++) pos[i] = BigInt(start + i);
    return new ort.Tensor('int64', pos, [1, length]);
  }

  /** A run of 1s for attention masks, grown as needed (sessions only read their inputs). */
  private ones = new BigInt64Array(0);

  /**
   * Feeds of one decoder call. `into` (a decode step's feeds from the previous step, holding
   * the same shared past buffers) is updated in place instead of spreading 2 x layers entries
   * into a new object every step.
   */
  private decoderFeeds(
    embeds: ort.Tensor,
    start: number,
    length: number,
    past: Feeds,
    mrope: MropePositions | null,
    deepstack?: DeepstackInput,
    into?: Feeds,
  ): Feeds {
    const feeds: Feeds = into ?? { ...past };
    feeds['inputs_embeds'] = embeds;
    if (this.geo.deepstackTaps > 0) Object.assign(feeds, deepstackFeeds(deepstack, start, length, this.geo.deepstackTaps, this.geo.hidden));
    if (this.geo.hasAttentionMask) {
      const n = start + length;
      if (this.ones.length < n) this.ones = new BigInt64Array(Math.max(n, 2 * this.ones.length)).fill(1n);
      feeds['attention_mask'] = new ort.Tensor('int64', this.ones.subarray(0, n), [1, n]);
    }
    if (this.geo.positionIdsRank !== 0) feeds['position_ids'] = this.positionIds(start, length, mrope);
    return feeds;
  }

  private takePresent(out: ort.InferenceSession.OnnxValueMapType): Feeds {
    const past: Feeds = {};
    for (let i = 0; i < this.pastNames.length; i++) past[this.pastNames[i]!] = out[this.presentNames[i]!] as ort.Tensor;
    return past;
  }

  /** Logits of the last row -> greedy next token; runs lm_head when the split has one. */
  private async nextToken(
    out: ort.InferenceSession.OnnxValueMapType,
    phase: PhaseName,
    timed: <T>(graph: string, phase: PhaseName, items: number, fn: () => Promise<T>) => Promise<T>,
  ): Promise<number> {
    const produced = out[this.geo.decoderOutput] as ort.Tensor;
    const rows = produced.dims[1]!;
    const width = produced.dims[2]!;
    const data = produced.data as Float32Array;
    if (this.geo.decoderOutput === 'logits') return argmax(data, (rows - 1) * width, width);
    // Decode hands the decoder's [1, 1, hidden] output on as it is; prefill copies its last row.
    const last = rows === 1 ? produced : new ort.Tensor('float32', data.slice((rows - 1) * width, rows * width), [1, 1, width]);
    const lmHead = this.sessions.lmHead!;
    const fetches = this.logitsFetches();
    const res = await timed('lm_head', phase, 1, () => (fetches ? lmHead.run({ hidden_states: last }, fetches) : lmHead.run({ hidden_states: last })));
    const logits = res['logits'] as ort.Tensor;
    const values = logits.data as Float32Array;
    const vocab = logits.dims[2]!;
    if (!this.logitsOut && this.argmaxer && values.length === vocab) {
      // First call: now the vocabulary is known, later calls write the logits straight into
      // the argmax module's memory (no allocation, no copy per step).
      const buffer = this.argmaxer.reserve(vocab);
      this.logitsOut = { vocab, tensor: new ort.Tensor('float32', buffer.subarray(0, vocab), [1, 1, vocab]) };
    }
    const found = this.argmaxer ? this.argmaxer.argmax(values, 0, vocab) : -1;
    return found >= 0 ? found : argmax(values, 0, vocab);
  }

  /** lm_head's pre-allocated output, re-bound if the argmax memory was replaced (grown). */
  private logitsFetches(): Fetches | null {
    const out = this.logitsOut;
    if (!out || !this.argmaxer) return null;
    if (out.tensor.data !== this.argmaxer.logits && (out.tensor.data as Float32Array).buffer !== this.argmaxer.logits.buffer) {
      out.tensor = new ort.Tensor('float32', this.argmaxer.reserve(out.vocab).subarray(0, out.vocab), [1, 1, out.vocab]);
    }
    return { logits: out.tensor };
  }

  /**
   * Vision encoder feeds for one normalised CHW image: the image tensor, or (Qwen-VL) its
   * flattened patches in the processor's layout with a one-image grid. Flattening is part of
   * the image_encode phase, as the processor's work is in a deployment.
   */
  private visionFeeds(chw: Float32Array, size: number): Feeds {
    const { patch, gridInput } = this.geo;
    if (this.geo.pixelLayout === 'image' || !patch || !gridInput) {
      return { pixel_values: new ort.Tensor('float32', chw, [1, 3, size, size]) };
    }
    const geometry = { ...patch, imageSize: size };
    const side = size / patch.patchSize;
    return {
      pixel_values: new ort.Tensor('float32', flattenPatches(chw, geometry), [patchCount(geometry), patchRowWidth(geometry)]),
      [gridInput]: new ort.Tensor('int64', BigInt64Array.from([1n, BigInt(side), BigInt(side)]), [1, 3]),
    };
  }

  /** DeepStack features of every image token of the prompt, `[taps, image tokens, hidden]`, with their rows. */
  private deepstackInput(imageRows: number[], perImage: Float32Array[], tokensPerImage: number): DeepstackInput {
    const { deepstackTaps: taps, hidden } = this.geo;
    const total = imageRows.length * tokensPerImage;
    const features = new Float32Array(taps * total * hidden);
    perImage.forEach((data, i) => {
      for (let level = 0; level < taps; level++) {
        const from = level * tokensPerImage * hidden;
        features.set(data.subarray(from, from + tokensPerImage * hidden), (level * total + i * tokensPerImage) * hidden);
      }
    });
    const rows = imageRows.flatMap((start) => Array.from({ length: tokensPerImage }, (_, k) => start + k));
    return { rows, features };
  }

  async run(shape: RequestShape, index: number, warmup: boolean): Promise<IterationRecord> {
    const { clock, geo, sessions } = this;
    const events: TimedEvent[] = [];
    const tokensPerTile = geo.tokensPerImage ?? 0;
    const visuals = shape.visuals;
    // Tokens of each image/video in prompt order; the legacy shape is one tile per image.
    const visualTokens = visuals ? visuals.items.map((v) => v.plan.tokens) : Array<number>(shape.images).fill(tokensPerTile);
    const imageTokens = visualTokens.reduce((a, b) => a + b, 0);
    const frames = visuals ? visuals.items.reduce((n, v) => n + (v.plan.frames ?? 0), 0) : 0;
    const record: IterationRecord = {
      index,
      warmup,
      startMs: clock.now(),
      endMs: 0,
      promptTokens: shape.textTokens + imageTokens,
      imageTokens,
      // A video frame is an image input to the model (the Axera table counts a video as 8 images).
      images: visuals ? visuals.items.reduce((n, v) => n + (v.kind === 'video' ? v.plan.frames ?? 0 : 1), 0) : shape.images,
      ...(frames ? { frames } : {}),
      visionTiles: visuals ? visuals.items.reduce((n, v) => n + v.plan.tiles, 0) : shape.images,
      outputTokens: 0,
      events,
    };
    const timed = async <T>(graph: string, phase: PhaseName, items: number, fn: () => Promise<T>): Promise<T> => {
      const startMs = clock.now();
      const value = await fn();
      events.push({ kind: 'subgraph', graph, phase, startMs, endMs: clock.now(), items });
      return value;
    };
    const phase = async <T>(name: PhaseName, fn: () => Promise<T>): Promise<T> => {
      const startMs = clock.now();
      const value = await fn();
      events.push({ kind: 'phase', phase: name, startMs, endMs: clock.now() });
      return value;
    };

    try {
      // preprocess: images/frames decoded (real files), resized, tiled and normalised as the
      // family's reference preprocessing does; or, in the legacy shape, one synthetic camera
      // tile per image. Prompt ids with the image placeholders.
      const size = geo.imageSize ?? 0;
      const { tiles, prompt, mrope } = await phase('preprocess', async () => {
        const tiles: Float32Array[][] = [];
        if (visuals) {
          const step = <T>(name: string, fn: () => Promise<T>) => timed(name, 'preprocess', 1, fn);
          for (const item of visuals.items) tiles.push(await prepareTiles(item, size, visuals.pixels, step));
        } else {
          if (shape.images > 0 && !shape.pixels) throw new Error('images requested without the processor statistics to normalise them');
          for (let i = 0; i < shape.images; i++) {
            const chw = new Float32Array(3 * size * size);
            normalizeToChw(makeTestImage(size, shape.seed + i), size, chw, 0, shape.pixels!);
            tiles.push([chw]);
          }
        }
        const prompt = makePromptIds(shape.textTokens, visualTokens, shape.vocab, shape.seed);
        // M-RoPE (Qwen-VL) images are one tile each here (other grids are refused when the
        // cell is prepared), so every image run is tokensPerTile long.
        const mrope = geo.positionIdsRank === 3 ? this.promptPositions(prompt.ids.length, prompt.imageRows, tokensPerTile) : null;
        return { tiles, prompt, mrope };
      });

      // The encoder runs once per tile at batch 1, as edge deployments run it; an image's
      // features are its tiles' features in order (each tile's tokens follow the previous one's).
      const features: Float32Array[] = [];
      const tileRows: number[] = [];
      const deepstackPerTile: Float32Array[] = [];
      if (tiles.length > 0) {
        const vision = sessions.vision!;
        await phase('image_encode', async () => {
          for (const [item, itemTiles] of tiles.entries()) {
            const parts: Float32Array[] = [];
            for (const [k, chw] of itemTiles.entries()) {
              const feeds = this.visionFeeds(chw, size);
              const out = await timed('vision_encoder', 'image_encode', 1, () => vision.run(feeds));
              parts.push(((out['image_features'] as ort.Tensor).data as Float32Array).subarray(0, tokensPerTile * geo.hidden));
              tileRows.push(prompt.imageRows[item]! + k * tokensPerTile);
              if (geo.deepstackTaps > 0) deepstackPerTile.push((out[DEEPSTACK_FEATURES] as ort.Tensor).data as Float32Array);
            }
            if (parts.length === 1) features.push(parts[0]!);
            else {
              const joined = new Float32Array(parts.length * tokensPerTile * geo.hidden);
              parts.forEach((p, k) => joined.set(p, k * tokensPerTile * geo.hidden));
              features.push(joined);
            }
          }
        });
      }
      const deepstack = geo.deepstackTaps > 0 ? this.deepstackInput(tileRows, deepstackPerTile, tokensPerTile) : undefined;

      const total = record.promptTokens;
      const shared = this.kvMode === 'shared' ? this.sharedCache(total + shape.outputTokens) : null;
      let past = shared ? shared.feeds : this.emptyPast();
      const runDecoder = (feeds: Feeds) => (shared ? sessions.decoder.run(feeds, shared.fetches) : sessions.decoder.run(feeds));
      const first = await phase('prefill', async () => {
        const embedOut = await timed('embed_tokens', 'prefill', total, () =>
          sessions.embed.run({ input_ids: new ort.Tensor('int64', prompt.ids, [1, total]) }),
        );
        const embeds = (embedOut['inputs_embeds'] as ort.Tensor).data as Float32Array;
        prompt.imageRows.forEach((row, i) => embeds.set(features[i]!.subarray(0, visualTokens[i]! * geo.hidden), row * geo.hidden));
        const chunk = shape.chunkSize > 0 ? shape.chunkSize : total;
        let out: ort.InferenceSession.OnnxValueMapType | undefined;
        for (let start = 0; start < total; start += chunk) {
          const length = Math.min(chunk, total - start);
          const rows = new ort.Tensor('float32', embeds.slice(start * geo.hidden, (start + length) * geo.hidden), [1, length, geo.hidden]);
          const feeds = this.decoderFeeds(rows, start, length, past, mrope, deepstack);
          out = await timed('decoder_model_merged', 'prefill', length, () => runDecoder(feeds));
          if (!shared) past = this.takePresent(out);
        }
        return this.nextToken(out!, 'prefill', timed);
      });
      events.push({ kind: 'token', tMs: clock.now(), index: 0, count: 1 });
      record.outputTokens = 1;
      const ids = [first];
      record.outputTokenIds = ids;

      await phase('decode', async () => {
        let token = first;
        // Shared KV buffers are the same every step, so one feeds object serves all steps.
        const stepFeeds: Feeds | undefined = shared ? { ...shared.feeds } : undefined;
        for (let step = 1; step < shape.outputTokens; step++) {
          const position = total + step - 1;
          const embedOut = await timed('embed_tokens', 'decode', 1, () =>
            sessions.embed.run({ input_ids: new ort.Tensor('int64', BigInt64Array.of(BigInt(token)), [1, 1]) }),
          );
          const feeds = this.decoderFeeds(embedOut['inputs_embeds'] as ort.Tensor, position, 1, past, mrope, undefined, stepFeeds);
          const out = await timed('decoder_model_merged', 'decode', 1, () => runDecoder(feeds));
          if (!shared) past = this.takePresent(out);
          token = await this.nextToken(out, 'decode', timed);
          events.push({ kind: 'token', tMs: clock.now(), index: step, count: 1 });
          ids.push(token);
          record.outputTokens = step + 1;
        }
      });
    } catch (err) {
      record.error = errorMessage(err);
    }
    record.endMs = clock.now();
    return record;
  }
}

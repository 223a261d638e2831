/**
 * Minimal host loop for a zoo model in the onnx-community layout: embeddings, chunked prefill /
 * decode with the KV cache fed back, and logits. Used by correctness checks and tests (the
 * benchmark runner has its own, timed pipeline).
 */
import * as ort from 'onnxruntime-node';
import type { VlmDescriptor } from '../descriptors.ts';
import { DEEPSTACK_EMBEDS, DEEPSTACK_FEATURES, VISUAL_POS_MASKS } from '../layouts/onnx-community.ts';
import { flattenPatches, patchCount, patchGeometry, patchRowWidth } from '../qwen-patches.ts';
import { slicePositions, type MropePositions } from '../mrope.ts';
import type { BuiltModel } from '../zoo.ts';

export interface TokenLogits {
  /** `[tokens, vocab]` row-major. */
  logits: Float32Array;
  vocab: number;
}

/** Image features of one image, and (Qwen3-VL) its DeepStack features `[taps, tokens, hidden]`. */
export interface EncodedImage {
  features: Float32Array;
  deepstack: Float32Array | null;
}

/** DeepStack inputs for a forward pass: which rows of the sequence are image tokens, and their features. */
export interface DeepstackInput {
  /** Sequence rows holding image tokens, ascending. */
  rows: number[];
  /** `[taps, rows.length, hidden]`. */
  features: Float32Array;
}

export class OnnxCommunityDriver {
  private constructor(
    private readonly descriptor: VlmDescriptor,
    private readonly sessions: Record<string, ort.InferenceSession>,
  ) {}

  private get llm() {
    return this.descriptor.llm;
  }

  static async open(model: BuiltModel, threads = 1): Promise<OnnxCommunityDriver> {
    const sessions: Record<string, ort.InferenceSession> = {};
    for (const [name, path] of Object.entries(model.files)) {
      sessions[name] = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    }
    return new OnnxCommunityDriver(model.descriptor, sessions);
  }

  private session(name: string): ort.InferenceSession {
    const s = this.sessions[name];
    if (!s) throw new Error(`model has no ${name} session`);
    return s;
  }

  /** Token embeddings `[n, hidden]`. */
  async embed(ids: number[]): Promise<Float32Array> {
    const input = new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
    const out = await this.session('embed_tokens').run({ input_ids: input });
    return (out['inputs_embeds'] as ort.Tensor).data as Float32Array;
  }

  /** Image features `[tokens, hidden]` of one `[3, S, S]` image. */
  async encodeImage(pixels: Float32Array, imageSize: number): Promise<Float32Array> {
    return (await this.encodeImageFull(pixels, imageSize)).features;
  }

  /**
   * One `[3, S, S]` image through the vision encoder: as an image tensor, or for the Qwen-VL
   * towers as flattened patches with its grid (`grid_thw` / `image_grid_thw`).
   */
  async encodeImageFull(pixels: Float32Array, imageSize: number): Promise<EncodedImage> {
    const vision = this.session('vision_encoder');
    const feeds: Record<string, ort.Tensor> = {};
    const gridName = vision.inputNames.find((n) => n === 'grid_thw' || n === 'image_grid_thw');
    if (gridName) {
      const geo = { ...patchGeometry(this.descriptor), imageSize };
      const side = imageSize / geo.patchSize;
      feeds['pixel_values'] = new ort.Tensor('float32', flattenPatches(pixels, geo), [patchCount(geo), patchRowWidth(geo)]);
      feeds[gridName] = new ort.Tensor('int64', BigInt64Array.from([1n, BigInt(side), BigInt(side)]), [1, 3]);
    } else {
      feeds['pixel_values'] = new ort.Tensor('float32', pixels, [1, 3, imageSize, imageSize]);
    }
    const out = await vision.run(feeds);
    const deepstack = out[DEEPSTACK_FEATURES] as ort.Tensor | undefined;
    return {
      features: (out['image_features'] as ort.Tensor).data as Float32Array,
      deepstack: deepstack ? (deepstack.data as Float32Array) : null,
    };
  }

  /**
   * Runs `embeds` (`[n, hidden]`) through the decoder in chunks of the given sizes (summing
   * to n), each chunk attending to the KV cache of the previous ones; returns the logits of
   * every position. M-RoPE decoders take `mropePositions` (images' t/h/w grid ids, see
   * models/mrope.ts); without it every token is text (t = h = w = index).
   */
  async forward(embeds: Float32Array, chunks: number[], deepstack?: DeepstackInput, mropeIds?: MropePositions): Promise<TokenLogits> {
    const { hidden: H, vocab: V, layers, kvHeads, headDim } = this.llm;
    const n = embeds.length / H;
    if (chunks.reduce((a, b) => a + b, 0) !== n) throw new Error(`chunks ${chunks.join('+')} do not sum to ${n} tokens`);
    let past: Record<string, ort.Tensor> = {};
    for (let i = 0; i < layers; i++) {
      for (const kv of ['key', 'value']) {
        past[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, kvHeads, 0, headDim]);
      }
    }
    const decoder = this.session('decoder_model_merged');
    const separate = decoder.outputNames.includes('hidden_states');
    const positionMeta = decoder.inputMetadata.find((m) => m.name === 'position_ids');
    const mrope = positionMeta !== undefined && positionMeta.isTensor && positionMeta.shape.length === 3;
    const taps = this.descriptor.vision.deepstackLayers?.length ?? 0;
    const takesDeepstack = decoder.inputNames.includes(DEEPSTACK_EMBEDS);
    const logits = new Float32Array(n * V);
    let start = 0;
    for (const s of chunks) {
      const feeds: Record<string, ort.Tensor> = {
        ...past,
        inputs_embeds: new ort.Tensor('float32', embeds.slice(start * H, (start + s) * H), [1, s, H]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(start + s).fill(1n), [1, start + s]),
      };
      // Text positions: t = h = w for M-RoPE decoders (position_ids [3, b, s]) unless given.
      const positions =
        mrope && mropeIds
          ? slicePositions(mropeIds, start, s)
          : BigInt64Array.from({ length: (mrope ? 3 : 1) * s }, (_, i) => BigInt(start + (i % s)));
      feeds['position_ids'] = new ort.Tensor('int64', positions, mrope ? [3, 1, s] : [1, s]);
      if (takesDeepstack) Object.assign(feeds, deepstackFeeds(deepstack, start, s, taps, H));
      const out = await decoder.run(feeds);
      past = {};
      for (let i = 0; i < layers; i++) {
        for (const kv of ['key', 'value']) past[`past_key_values.${i}.${kv}`] = out[`present.${i}.${kv}`] as ort.Tensor;
      }
      let chunkLogits: ort.Tensor;
      if (separate) {
        const head = await this.session('lm_head').run({ hidden_states: out['hidden_states'] as ort.Tensor });
        chunkLogits = head['logits'] as ort.Tensor;
      } else {
        chunkLogits = out['logits'] as ort.Tensor;
      }
      logits.set(chunkLogits.data as Float32Array, start * V);
      start += s;
    }
    return { logits, vocab: V };
  }

  async release(): Promise<void> {
    for (const s of Object.values(this.sessions)) await s.release();
  }
}

/**
 * `visual_pos_masks` / `deepstack_visual_embeds` for the rows start..start+length-1 of the
 * sequence: the mask marks the image rows among them, the embeds are those rows' features at
 * every DeepStack level (none: an all-false mask and zero rows).
 */
export function deepstackFeeds(
  input: DeepstackInput | undefined,
  start: number,
  length: number,
  taps: number,
  hidden: number,
): Record<string, ort.Tensor> {
  const mask = new Uint8Array(length);
  const picked: number[] = [];
  (input?.rows ?? []).forEach((row, k) => {
    if (row >= start && row < start + length) {
      mask[row - start] = 1;
      picked.push(k);
    }
  });
  const total = input?.rows.length ?? 0;
  const embeds = new Float32Array(taps * picked.length * hidden);
  if (input) {
    for (let level = 0; level < taps; level++) {
      picked.forEach((k, j) => {
        const from = (level * total + k) * hidden;
        embeds.set(input.features.subarray(from, from + hidden), (level * picked.length + j) * hidden);
      });
    }
  }
  return {
    [VISUAL_POS_MASKS]: new ort.Tensor('bool', mask, [1, length]),
    [DEEPSTACK_EMBEDS]: new ort.Tensor('float32', embeds, [taps, picked.length, hidden]),
  };
}

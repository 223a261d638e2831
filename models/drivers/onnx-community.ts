/**
 * Minimal host loop for a zoo model in the onnx-community layout: embeddings, chunked prefill /
 * decode with the KV cache fed back, and logits. Used by correctness checks and tests (the
 * benchmark runner has its own, timed pipeline).
 */
import * as ort from 'onnxruntime-node';
import type { VlmDescriptor } from '../descriptors.ts';
import { imageGrid, mropePositions, patchifyImage, patchVectorLength, slicePositions, type MropePositions, type Qwen2PatchGeometry } from '../qwen2-vl-inputs.ts';
import type { BuiltModel } from '../zoo.ts';

export interface TokenLogits {
  /** `[tokens, vocab]` row-major. */
  logits: Float32Array;
  vocab: number;
}

export class OnnxCommunityDriver {
  private constructor(
    private readonly descriptor: VlmDescriptor,
    private readonly sessions: Record<string, ort.InferenceSession>,
  ) {}

  private get llm(): VlmDescriptor['llm'] {
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

  /** Qwen2-VL's patch geometry, or null for a ViT that takes `[n, 3, S, S]` images. */
  qwen2Patches(): Qwen2PatchGeometry | null {
    const v = this.descriptor.vision;
    if (v.kind !== 'qwen2-vit') return null;
    return { patchSize: v.patchSize, temporalPatchSize: v.temporalPatchSize ?? 1, mergeSize: this.descriptor.projector.mergeFactor, channels: v.channels };
  }

  /**
   * Image features `[tokens, hidden]` of one `[3, S, S]` image. Qwen2-VL's encoder takes the
   * processor's flattened patches `[patches, 1176]` and `grid_thw [1, 3]` instead.
   */
  async encodeImage(pixels: Float32Array, imageSize: number): Promise<Float32Array> {
    const qwen = this.qwen2Patches();
    const feeds: Record<string, ort.Tensor> = {};
    if (qwen) {
      const patches = patchifyImage(pixels, imageSize, qwen);
      const width = patchVectorLength(qwen);
      feeds['pixel_values'] = new ort.Tensor('float32', patches, [patches.length / width, width]);
      feeds['grid_thw'] = new ort.Tensor('int64', BigInt64Array.from(imageGrid(imageSize, qwen).map(BigInt)), [1, 3]);
    } else {
      feeds['pixel_values'] = new ort.Tensor('float32', pixels, [1, 3, imageSize, imageSize]);
    }
    const out = await this.session('vision_encoder').run(feeds);
    return (out['image_features'] as ort.Tensor).data as Float32Array;
  }

  /**
   * Runs `embeds` (`[n, hidden]`) through the decoder in chunks of the given sizes (summing
   * to n), each chunk attending to the KV cache of the previous ones; returns the logits of
   * every position. M-RoPE models (Qwen2-VL) take `positions` (default: a text-only prompt,
   * t = h = w = index).
   */
  async forward(embeds: Float32Array, chunks: number[], positions?: MropePositions): Promise<TokenLogits> {
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
    const logits = new Float32Array(n * V);
    const mrope = this.llm.mropeSections ? positions ?? mropePositions([{ kind: 'text', tokens: n }]) : null;
    let start = 0;
    for (const s of chunks) {
      const feeds: Record<string, ort.Tensor> = {
        ...past,
        inputs_embeds: new ort.Tensor('float32', embeds.slice(start * H, (start + s) * H), [1, s, H]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(start + s).fill(1n), [1, start + s]),
        position_ids: mrope
          ? new ort.Tensor('int64', slicePositions(mrope, start, s), [3, 1, s])
          : new ort.Tensor('int64', BigInt64Array.from({ length: s }, (_, i) => BigInt(start + i)), [1, s]),
      };
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

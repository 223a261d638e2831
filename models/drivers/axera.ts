/**
 * Host loop for the Axera layout, following AXERA-TECH's python/infer.py (reference notes §3.3):
 * host-side embedding lookup, chunked prefill where chunk k attends to the k*chunk cached rows,
 * then decode steps that pass the whole fixed-size KV buffer with a mask (group g0).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { LanguageModel } from '../descriptors.ts';
import { AXERA_MASKED, axeraLayerSession } from '../layouts/axera.ts';
import type { BuiltModel } from '../zoo.ts';

export class AxeraDriver {
  private readonly kCaches: Float32Array[];
  private readonly vCaches: Float32Array[];
  /** Tokens already in the KV buffers. */
  private length = 0;

  private constructor(
    private readonly llm: LanguageModel,
    private readonly sessions: Record<string, ort.InferenceSession>,
    private readonly tablePath: string,
    readonly prefillChunk: number,
    readonly kvCacheLen: number,
  ) {
    const kvDim = llm.kvHeads * llm.headDim;
    this.kCaches = Array.from({ length: llm.layers }, () => new Float32Array(kvCacheLen * kvDim));
    this.vCaches = Array.from({ length: llm.layers }, () => new Float32Array(kvCacheLen * kvDim));
  }

  static async open(model: BuiltModel, threads = 1): Promise<AxeraDriver> {
    const table = model.assets['embed_tokens'];
    const chunk = model.layoutParams['prefillChunk'];
    const kvLen = model.layoutParams['kvCacheLen'];
    if (!table || !chunk || !kvLen) throw new Error(`${model.dir}: not an Axera-layout build (no embedding table / layout params)`);
    const sessions: Record<string, ort.InferenceSession> = {};
    for (const [name, path] of Object.entries(model.files)) {
      sessions[name] = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    }
    return new AxeraDriver(model.descriptor.llm, sessions, table, chunk, kvLen);
  }

  private session(name: string): ort.InferenceSession {
    const s = this.sessions[name];
    if (!s) throw new Error(`model has no ${name} session`);
    return s;
  }

  /** Rows of the host embedding table `[n, hidden]`, read from the .bin without loading it whole. */
  embed(ids: number[]): Float32Array {
    const H = this.llm.hidden;
    const out = new Float32Array(ids.length * H);
    const bytes = new Uint8Array(out.buffer);
    const fd = openSync(this.tablePath, 'r');
    try {
      ids.forEach((id, r) => {
        if (id < 0 || id >= this.llm.vocab) throw new Error(`token id ${id} outside vocab ${this.llm.vocab}`);
        readSync(fd, bytes, r * H * 4, H * 4, id * H * 4);
      });
    } finally {
      closeSync(fd);
    }
    return out;
  }

  async encodeImage(pixels: Float32Array, imageSize: number): Promise<Float32Array> {
    const out = await this.session('vit').run({ image: new ort.Tensor('float32', pixels, [1, 3, imageSize, imageSize]) });
    return (out['output'] as ort.Tensor).data as Float32Array;
  }

  /** Prefills `embeds` (`[n, hidden]`) from an empty cache; returns the logits of the last token. */
  async prefill(embeds: Float32Array): Promise<Float32Array> {
    const { hidden: H, kvHeads, headDim, layers } = this.llm;
    const kvDim = kvHeads * headDim;
    const C = this.prefillChunk;
    const n = embeds.length / H;
    if (n < 1 || n >= this.kvCacheLen) throw new Error(`prompt of ${n} tokens does not fit the ${this.kvCacheLen}-row KV cache`);
    this.length = 0;
    let last: Float32Array = new Float32Array(H);
    for (let k = 0; k * C < n; k++) {
      const start = k * C;
      const remain = Math.min(C, n - start);
      let data: Float32Array<ArrayBufferLike> = new Float32Array(C * H);
      data.set(embeds.subarray(start * H, (start + remain) * H));
      const indices = Uint32Array.from({ length: C }, (_, r) => start + r);
      const T = start + C;
      const mask = new Float32Array(C * T);
      for (let r = 0; r < C; r++) for (let c = 0; c < T; c++) mask[r * T + c] = c <= start + r ? 0 : AXERA_MASKED;
      for (let i = 0; i < layers; i++) {
        const out = await this.session(axeraLayerSession(i)).run({
          input: new ort.Tensor('float32', data, [1, C, H]),
          indices: new ort.Tensor('uint32', indices, [1, C]),
          mask: new ort.Tensor('float32', mask, [1, C, T]),
          K_cache: new ort.Tensor('float32', this.kCaches[i]!.subarray(0, start * kvDim), [1, start, kvDim]),
          V_cache: new ort.Tensor('float32', this.vCaches[i]!.subarray(0, start * kvDim), [1, start, kvDim]),
        });
        this.kCaches[i]!.set(((out['K_cache_out'] as ort.Tensor).data as Float32Array).subarray(0, remain * kvDim), start * kvDim);
        this.vCaches[i]!.set(((out['V_cache_out'] as ort.Tensor).data as Float32Array).subarray(0, remain * kvDim), start * kvDim);
        data = (out['output'] as ort.Tensor).data as Float32Array;
      }
      last = data.slice((remain - 1) * H, remain * H);
    }
    this.length = n;
    return this.post(last);
  }

  /** One decode step (group g0) for the embedding of the next token; returns its logits. */
  async decode(embed: Float32Array): Promise<Float32Array> {
    const { hidden: H, kvHeads, headDim, layers } = this.llm;
    const kvDim = kvHeads * headDim;
    const p = this.length;
    const L = this.kvCacheLen;
    if (p >= L) throw new Error(`KV cache full (${L} rows)`);
    const mask = new Float32Array(L + 1).fill(AXERA_MASKED);
    mask.fill(0, 0, p);
    mask[L] = 0;
    let data: Float32Array<ArrayBufferLike> = embed;
    for (let i = 0; i < layers; i++) {
      const out = await this.session(axeraLayerSession(i)).run({
        input: new ort.Tensor('float32', data, [1, 1, H]),
        indices: new ort.Tensor('uint32', Uint32Array.of(p), [1, 1]),
        mask: new ort.Tensor('float32', mask, [1, 1, L + 1]),
        K_cache: new ort.Tensor('float32', this.kCaches[i]!, [1, L, kvDim]),
        V_cache: new ort.Tensor('float32', this.vCaches[i]!, [1, L, kvDim]),
      });
      this.kCaches[i]!.set((out['K_cache_out'] as ort.Tensor).data as Float32Array, p * kvDim);
      this.vCaches[i]!.set((out['V_cache_out'] as ort.Tensor).data as Float32Array, p * kvDim);
      data = (out['output'] as ort.Tensor).data as Float32Array;
    }
    this.length = p + 1;
    return this.post(data);
  }

  private async post(hidden: Float32Array<ArrayBufferLike>): Promise<Float32Array> {
    const out = await this.session('post').run({ input: new ort.Tensor('float32', hidden, [1, 1, this.llm.hidden]) });
    return (out['output'] as ort.Tensor).data as Float32Array;
  }

  async release(): Promise<void> {
    for (const s of Object.values(this.sessions)) await s.release();
  }
}

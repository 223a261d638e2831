import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { OnnxCommunityDriver } from '../../models/drivers/onnx-community.ts';
import { DEFAULT_LINEAR_OPTIONS } from '../../models/layers/linear.ts';
import { patchGridPosition } from '../../models/layers/qwen2-vision.ts';
import { buildOnnxCommunity } from '../../models/layouts/onnx-community.ts';
import { onnx } from '../../models/onnx/proto.ts';
import { ensureModel, getDescriptor } from '../../models/zoo.ts';
import { tempDir } from '../helpers/tmp.ts';

const cacheDir = tempDir('zoo-families-');

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

function initializerNames(path: string): string[] {
  return (onnx.ModelProto.decode(readFileSync(path)).graph?.initializer ?? []).map((t) => t.name ?? '');
}

describe('smolvlm-256m (tiny)', () => {
  it('builds SigLIP + pixel shuffle x4 + tied-embedding Llama, and decodes consistently', async () => {
    const m = await ensureModel({ model: 'smolvlm-256m', scale: 'tiny', precision: 'fp32', layout: 'onnx-community', cacheDir });
    // 128 px / 16 = 8x8 patches, merged 4x4 -> 2x2 = 4 tokens per tile.
    expect(m.descriptor.imageTokensPerTile).toBe(4);
    // Tied: the head reads the embedding table, there is no separate lm_head weight.
    const head = initializerNames(m.files['lm_head'] ?? '');
    expect(head).toContain('llm.embed_tokens.weight');
    expect(head).not.toContain('llm.lm_head.weight');
    // Llama class: no q/k/v bias.
    expect(initializerNames(m.files['decoder_model_merged'] ?? '')).not.toContain('llm.layers.0.self_attn.qkv_proj.bias');
    const drv = await OnnxCommunityDriver.open(m);
    const img = await drv.encodeImage(Float32Array.from({ length: 3 * 128 * 128 }, (_, i) => Math.cos(i)), 128);
    expect(img.length).toBe(4 * 64);
    const ids = [3, 1, 4, 1, 5, 9, 2, 6];
    const embeds = await drv.embed(ids);
    const full = await drv.forward(embeds, [8]);
    expect(maxAbsDiff(full.logits, (await drv.forward(embeds, [5, 1, 1, 1])).logits)).toBeLessThan(1e-4);
    await drv.release();
  });
});

describe('qwen2-vl-2b (tiny)', () => {
  it('orders patches in 2x2 merge windows for the vision RoPE grid', () => {
    const side = 4;
    const got = Array.from({ length: 8 }, (_, p) => patchGridPosition(p, side, 2));
    expect(got).toEqual([
      { h: 0, w: 0 }, { h: 0, w: 1 }, { h: 1, w: 0 }, { h: 1, w: 1 },
      { h: 0, w: 2 }, { h: 0, w: 3 }, { h: 1, w: 2 }, { h: 1, w: 3 },
    ]);
  });

  it('has the onnx-community Qwen2-VL signature: flattened patches + grid_thw, M-RoPE position_ids [3, b, s]', async () => {
    const m = await ensureModel({ model: 'qwen2-vl-2b', scale: 'tiny', precision: 'int4', layout: 'onnx-community', cacheDir });
    const vis = await ort.InferenceSession.create(m.files['vision_encoder'] ?? '');
    expect(vis.inputNames).toEqual(['pixel_values', 'grid_thw']);
    const px = vis.inputMetadata[0];
    expect(px && px.isTensor ? px.shape : null).toEqual(['num_patches', 1176]);
    // Two 56 px images: 2 x 16 patches -> 2 x 4 merged tokens.
    const out = await vis.run({
      pixel_values: new ort.Tensor('float32', Float32Array.from({ length: 32 * 1176 }, (_, i) => Math.sin(i)), [32, 1176]),
      grid_thw: new ort.Tensor('int64', BigInt64Array.from([1n, 4n, 4n, 1n, 4n, 4n]), [2, 3]),
    });
    expect((out['image_features'] as ort.Tensor).dims).toEqual([8, 64]);
    const dec = await ort.InferenceSession.create(m.files['decoder_model_merged'] ?? '');
    const pos = dec.inputMetadata.find((x) => x.name === 'position_ids');
    expect(pos && pos.isTensor ? pos.shape : null).toEqual([3, 'batch_size', 'sequence_length']);
    await Promise.all([vis.release(), dec.release()]);
  });

  it('M-RoPE with equal t/h/w positions equals 1-D RoPE on the same weights; different h positions change it', async () => {
    const d = getDescriptor('qwen2-vl-2b', 'tiny');
    const plain = structuredClone(d);
    delete plain.llm.mropeSections;
    const lin = { ...DEFAULT_LINEAR_OPTIONS, precision: 'fp32' as const, seed: 1234 };
    const dirM = mkdtempSync(join(cacheDir, 'mrope-'));
    const dirP = mkdtempSync(join(cacheDir, 'rope-'));
    const log = (): void => {};
    const mrope = buildOnnxCommunity({ dir: dirM, descriptor: d, lin, lmHead: 'separate', log });
    const rope = buildOnnxCommunity({ dir: dirP, descriptor: plain, lin, lmHead: 'separate', log });
    const sm = await ort.InferenceSession.create(mrope.files['decoder_model_merged'] ?? '');
    const sp = await ort.InferenceSession.create(rope.files['decoder_model_merged'] ?? '');
    const N = 7;
    const L = d.llm;
    const past: Record<string, ort.Tensor> = {};
    for (let i = 0; i < L.layers; i++) {
      for (const kv of ['key', 'value']) past[`past_key_values.${i}.${kv}`] = new ort.Tensor('float32', new Float32Array(0), [1, L.kvHeads, 0, L.headDim]);
    }
    const feeds = {
      ...past,
      inputs_embeds: new ort.Tensor('float32', Float32Array.from({ length: N * L.hidden }, (_, i) => Math.sin(i * 0.37)), [1, N, L.hidden]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(N).fill(1n), [1, N]),
    };
    const ar = Array.from({ length: N }, (_, i) => BigInt(i));
    const run = async (s: ort.InferenceSession, positions: bigint[], dims: number[]) =>
      ((await s.run({ ...feeds, position_ids: new ort.Tensor('int64', BigInt64Array.from(positions), dims) }))['hidden_states'] as ort.Tensor)
        .data as Float32Array;
    const same = await run(sm, [...ar, ...ar, ...ar], [3, 1, N]);
    const oneD = await run(sp, ar, [1, N]);
    expect(maxAbsDiff(same, oneD)).toBeLessThan(1e-5);
    // An image-like layout: tokens 2..5 share t=2 and spread over a 2x2 h/w grid.
    const t = [0, 1, 2, 2, 2, 2, 4].map(BigInt);
    const h = [0, 1, 2, 2, 3, 3, 4].map(BigInt);
    const w = [0, 1, 2, 3, 2, 3, 4].map(BigInt);
    expect(maxAbsDiff(await run(sm, [...t, ...h, ...w], [3, 1, N]), oneD)).toBeGreaterThan(1e-2);
    await Promise.all([sm.release(), sp.release()]);
  });

  it('refuses the Axera layout, naming why', async () => {
    await expect(ensureModel({ model: 'qwen2-vl-2b', scale: 'tiny', precision: 'fp32', layout: 'axera', cacheDir })).rejects.toThrow(
      /axera.*qwen2-vl-2b.*onnx-community/,
    );
  });
});

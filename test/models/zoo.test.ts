import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import { OnnxCommunityDriver } from '../../models/drivers/onnx-community.ts';
import { DEFAULT_LINEAR_OPTIONS } from '../../models/layers/linear.ts';
import { buildHash, ensureModel, getDescriptor, listZoo, PRECISIONS, type BuiltModel, type Precision } from '../../models/zoo.ts';
import { tempDir } from '../helpers/tmp.ts';

const cacheDir = tempDir('zoo-test-');

function tiny(precision: Precision, lmHead: 'separate' | 'merged' = 'separate'): Promise<BuiltModel> {
  return ensureModel({ model: 'internvl2_5-1b', scale: 'tiny', precision, layout: 'onnx-community', cacheDir, lmHead });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('descriptors', () => {
  it('lists the zoo models', () => {
    expect(listZoo().map((z) => z.id)).toEqual(['internvl2_5-1b', 'qwen2-vl-2b', 'smolvlm-256m', 'internvl3_5-1b', 'qwen2_5-vl-3b', 'qwen3-vl-2b']);
  });

  it('resolves InternVL2.5-1B at full scale with the reference numbers', () => {
    const d = getDescriptor('internvl2_5-1b', 'full');
    expect(d.imageTokensPerTile).toBe(256);
    expect(d.vision).toMatchObject({ imageSize: 448, patchSize: 14, layers: 24, hidden: 1024, heads: 16, intermediate: 4096 });
    expect(d.llm).toMatchObject({ layers: 24, hidden: 896, intermediate: 4864, heads: 14, kvHeads: 2, headDim: 64, vocab: 151674 });
    expect(d.llm.ropeTheta).toBe(1e6);
    expect(d.sources['llm.vocab']).toContain('UNVERIFIED');
  });

  it('shrinks to a tiny scale with the same structure', () => {
    const d = getDescriptor('internvl2_5-1b', 'tiny');
    // 56 px / 14 = 4x4 patches, pixel shuffle 0.5 -> 2x2 tokens.
    expect(d.imageTokensPerTile).toBe(4);
    expect(d.llm).toMatchObject({ layers: 2, hidden: 64, vocab: 512, kvHeads: 2 });
    expect(d.vision.clsToken).toBe(true);
  });

  it('names the unknown id and lists the known ones', () => {
    expect(() => getDescriptor('llava-9b', 'full')).toThrow(InputError);
    expect(() => getDescriptor('llava-9b', 'full')).toThrow(/"llava-9b".*internvl2_5-1b, qwen2-vl-2b, smolvlm-256m, internvl3_5-1b, qwen2_5-vl-3b, qwen3-vl-2b/);
  });

  it('rejects an unknown precision, listing the valid ones', async () => {
    await expect(
      ensureModel({ model: 'internvl2_5-1b', scale: 'tiny', precision: 'int3' as Precision, layout: 'onnx-community', cacheDir }),
    ).rejects.toThrow(/"int3".*fp32, fp16, int8, int4/);
  });
});

describe('ensureModel (onnx-community, tiny)', () => {
  it('builds once, then serves the cache with the same hash', async () => {
    const first = await tiny('fp32');
    expect(first.built).toBe(true);
    expect(first.buildMs).toBeGreaterThan(0);
    const again = await tiny('fp32');
    expect(again.built).toBe(false);
    expect(again.buildMs).toBe(0);
    expect(again.hash).toBe(first.hash);
    expect(again.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(first.files).sort()).toEqual(['decoder_model_merged', 'embed_tokens', 'lm_head', 'vision_encoder']);
    for (const [name, bytes] of Object.entries(first.sizes)) expect(statSync(join(first.dir, name)).size).toBe(bytes);
    const record = JSON.parse(readFileSync(join(first.dir, 'builder.json'), 'utf8')) as Record<string, unknown>;
    expect(record['synthetic']).toBe(true);
    expect(record['seed']).toBe(1234);
    expect(record['hash']).toBe(first.hash);
    // No temp folders left behind.
    const leftovers = (await import('node:fs')).readdirSync(cacheDir).filter((f) => f.startsWith('.tmp-'));
    expect(leftovers).toEqual([]);
  });

  it('keeps the hash of builds made before the RoPE form was an option; the other form is another build', () => {
    const d = getDescriptor('internvl2_5-1b', 'tiny');
    const req = { model: 'internvl2_5-1b', scale: 'tiny' as const, precision: 'int8' as const, layout: 'onnx-community' as const, seed: 1234, lmHead: 'separate' as const, vision: true };
    // The hash main's builder gave this request before `ropeForm` existed.
    expect(buildHash(d, req, { ...DEFAULT_LINEAR_OPTIONS })).toBe('47cd819632ee04df0dda3d45751f08fef93e3b11de0d9122da89726a2a4a9fe1');
    expect(buildHash(d, req, { ...DEFAULT_LINEAR_OPTIONS, ropeForm: 'attention' })).toBe('e29c151f8cb846bba470af6b63abd2363ff7c7bb87b4286460680056729753c0');
  });

  it('uses onnx-community suffixes per precision and keys the cache on the seed', async () => {
    const q4 = await tiny('int4');
    expect(basename(q4.files['decoder_model_merged'] ?? '')).toBe('decoder_model_merged_q4.onnx');
    expect(basename((await tiny('fp16')).files['embed_tokens'] ?? '')).toBe('embed_tokens_fp16.onnx');
    expect(basename((await tiny('int8')).files['lm_head'] ?? '')).toBe('lm_head_int8.onnx');
    const other = await ensureModel({ model: 'internvl2_5-1b', scale: 'tiny', precision: 'int4', layout: 'onnx-community', cacheDir, seed: 7 });
    expect(other.hash).not.toBe(q4.hash);
    expect(other.dir).not.toBe(q4.dir);
  });

  it('declares the exact onnx-community tensor names and shapes', async () => {
    const m = await tiny('int4');
    const dec = await ort.InferenceSession.create(m.files['decoder_model_merged'] ?? '');
    expect(dec.inputNames.slice(0, 5)).toEqual(['inputs_embeds', 'attention_mask', 'position_ids', 'past_key_values.0.key', 'past_key_values.0.value']);
    expect(dec.inputNames).toHaveLength(3 + 2 * 2);
    expect(dec.outputNames).toEqual(['hidden_states', 'present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
    const past = dec.inputMetadata.find((x) => x.name === 'past_key_values.1.value');
    expect(past && past.isTensor ? past.shape : null).toEqual(['batch_size', 2, 'past_sequence_length', 16]);
    const vis = await ort.InferenceSession.create(m.files['vision_encoder'] ?? '');
    const px = vis.inputMetadata[0];
    expect(px && px.isTensor ? [px.name, px.type, px.shape] : null).toEqual(['pixel_values', 'float32', ['num_images', 3, 56, 56]]);
    const feat = vis.outputMetadata[0];
    expect(feat && feat.isTensor ? [feat.name, feat.shape] : null).toEqual(['image_features', ['num_images', 4, 64]]);
    const merged = await tiny('int4', 'merged');
    expect(merged.files['lm_head']).toBeUndefined();
    const md = await ort.InferenceSession.create(merged.files['decoder_model_merged'] ?? '');
    expect(md.outputNames[0]).toBe('logits');
    const logits = md.outputMetadata[0];
    expect(logits && logits.isTensor ? logits.shape : null).toEqual(['batch_size', 'sequence_length', 512]);
    await Promise.all([dec.release(), vis.release(), md.release()]);
  });

  // Tolerances: fp32/fp16/int4 compute in fp32 with row-independent kernels, so cached decode and
  // chunked prefill match a single full pass to float rounding (1e-4). int8's DynamicQuantizeMatMul
  // quantises activations with one scale per call, so a chunk's numbers depend on which rows are in
  // it; there the check is on the argmax and a loose bound.
  it.each(PRECISIONS.map((p) => [p]))('%s: prefill, chunked prefill and decode agree with one full pass', async (precision) => {
    const m = await tiny(precision as Precision);
    const drv = await OnnxCommunityDriver.open(m);
    const ids = Array.from({ length: 10 }, (_, i) => (i * 37 + 11) % 512);
    const embeds = await drv.embed(ids);
    const full = await drv.forward(embeds, [10]);
    const decoded = await drv.forward(embeds, [6, 1, 1, 1, 1]);
    const chunked = await drv.forward(embeds, [4, 3, 3]);
    const tol = precision === 'int8' ? 0.5 : 1e-4;
    expect(maxAbsDiff(full.logits, decoded.logits)).toBeLessThan(tol);
    expect(maxAbsDiff(full.logits, chunked.logits)).toBeLessThan(tol);
    // The logits are not degenerate: spread of O(1), finite.
    let sq = 0;
    for (const v of full.logits) sq += v * v;
    const rms = Math.sqrt(sq / full.logits.length);
    expect(rms).toBeGreaterThan(0.3);
    expect(rms).toBeLessThan(5);
    const img = await drv.encodeImage(Float32Array.from({ length: 3 * 56 * 56 }, (_, i) => Math.sin(i)), 56);
    expect(img.length).toBe(4 * 64);
    expect(img.every(Number.isFinite)).toBe(true);
    await drv.release();
  });

  it('writes weights to external data files beside the graphs', async () => {
    const m = await tiny('fp32');
    expect(existsSync(join(m.dir, 'decoder_model_merged.onnx_data'))).toBe(true);
    // 2 layers x (qkv 64x128 + o 64x64 + gate/up/down 3x64x128) fp32 + rope tables >= 280 kB.
    expect(m.sizes['decoder_model_merged.onnx_data']).toBeGreaterThan(280_000);
    expect(m.sizes['decoder_model_merged.onnx']).toBeLessThan(40_000);
  });
});

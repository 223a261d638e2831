import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { AxeraDriver } from '../../models/drivers/axera.ts';
import { OnnxCommunityDriver } from '../../models/drivers/onnx-community.ts';
import { DEFAULT_LINEAR_OPTIONS, type LinearOptions } from '../../models/layers/linear.ts';
import { pixelShuffle, vitBlock } from '../../models/layers/vision.ts';
import { AXERA_MASKED } from '../../models/layouts/axera.ts';
import { writeGraph } from '../../models/onnx/write-graph.ts';
import { uniformAt } from '../../models/weights/random.ts';
import { ensureModel, getDescriptor, type Precision } from '../../models/zoo.ts';
import { decoderLayerReference, pixelShuffleReference, vitBlockReference } from './reference-math.ts';
import { tempDir } from '../helpers/tmp.ts';

const cacheDir = tempDir('zoo-correct-');

const build = (precision: Precision, layout: 'onnx-community' | 'axera', ropeForm?: LinearOptions['ropeForm']) =>
  ensureModel({ model: 'internvl2_5-1b', scale: 'tiny', precision, layout, cacheDir, ...(ropeForm ? { opForms: { ropeForm } } : {}) });

/** Deterministic test inputs in [-1, 1). */
function noise(n: number, salt: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => uniformAt({ a: salt, b: 77 }, i));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

const IDS = Array.from({ length: 14 }, (_, i) => (i * 37 + 11) % 512);

describe('the two layouts compute the same model', () => {
  // Same weights (counter-based RNG keyed by canonical names) and the same fp32 arithmetic up to
  // kernel order: logits agree to 1e-4 absolute (observed ~2e-6) for a 10-token prefill followed
  // by 4 decode steps. Both are fed the same input embeddings, because the Axera layout keeps a
  // float32 host table while onnx-community's embed_tokens is stored at the model precision.
  // RoPE in RotaryEmbedding nodes (the default) and inside GroupQueryAttention (do_rotary on the
  // packed q|k|v): the Axera layout rotates with its own ops, so both are checked against it.
  it.each([
    ['fp32', 'nodes'],
    ['int4', 'nodes'],
    ['fp32', 'attention'],
  ])('%s, RoPE %s: Axera prefill + g0 decode == onnx-community logits', async (precision, ropeForm) => {
    const oc = await OnnxCommunityDriver.open(await build(precision as Precision, 'onnx-community', ropeForm as LinearOptions['ropeForm']));
    const ax = await AxeraDriver.open(await build(precision as Precision, 'axera'));
    const H = 64;
    const V = 512;
    const embeds = await oc.embed(IDS);
    const full = await oc.forward(embeds, [14]);
    const axLogits = [await ax.prefill(embeds.slice(0, 10 * H))];
    for (let t = 10; t < 14; t++) axLogits.push(await ax.decode(embeds.slice(t * H, (t + 1) * H)));
    axLogits.forEach((l, j) => {
      expect(maxAbsDiff(l, full.logits.subarray((9 + j) * V, (10 + j) * V))).toBeLessThan(1e-4);
    });
    await Promise.all([oc.release(), ax.release()]);
  });

  it('fp32: the host embedding table holds the same rows as embed_tokens', async () => {
    const oc = await OnnxCommunityDriver.open(await build('fp32', 'onnx-community'));
    const ax = await AxeraDriver.open(await build('fp32', 'axera'));
    expect(maxAbsDiff(ax.embed(IDS), await oc.embed(IDS))).toBe(0);
    const px = noise(3 * 56 * 56, 5);
    expect(maxAbsDiff(await ax.encodeImage(px, 56), await oc.encodeImage(px, 56))).toBeLessThan(1e-5);
    await Promise.all([oc.release(), ax.release()]);
  });
});

describe('KV cache and chunking (onnx-community, fp32)', () => {
  // Tolerance 1e-4 absolute on logits of O(1): only summation order differs.
  it('decode with the cache and chunked prefill equal a full-sequence forward', async () => {
    const oc = await OnnxCommunityDriver.open(await build('fp32', 'onnx-community'));
    const embeds = await oc.embed(IDS);
    const full = await oc.forward(embeds, [14]);
    expect(maxAbsDiff(full.logits, (await oc.forward(embeds, [8, 1, 1, 1, 1, 1, 1])).logits)).toBeLessThan(1e-4);
    expect(maxAbsDiff(full.logits, (await oc.forward(embeds, [5, 5, 4])).logits)).toBeLessThan(1e-4);
    expect(maxAbsDiff(full.logits, (await oc.forward(embeds, Array(14).fill(1))).logits)).toBeLessThan(1e-4);
    await oc.release();
  });

  it('Axera chunked prefill (chunk 4) equals one 12-token prefill of the same tokens', async () => {
    const oc = await OnnxCommunityDriver.open(await build('fp32', 'onnx-community'));
    const ax = await AxeraDriver.open(await build('fp32', 'axera'));
    expect(ax.prefillChunk).toBe(4);
    const embeds = await oc.embed(IDS.slice(0, 11));
    // 11 tokens -> chunks of 4, 4, 3 (last one zero-padded to 4 rows).
    const chunked = await ax.prefill(embeds);
    const ref = await oc.forward(embeds, [11]);
    expect(maxAbsDiff(chunked, ref.logits.subarray(10 * 512, 11 * 512))).toBeLessThan(1e-4);
    await Promise.all([oc.release(), ax.release()]);
  });
});

describe('plain TypeScript reference vs ONNX Runtime (tiny, fp32)', () => {
  it('one decoder layer (Axera layer graph: chunk of 3 tokens over 5 cached rows)', async () => {
    const model = await build('fp32', 'axera');
    const llm = model.descriptor.llm;
    const session = await ort.InferenceSession.create(model.files['layer_1'] ?? '');
    const H = llm.hidden;
    const kvDim = llm.kvHeads * llm.headDim;
    const S = 3;
    const P = 5;
    const input = noise(S * H, 1);
    const kCache = noise(P * kvDim, 2);
    const vCache = noise(P * kvDim, 3);
    const positions = [5, 6, 7];
    const T = P + S;
    // Causal over history + chunk, and one history row (col 1) masked out to exercise the mask.
    const visible = (r: number, c: number): boolean => c !== 1 && c <= P + r;
    const mask = Float32Array.from({ length: S * T }, (_, i) => (visible(Math.floor(i / T), i % T) ? 0 : AXERA_MASKED));
    const out = await session.run({
      input: new ort.Tensor('float32', input, [1, S, H]),
      indices: new ort.Tensor('uint32', Uint32Array.from(positions), [1, S]),
      mask: new ort.Tensor('float32', mask, [1, S, T]),
      K_cache: new ort.Tensor('float32', kCache, [1, P, kvDim]),
      V_cache: new ort.Tensor('float32', vCache, [1, P, kvDim]),
    });
    const ref = decoderLayerReference(llm, 1234, 1, Float64Array.from(input), positions, Float64Array.from(kCache), Float64Array.from(vCache), P, visible);
    const tol = 1e-4;
    expect(maxAbsDiff((out['output'] as ort.Tensor).data as Float32Array, ref.output)).toBeLessThan(tol);
    expect(maxAbsDiff((out['K_cache_out'] as ort.Tensor).data as Float32Array, ref.kNew)).toBeLessThan(tol);
    expect(maxAbsDiff((out['V_cache_out'] as ort.Tensor).data as Float32Array, ref.vNew)).toBeLessThan(tol);
    // The layer does something: output differs from its input by O(1).
    expect(maxAbsDiff(input, ref.output)).toBeGreaterThan(0.5);
    await session.release();
  });

  it('one InternViT block, and the pixel shuffle', async () => {
    const d = getDescriptor('internvl2_5-1b', 'tiny');
    const dir = mkdtempSync(join(cacheDir, 'vit-'));
    const lin: LinearOptions = { ...DEFAULT_LINEAR_OPTIONS, precision: 'fp32', seed: 1234 };
    const tokens = 17; // 16 patches + CLS at the tiny scale
    const C = d.vision.hidden;
    const block = writeGraph(dir, 'vit_block', 'test', (g) => {
      const x = g.input('x', 'float32', [1, tokens, C]);
      g.output('y', 'float32', [1, tokens, C], vitBlock(g, x, d, lin, 1));
    });
    const shuffle = writeGraph(dir, 'shuffle', 'test', (g) => {
      const x = g.input('x', 'float32', [1, 16, C]);
      g.output('y', 'float32', [1, 4, 4 * C], pixelShuffle(g, x, 4, C, 2));
    });
    const x = noise(tokens * C, 9);
    const s1 = await ort.InferenceSession.create(block.path);
    const y = (await s1.run({ x: new ort.Tensor('float32', x, [1, tokens, C]) }))['y'] as ort.Tensor;
    const ref = vitBlockReference(d, 1234, 1, Float64Array.from(x), tokens);
    expect(maxAbsDiff(y.data as Float32Array, ref)).toBeLessThan(1e-4);
    expect(maxAbsDiff(x, ref)).toBeGreaterThan(0.01);

    const s2 = await ort.InferenceSession.create(shuffle.path);
    const px = noise(16 * C, 10);
    const shuffled = (await s2.run({ x: new ort.Tensor('float32', px, [1, 16, C]) }))['y'] as ort.Tensor;
    // Pure data movement: exact.
    expect(maxAbsDiff(shuffled.data as Float32Array, pixelShuffleReference(Float64Array.from(px), 4, C))).toBe(0);
    await Promise.all([s1.release(), s2.release()]);
  });
});

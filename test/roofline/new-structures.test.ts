/**
 * Roofline work of the 2025-2026 zoo models, every expected figure worked out by hand:
 * QK-norm (InternVL3.5-1B), window attention and the gated vision MLP (Qwen2.5-VL-3B),
 * DeepStack mergers and adds (Qwen3-VL-2B). Parameter counts are cross-checked against the
 * torchinfo print of Qwen2.5-VL-3B (models/descriptors.ts cites it): Conv3d 1 505 280,
 * one vision block 19 702 200, merger MLP 36 707 328.
 */
import { describe, expect, it } from 'vitest';
import { getDescriptor } from '../../models/zoo.ts';
import { cellBounds } from '../../roofline/bounds.ts';
import {
  decodeStepWork,
  decoderWeightBytes,
  deepstackPrefillWork,
  imageEncodeWork,
  prefillWork,
  visionWeightBytes,
} from '../../roofline/costs.ts';
import { WEIGHT_FORMATS } from '../../roofline/precision.ts';
import { testCalibration } from './fixtures.ts';

const fp32 = WEIGHT_FORMATS['fp32']!;

describe('QK-norm (InternVL3.5-1B = Qwen3-0.6B decoder)', () => {
  const llm = getDescriptor('internvl3_5-1b', 'full').llm;
  // One layer, no biases: qkv 1024 -> (16 + 2x8) x 128 = 4096: 4 194 304; o 2048 -> 1024: 2 097 152;
  // gate, up, down 1024 x 3072 = 3 145 728 each -> 15 728 640 params; x28 = 440 401 920.
  it('counts the q_norm / k_norm gains with the decoder weights', () => {
    // fp32 per layer: 15 728 640 x 4 = 62 914 560 + norms (2 x 1024 + 2 x 128) x 4 = 9 216;
    // x28 + final norm 4 096 = 1 761 869 824, of which QK-norm 28 x 256 x 4 = 28 672.
    expect(decoderWeightBytes(llm, fp32)).toBe(1_761_869_824);
    expect(decoderWeightBytes(llm, fp32) - decoderWeightBytes({ ...llm, qkNorm: false }, fp32)).toBe(28_672);
  });

  it('decode step: untied lm_head 1024 x 151 936, 32 head-dim-128 query heads attending', () => {
    const w = decodeStepWork(llm, 100, fp32);
    expect(w.linearOps).toBe(2 * (440_401_920 + 155_582_464)); // 1 191 968 768
    expect(w.attentionOps).toBe(4 * 28 * 16 * 128 * 100);
    // KV: 2 x 28 layers x 8 heads x 128 x 4 B = 229 376 B per position; 99 read + 1 written.
    expect(w.kvBytes).toBe(229_376 * 100);
    expect(w.bytes).toBe(1024 * 4 + 1_761_869_824 + 155_582_464 * 4 + 229_376 * 100);
  });
});

describe('Qwen2.5-VL-3B vision tower (448 px: 1024 patches, 112 px windows of 64 patches)', () => {
  const d = getDescriptor('qwen2_5-vl-3b', 'full');

  it('attention: 4 full blocks over 1024 tokens, 28 windowed blocks over 64', () => {
    // full: 4 x 4 x 1024^2 x 1280 = 21 474 836 480; windowed: 28 x 4 x 1024 x 64 x 1280 = 9 395 240 960
    const w = imageEncodeWork(d, fp32);
    expect(w.attentionOps).toBe(30_870_077_440);
    // The same tower without windows would do 32 x 4 x 1024^2 x 1280 = 171 798 691 840 (5.6x).
    expect(imageEncodeWork({ ...d, vision: { ...d.vision, windowSize: undefined } }, fp32).attentionOps).toBe(171_798_691_840);
  });

  it('linears: patch embedding, SwiGLU blocks with three projections, 2x2 merger', () => {
    // patch 2 x 1024 x 1176 x 1280 = 3 082 813 440
    // block linears: qkv 4 915 200 + proj 1 638 400 + gate, up, down 3 x 4 377 600 = 19 686 400
    //   x 2 x 1024 tokens x 32 blocks = 1 290 167 910 400
    // merger: 256 tokens x 2 x (5120 x 5120 + 5120 x 2048 = 36 700 160) = 18 790 481 920
    expect(imageEncodeWork(d, fp32).linearOps).toBe(3_082_813_440 + 1_290_167_910_400 + 18_790_481_920);
  });

  it('weight bytes: the parameter counts of the print, RMSNorm gains only, RoPE tables of 1024 x 80 values', () => {
    // 4 x (Conv3d 1 505 280 + RoPE cos/sin 1024 x 80 + 32 x 19 702 200 + merger 36 707 328 + ln_q 1280)
    expect(visionWeightBytes(d, fp32)).toBe(2_675_064_832);
  });
});

describe('Qwen3-VL-2B DeepStack (384 px: 576 patches, 144 tokens, taps at blocks 5 / 11 / 17)', () => {
  const d = getDescriptor('qwen3-vl-2b', 'full');
  const plain = { ...d, vision: { ...d.vision, deepstackLayers: [] } };

  it('image encode: three more mergers over the same 144 merged tokens', () => {
    // merger linears 4096 x 4096 + 4096 x 2048 = 25 165 824 params; 3 x 2 x 144 x that = 21 743 271 936
    expect(imageEncodeWork(d, fp32).linearOps - imageEncodeWork(plain, fp32).linearOps).toBe(21_743_271_936);
    // + weights: 3 x (25 165 824 + biases 4096 + 2048 + LayerNorm(4096) 8192) x 4 B = 302 161 920
    expect(visionWeightBytes(d, fp32) - visionWeightBytes(plain, fp32)).toBe(302_161_920);
    // Every block attends over the whole tile: 24 x 4 x 576^2 x 1024.
    expect(imageEncodeWork(d, fp32).attentionOps).toBe(24 * 4 * 576 * 576 * 1024);
  });

  it('prefill reads the features of every image token at each of the 3 levels', () => {
    // 3 x 144 x 2048 x 4 B = 3 538 944 per image
    expect(deepstackPrefillWork(d, 144).bytes).toBe(3_538_944);
    const b = cellBounds(d, { images: 2, promptTokens: 128 + 288, outputTokens: 8, precision: 'fp32' }, testCalibration());
    expect(b.prefill.work.bytes).toBe(prefillWork(d.llm, 416, 0, fp32).bytes + 2 * 3_538_944);
    // Models without DeepStack gain nothing.
    const q25 = getDescriptor('qwen2_5-vl-3b', 'full');
    const b25 = cellBounds(q25, { images: 1, promptTokens: 384, outputTokens: 8, precision: 'fp32' }, testCalibration());
    expect(b25.prefill.work.bytes).toBe(prefillWork(q25.llm, 384, 0, fp32).bytes);
  });
});

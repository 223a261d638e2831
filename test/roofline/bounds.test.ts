/**
 * Bound arithmetic on InternVL2.5-1B (InternViT-300M + Qwen2.5-0.5B, models/descriptors.ts),
 * every expected figure worked out by hand in the comments.
 *
 * Qwen2.5-0.5B: 24 layers, hidden 896, intermediate 4864, 14 heads, 2 KV heads, head_dim 64,
 * vocab 151674, q/k/v bias. Linears of one layer [in -> out] (params):
 *   qkv  896 -> (14 + 2*2)*64 = 1152   1 032 192
 *   o    896 -> 896                       802 816
 *   gate 896 -> 4864                    4 358 144
 *   up   896 -> 4864                    4 358 144
 *   down 4864 -> 896                    4 358 144
 *   layer total                        14 909 440; x24 = 357 826 560
 *   lm_head 896 -> 151674             135 899 904
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../core/errors.ts';
import { getDescriptor } from '../../models/zoo.ts';
import { cellBounds } from '../../roofline/bounds.ts';
import { decodeStepWork, imageEncodeWork, prefillWork } from '../../roofline/costs.ts';
import { resolveFormat, weightBytes, WEIGHT_FORMATS } from '../../roofline/precision.ts';
import { measured, testCalibration } from './fixtures.ts';

const d = getDescriptor('internvl2_5-1b', 'full');
const f = (name: string) => WEIGHT_FORMATS[name]!;

describe('weight bytes per precision', () => {
  it('counts codes and quantisation scales as the zoo stores them', () => {
    // fp32 4 B/weight; int8 1 B + one fp32 scale per output; int4 MatMulNBits: per block of 32
    // inputs 16 B of nibbles + a 4 B scale = 20 B (0.625 B/weight).
    expect(weightBytes(896, 4864, f('fp32'))).toBe(896 * 4864 * 4);
    expect(weightBytes(896, 4864, f('int8'))).toBe(4_358_144 + 4 * 4864);
    expect(weightBytes(4864, 896, f('int4'))).toBe(896 * 152 * 20); // 4864 / 32 = 152 blocks
    // K not a multiple of 32 is padded to whole blocks: 40 -> 2 blocks.
    expect(weightBytes(40, 3, f('int4'))).toBe(3 * 2 * 20);
  });

  it('runs fp16 as fp32 where the calibration says the runtime converts it', () => {
    const r = resolveFormat('fp16', testCalibration());
    expect(r.format.name).toBe('fp32');
    expect(r.notes[0]).toContain('fp16 runs as fp32');
    expect(resolveFormat('fp16', testCalibration({ runtimeFormats: {} })).format.name).toBe('fp16');
    expect(() => resolveFormat('q4_k_m', null)).toThrow(InputError);
    expect(() => resolveFormat('q4_k_m', null)).toThrow(/precision "q4_k_m".*known: fp32, fp16, int8, int4, w8a16, w4a16/);
  });
});

describe('decode step work (prompt 128, 16 output tokens: mean attended length 128 + 16/2 = 136)', () => {
  // KV, fp32: 2 (K,V) x 24 layers x 2 heads x 64 = 6144 values per position.
  //   read 135 past positions: 6144 x 135 x 4 = 3 317 760; write 1: 24 576.
  it('fp32', () => {
    // embed row 896x4 = 3 584
    // decoder: 24 x (14 909 440x4 + qkv bias 1152x4 + 2 norms 2x896x4) + final norm 3 584
    //        = 24 x (59 637 760 + 4 608 + 7 168) + 3 584 = 1 431 592 448
    // lm_head 135 899 904 x 4 = 543 599 616
    const w = decodeStepWork(d.llm, 136, f('fp32'));
    expect(w.bytes).toBe(3_584 + 1_431_592_448 + 543_599_616 + 3_317_760 + 24_576); // 1 978 537 984
    expect(w.linearOps).toBe(2 * (357_826_560 + 135_899_904)); // 987 452 928
    expect(w.attentionOps).toBe(4 * 24 * 14 * 64 * 136); // 11 698 176
  });

  it('int8', () => {
    // per layer: qkv 1 032 192 + 4x1152 = 1 036 800; o 802 816 + 3 584 = 806 400;
    // gate, up 4 358 144 + 19 456 = 4 377 600 each; down 4 358 144 + 3 584 = 4 361 728
    // = 14 960 128 + bias 4 608 + norms 7 168 = 14 971 904; x24 + 3 584 = 359 329 280
    // lm_head 135 899 904 + 4 x 151 674 = 136 506 600; embed row 896 + 4 = 900
    expect(decodeStepWork(d.llm, 136, f('int8')).bytes).toBe(359_329_280 + 136_506_600 + 900 + 3_342_336); // 499 179 116
  });

  it('int4', () => {
    // blocks of 32: K=896 -> 28, K=4864 -> 152; 20 B each
    // qkv 1152x28x20 = 645 120; o 896x28x20 = 501 760; gate, up 4864x28x20 = 2 723 840; down 896x152x20 = 2 723 840
    // = 9 318 400 + 4 608 + 7 168 = 9 330 176; x24 + 3 584 = 223 927 808
    // lm_head 151 674 x 28 x 20 = 84 937 440; embed row 28 x 20 = 560
    expect(decodeStepWork(d.llm, 136, f('int4')).bytes).toBe(223_927_808 + 84_937_440 + 560 + 3_342_336); // 312 208 144
  });
});

describe('prefill work', () => {
  it('one call over 384 tokens (128 text + one 256-token image), fp32', () => {
    // embed rows 384 x 3 584 = 1 376 256; decoder weights once; lm_head (last row only);
    // KV written for 384 positions: 6144 x 384 x 4 = 9 437 184
    const w = prefillWork(d.llm, 384, 0, f('fp32'));
    expect(w.bytes).toBe(1_376_256 + 1_431_592_448 + 543_599_616 + 9_437_184); // 1 986 005 504
    expect(w.linearOps).toBe(2 * 384 * 357_826_560 + 2 * 135_899_904); // 275 082 597 888
    // causal: sum_{t<384} (t+1) = 384x385/2 keys, x 2 products x 2 ops x 64 x 14 heads x 24 layers
    expect(w.attentionOps).toBe(2 * 24 * 14 * 64 * 384 * 385); // 6 358 302 720
  });

  it('chunks of 128 read the decoder weights once per chunk and the earlier KV once per later chunk', () => {
    // 3 chunks; later chunks read 128 + 256 = 384 earlier positions: 6144 x 384 x 4 = 9 437 184
    const w = prefillWork(d.llm, 384, 128, f('fp32'));
    expect(w.bytes).toBe(1_376_256 + 3 * 1_431_592_448 + 543_599_616 + 9_437_184 + 9_437_184); // 4 858 627 584
    expect(w.linearOps).toBe(prefillWork(d.llm, 384, 0, f('fp32')).linearOps);
  });
});

describe('image encode work (InternViT-300M-448px + projector, one tile)', () => {
  // 448/14 = 32 -> 1024 patches + CLS = 1025 tokens; hidden 1024, MLP 4096, 24 layers.
  it('fp32 bytes, linear and attention ops', () => {
    const w = imageEncodeWork(d, f('fp32'));
    // embeddings: conv (3x14x14 = 588 x 1024 + 1024 bias) x4 = 2 412 544; positions 1025x1024x4 = 4 198 400; CLS 4 096
    // layer: linears 3 145 728 + 1 048 576 + 4 194 304 + 4 194 304 = 12 582 912 params x4 = 50 331 648
    //        biases (3072 + 1024 + 4096 + 1024) x4 = 36 864; 2 LayerNorms 4x1024x4 = 16 384; ls1, ls2 8 192
    //        = 50 393 088; x24 = 1 209 434 112
    // projector: LayerNorm(4096) 32 768; 4096->896 and 896->896: (3 670 016 + 802 816) x4 + (896+896) x4 = 17 898 496
    expect(w.bytes).toBe(2_412_544 + 4_198_400 + 4_096 + 1_209_434_112 + 32_768 + 17_898_496); // 1 233 980 416
    // conv 2x1024x588x1024 = 1 233 125 376; layers 24x2x1025x12 582 912 = 619 079 270 400;
    // projector over 256 merged tokens: 2x256x4 472 832 = 2 290 089 984
    expect(w.linearOps).toBe(1_233_125_376 + 619_079_270_400 + 2_290_089_984); // 622 602 485 760
    expect(w.attentionOps).toBe(24 * 4 * 1025 * 1025 * 1024); // 103 280 640 000
  });
});

describe('cellBounds', () => {
  const cal = testCalibration();

  it('bounds each phase by max(ops / peak, bytes / bandwidth)', () => {
    const b = cellBounds(d, { images: 1, promptTokens: 384, outputTokens: 16, precision: 'int4' }, cal);
    // decode, int4: context 384 + 8 = 392: KV read 6144 x 391 x 4 = 9 609 216, write 24 576
    const decodeBytes = 223_927_808 + 84_937_440 + 560 + 9_609_216 + 24_576; // 318 499 600
    expect(b.decodeContext).toBe(392);
    expect(b.decode!.work.bytes).toBe(decodeBytes);
    expect(b.decode!.memoryMs).toBeCloseTo(decodeBytes / 20e9 * 1000, 9); // 15.92498 ms at 20 GB/s
    // int4 weights widen exactly to int8, whose calibrated kernel (400 G op/s) is faster than the
    // int4 one (100): linear ops at 400, attention at fp32 (200): 2.468632 + 4x24x14x64x392/200e6
    expect(b.decode!.computeMs).toBeCloseTo(987_452_928 / 400e6 + (4 * 24 * 14 * 64 * 392) / 200e6, 9);
    expect(b.decode!.limitedBy).toBe('memory');
    expect(b.decode!.boundMs).toBe(b.decode!.memoryMs);
    expect(b.decode!.per).toBe('output token');

    // prefill, int4: compute-bound, 275 082 597 888 / 400 G + 6 358 302 720 / 200 G = 687.706 + 31.792 ms
    expect(b.prefill.computeMs).toBeCloseTo(687.70649472 + 31.7915136, 6);
    expect(b.prefill.limitedBy).toBe('compute');
    expect(b.prefill.boundMs).toBeCloseTo(719.49800832, 6);
    expect(b.prefill.computeRates).toEqual([
      { part: 'weight matmuls', precision: 'int4', via: 'int8', figure: 'matmul.int8', gops: 400, method: 'test figure' },
      { part: 'attention', precision: 'fp32', via: 'fp32', figure: 'matmul.fp32', gops: 200, method: 'test figure' },
    ]);
    // ORT's own int4 kernel (100 G op/s) is this runtime's ceiling, not the hardware's bound:
    // 2750.826 + 31.792 ms, the figure the bound was before int4 could widen to int8.
    expect(b.prefill.kernelMs).toBeCloseTo(2782.61749248, 6);

    // image encode, int4 linears at 400 G op/s (int8 kernel), attention at 200: 1556.5062 + 516.4032 ms
    expect(b.imageEncode!.computeMs).toBeCloseTo(1556.5062144 + 516.4032, 6);
    expect(b.imageEncode!.limitedBy).toBe('compute');
    expect(b.imageEncode!.kernelMs).toBeCloseTo(6226.0248576 + 516.4032, 6);
  });

  it('takes each precision at the fastest calibrated kernel that computes it exactly, and never a narrower one', () => {
    const shape = { images: 0, promptTokens: 128, outputTokens: 16 };
    // prefill linear ops 2 x 128 x 357 826 560 + 2 x 135 899 904 = 91 875 319 296; attention 4x24x14x64x128^2... at fp32
    const linear = 2 * 128 * 357_826_560 + 2 * 135_899_904;
    const attention = (p: string) => cellBounds(d, { ...shape, precision: p }, testCalibration()).prefill.work.attentionOps;
    // fp32 faster than the int8 kernel: int8 is computed at the fp32 rate (int8 values are fp32 values).
    const fpFast = testCalibration({ matmul: { fp32: measured(500), int8: measured(400), int4: measured(100) } });
    const int8 = cellBounds(d, { ...shape, precision: 'int8' }, fpFast).prefill;
    expect(int8.computeMs).toBeCloseTo(linear / 500e6 + attention('int8') / 500e6, 6);
    expect(int8.computeRates[0]).toMatchObject({ precision: 'int8', via: 'fp32', gops: 500 });
    expect(int8.kernelMs).toBeCloseTo(linear / 400e6 + attention('int8') / 500e6, 6);
    // A faster int8 operator in matmulExtra counts (whichever kernel shows the rate) and is named.
    const extra = testCalibration({ matmulExtra: { int8_matmul_integer: { ...measured(800), method: 'MatMulInteger form' } } });
    const viaExtra = cellBounds(d, { ...shape, precision: 'int4' }, extra).prefill;
    expect(viaExtra.computeRates[0]).toEqual({ part: 'weight matmuls', precision: 'int4', via: 'int8', figure: 'matmulExtra.int8_matmul_integer', gops: 800, method: 'MatMulInteger form' });
    expect(viaExtra.computeMs).toBeCloseTo(linear / 800e6 + attention('int4') / 200e6, 6);
    // fp32 never takes a narrower kernel's rate: int4/int8 kernels cannot compute fp32 weights.
    const fp32 = cellBounds(d, { ...shape, precision: 'fp32' }, testCalibration({ matmul: { fp32: measured(50), int8: measured(400), int4: measured(900) } })).prefill;
    expect(fp32.computeMs).toBeCloseTo((linear + attention('fp32')) / 50e6, 6);
    // A calibration without an int4 kernel still bounds int4 through int8, and is not partial.
    const noInt4 = cellBounds(d, { ...shape, precision: 'int4' }, testCalibration({ matmul: { fp32: measured(200), int8: measured(400) } })).prefill;
    expect(noInt4.partial).toBe(false);
    expect(noInt4.computeMs).toBeCloseTo(linear / 400e6 + attention('int4') / 200e6, 6);
    expect(noInt4.kernelMs).toBeNull(); // no ORT int4 rate: no ORT int4 ceiling
    // llama.cpp's Q4_0 runs another runtime's kernels: hardware bound as int4, no ORT ceiling.
    const q4 = cellBounds(d, { ...shape, precision: 'q4_0' }, testCalibration()).prefill;
    expect(q4.computeRates[0]).toMatchObject({ precision: 'int4', via: 'int8', gops: 400 });
    expect(q4.kernelMs).toBeNull();
  });

  it('scales image encoding with the image count and drops phases a cell does not have', () => {
    const one = cellBounds(d, { images: 1, promptTokens: 384, outputTokens: 16, precision: 'fp32' }, cal);
    const four = cellBounds(d, { images: 4, promptTokens: 1152, outputTokens: 16, precision: 'fp32' }, cal);
    expect(four.imageEncode!.boundMs).toBeCloseTo(4 * one.imageEncode!.boundMs!, 6);
    // A 1280x720 image is 9 InternVL tiles (4x2 grid + thumbnail): nine tiles of work
    const tiled = cellBounds(d, { images: 1, tiles: 9, promptTokens: 128 + 2304, outputTokens: 16, precision: 'fp32' }, cal);
    expect(tiled.imageEncode!.boundMs).toBeCloseTo(9 * one.imageEncode!.boundMs!, 6);
    // vision_precision apart from the LLM's: image encoding as int4, prefill and decode as fp32
    const int4 = cellBounds(d, { images: 1, promptTokens: 384, outputTokens: 16, precision: 'int4' }, cal);
    const split = cellBounds(d, { images: 1, promptTokens: 384, outputTokens: 16, precision: 'fp32', visionPrecision: 'int4' }, cal);
    expect(split.imageEncode!.boundMs).toBeCloseTo(int4.imageEncode!.boundMs!, 9);
    expect(split.decode!.boundMs).toBeCloseTo(one.decode!.boundMs!, 9);
    expect(split.imageEncode!.boundMs).not.toBeCloseTo(one.imageEncode!.boundMs!, 3);
    const text = cellBounds(d, { images: 0, promptTokens: 128, outputTokens: 1, precision: 'fp32' }, cal);
    expect(text.imageEncode).toBeNull();
    expect(text.decode).toBeNull();
    expect(text.decodeContext).toBeNull();
  });

  it('fp16 on a runtime that runs it as fp32 gets the fp32 bound', () => {
    const a = cellBounds(d, { images: 0, promptTokens: 128, outputTokens: 16, precision: 'fp16' }, cal);
    const b = cellBounds(d, { images: 0, promptTokens: 128, outputTokens: 16, precision: 'fp32' }, cal);
    expect(a.format.name).toBe('fp32');
    expect(a.decode!.boundMs).toBe(b.decode!.boundMs);
    expect(a.notes.join(' ')).toContain('fp16 runs as fp32');
  });

  it('leaves out what the calibration lacks and says so', () => {
    // A published board with only an INT8 peak: no bandwidth, no fp32 peak for attention.
    const board = testCalibration({ bandwidth: { read: null, copy: null, extra: {} }, matmul: { int8: measured(18_000) }, runtimeFormats: {} });
    const b = cellBounds(d, { images: 0, promptTokens: 128, outputTokens: 16, precision: 'int8' }, board);
    // Decode needs the bandwidth: a compute-only figure (0.055 ms) would be no useful bound.
    expect(b.decode!.memoryMs).toBeNull();
    expect(b.decode!.computeMs).toBeCloseTo(987_452_928 / 18_000e6, 9);
    expect(b.decode!.boundMs).toBeNull();
    expect(b.decode!.limitedBy).toBeNull();
    expect(b.decode!.notes).toEqual([
      'no read bandwidth in the calibration: memory bound unknown',
      'no matmul peak in the calibration that computes fp32 (fp32): attention not in the compute bound',
      'decode is bounded by memory bandwidth alone here: no bound without it',
    ]);
    // Prefill keeps the compute bound of the weight matmuls, marked partial:
    // 2 x 128 x 357 826 560 + 2 x 135 899 904 ops at 18 000 G op/s.
    expect(b.prefill.boundMs).toBeCloseTo((2 * 128 * 357_826_560 + 2 * 135_899_904) / 18_000e6, 9);
    expect(b.prefill.limitedBy).toBe('compute');
    expect(b.prefill.partial).toBe(true);
    expect(cellBounds(d, { images: 0, promptTokens: 128, outputTokens: 16, precision: 'int8' }, cal).prefill.partial).toBe(false);
    const none = cellBounds(d, { images: 0, promptTokens: 128, outputTokens: 16, precision: 'fp16' }, board);
    expect(none.prefill.boundMs).toBeNull();
    expect(none.prefill.limitedBy).toBeNull();
  });

  it('decode kernel ceiling: matmul weights at the weight-stream rate, the rest at read bandwidth', () => {
    // int4, context 392 (as above): matmul weights = decoder linears 24 x 9 318 400 = 223 641 600
    // + lm_head 84 937 440 = 308 579 040 B; the other 9 920 560 B are norms, biases, the embed row, KV.
    const slow = testCalibration({ weightStream: { int4: measured(10) } });
    const b = cellBounds(d, { images: 1, promptTokens: 384, outputTokens: 16, precision: 'int4' }, slow);
    expect(b.decode!.work.matmulWeightBytes).toBe(308_579_040);
    // 308 579 040 / 10 GB/s = 30.857904 ms; 9 920 560 / 20 GB/s = 0.496028 ms
    expect(b.decode!.kernelMs).toBeCloseTo(31.353932, 9);
    expect(b.decode!.boundMs).toBeCloseTo(15.92498, 9);
    // Prefill and image encoding take ORT's own int4 matmul rate (100 G op/s) as their ceiling.
    expect(b.prefill.kernelMs).toBeCloseTo(2782.61749248, 6);
    // Kernels that stream faster than the measured read bandwidth cannot beat the bound.
    const fast = cellBounds(d, { images: 1, promptTokens: 384, outputTokens: 16, precision: 'int4' }, testCalibration({ weightStream: { int4: measured(40) } }));
    expect(fast.decode!.kernelMs).toBe(fast.decode!.boundMs);
    // fp16 runs as fp32 and takes the fp32 stream rate; a precision without a rate has no ceiling.
    const fp = testCalibration({ weightStream: { fp32: measured(16) } });
    const fp16 = cellBounds(d, { images: 0, promptTokens: 128, outputTokens: 16, precision: 'fp16' }, fp);
    // fp32 decode (context 136): linears 357 826 560 x 4 + lm_head 543 599 616 = 1 974 905 856 B at 16 GB/s
    // = 123.431616 ms; the other 1 978 537 984 - 1 974 905 856 = 3 632 128 B at 20 GB/s = 0.1816064 ms
    expect(fp16.decode!.kernelMs).toBeCloseTo(123.6132224, 9);
    expect(cellBounds(d, { images: 0, promptTokens: 128, outputTokens: 16, precision: 'int8' }, fp).decode!.kernelMs).toBeNull();
    expect(cellBounds(d, { images: 0, promptTokens: 128, outputTokens: 16, precision: 'int8' }, cal).decode!.kernelMs).toBeNull();
  });

  it('decode kernel ceiling: attention at the batch-1 attention rate when the calibration has one', () => {
    // int4, context 392: attention 4 x 24 x 14 x 64 x 392 = 33 718 272 ops at 10 G op/s = 3.3718272 ms,
    // instead of the KV bytes (9 609 216 + 24 576 = 9 633 792 B) at 20 GB/s = 0.4816896 ms.
    const cal2 = testCalibration({ weightStream: { int4: measured(10) }, decodeAttention: measured(10) });
    const b = cellBounds(d, { images: 1, promptTokens: 384, outputTokens: 16, precision: 'int4' }, cal2);
    expect(b.decode!.work.kvBytes).toBe(9_633_792);
    expect(b.decode!.kernelMs).toBeCloseTo(31.353932 - 0.4816896 + 3.3718272, 9);
    // A fast attention kernel never counts below the KV bytes at read bandwidth.
    const fastAttention = testCalibration({ weightStream: { int4: measured(10) }, decodeAttention: measured(1e6) });
    expect(cellBounds(d, { images: 1, promptTokens: 384, outputTokens: 16, precision: 'int4' }, fastAttention).decode!.kernelMs).toBeCloseTo(31.353932, 9);
  });

  it('rejects impossible shapes with a message naming the field', () => {
    expect(() => cellBounds(d, { images: -1, promptTokens: 1, outputTokens: 1, precision: 'fp32' }, cal)).toThrow(/images must be an integer >= 0, got -1/);
    expect(() => cellBounds(d, { images: 0, promptTokens: 1.5, outputTokens: 1, precision: 'fp32' }, cal)).toThrow(/promptTokens/);
  });
});

/**
 * The zoo's int8 form cannot saturate MLAS's VPMADDUBSW kernels (AVX2 / AVX-512 without VNNI):
 * proved from the bound and from every weight code the builder and the calibration graphs emit,
 * so the test holds on any CPU (it does not rely on this CPU taking the saturating path).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { matmulWeights, weightChainModel, ZOO_INT8_MATMUL_FORM } from '../../roofline/calibrate/graphs.ts';
import { STREAM_FORMS } from '../../roofline/calibrate/weight-stream.ts';
import { onnx } from '../../models/onnx/proto.ts';
import { quantizeInt8PerChannel } from '../../models/weights/encode.ts';
import { INT16_MAX, INT16_MIN, INT8_CODE_LIMIT, INT8_FORM_ID, U8_ACTIVATION_MAX, worstPairSum } from '../../models/weights/int8-form.ts';
import { RandomTensor } from '../../models/weights/random.ts';
import { ensureModel, listZoo } from '../../models/zoo.ts';
import { tempDir } from '../helpers/tmp.ts';

const cacheDir = tempDir('int8-form-');

/** VPMADDUBSW on one lane: u8 a0*s8 b0 + u8 a1*s8 b1, saturated to int16 (Intel SDM). */
function vpmaddubswLane(a0: number, b0: number, a1: number, b1: number): number {
  return Math.max(INT16_MIN, Math.min(INT16_MAX, a0 * b0 + a1 * b1));
}

/** MLAS's AVX2 U8S8 dot product: pairs through VPMADDUBSW, then exact int32 sums (VPMADDWD with ones). */
function u8s8DotAvx2(a: Uint8Array, b: Int8Array): number {
  let acc = 0;
  for (let i = 0; i < a.length; i += 2) acc += vpmaddubswLane(a[i]!, b[i]!, a[i + 1] ?? 0, b[i + 1] ?? 0);
  return acc;
}

function exactDot(a: Uint8Array, b: Int8Array): number {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc += a[i]! * b[i]!;
  return acc;
}

/** Codes of every int8 initializer a DynamicQuantizeMatMul / MatMulInteger node reads as B, per graph file. */
function integerMatmulWeightCodes(onnxPath: string): Map<string, Int8Array> {
  const model = onnx.ModelProto.decode(readFileSync(onnxPath));
  const graph = model.graph!;
  const bInputs = new Set(
    (graph.node ?? []).filter((n) => n.opType === 'DynamicQuantizeMatMul' || n.opType === 'MatMulInteger').map((n) => n.input![1]!),
  );
  const codes = new Map<string, Int8Array>();
  let data: Buffer | null = null;
  for (const t of graph.initializer ?? []) {
    if (!bInputs.has(t.name!)) continue;
    expect(t.dataType, `${t.name} must be int8 (s8 weights)`).toBe(3);
    let bytes: Uint8Array;
    if (t.rawData && t.rawData.length > 0) bytes = t.rawData;
    else {
      const entry = (key: string) => t.externalData!.find((e) => e.key === key)?.value;
      data ??= readFileSync(join(dirname(onnxPath), entry('location')!));
      const offset = Number(entry('offset') ?? 0);
      bytes = data.subarray(offset, offset + Number(entry('length')));
    }
    codes.set(t.name!, new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  return codes;
}

describe('int8 form: 7-bit weight codes cannot saturate VPMADDUBSW', () => {
  it('the bound: |q| <= 64 keeps every u8 x s8 pair within int16; 65 and the old 127 do not', () => {
    expect(INT8_FORM_ID).toBe('s7-dynamic-quantize-matmul');
    expect(worstPairSum(INT8_CODE_LIMIT)).toBe(2 * 255 * 64);
    expect(worstPairSum(INT8_CODE_LIMIT)).toBeLessThanOrEqual(INT16_MAX);
    expect(-worstPairSum(INT8_CODE_LIMIT)).toBeGreaterThanOrEqual(INT16_MIN);
    // 64 is the largest safe limit, and full-range s8 saturates (what broke int8 on AVX2).
    expect(worstPairSum(INT8_CODE_LIMIT + 1)).toBeGreaterThan(INT16_MAX);
    expect(worstPairSum(127)).toBe(64_770);
    // The emulated AVX2 kernel: exact at the worst case of the 7-bit range, wrong for s8.
    const a = new Uint8Array(64).fill(U8_ACTIVATION_MAX);
    for (const q of [INT8_CODE_LIMIT, -INT8_CODE_LIMIT]) {
      const b = new Int8Array(64).fill(q);
      expect(u8s8DotAvx2(a, b)).toBe(exactDot(a, b));
    }
    const full = new Int8Array(64).fill(127);
    expect(u8s8DotAvx2(a, full)).toBeLessThan(exactDot(a, full));
  });

  it('the quantiser maps any weight, outliers included, into [-64, 64] and uses the whole range', () => {
    const t = new RandomTensor(5, 'test.outliers.weight', [8, 96], { std: 1 });
    const q = quantizeInt8PerChannel(t);
    const chunks: Int8Array[] = [];
    q.produceCodes((c) => chunks.push(Int8Array.from(c as Int8Array)));
    const codes = Int8Array.from(chunks.flatMap((c) => [...c]));
    expect(codes.length).toBe(8 * 96);
    expect(Math.max(...codes)).toBeLessThanOrEqual(INT8_CODE_LIMIT);
    expect(Math.min(...codes)).toBeGreaterThanOrEqual(-INT8_CODE_LIMIT);
    // Each channel's largest |w| maps to +-64 exactly (scale = max|w| / 64).
    expect(Math.max(...codes.map(Math.abs))).toBe(INT8_CODE_LIMIT);
    for (let n = 0; n < 8; n++) {
      let m = 0;
      for (let k = 0; k < 96; k++) m = Math.max(m, Math.abs(t.at(n * 96 + k)));
      expect(q.scales[n]).toBeCloseTo(m / INT8_CODE_LIMIT, 6);
    }
  });

  it.each(listZoo().map((z) => z.id))('every integer-matmul weight code of %s (tiny int8) lies in [-64, 64], and an emulated AVX2 dot equals the exact one', async (id) => {
    const m = await ensureModel({ model: id, scale: 'tiny', precision: 'int8', layout: 'onnx-community', cacheDir });
    expect(m.opForms.int8Form).toBe(INT8_FORM_ID);
    let weights = 0;
    for (const path of Object.values(m.files)) {
      for (const [name, codes] of integerMatmulWeightCodes(path)) {
        weights += 1;
        let lo = 0;
        let hi = 0;
        for (const c of codes) {
          if (c < lo) lo = c;
          if (c > hi) hi = c;
        }
        expect(lo, name).toBeGreaterThanOrEqual(-INT8_CODE_LIMIT);
        expect(hi, name).toBeLessThanOrEqual(INT8_CODE_LIMIT);
        // Worst-case activations (all 255) against 256 codes of this weight: no pair clips.
        const column = codes.subarray(0, Math.min(codes.length, 256));
        const a = new Uint8Array(column.length).fill(U8_ACTIVATION_MAX);
        expect(u8s8DotAvx2(a, column)).toBe(exactDot(a, column));
      }
    }
    // Every linear of every graph is an integer matmul: vision, projector, decoder, lm_head.
    expect(weights).toBeGreaterThan(10);
  });

  it('the calibration graphs use the zoo\'s int8 form and its 7-bit codes (matmul and the weight-stream chain)', () => {
    expect(ZOO_INT8_MATMUL_FORM).toBe('int8-dynamic-quantize-matmul');
    expect(STREAM_FORMS.find(([key]) => key === 'int8')?.[1]).toBe(ZOO_INT8_MATMUL_FORM);
    for (const form of ['int8-dynamic-quantize-matmul', 'int8-matmul-integer'] as const) {
      const codes = matmulWeights(form, { m: 1, k: 256, n: 64 }).codes as Int8Array;
      expect(Math.max(...codes)).toBe(INT8_CODE_LIMIT);
      expect(Math.min(...codes)).toBe(-INT8_CODE_LIMIT);
    }
    const chain = onnx.ModelProto.decode(weightChainModel('int8-dynamic-quantize-matmul', 64, 128, 1));
    const ints = (chain.graph!.initializer ?? []).filter((t) => t.dataType === 3);
    expect(ints).toHaveLength(2);
    for (const t of ints) {
      const codes = new Int8Array(t.rawData!.buffer, t.rawData!.byteOffset, t.rawData!.byteLength);
      expect(Math.max(...codes)).toBeLessThanOrEqual(INT8_CODE_LIMIT);
      expect(Math.min(...codes)).toBeGreaterThanOrEqual(-INT8_CODE_LIMIT);
    }
  });
});

/**
 * Roofline bounds of llama.cpp cells: the runner records the GGUF type it reads
 * (settings.rooflineFormat), and the bounds count that form's bytes, not the ONNX form's.
 */
import { describe, expect, it } from 'vitest';
import { decodeWeightBytesPerToken } from '../../models/weight-bytes.ts';
import { getDescriptor } from '../../models/zoo.ts';
import { cellBounds } from '../../roofline/bounds.ts';
import { weightBytes, WEIGHT_FORMATS } from '../../roofline/precision.ts';
import { rooflineRows } from '../../roofline/rows.ts';
import { measured, okCell, runWith, testCalibration } from './fixtures.ts';

const d = getDescriptor('internvl2_5-1b', 'full');
const llm = d.llm;

describe('GGUF weight formats in the roofline', () => {
  it('Q8_0 and Q4_0 are blocks of 32 with an fp16 scale (34 and 18 bytes), as the zoo writes them', () => {
    expect(weightBytes(896, 4864, WEIGHT_FORMATS['q8_0']!)).toBe(4864 * 28 * 34);
    expect(weightBytes(896, 4864, WEIGHT_FORMATS['q4_0']!)).toBe(4864 * 28 * 18);
    // The decode step's matmul bytes agree with what the llamacpp runner records per token.
    const calibration = testCalibration();
    for (const [precision, form] of [['int4', 'q4_0'], ['int8', 'q8_0']] as const) {
      const b = cellBounds(d, { images: 0, promptTokens: 128, outputTokens: 33, precision: form, chunkSize: 0 }, calibration);
      expect(b.decode!.work.matmulWeightBytes).toBe(decodeWeightBytesPerToken(llm, precision, 'gguf'));
    }
  });

  it('reads the form a llamacpp cell recorded, and gives it no ONNX Runtime kernel ceiling', () => {
    const calibration = testCalibration({ weightStream: { int4: measured(10), int8: measured(10) } });
    const ort = okCell('runner=ort,precision=int4', { runner: 'ort', precision: 'int4' }, { prefill_ms: 300, tpot_ms: 20 }, { images: 0, promptTokens: 128, outputTokens: 33 });
    const llama = okCell('runner=llamacpp,precision=int4', { runner: 'llamacpp', precision: 'int4' }, { prefill_ms: 300, tpot_ms: 20 }, { images: 0, promptTokens: 128, outputTokens: 33 });
    llama.settings['rooflineFormat'] = 'q4_0';
    const rows = rooflineRows(runWith([ort, llama]), calibration, () => d);
    const decode = (id: string) => rows.find((r) => r.cellId === id && r.phase === 'decode')!;
    // Q4_0 reads 4.5 bits per weight where MatMulNBits reads 5: a smaller decode bound.
    expect(decode(llama.id).bound!.work.matmulWeightBytes).toBe(decodeWeightBytesPerToken(llm, 'int4', 'gguf'));
    expect(decode(ort.id).bound!.work.matmulWeightBytes).toBe(decodeWeightBytesPerToken(llm, 'int4', 'onnx'));
    expect(decode(llama.id).bound!.boundMs!).toBeLessThan(decode(ort.id).bound!.boundMs!);
    // The weight-stream ceiling times ORT's kernels: none for llama.cpp's.
    expect(decode(ort.id).bound!.kernelMs).not.toBeNull();
    expect(decode(llama.id).bound!.kernelMs).toBeNull();
  });
});

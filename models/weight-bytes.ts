/**
 * Weight bytes one decode step reads, per file form the zoo writes, so cells of two runtimes
 * can be compared at equal footing: every layer's q/k/v/o/gate/up/down and the output head
 * (the token embedding is a row lookup: one row per token, left out). The zoo owns its
 * encodings (models/weights/encode.ts for ONNX, models/gguf/quants.ts for GGUF), so it states
 * their sizes here; the roofline keeps its own view of formats for bounds.
 */
import type { LanguageModel } from './descriptors.ts';
import { GGUF_WEIGHT_TYPE } from './gguf/llm.ts';
import { bitsPerWeight } from './gguf/quants.ts';
import type { Precision } from './layers/linear.ts';

export interface LinearDims {
  inFeatures: number;
  outFeatures: number;
}

/** The matmuls of one decode step (decoder layers + head). */
export function decodeLinears(llm: LanguageModel): LinearDims[] {
  const out: LinearDims[] = [];
  const q = llm.heads * llm.headDim;
  const kv = llm.kvHeads * llm.headDim;
  for (let i = 0; i < llm.layers; i++) {
    out.push(
      { inFeatures: llm.hidden, outFeatures: q + 2 * kv },
      { inFeatures: q, outFeatures: llm.hidden },
      { inFeatures: llm.hidden, outFeatures: llm.intermediate },
      { inFeatures: llm.hidden, outFeatures: llm.intermediate },
      { inFeatures: llm.intermediate, outFeatures: llm.hidden },
    );
  }
  out.push({ inFeatures: llm.hidden, outFeatures: llm.vocab });
  return out;
}

/**
 * Bytes of one `[in, out]` weight in the ONNX zoo's stored form: fp32 4 B, fp16 2 B; int8 1 B
 * + one fp32 scale per output channel; int4 (MatMulNBits) 0.5 B + one fp32 scale per block of 32.
 */
export function onnxLinearBytes(l: LinearDims, precision: Precision): number {
  const n = l.inFeatures * l.outFeatures;
  switch (precision) {
    case 'fp32':
      return 4 * n;
    case 'fp16':
      return 2 * n;
    case 'int8':
      return n + 4 * l.outFeatures;
    case 'int4':
      return l.outFeatures * Math.ceil(l.inFeatures / 32) * (16 + 4);
  }
}

/** Bytes of one weight as a GGUF tensor of the type `precision` maps to (Q8_0 8.5 bits, Q4_0 4.5, F16 16). */
export function ggufLinearBytes(l: LinearDims, precision: Precision): number {
  return (l.inFeatures * l.outFeatures * bitsPerWeight(GGUF_WEIGHT_TYPE[precision])) / 8;
}

export type WeightForm = 'onnx' | 'gguf';

/** Matmul weight bytes read per decoded token in the given file form. */
export function decodeWeightBytesPerToken(llm: LanguageModel, precision: Precision, form: WeightForm): number {
  const bytes = form === 'gguf' ? ggufLinearBytes : onnxLinearBytes;
  return decodeLinears(llm).reduce((sum, l) => sum + bytes(l, precision), 0);
}

/** What a cell's settings say about its weight form, e.g. "Q4_0 (4.5 bits/weight, fp16 scale per 32)". */
export function weightFormLabel(precision: Precision, form: WeightForm): string {
  if (form === 'gguf') {
    const type = GGUF_WEIGHT_TYPE[precision];
    const scales = type === 'Q8_0' || type === 'Q4_0' ? ', fp16 scale per 32' : '';
    return `${type} (${bitsPerWeight(type)} bits/weight${scales})`;
  }
  const label: Record<Precision, string> = {
    fp32: 'fp32 (32 bits/weight)',
    fp16: 'fp16 (16 bits/weight stored; ORT CPU computes in fp32)',
    int8: 'int8 per output channel, 7-bit codes |q| <= 64 (8 bits/weight stored + fp32 scale per row)',
    int4: 'int4 MatMulNBits block 32 (4 bits/weight + fp32 scale per 32 = 5 bits)',
  };
  return label[precision];
}

/**
 * Matrix-multiply throughput per precision, through the operators the model zoo emits for its
 * linears (models/layers/linear.ts): fp32 MatMul, int8 DynamicQuantizeMatMul with 7-bit weight codes (or the
 * DynamicQuantizeLinear + MatMulInteger pattern), int4 MatMulNBits block 32 with
 * accuracy_level 4. The weight is a constant initializer so ORT packs it once, as it does for
 * the runner's models; M is large enough that every weight is reused M times and the kernel is
 * compute-bound, not bandwidth-bound.
 */
import * as ort from 'onnxruntime-node';
import { matmulModel, type MatmulForm, type MatmulShape } from './graphs.ts';
import { calibrationSessionOptions, measureSessionRate } from './session.ts';
import type { TimingBudget } from './timing.ts';
import type { Figure } from '../../core/calibration-types.ts';

/** Default shape: a Qwen2.5-0.5B-class MLP width, 256 rows (one image tile of tokens). */
export const DEFAULT_MATMUL_SHAPE: MatmulShape = { m: 256, k: 1024, n: 4096 };

const FORM_LABEL: Record<MatmulForm, string> = {
  fp32: 'MatMul, float32 weight',
  'int8-dynamic-quantize-matmul': 'com.microsoft.DynamicQuantizeMatMul, int8 per-output-channel weight with 7-bit codes (the zoo form)',
  'int8-matmul-integer': 'DynamicQuantizeLinear + MatMulInteger + rescale, int8 weight with 7-bit codes',
  'int4-matmulnbits': 'com.microsoft.MatMulNBits, 4-bit weight, block 32, fp32 scales, accuracy_level 4 (int8 compute)',
};

export async function measureMatmul(form: MatmulForm, shape: MatmulShape, threads: number, budget: TimingBudget): Promise<Figure> {
  const x = new Float32Array(shape.m * shape.k);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  return measureSessionRate({
    name: `matmul-${form}-t${threads}`,
    model: matmulModel(form, shape),
    options: calibrationSessionOptions(threads),
    feeds: { x: new ort.Tensor('float32', x, [shape.m, shape.k]) },
    work: 2 * shape.m * shape.k * shape.n,
    method: (runs) =>
      `ONNX Runtime ${FORM_LABEL[form]}, [${shape.m}, ${shape.k}] x [${shape.k}, ${shape.n}], weight a constant initializer, intra-op threads ${threads}; G op/s = 2*M*K*N / run time, best of ${runs} runs`,
    threads,
    budget,
  });
}

import { MS_DOMAIN, float, int, type GraphBuilder } from '../onnx/graph-builder.ts';
import { produceFlat } from '../weights/encode.ts';
import { RandomTensor } from '../weights/random.ts';

/** Norm gains are 1 plus small noise so a reference that swaps two gains would notice. */
export const NORM_GAIN_STD = 0.1;

export function gainTensor(seed: number, name: string, size: number): RandomTensor {
  return new RandomTensor(seed, name, [size], { std: NORM_GAIN_STD, mean: 1 });
}

export function biasTensor(seed: number, name: string, size: number): RandomTensor {
  return new RandomTensor(seed, name, [size], { std: 0.02 });
}

/** Gains and biases of norms are small, so they stay fp32 in every precision. */
export function emitVector(g: GraphBuilder, t: RandomTensor): string {
  return g.weight(t.name, 'float32', t.shape, produceFlat(t, 'float32'));
}

/** RMSNorm (ORT contrib SimplifiedLayerNormalization, registered in the ONNX domain). */
export function rmsNorm(g: GraphBuilder, x: string, seed: number, name: string, size: number, eps: number): string {
  const gamma = emitVector(g, gainTensor(seed, `${name}.weight`, size));
  return g.op('SimplifiedLayerNormalization', [x, gamma], { axis: int(-1), epsilon: float(eps), stash_type: int(1) });
}

/**
 * Residual add followed by RMSNorm in one fused kernel. Returns the normalised value and the
 * sum (the new residual stream).
 */
export function skipRmsNorm(
  g: GraphBuilder,
  x: string,
  residual: string,
  seed: number,
  name: string,
  size: number,
  eps: number,
): { normed: string; sum: string } {
  const gamma = emitVector(g, gainTensor(seed, `${name}.weight`, size));
  const normed = g.fresh('skip_norm');
  const sum = g.fresh('residual');
  g.node('SkipSimplifiedLayerNormalization', [x, residual, gamma], [normed, '', '', sum], { epsilon: float(eps) }, MS_DOMAIN);
  return { normed, sum };
}

/** LayerNorm with gain and bias (ONNX opset 17). */
export function layerNorm(g: GraphBuilder, x: string, seed: number, name: string, size: number, eps: number): string {
  const gamma = emitVector(g, gainTensor(seed, `${name}.weight`, size));
  const beta = emitVector(g, biasTensor(seed, `${name}.bias`, size));
  return g.op('LayerNormalization', [x, gamma, beta], { axis: int(-1), epsilon: float(eps) });
}

import { createHash } from 'node:crypto';

/**
 * Counter-based random weights: the value of element `i` of a tensor is a pure function of
 * (global seed, tensor name, i). Any layout (transposed, blocked, quantised) can therefore be
 * written in whatever order it needs, without holding the tensor, and every precision and
 * layout of a model sees exactly the same underlying fp32 weights.
 */

export interface TensorKey {
  /** Two 32-bit words derived from the seed and the canonical tensor name. */
  a: number;
  b: number;
}

export function tensorKey(seed: number, name: string): TensorKey {
  const digest = createHash('sha256').update(`${seed}:${name}`).digest();
  return { a: digest.readUInt32LE(0), b: digest.readUInt32LE(4) };
}

/** lowbias32 (Chris Wellons' integer hash search): a strong 32-bit bijective mixer. */
function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform in [-1, 1) for element `index` (index < 2^32). */
export function uniformAt(key: TensorKey, index: number): number {
  const h = mix32(mix32((index + key.a) >>> 0) ^ key.b);
  return (h >>> 8) * (2 / 16777216) - 1;
}

/**
 * How a tensor's values are distributed. Uniform noise with a given standard deviation keeps
 * the generator cheap; std ~ 1/sqrt(fan_in) keeps activations O(1) through every layer.
 */
export interface WeightInit {
  /** Standard deviation of the uniform noise. */
  std: number;
  /** Constant added to the noise (1 for norm gains, 0 otherwise). */
  mean?: number;
}

/** A named tensor with its canonical (PyTorch) shape and its value function. */
export class RandomTensor {
  readonly key: TensorKey;
  private readonly halfWidth: number;
  private readonly mean: number;
  readonly size: number;

  constructor(
    seed: number,
    readonly name: string,
    readonly shape: number[],
    init: WeightInit,
  ) {
    this.key = tensorKey(seed, name);
    // Uniform on [-w, w] has std w/sqrt(3).
    this.halfWidth = init.std * Math.sqrt(3);
    this.mean = init.mean ?? 0;
    this.size = shape.reduce((a, b) => a * b, 1);
    if (this.size >= 2 ** 32) throw new Error(`tensor ${name} too large for the 32-bit counter`);
  }

  /** Value at a flat row-major index of the canonical shape. */
  at(index: number): number {
    return this.mean + this.halfWidth * uniformAt(this.key, index);
  }

  /** Largest possible magnitude (used to bound quantisation scales). */
  get bound(): number {
    return Math.abs(this.mean) + this.halfWidth;
  }

  /** All values (only for small tensors: reference computations in tests). */
  toArray(): Float32Array {
    const out = new Float32Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = this.at(i);
    return out;
  }
}

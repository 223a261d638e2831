import { describe, expect, it } from 'vitest';
import { SimdArgmax } from '../../runners/ort/argmax-simd.ts';
import { argmax, argmaxScalar } from '../../runners/ort/inputs.ts';
import { seededRandom } from '../../core/random.ts';

describe('WebAssembly SIMD argmax', () => {
  const simd = SimdArgmax.create(0);

  it('is available on Node 20+ (else the runner silently uses the slower scalar loop)', () => {
    expect(simd).not.toBeNull();
  });

  it('agrees with the scalar loop on the first largest value, ties, offsets and every tail length', () => {
    const rnd = seededRandom(3);
    for (let t = 0; t < 3000; t++) {
      const length = 1 + Math.floor(rnd() * 90);
      const offset = Math.floor(rnd() * 5);
      // Few distinct values, so ties are common and "first index" matters.
      const data = Float32Array.from({ length: offset + length }, () => Math.floor(rnd() * 6) - 3);
      expect(simd!.argmax(data, offset, length)).toBe(argmaxScalar(data, offset, length));
    }
  });

  it('finds the maximum of a vocabulary-sized row in its own memory without copying', () => {
    const vocab = 151674;
    const logits = simd!.reserve(vocab);
    const rnd = seededRandom(9);
    for (let i = 0; i < vocab; i++) logits[i] = rnd() * 20 - 10;
    logits[vocab - 1] = 11; // in the scalar tail (151674 is not a multiple of 16)
    expect(simd!.argmax(logits, 0, vocab)).toBe(vocab - 1);
    logits[70001] = 12; // inside a 16-wide block
    expect(simd!.argmax(logits, 0, vocab)).toBe(70001);
    expect(argmax(logits, 0, vocab)).toBe(70001);
  });

  it('never lets NaN win, like the scalar loop', () => {
    const data = Float32Array.of(1, NaN, 5, NaN, 2, 5, NaN, 0, 0);
    expect(simd!.argmax(data, 0, data.length)).toBe(2);
    expect(argmax(Float32Array.of(NaN, NaN), 0, 2)).toBe(argmaxScalar(Float32Array.of(NaN, NaN), 0, 2));
  });
});

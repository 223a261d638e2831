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

  it('agrees with the scalar loop when NaN is first, in the tail, everywhere, or beside -Infinity', () => {
    const cases: Array<[number[], number]> = [
      [[NaN, 1, 3, 2], 2], // NaN first: the scalar loop used to answer 0
      [[NaN, -5, -7, -6, -9], 1],
      [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 4, NaN, 2], 15], // NaN in the scalar tail
      [[NaN, NaN, NaN, NaN, NaN], 0], // no number at all: the first index
      [[NaN, -Infinity, -Infinity, NaN, -Infinity], 1],
      [Array.from({ length: 37 }, (_, i) => (i === 0 ? NaN : i === 36 ? 50 : i)), 36],
    ];
    for (const [values, expected] of cases) {
      const data = Float32Array.from(values);
      expect(argmaxScalar(data, 0, data.length), String(values)).toBe(expected);
      expect(argmax(data, 0, data.length), String(values)).toBe(expected);
      // The SIMD loop answers itself (a NaN in its scalar tail once made it give up with -1);
      // -1 only when every value is NaN, where the caller falls back to the scalar loop.
      expect(simd!.argmax(data, 0, data.length), String(values)).toBe(values.every(Number.isNaN) ? -1 : expected);
    }
    // Random rows with NaNs sprinkled in, the first value NaN half the time.
    const rnd = seededRandom(11);
    for (let t = 0; t < 2000; t++) {
      const length = 1 + Math.floor(rnd() * 70);
      const data = Float32Array.from({ length }, () => (rnd() < 0.2 ? NaN : Math.floor(rnd() * 8) - 4));
      if (rnd() < 0.5) data[0] = NaN;
      expect(argmax(data, 0, length)).toBe(argmaxScalar(data, 0, length));
    }
  });
});

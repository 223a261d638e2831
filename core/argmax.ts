/** Greedy token choice: the one scalar argmax (runners/ort's SIMD version and the accuracy check agree with it). */

/**
 * The plain loop (the reference runners/ort/argmax-simd.ts is tested against): the first index of the
 * largest value; a NaN never wins, wherever it is (a NaN first used to win, as every comparison
 * with it is false, while the SIMD loop skipped it). 0 when every value is NaN.
 */
export function argmaxScalar(data: ArrayLike<number>, offset: number, length: number): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = offset; i < offset + length; i++) {
    const v = data[i]!;
    if (v > bestValue || (best < 0 && v === v)) {
      bestValue = v;
      best = i;
    }
  }
  return best < 0 ? 0 : best - offset;
}

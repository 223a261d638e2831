/**
 * Python's number semantics where the reference preprocessors depend on them, so a size computed
 * here is the size the reference computes for the same input.
 */

/**
 * Python 3 `round(x)` (and numpy's `np.round`): ties go to the even integer, so round(2.5) == 2
 * where JavaScript's Math.round gives 3. `x - floor(x)` is exact for doubles of this magnitude.
 */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const frac = x - floor;
  if (frac > 0.5) return floor + 1;
  if (frac < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Python `int(x)` on a float: truncation toward zero. */
export function pyInt(x: number): number {
  return Math.trunc(x);
}

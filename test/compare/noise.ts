/**
 * Seeded noise for planted-change tests: latencies on edge boards are right-skewed and
 * multiplicative, so they are modelled as log-normal with a given coefficient of variation.
 */

/** mulberry32: a small, fast, seedable 32-bit generator; good enough for test noise. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws by Box-Muller. */
export function normal(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

/** Log-normal values with the given median and coefficient of variation (e.g. 0.04 = 4%). */
export function logNormal(rand: () => number, median: number, cv: number): () => number {
  const sigma = Math.sqrt(Math.log(1 + cv * cv));
  const z = normal(rand);
  return () => median * Math.exp(sigma * z());
}

/**
 * Seeded noise for planted-change tests: latencies on edge boards are right-skewed and
 * multiplicative, so they are modelled as log-normal with a given coefficient of variation.
 */

import { seededRandom } from '../../core/random.ts';

/** Uniform [0, 1) draws from a seed (the project's one PRNG). */
export const rng = seededRandom;

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

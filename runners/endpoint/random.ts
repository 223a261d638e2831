/**
 * Seeded randomness for everything the endpoint runner varies (test images, prompt word order,
 * arrival times), so that a suite replays the same inputs and schedule on every run.
 */

import { seededRandom } from '../../core/random.ts';

export { seededRandom };

/** FNV-1a of a string, to turn names (cell ids) into seeds. */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Combines seeds so that (a, b) and (b, a) differ. */
export function mixSeeds(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) h = Math.imul(h ^ (p >>> 0), 0x85ebca6b) ^ (h >>> 13);
  return h >>> 0;
}

/**
 * Send times (ms from the start of a round) of `count` requests arriving as a Poisson process of
 * `ratePerS` requests per second: exponential gaps, the first request at 0 as vLLM's
 * `bench serve` does.
 */
export function poissonOffsetsMs(count: number, ratePerS: number, seed: number): number[] {
  if (!(ratePerS > 0)) throw new RangeError(`request rate must be > 0 requests/s, got ${ratePerS}`);
  const rand = seededRandom(seed);
  const offsets: number[] = [];
  let t = 0;
  for (let i = 0; i < count; i++) {
    if (i > 0) t += (-Math.log(1 - rand()) / ratePerS) * 1000;
    offsets.push(t);
  }
  return offsets;
}

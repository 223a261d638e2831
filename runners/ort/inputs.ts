/**
 * Synthetic request inputs. They are deterministic (seeded) so every iteration and every run
 * sends the same work, and cheap to make so they do not distort the phases they belong to.
 */
import { SimdArgmax } from './argmax-simd.ts';
import type { PixelConvention } from '../../models/preprocess/pixels.ts';
import { argmaxScalar } from '../../core/argmax.ts';
import { seededRandom } from '../../core/random.ts';

/** An RGB test image (uint8, HWC) with structure, as a camera frame would have. */
export function makeTestImage(size: number, seed: number): Uint8Array {
  const rnd = seededRandom(seed);
  const img = new Uint8Array(size * size * 3);
  const fx = 1 + rnd() * 6;
  const fy = 1 + rnd() * 6;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const base = (y * size + x) * 3;
      const wave = Math.sin((x / size) * fx * Math.PI) * Math.cos((y / size) * fy * Math.PI);
      img[base] = Math.round(127 + 100 * wave + 27 * (rnd() - 0.5));
      img[base + 1] = Math.round(127 - 100 * wave + 27 * (rnd() - 0.5));
      img[base + 2] = Math.round(127 + 60 * Math.sin((x + y) / 17) + 27 * (rnd() - 0.5));
    }
  }
  return img;
}

/**
 * The preprocessing a VLM does after resize: HWC uint8 -> CHW float32 normalised with the
 * processor's mean/std. Written into `out` at `offset`
 * (elements) so a batch can share one buffer.
 */
export function normalizeToChw(img: Uint8Array, size: number, out: Float32Array, offset: number, stats: Pick<PixelConvention, 'mean' | 'std'>): void {
  const plane = size * size;
  for (let c = 0; c < 3; c++) {
    const mean = stats.mean[c]!;
    const std = stats.std[c]!;
    const dst = offset + c * plane;
    for (let i = 0; i < plane; i++) out[dst + i] = (img[i * 3 + c]! / 255 - mean) / std;
  }
}

/**
 * Prompt token ids: `textTokens` text ids with one run of placeholders per image or video
 * (`visualTokens[i]` tokens each) after a short preamble (where a chat template puts them).
 * Returns the ids and the first row of each run, where the visual features are written into
 * the embeddings.
 */
export function makePromptIds(
  textTokens: number,
  visualTokens: readonly number[],
  vocab: number,
  seed: number,
): { ids: BigInt64Array; imageRows: number[] } {
  const rnd = seededRandom(seed);
  const total = textTokens + visualTokens.reduce((a, b) => a + b, 0);
  const ids = new BigInt64Array(total);
  const preamble = Math.min(8, textTokens);
  const imageRows: number[] = [];
  let row = 0;
  const textId = () => BigInt(1 + Math.floor(rnd() * (vocab - 1)));
  for (; row < preamble; row++) ids[row] = textId();
  for (const tokens of visualTokens) {
    imageRows.push(row);
    for (let k = 0; k < tokens; k++) ids[row++] = 0n; // placeholder; rows are overwritten with features
  }
  for (; row < total; row++) ids[row] = textId();
  return { ids, imageRows };
}

let shared: SimdArgmax | null | undefined;

/** Index (relative to offset) of the first largest value: WebAssembly SIMD when available. */
export function argmax(data: Float32Array, offset: number, length: number): number {
  if (shared === undefined) shared = SimdArgmax.create(0);
  const found = shared && length > 0 ? shared.argmax(data, offset, length) : -1;
  return found >= 0 ? found : argmaxScalar(data, offset, length);
}

/** The plain loop, the reference the SIMD version is tested against (core/argmax.ts). */
export { argmaxScalar };

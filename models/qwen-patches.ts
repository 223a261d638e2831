/**
 * The Qwen-VL image processors' patch layout (Qwen2VLImageProcessor, also used by Qwen2.5-VL
 * and Qwen3-VL): a still image is repeated over `temporalPatchSize` frames and cut into
 * `P x P` patches; rows are the patches in 2x2 merge-window order (merge windows row-major,
 * the patches of a window row-major inside it), each row holding (channel, frame, y, x).
 * That is reshape(gt, T, C, gh/m, m, P, gw/m, m, P).transpose(0, 3, 6, 4, 7, 2, 1, 5, 8).
 */
import type { VlmDescriptor } from './descriptors.ts';

export interface PatchGeometry {
  imageSize: number;
  patchSize: number;
  temporalPatchSize: number;
  mergeSize: number;
  channels: number;
}

export function patchGeometry(d: VlmDescriptor): PatchGeometry {
  return {
    imageSize: d.vision.imageSize,
    patchSize: d.vision.patchSize,
    temporalPatchSize: d.vision.temporalPatchSize ?? 1,
    mergeSize: d.projector.mergeFactor,
    channels: d.vision.channels,
  };
}

/** Width of one flattened patch row: C * T * P * P. */
export function patchRowWidth(g: PatchGeometry): number {
  return g.channels * g.temporalPatchSize * g.patchSize * g.patchSize;
}

/** Patches of one square image: (size / P)^2. */
export function patchCount(g: PatchGeometry): number {
  const side = g.imageSize / g.patchSize;
  return side * side;
}

/** Flattened patches `[patches, C*T*P*P]` of one normalised CHW image of side `imageSize`. */
export function flattenPatches(chw: Float32Array, g: PatchGeometry): Float32Array {
  const { imageSize: S, patchSize: P, temporalPatchSize: T, mergeSize: m, channels: C } = g;
  if (S % (P * m) !== 0) throw new Error(`image size ${S} is not a multiple of patch ${P} x merge ${m}`);
  if (chw.length !== C * S * S) throw new Error(`expected ${C}x${S}x${S} pixels, got ${chw.length} values`);
  const side = S / P;
  const width = patchRowWidth(g);
  const out = new Float32Array(side * side * width);
  let row = 0;
  for (let bh = 0; bh < side / m; bh++) {
    for (let bw = 0; bw < side / m; bw++) {
      for (let mh = 0; mh < m; mh++) {
        for (let mw = 0; mw < m; mw++) {
          const y0 = (bh * m + mh) * P;
          const x0 = (bw * m + mw) * P;
          let f = row * width;
          for (let c = 0; c < C; c++) {
            for (let t = 0; t < T; t++) {
              for (let py = 0; py < P; py++) {
                const src = c * S * S + (y0 + py) * S + x0;
                for (let px = 0; px < P; px++) out[f++] = chw[src + px] as number;
              }
            }
          }
          row++;
        }
      }
    }
  }
  return out;
}

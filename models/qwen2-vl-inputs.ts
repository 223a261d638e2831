/**
 * Host-side inputs of Qwen2-VL's onnx-community split, shared by the check driver and the ORT
 * runner: the processor's flattened patches + grid_thw for the vision encoder, and the M-RoPE
 * 3-D position ids of the decoder (transformers' Qwen2VLModel.get_rope_index).
 */

/** Patch geometry of a Qwen2-VL vision tower. */
export interface Qwen2PatchGeometry {
  patchSize: number;
  /** Frames per temporal patch (2): a still image is repeated to fill them. */
  temporalPatchSize: number;
  /** Patches merged per side by the PatchMerger (2). */
  mergeSize: number;
  channels: number;
}

/** Values of one flattened patch: channels x temporal x patch x patch (3*2*14*14 = 1176). */
export function patchVectorLength(g: Qwen2PatchGeometry): number {
  return g.channels * g.temporalPatchSize * g.patchSize * g.patchSize;
}

/** grid_thw of one still image `size` px square: [1, size/patch, size/patch]. */
export function imageGrid(size: number, g: Qwen2PatchGeometry): [number, number, number] {
  if (size % (g.patchSize * g.mergeSize) !== 0) {
    throw new Error(`image size ${size} is not a multiple of patch ${g.patchSize} x merge ${g.mergeSize}`);
  }
  return [1, size / g.patchSize, size / g.patchSize];
}

/**
 * A normalised CHW image -> `[patches, C*T*P*P]` in the processor's order: patches grouped by
 * merge window (windows row-major, then row-major inside the window), each patch's values as
 * channel, frame, row, column, the frame axis repeating the still image.
 */
export function patchifyImage(chw: Float32Array, size: number, g: Qwen2PatchGeometry): Float32Array {
  const [, gh, gw] = imageGrid(size, g);
  const { patchSize: P, temporalPatchSize: T, mergeSize: M, channels: C } = g;
  const vec = patchVectorLength(g);
  const out = new Float32Array(gh * gw * vec);
  let o = 0;
  for (let wy = 0; wy < gh / M; wy++) {
    for (let wx = 0; wx < gw / M; wx++) {
      for (let iy = 0; iy < M; iy++) {
        for (let ix = 0; ix < M; ix++) {
          const y0 = (wy * M + iy) * P;
          const x0 = (wx * M + ix) * P;
          for (let c = 0; c < C; c++) {
            for (let t = 0; t < T; t++) {
              for (let py = 0; py < P; py++) {
                const row = c * size * size + (y0 + py) * size + x0;
                for (let px = 0; px < P; px++) out[o++] = chw[row + px] as number;
              }
            }
          }
        }
      }
    }
  }
  return out;
}

/** A prompt as runs of text tokens and images (each image a grid of merged tokens). */
export type PromptSegment = { kind: 'text'; tokens: number } | { kind: 'image'; gridT: number; gridH: number; gridW: number };

export interface MropePositions {
  /** `[3, tokens]` axis-major (t row, then h, then w): reshape to `[3, 1, tokens]` for batch 1. */
  ids: BigInt64Array;
  tokens: number;
  /** Position of the first generated token on all three axes (max over the prompt + 1). */
  next: number;
}

/**
 * M-RoPE position ids as get_rope_index computes them: a text token takes t = h = w = the next
 * position; an image of (t, h, w) merged tokens starts at the next position s and its token
 * (i, j, k) takes (s+i, s+j, s+k), so the text after it resumes at s + max(t, h, w).
 * Generated tokens continue from `next` on all three axes.
 */
export function mropePositions(segments: readonly PromptSegment[]): MropePositions {
  const tokens = segments.reduce((n, s) => n + (s.kind === 'text' ? s.tokens : s.gridT * s.gridH * s.gridW), 0);
  const ids = new BigInt64Array(3 * tokens);
  let row = 0;
  let next = 0;
  for (const s of segments) {
    if (s.kind === 'text') {
      for (let i = 0; i < s.tokens; i++, row++) {
        const p = BigInt(next + i);
        ids[row] = p;
        ids[tokens + row] = p;
        ids[2 * tokens + row] = p;
      }
      next += s.tokens;
      continue;
    }
    for (let t = 0; t < s.gridT; t++) {
      for (let h = 0; h < s.gridH; h++) {
        for (let w = 0; w < s.gridW; w++, row++) {
          ids[row] = BigInt(next + t);
          ids[tokens + row] = BigInt(next + h);
          ids[2 * tokens + row] = BigInt(next + w);
        }
      }
    }
    next += Math.max(s.gridT, s.gridH, s.gridW);
  }
  return { ids, tokens, next };
}

/** Rows `[start, start + length)` of a `[3, tokens]` table as a `[3 * length]` axis-major slice. */
export function slicePositions(p: MropePositions, start: number, length: number): BigInt64Array {
  const out = new BigInt64Array(3 * length);
  for (let a = 0; a < 3; a++) out.set(p.ids.subarray(a * p.tokens + start, a * p.tokens + start + length), a * length);
  return out;
}

/**
 * M-RoPE 3-D position ids of Qwen-VL decoders (`position_ids [3, batch, seq]`), as
 * transformers' Qwen2VLModel.get_rope_index computes them; shared by the check driver and the
 * ORT runner. (The patches fed to the vision encoder are models/qwen-patches.ts.)
 */

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

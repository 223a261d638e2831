/**
 * How llama.cpp's mtmd turns one of the cell's frames into encoder inputs and tokens, next to
 * the suite's reference preprocessing of the same frame (models/preprocess/plan.ts), for the
 * cell's settings and the report. mtmd's rules per projector, as of llama.cpp b10256
 * (tools/mtmd/mtmd-image.cpp, clip.cpp load_hparams):
 * - InternVL: llava-uhd tiles of the tile size, the overview after them when the frame is sliced;
 * - Qwen2-VL / Qwen2.5-VL: smart resize to multiples of patch x merge (28 px), the area kept
 *   between 8 and 4096 tokens (clip.cpp set_limit_image_tokens(8, 4096)); the reference
 *   (transformers' processor) keeps it between min_pixels 56x56 (4 tokens) and max_pixels
 *   28x28x1280 (1280 tokens), so a frame under 8 tokens is upscaled by mtmd only;
 * - Qwen3-VL: the same smart resize at 32 px (patch 16 x merge 2) within the same 8-4096 tokens
 *   (v0.4.0 clip.cpp, same branch); the reference keeps 64-16384 tokens (preprocessor_config
 *   shortest_edge 65536 / longest_edge 16777216 px), so a frame under 64 tokens is upscaled by
 *   the reference only, and one over 4096 is downscaled by mtmd only;
 * - SmolVLM (Idefics3): the longest edge resized to clip.vision.preproc_image_size (4 tiles, as
 *   SmolVLM's size.longest_edge) and cut into tiles, plus the global image: the reference's
 *   image splitting.
 * The token count itself is measured (mtmd's tokenisation of a frame); these rules only explain it.
 */
import { InputError } from '../../core/errors.ts';
import type { VlmDescriptor } from '../../models/descriptors.ts';
import { IDEFICS3_LONGEST_EDGE_TILES } from '../../models/gguf/mmproj.ts';
import { familyPreprocessing, imagePlan, type PreprocessFamily, type PreprocessLimits, type VisualPlan } from '../../models/preprocess/plan.ts';
import { QWEN3_VL_DEFAULTS } from '../../models/preprocess/qwen2-vl.ts';

/** clip.cpp's token limits for the Qwen-VL projectors (set_limit_image_tokens). */
export const MTMD_QWEN_TOKEN_LIMITS = { min: 8, max: 4096 } as const;

export interface FramePreprocessing {
  /** The reference processor's family (Qwen3-VL resizes as Qwen2-VL with its own factor and limits). */
  family: PreprocessFamily | 'qwen3-vl';
  /** Tokens per frame under the suite's reference preprocessing. */
  referenceTokens: number;
  /** Tokens per frame the ORT runner's image cell encodes (one tile per frame without a resolution axis). */
  ortCellTokens: number;
  /** Vision-encoder inputs mtmd runs per frame (tiles; one resized image for Qwen-VL). */
  mtmdTiles: number;
  /** One line for the cell: mtmd's rule and count, the reference's, and whether they differ. */
  note: string;
}

/** mtmd's smart resize of a square frame (mtmd-image.cpp calc_size_preserved_ratio with pixel limits). */
export function mtmdQwenSide(side: number, factor: number, limits = MTMD_QWEN_TOKEN_LIMITS): number {
  const minPixels = limits.min * factor * factor;
  const maxPixels = limits.max * factor * factor;
  let s = Math.max(factor, Math.round(side / factor) * factor);
  if (s * s > maxPixels) s = Math.max(factor, Math.floor(side / Math.sqrt((side * side) / maxPixels) / factor) * factor);
  else if (s * s < minPixels) s = Math.ceil((side * Math.sqrt(minPixels / (side * side))) / factor) * factor;
  return s;
}

/** The reference plan of one square frame: Qwen3-VL is Qwen2-VL's smart resize with its own factor and pixel limits. */
function referencePlan(d: VlmDescriptor, side: number, factor: number): { family: FramePreprocessing['family']; plan: VisualPlan } {
  const qwen3 = d.family === 'qwen3-vl';
  const family = qwen3 ? 'qwen2-vl' : familyPreprocessing(d.family);
  if (!family) throw new InputError(`llamacpp runner: family ${d.family} has no reference preprocessing in the zoo`);
  const limits: PreprocessLimits = qwen3 ? { minPixels: QWEN3_VL_DEFAULTS.minPixels, maxPixels: QWEN3_VL_DEFAULTS.maxPixels } : {};
  const plan = imagePlan(family, { width: side, height: side }, { tileSize: side, tokensPerTile: d.imageTokensPerTile, factor }, limits);
  if (!qwen3) return { family, plan };
  return { family: 'qwen3-vl', plan: { ...plan, detail: `${plan.detail.replace(/\)$/, '')}, min_pixels ${QWEN3_VL_DEFAULTS.minPixels})` } };
}

export function compareFramePreprocessing(d: VlmDescriptor, mtmdTokens: number): FramePreprocessing {
  const side = d.vision.imageSize;
  const factor = d.vision.patchSize * d.projector.mergeFactor;
  const { family, plan } = referencePlan(d, side, factor);
  const perTile = d.imageTokensPerTile;
  let rule: string;
  let mtmdTiles: number;
  if (family === 'qwen2-vl' || family === 'qwen3-vl') {
    mtmdTiles = 1;
    const s = mtmdQwenSide(side, factor);
    const size = (s / factor) ** 2 === mtmdTokens ? `, ${side}x${side} -> ${s}x${s}` : '';
    rule = `smart resize to multiples of ${factor} px within ${MTMD_QWEN_TOKEN_LIMITS.min}-${MTMD_QWEN_TOKEN_LIMITS.max} tokens${size}`;
  } else {
    mtmdTiles = mtmdTokens % perTile === 0 && mtmdTokens > 0 ? mtmdTokens / perTile : 1;
    rule =
      family === 'smolvlm'
        ? `longest edge ${IDEFICS3_LONGEST_EDGE_TILES * side} px, ${mtmdTiles} tiles of ${side} px (crops + global image)`
        : `dynamic tiling, ${mtmdTiles} tile(s) of ${side} px`;
  }
  const verdict = mtmdTokens === plan.tokens ? 'same count' : `DIFFERS from the reference by ${mtmdTokens - plan.tokens} tokens per frame`;
  const ortCell = perTile !== plan.tokens ? `; the ort runner's image cell (no resolution axis) encodes each frame as one tile: ${perTile} tokens` : '';
  return {
    family,
    referenceTokens: plan.tokens,
    ortCellTokens: perTile,
    mtmdTiles,
    note: `mtmd (llama.cpp): ${rule}, ${mtmdTokens} tokens per frame; reference (${plan.detail}): ${plan.tokens} tokens per frame: ${verdict}${ortCell}`,
  };
}

/**
 * What one image (or one video) becomes for a model family: how many vision-encoder inputs of
 * which size, and how many LLM tokens. Pure functions: sizes in, numbers out. The runners use
 * these plans to run the encoder once per tile and to size the prompt; results record them.
 */
import { InputError } from '../../core/errors.ts';
import { INTERNVL_DEFAULTS, internvlFrameIndices, internvlTiling } from './internvl.ts';
import { QWEN2_VL_DEFAULTS, QWEN2_VL_TEMPORAL_PATCH, QWEN2_VL_VIDEO_DEFAULTS, qwen2VlTokens, smartResize } from './qwen2-vl.ts';
import { formatResolution, type Resolution } from './resolution.ts';
import { roundHalfEven } from './rounding.ts';
import { SMOLVLM_DEFAULTS, smolvlmSplit } from './smolvlm.ts';

export type PreprocessFamily = 'internvl' | 'qwen2-vl' | 'smolvlm';
export const PREPROCESS_FAMILIES: readonly PreprocessFamily[] = ['internvl', 'qwen2-vl', 'smolvlm'];

/**
 * The preprocessing of a zoo family: Qwen2.5-VL resizes as Qwen2-VL does (patch 14, merge 2,
 * factor 28); Qwen3-VL (patch 16, factor 32, its own limits) is not reproduced here yet: null.
 */
export function familyPreprocessing(family: string): PreprocessFamily | null {
  if (family === 'internvl' || family === 'smolvlm' || family === 'qwen2-vl') return family;
  if (family === 'qwen2_5-vl') return 'qwen2-vl';
  return null;
}

/** Knobs a suite may set; absent = the reference implementation's default. */
export interface PreprocessLimits {
  /** InternVL max_num (default 12; the thumbnail comes on top). */
  maxTiles?: number;
  /** Qwen2-VL max_pixels (default 28*28*1280). */
  maxPixels?: number;
  /** Qwen2-VL min_pixels (default 56*56). */
  minPixels?: number;
}

/** The model geometry a plan needs: one encoder tile's side and the tokens it gives. */
export interface TileGeometry {
  /** Side of one square encoder input (InternVL 448, SmolVLM 512; Qwen2-VL: the zoo's fixed grid). */
  tileSize: number;
  tokensPerTile: number;
  /** Qwen2-VL: patch_size * merge_size (28); unused by the tiling families. */
  factor?: number;
}

export interface VisualPlan {
  family: PreprocessFamily;
  kind: 'image' | 'video';
  source: Resolution;
  /** Size the source is resized to before tiling / patching. */
  resized: Resolution;
  /**
   * Encoder inputs: `count` inputs of width x height (InternVL, SmolVLM: square tiles; Qwen2-VL:
   * one input of the whole resized image, `temporal` frame pairs deep).
   */
  encoderInputs: Array<{ width: number; height: number; count: number; temporal?: number }>;
  /** Sum of encoderInputs counts: vision-encoder runs at batch 1. */
  tiles: number;
  /** LLM tokens this image/video becomes. */
  tokens: number;
  /** Video only: frames fed to the model. */
  frames?: number;
  /** How the plan was decided, for the result ("4x2 grid + thumbnail, max_num 12"). */
  detail: string;
}

export function imagePlan(family: PreprocessFamily, source: Resolution, geo: TileGeometry, limits: PreprocessLimits = {}): VisualPlan {
  switch (family) {
    case 'internvl': {
      const maxTiles = limits.maxTiles ?? INTERNVL_DEFAULTS.maxTiles;
      const t = internvlTiling(source.width, source.height, { imageSize: geo.tileSize, maxTiles });
      return {
        family,
        kind: 'image',
        source,
        resized: { width: t.resizedWidth, height: t.resizedHeight },
        encoderInputs: [{ width: geo.tileSize, height: geo.tileSize, count: t.tiles }],
        tiles: t.tiles,
        tokens: t.tiles * geo.tokensPerTile,
        detail: `dynamic_preprocess: ${t.cols}x${t.rows} grid${t.thumbnail ? ' + thumbnail' : ''} (max_num ${maxTiles})`,
      };
    }
    case 'smolvlm': {
      const s = smolvlmSplit(source.width, source.height, { tileSize: geo.tileSize, longestEdge: 4 * geo.tileSize });
      return {
        family,
        kind: 'image',
        source,
        resized: { width: s.resizedWidth, height: s.resizedHeight },
        encoderInputs: [{ width: geo.tileSize, height: geo.tileSize, count: s.tiles }],
        tiles: s.tiles,
        tokens: s.tiles * geo.tokensPerTile,
        detail: s.rows ? `image splitting: ${s.cols}x${s.rows} crops + global image (longest edge ${4 * geo.tileSize})` : 'not split: one tile',
      };
    }
    case 'qwen2-vl': {
      const factor = geo.factor ?? QWEN2_VL_DEFAULTS.factor;
      const minPixels = limits.minPixels ?? QWEN2_VL_DEFAULTS.minPixels;
      const maxPixels = limits.maxPixels ?? QWEN2_VL_DEFAULTS.maxPixels;
      const [h, w] = smartResize(source.height, source.width, { factor, minPixels, maxPixels });
      return {
        family,
        kind: 'image',
        source,
        resized: { width: w, height: h },
        encoderInputs: [{ width: w, height: h, count: 1, temporal: 1 }],
        tiles: 1,
        tokens: qwen2VlTokens(h, w, factor),
        detail: `smart_resize ${formatResolution(source)} -> ${w}x${h} (${w / factor}x${h / factor} tokens, max_pixels ${maxPixels})`,
      };
    }
  }
}

/**
 * A video of `frames` sampled frames at `source` resolution: InternVL one tile per frame
 * (max_num=1, as its video example and the Jetson framework limit it); Qwen2-VL temporal
 * patches of 2 frames at the smart-resized size; SmolVLM one tile per frame.
 */
export function videoPlan(family: PreprocessFamily, frames: number, source: Resolution, geo: TileGeometry, limits: PreprocessLimits = {}): VisualPlan {
  if (!Number.isInteger(frames) || frames < 1) throw new InputError(`video: frames must be a positive integer, got ${frames}`);
  if (family === 'qwen2-vl') {
    // The video processor has its own pixel limits (fewer pixels per frame than an image).
    const factor = geo.factor ?? QWEN2_VL_VIDEO_DEFAULTS.factor;
    const maxPixels = limits.maxPixels ?? QWEN2_VL_VIDEO_DEFAULTS.maxPixels;
    const minPixels = limits.minPixels ?? QWEN2_VL_VIDEO_DEFAULTS.minPixels;
    const [h, w] = smartResize(source.height, source.width, { factor, minPixels, maxPixels });
    const temporal = Math.ceil(frames / QWEN2_VL_TEMPORAL_PATCH);
    return {
      family,
      kind: 'video',
      source,
      resized: { width: w, height: h },
      encoderInputs: [{ width: w, height: h, count: 1, temporal }],
      tiles: 1,
      tokens: qwen2VlTokens(h, w, factor, frames),
      frames,
      detail: `${frames} frames -> ${temporal} temporal patches of 2 at ${w}x${h}`,
    };
  }
  const side = geo.tileSize;
  return {
    family,
    kind: 'video',
    source,
    resized: { width: side, height: side },
    encoderInputs: [{ width: side, height: side, count: frames }],
    tiles: frames,
    tokens: frames * geo.tokensPerTile,
    frames,
    detail: `${frames} frames, one ${side}x${side} tile each`,
  };
}

/**
 * Frame indices a family's video loader takes from a clip of `totalFrames`: InternVL's
 * `load_video` takes the middle of each of `frames` equal segments; transformers'
 * Qwen2VLVideoProcessor.sample_frames takes arange(0, total, total/frames).int(); SmolVLM is
 * given the same uniform sampling (its own loader samples by fps, which a frame count fixes).
 */
export function sampleFrames(family: PreprocessFamily, totalFrames: number, frames: number): { indices: number[]; rule: string } {
  if (!Number.isInteger(totalFrames) || totalFrames < frames) {
    throw new InputError(`video: cannot sample ${frames} frames from a clip of ${totalFrames}`);
  }
  if (family === 'internvl') {
    return { indices: internvlFrameIndices(totalFrames, frames, roundHalfEven), rule: `InternVL load_video: middle of each of ${frames} equal segments of ${totalFrames} frames` };
  }
  const step = totalFrames / frames;
  return {
    indices: Array.from({ length: frames }, (_, k) => Math.trunc(k * step)),
    rule: `uniform: every ${step.toFixed(2)} frames of ${totalFrames} from frame 0 (transformers Qwen2-VL sample_frames)`,
  };
}

export { SMOLVLM_DEFAULTS, INTERNVL_DEFAULTS, QWEN2_VL_DEFAULTS, QWEN2_VL_VIDEO_DEFAULTS };

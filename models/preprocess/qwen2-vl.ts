/**
 * Qwen2-VL's `smart_resize` and token count (transformers
 * `models/qwen2_vl/image_processing_qwen2_vl.py`): both sides become multiples of
 * factor = patch_size * merge_size = 28 by Python `round` (half to even), then if the area is
 * above max_pixels both sides are scaled by beta = sqrt(h*w / max_pixels) and floored to the
 * factor, or if below min_pixels scaled by sqrt(min_pixels / (h*w)) and ceiled. The processor's
 * defaults are min_pixels = 56*56 and max_pixels = 28*28*1280.
 *
 * Tokens: the ViT sees (h/14) x (w/14) patches of temporal depth 2 and the PatchMerger merges
 * 2x2 of them, so an image gives (h/28) * (w/28) tokens. A single image is repeated to the
 * temporal patch of 2 frames (grid_t = 1); a video of F frames gives grid_t = ceil(F/2) (the
 * last frame repeated to fill the patch) and ceil(F/2) * (h/28) * (w/28) tokens.
 */
import { InputError } from '../../core/errors.ts';
import { roundHalfEven } from './rounding.ts';

export interface SmartResizeOptions {
  /** patch_size * merge_size (Qwen2-VL: 14 * 2). */
  factor: number;
  minPixels: number;
  maxPixels: number;
}

export const QWEN2_VL_DEFAULTS: SmartResizeOptions = { factor: 28, minPixels: 56 * 56, maxPixels: 28 * 28 * 1280 };

/**
 * Qwen2VLVideoProcessor's own defaults (transformers video_processing_qwen2_vl.py): frames are
 * smart-resized within min_pixels = 128*28*28 and max_pixels = 28*28*768.
 */
export const QWEN2_VL_VIDEO_DEFAULTS: SmartResizeOptions = { factor: 28, minPixels: 128 * 28 * 28, maxPixels: 28 * 28 * 768 };

/**
 * Qwen3-VL's image processor (the same smart_resize): patch 16 x merge 2 = factor 32, and its
 * preprocessor_config.json size {shortest_edge: 65536, longest_edge: 16777216}, which
 * Qwen2VLImageProcessorFast reads as min_pixels / max_pixels (64 to 16384 tokens).
 */
export const QWEN3_VL_DEFAULTS: SmartResizeOptions = { factor: 32, minPixels: 65536, maxPixels: 16777216 };

export const QWEN2_VL_TEMPORAL_PATCH = 2;
export const QWEN2_VL_MERGE = 2;

/** Returns [height, width] as the reference does. */
export function smartResize(height: number, width: number, options: Partial<SmartResizeOptions> = {}): [number, number] {
  const { factor, minPixels, maxPixels } = { ...QWEN2_VL_DEFAULTS, ...options };
  // The reference refuses sides under 10 px and aspect ratios above 200.
  if (height < 10 || width < 10) throw new InputError(`Qwen2-VL smart_resize: height ${height} and width ${width} must be at least 10 px`);
  if (Math.max(height, width) / Math.min(height, width) > 200) {
    throw new InputError(`Qwen2-VL smart_resize: aspect ratio of ${width}x${height} is above 200`);
  }
  if (!(minPixels > 0 && maxPixels >= minPixels)) throw new InputError(`Qwen2-VL smart_resize: expected 0 < minPixels <= maxPixels, got ${minPixels} and ${maxPixels}`);
  // max(factor, ...) keeps a side from reaching 0 (newer transformers and qwen-vl-utils do the
  // same; for sides >= 14 px it never changes the result of the older code).
  let h = Math.max(factor, roundHalfEven(height / factor) * factor);
  let w = Math.max(factor, roundHalfEven(width / factor) * factor);
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return [h, w];
}

/** LLM tokens of one image (or of a video of `frames` frames) at the smart-resized size. */
export function qwen2VlTokens(resizedHeight: number, resizedWidth: number, factor: number, frames = 1): number {
  const gridT = Math.ceil(frames / QWEN2_VL_TEMPORAL_PATCH);
  return gridT * (resizedHeight / factor) * (resizedWidth / factor);
}

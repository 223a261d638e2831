/**
 * SmolVLM's image splitting (transformers `models/smolvlm/image_processing_smolvlm.py`, the
 * Idefics3 processor it derives from):
 *
 * 1. `resize` to longest edge = size.longest_edge keeping the aspect ratio (up or down):
 *    the other side is int(longest / aspect), bumped to even; then capped at 4096;
 * 2. `resize_for_vision_encoder`: the longest side is ceiled to a multiple of
 *    max_image_size.longest_edge (the tile), the other side int(side / aspect) then ceiled to a
 *    multiple of the tile too;
 * 3. `split_image`: when a side exceeds the tile, ceil(h/tile) x ceil(w/tile) crops plus the
 *    global image resized to one tile; otherwise the image alone (rows = cols = 0).
 *
 * SmolVLM checkpoints' preprocessor_config.json set size.longest_edge 2048 (4 * 512) and
 * max_image_size.longest_edge 512 (the class defaults 4*364 / 364 are Idefics3's). Every tile
 * is one 512x512 encoder input giving image_seq_len = 64 tokens ((512/16)^2 / 4^2).
 * Videos (SmolVLM2 video_sampling.video_size.longest_edge 512) are one tile per frame.
 */
import { InputError } from '../../core/errors.ts';
import { pyInt } from './rounding.ts';

export interface SmolVlmSplitOptions {
  /** size.longest_edge: what the longest side is resized to first (SmolVLM: 2048). */
  longestEdge: number;
  /** max_image_size.longest_edge: the tile side (SmolVLM-256M/500M: 512). */
  tileSize: number;
}

export const SMOLVLM_DEFAULTS: SmolVlmSplitOptions = { longestEdge: 2048, tileSize: 512 };

/** The processor's absolute cap on a side ("4k resolution as absolute maximum"). */
const MAX_IMAGE_SIZE = 4096;

export interface SmolVlmSplit {
  /** After step 1 (longest edge). */
  scaledWidth: number;
  scaledHeight: number;
  /** After step 2 (multiples of the tile). */
  resizedWidth: number;
  resizedHeight: number;
  /** Crop grid; 0 x 0 when the image is not split. */
  rows: number;
  cols: number;
  /** rows*cols crops + the global image (or the image alone): encoder inputs of tileSize². */
  tiles: number;
}

/** _resize_output_size_rescale_to_max_len then _resize_output_size_scale_below_upper_bound. */
function rescaleLongestEdge(height: number, width: number, maxLen: number): [number, number] {
  const aspect = width / height;
  let h = height;
  let w = width;
  if (w >= h) {
    w = maxLen;
    h = pyInt(w / aspect);
    if (h % 2 !== 0) h += 1;
  } else {
    h = maxLen;
    w = pyInt(h * aspect);
    if (w % 2 !== 0) w += 1;
  }
  h = Math.max(h, 1);
  w = Math.max(w, 1);
  const aspect2 = w / h;
  if (w >= h && w > MAX_IMAGE_SIZE) {
    w = MAX_IMAGE_SIZE;
    h = pyInt(w / aspect2);
  } else if (h > w && h > MAX_IMAGE_SIZE) {
    h = MAX_IMAGE_SIZE;
    w = pyInt(h * aspect2);
  }
  return [Math.max(h, 1), Math.max(w, 1)];
}

export function smolvlmSplit(width: number, height: number, options: Partial<SmolVlmSplitOptions> = {}): SmolVlmSplit {
  const { longestEdge, tileSize } = { ...SMOLVLM_DEFAULTS, ...options };
  if (!(width > 0 && height > 0)) throw new InputError(`SmolVLM split: image size must be positive, got ${width}x${height}`);
  const [scaledHeight, scaledWidth] = rescaleLongestEdge(height, width, longestEdge);
  const aspect = scaledWidth / scaledHeight;
  let rh: number;
  let rw: number;
  if (scaledWidth >= scaledHeight) {
    rw = Math.ceil(scaledWidth / tileSize) * tileSize;
    rh = Math.ceil(pyInt(rw / aspect) / tileSize) * tileSize;
  } else {
    rh = Math.ceil(scaledHeight / tileSize) * tileSize;
    rw = Math.ceil(pyInt(rh * aspect) / tileSize) * tileSize;
  }
  const split = rh > tileSize || rw > tileSize;
  const rows = split ? Math.ceil(rh / tileSize) : 0;
  const cols = split ? Math.ceil(rw / tileSize) : 0;
  return { scaledWidth, scaledHeight, resizedWidth: rw, resizedHeight: rh, rows, cols, tiles: rows * cols + 1 };
}

/**
 * InternVL's dynamic high-resolution tiling, as in `dynamic_preprocess` /
 * `find_closest_aspect_ratio` of the InternVL chat examples (OpenGVLab model cards'
 * `load_image`, copied verbatim into lmdeploy's `lmdeploy/vl/model/internvl.py` "copy from
 * https://huggingface.co/OpenGVLab/InternVL-Chat-V1-5"):
 *
 * - candidate grids (i columns, j rows) with min_num <= i*j <= max_num, sorted by tile count;
 * - the grid whose aspect ratio i/j is closest to the image's width/height wins; on an equal
 *   difference a later (larger) grid replaces the earlier one only when the image's area is more
 *   than half the later grid's area (area > 0.5 * image_size^2 * i * j), so small images are
 *   not blown up to many tiles;
 * - the image is resized to (i*image_size, j*image_size) and cut into i*j tiles; when that is
 *   more than one tile, a thumbnail (the whole image resized to one tile) is appended
 *   (`use_thumbnail=True` in `load_image`).
 *
 * Each tile is one 448x448 vision-encoder input giving 256 LLM tokens (InternVL2.5:
 * (448/14)^2 * 0.5^2 after pixel shuffle). `load_image(..., max_num=12)` is the chat examples'
 * default; video frames use max_num=1 (one tile per frame).
 */
import { InputError } from '../../core/errors.ts';

export interface InternVlTilingOptions {
  /** Tile side in pixels (InternVL: 448). */
  imageSize: number;
  /** min_num of dynamic_preprocess (default 1). */
  minTiles: number;
  /** max_num of dynamic_preprocess (load_image default 12). */
  maxTiles: number;
  /** Append the thumbnail tile when the grid has more than one tile (load_image: true). */
  thumbnail: boolean;
}

export const INTERNVL_DEFAULTS: InternVlTilingOptions = { imageSize: 448, minTiles: 1, maxTiles: 12, thumbnail: true };

export interface InternVlTiling {
  /** Grid columns (i) and rows (j). */
  cols: number;
  rows: number;
  /** cols * rows: tiles cut from the resized image. */
  blocks: number;
  thumbnail: boolean;
  /** blocks + thumbnail: vision-encoder inputs of imageSize x imageSize. */
  tiles: number;
  /** Size the image is resized to before cutting: (cols*imageSize) x (rows*imageSize). */
  resizedWidth: number;
  resizedHeight: number;
}

/**
 * Candidate grids in the order the reference visits them: by tile count. The reference sorts a
 * Python set, so grids of equal count come in set order; with min_num = 1 that order never
 * changes the result (an exact tie between two equal-count grids always has a strictly closer
 * third grid; test/models/preprocess.test.ts checks this for max_num up to 64). With min_num > 1
 * equal-count ties are taken in (columns, rows) order.
 */
export function targetGrids(minTiles: number, maxTiles: number): Array<[number, number]> {
  const grids: Array<[number, number]> = [];
  for (let i = 1; i <= maxTiles; i++) {
    for (let j = 1; j <= maxTiles; j++) {
      const n = i * j;
      if (n >= minTiles && n <= maxTiles) grids.push([i, j]);
    }
  }
  return grids.sort((a, b) => a[0] * a[1] - b[0] * b[1]);
}

/** find_closest_aspect_ratio: the same float operations in the same order as the reference. */
export function closestGrid(
  aspectRatio: number,
  grids: ReadonlyArray<readonly [number, number]>,
  width: number,
  height: number,
  imageSize: number,
): [number, number] {
  let bestDiff = Infinity;
  let best: [number, number] = [1, 1];
  const area = width * height;
  for (const [i, j] of grids) {
    const diff = Math.abs(aspectRatio - i / j);
    if (diff < bestDiff) {
      bestDiff = diff;
      best = [i, j];
    } else if (diff === bestDiff) {
      if (area > 0.5 * imageSize * imageSize * i * j) best = [i, j];
    }
  }
  return best;
}

export function internvlTiling(width: number, height: number, options: Partial<InternVlTilingOptions> = {}): InternVlTiling {
  const o = { ...INTERNVL_DEFAULTS, ...options };
  if (!Number.isInteger(o.minTiles) || !Number.isInteger(o.maxTiles) || o.minTiles < 1 || o.maxTiles < o.minTiles) {
    throw new InputError(`InternVL tiling: expected integers 1 <= minTiles <= maxTiles, got ${o.minTiles} and ${o.maxTiles}`);
  }
  if (!(width > 0 && height > 0)) throw new InputError(`InternVL tiling: image size must be positive, got ${width}x${height}`);
  const [cols, rows] = closestGrid(width / height, targetGrids(o.minTiles, o.maxTiles), width, height, o.imageSize);
  const blocks = cols * rows;
  const thumbnail = o.thumbnail && blocks !== 1;
  return {
    cols,
    rows,
    blocks,
    thumbnail,
    tiles: blocks + (thumbnail ? 1 : 0),
    resizedWidth: cols * o.imageSize,
    resizedHeight: rows * o.imageSize,
  };
}

/**
 * InternVL's `load_video` / `get_index`: `num_segments` frames, one from the middle of each equal
 * segment of [0, max_frame] (max_frame = frame count - 1), index
 * int(start + seg/2 + round(seg * k)) with numpy's half-to-even rounding.
 */
export function internvlFrameIndices(totalFrames: number, segments: number, roundHalfEven: (x: number) => number): number[] {
  if (!Number.isInteger(totalFrames) || totalFrames < 1) throw new InputError(`video frame sampling: total frames must be a positive integer, got ${totalFrames}`);
  const start = 0;
  const end = totalFrames - 1;
  const seg = (end - start) / segments;
  return Array.from({ length: segments }, (_, k) => Math.trunc(start + seg / 2 + roundHalfEven(seg * k)));
}

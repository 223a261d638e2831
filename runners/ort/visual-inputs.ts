/**
 * The images and videos of a request, as a deployment prepares them: decode (real files), resize
 * to what the model family's preprocessing asks for, cut into encoder tiles, normalise to CHW
 * float32. Sizes and tile counts come from models/preprocess (the reference algorithms); the
 * pixel work is done with sharp (libvips), a library deployments use for this.
 *
 * Sources are prepared outside the timed request (a synthetic camera frame at the cell's
 * resolution, or a file's bytes read into memory), so `preprocess` times image work only, not
 * disk reads or test-pattern generation.
 */
import sharp from 'sharp';
import { InputError } from '../../core/errors.ts';
import type { VisualPlan } from '../../models/preprocess/plan.ts';
import { PIXEL_CONVENTIONS, type PixelConvention } from '../../models/preprocess/pixels.ts';
import type { Resolution } from '../../models/preprocess/resolution.ts';
import { makeTestImage } from './inputs.ts';
import { boundedSharp, readImageFile } from '../image-file.ts';

export { PIXEL_CONVENTIONS, type PixelConvention };

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Pixels in memory (synthetic), or an encoded file's bytes (decoded inside the timed phase). */
export type ImageSource = { kind: 'pixels'; image: RgbImage } | { kind: 'encoded'; name: string; bytes: Buffer; size: Resolution };

export interface VisualItem {
  kind: 'image' | 'video';
  plan: VisualPlan;
  /** One source for an image; one per sampled frame for a video. */
  sources: ImageSource[];
}

/** A synthetic camera frame of any size (the square test pattern generalised). */
export function syntheticImage(size: Resolution, seed: number): RgbImage {
  if (size.width === size.height) return { data: makeTestImage(size.width, seed), width: size.width, height: size.height };
  // Build at the larger side and crop: same pattern statistics, no second generator to maintain.
  const side = Math.max(size.width, size.height);
  const square = makeTestImage(side, seed);
  const data = new Uint8Array(size.width * size.height * 3);
  for (let y = 0; y < size.height; y++) data.set(square.subarray(y * side * 3, (y * side + size.width) * 3), y * size.width * 3);
  return { data, width: size.width, height: size.height };
}

/** Reads an image file's bytes and size (the header only, within the pixel limit) for later timed decoding. */
export async function encodedSource(path: string): Promise<ImageSource> {
  const { bytes, width, height, orientation } = await readImageFile(path);
  // EXIF orientations 5-8 swap the sides once the image is turned upright, as decoders do.
  const swap = orientation >= 5;
  return { kind: 'encoded', name: path, bytes, size: swap ? { width: height, height: width } : { width, height } };
}

/** Re-encodes pixels as JPEG (quality 90), so a cell decodes a file of its own resolution. */
export async function encodeJpeg(image: RgbImage, name: string): Promise<ImageSource> {
  const bytes = await sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .jpeg({ quality: 90 })
    .toBuffer();
  return { kind: 'encoded', name, bytes, size: { width: image.width, height: image.height } };
}

export type StepTimer = <T>(step: string, fn: () => Promise<T>) => Promise<T>;

function rawInput(image: RgbImage) {
  return sharp(Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength), {
    raw: { width: image.width, height: image.height, channels: 3 },
  });
}

async function decode(source: ImageSource, timed: StepTimer): Promise<RgbImage> {
  if (source.kind === 'pixels') return source.image;
  return timed('image_decode', async () => {
    const { data, info } = await boundedSharp(source.bytes).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
  });
}

async function resize(image: RgbImage, size: Resolution, kernel: PixelConvention['kernel']): Promise<RgbImage> {
  if (image.width === size.width && image.height === size.height) return image;
  const data = await rawInput(image).resize(size.width, size.height, { fit: 'fill', kernel }).raw().toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: size.width, height: size.height };
}

/**
 * Normalises the `side` x `side` square at (x0, y0) of an HWC uint8 image into CHW float32:
 * (v/255 - mean) / std per channel.
 */
export function normalizeTile(image: RgbImage, x0: number, y0: number, side: number, px: PixelConvention, out: Float32Array): void {
  const plane = side * side;
  for (let c = 0; c < 3; c++) {
    const scale = 1 / (255 * px.std[c]!);
    const shift = px.mean[c]! / px.std[c]!;
    const dst = c * plane;
    for (let y = 0; y < side; y++) {
      let src = ((y0 + y) * image.width + x0) * 3 + c;
      const row = dst + y * side;
      for (let x = 0; x < side; x++, src += 3) out[row + x] = image.data[src]! * scale - shift;
    }
  }
}

function cutTiles(image: RgbImage, cols: number, rows: number, side: number, px: PixelConvention): Float32Array[] {
  const tiles: Float32Array[] = [];
  // Row-major, left to right then top to bottom, as InternVL's crop boxes and SmolVLM's
  // split_image loops order them (the prompt's tile tokens follow this order).
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const chw = new Float32Array(3 * side * side);
      normalizeTile(image, c * side, r * side, side, px, chw);
      tiles.push(chw);
    }
  }
  return tiles;
}

/**
 * Encoder inputs (CHW float32, `side` x `side`) of one image or video, in prompt order. Each
 * step is timed through `timed`: decode (files only), resize, tile + normalise.
 */
export async function prepareTiles(item: VisualItem, side: number, px: PixelConvention, timed: StepTimer): Promise<Float32Array[]> {
  const plan = item.plan;
  const tiles: Float32Array[] = [];
  if (item.kind === 'video' || plan.family === 'qwen2-vl') {
    // One tile per frame (InternVL max_num=1, SmolVLM video frames), or a Qwen2-VL image at the
    // one grid the runner can run (checked when the cell is prepared; Qwen2-VL video is refused).
    for (const source of item.sources) {
      const frame = await decode(source, timed);
      const small = await timed('image_resize', () => resize(frame, { width: side, height: side }, px.kernel));
      tiles.push(...(await timed('tile_normalize', async () => cutTiles(small, 1, 1, side, px))));
    }
    return tiles;
  }
  const image = await decode(item.sources[0]!, timed);
  // One resize to the final grid. SmolVLM's processor resizes twice (longest edge, then up to
  // tile multiples); the second size is what the crops are cut from, so one resize gives the
  // same tiles at the cost of one resampling pass less (noted in docs/workloads.md).
  const grid = plan.resized;
  const cols = grid.width / side;
  const rows = grid.height / side;
  const blocks = cols * rows;
  const resized = await timed('image_resize', () => resize(image, grid, px.kernel));
  if (blocks > 1 || plan.tiles > 1) {
    tiles.push(...(await timed('tile_normalize', async () => cutTiles(resized, cols, rows, side, px))));
    if (plan.tiles > blocks) {
      // InternVL: thumbnail = the source resized to one tile; SmolVLM: the global image = the
      // resized image brought down to one tile.
      const from = plan.family === 'internvl' ? image : resized;
      const thumb = await timed('image_resize', () => resize(from, { width: side, height: side }, px.kernel));
      tiles.push(...(await timed('tile_normalize', async () => cutTiles(thumb, 1, 1, side, px))));
    }
  } else {
    tiles.push(...(await timed('tile_normalize', async () => cutTiles(resized, 1, 1, side, px))));
  }
  if (tiles.length !== plan.tiles) throw new Error(`internal: prepared ${tiles.length} tiles for a plan of ${plan.tiles}`);
  return tiles;
}
